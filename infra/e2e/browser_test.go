package e2e

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smartprotect/pledge/shared/people"
)

// chromiumPath is Debian's Chromium, which `make tools` installs.
const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium with nothing that would reach outside
// this machine.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s is missing: `make tools` installs Debian's chromium package", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-default-browser-check", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

func TestABrowserChangesPreferencesFromTheLinkInAMail(t *testing.T) {
	const email = "chromium@example.com"
	subscribe(t, email, "newsletter", "offers")
	sendNewsletter(t)
	mails := marketingTo(t, email)
	if len(mails) != 1 {
		t.Fatalf("%d marketing mails", len(mails))
	}
	// The link as a person sees it in the HTML part of the mail.
	link := linkIn(t, mails[0].Body.HTML)

	ctx := browser(t)
	err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[value="save"]`)))
	if err != nil {
		t.Fatal(err)
	}
	masked, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main strong`)))
	if err != nil {
		t.Fatal(err)
	}
	newsletterOn, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[value="newsletter"]').checked`))
	if err != nil {
		t.Fatal(err)
	}
	offersOn, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[value="offers"]').checked`))
	if err != nil {
		t.Fatal(err)
	}
	// Keep offers, stop the newsletter, start surveys, and save.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[value="newsletter"]`)),
		chromedp.Click(chromedp.CSS(`input[value="surveys"]`)),
		chromedp.Click(chromedp.CSS(`button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.note`)))
	if err != nil {
		t.Fatal(err)
	}
	if masked != "c***@example.com" || !newsletterOn || !offersOn {
		t.Fatalf("the page showed %q, newsletter %v, offers %v", masked, newsletterOn, offersOn)
	}
	if !strings.Contains(saved, "saved") || !strings.Contains(saved, "Customer surveys will start when you press the button") {
		t.Fatalf("after saving the page says %q", saved)
	}
	// The grant waits for the button behind the link in the mail it sent;
	// the page shows it ticked, awaiting confirmation.
	waiting, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const box = document.querySelector('input[value="surveys"]');
		return box.checked && box.closest('.choice').textContent.includes('awaiting your confirmation');
	})()`))
	if err != nil || !waiting {
		t.Fatalf("after saving, surveys is not shown ticked and awaiting confirmation: %v, %v", waiting, err)
	}
	p, err := personOf(t, email)
	if err != nil || !slices.Equal(p.Active, []people.Purpose{people.Offers}) || !slices.Equal(p.Pending, []people.Purpose{people.Surveys}) {
		t.Fatalf("saved state = active %v, pending %v, %v; want surveys pending", p.Active, p.Pending, err)
	}
	all := mailsTo(t, email)
	confirm := confirmLink(t, all[len(all)-1])
	err = chromedp.Do(ctx, chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector('main h1').textContent !== 'Confirm your sign-up'`)
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main h1`)))
	if err != nil || heading != "You are signed up" {
		t.Fatalf("after pressing the button the page says %q, %v", heading, err)
	}
	if p, err = personOf(t, email); err != nil || !slices.Equal(p.Active, []people.Purpose{people.Offers, people.Surveys}) {
		t.Fatalf("confirmed state = %+v, %v", p.Active, err)
	}
	if os.Getenv("PLEDGE_SCREENSHOT") != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(os.Getenv("PLEDGE_SCREENSHOT"), png, 0o644)
		}
	}
}

func TestTheHoneypotIsQuietAndInvisibleToAPersonInABrowser(t *testing.T) {
	ctx := browser(t)
	const person, bot = "chromium-person@example.com", "chromium-bot@example.com"
	// A person: the trap is off screen, hidden from assistive tech, out of
	// the tab order; tabbing from the name field skips it.
	err := chromedp.Do(ctx, chromedp.Navigate(stack.GatewayURL+"/signup"), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), person), chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Jo Tester"))
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const f = document.querySelector('[name="extra_comment"]'), r = f.getBoundingClientRect();
		return r.right <= 0 && f.tabIndex === -1 && f.closest('[aria-hidden="true"]') !== null && f.getAttribute('autocomplete') === 'off';
	})()`))
	if err != nil || !hidden {
		t.Fatalf("the trap is visible, reachable or announced: %v, %v", hidden, err)
	}
	err = chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`input[name="name"]`)), chromedp.KeyEvent("\t"))
	if err != nil {
		t.Fatal(err)
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name || document.activeElement.value`))
	if err != nil || focused == "extra_comment" {
		t.Fatalf("tabbing from the name field lands on %q, %v", focused, err)
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[value="newsletter"]`)), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `location.pathname === '/signup/thanks'`)
	if p, err := personOf(t, person); err != nil || !slices.Equal(p.Pending, []people.Purpose{people.Newsletter}) || len(mailsTo(t, person)) != 1 {
		t.Fatalf("a person's sign-up in Chromium: %+v, %v", p, err)
	}

	// A bot fills every field, the trap too: it lands on the same page, and nothing is kept or sent.
	items, mails := countItems(t), countMails(t)
	err = chromedp.Do(ctx, chromedp.Navigate(stack.GatewayURL+"/signup"), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), bot), chromedp.Click(chromedp.CSS(`input[value="offers"]`)),
		chromedp.SetValue(chromedp.CSS(`[name="extra_comment"]`), "https://spam.example/buy"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `location.pathname !== '/signup' && document.readyState === 'complete'`)
	var where, heading string
	if where, err = chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err == nil {
		heading, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main h1`)))
	}
	if err != nil || where != "/signup/thanks" || heading != "Check your inbox" {
		t.Fatalf("a filled trap lands on %q saying %q, %v; want the thank-you page, as a sign-up", where, heading, err)
	}
	if n, m := countItems(t), countMails(t); n != items || m != mails {
		t.Fatalf("a filled trap wrote %d items and sent %d mails", n-items, m-mails)
	}
}

// waitFor polls the page until the JavaScript expression cond is true:
// after a click that submits a form, the old page answers until the new one
// has loaded.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
	}
	t.Fatalf("the page never came to %s", cond)
}

func linkIn(t *testing.T, html string) string {
	t.Helper()
	i := strings.Index(html, `href="`)
	for i >= 0 {
		rest := html[i+len(`href="`):]
		link := rest[:strings.IndexByte(rest, '"')]
		if strings.Contains(link, "/unsubscribe?t=") {
			return strings.ReplaceAll(link, "&amp;", "&")
		}
		j := strings.Index(rest, `href="`)
		if j < 0 {
			break
		}
		i = i + len(`href="`) + j
	}
	t.Fatalf("no unsubscribe link in the HTML part:\n%s", html)
	return ""
}
