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
	if masked != "c***@e***.com" || !newsletterOn || !offersOn {
		t.Fatalf("the page showed %q, newsletter %v, offers %v", masked, newsletterOn, offersOn)
	}
	if !strings.Contains(saved, "saved") {
		t.Fatalf("after saving the page says %q", saved)
	}
	p, err := personOf(t, email)
	if err != nil || !slices.Equal(p.Active, []people.Purpose{people.Offers, people.Surveys}) {
		t.Fatalf("saved state = %+v, %v", p.Active, err)
	}
	if os.Getenv("PLEDGE_SCREENSHOT") != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(os.Getenv("PLEDGE_SCREENSHOT"), png, 0o644)
		}
	}
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
