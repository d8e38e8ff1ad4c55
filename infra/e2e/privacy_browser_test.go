package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smartprotect/pledge/shared/mail"
)

// TestABrowserAsksForItsDataVerifiesAndOpensTheExport drives the request
// page, the verification button, the status page and the export page as a
// person does, then asks for a deletion and cancels it on the status page.
func TestABrowserAsksForItsDataVerifiesAndOpensTheExport(t *testing.T) {
	const email = "chromium-privacy@example.com"
	signedUp(t, email)
	ctx := browser(t)
	ask := func(kind string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(stack.GatewayURL+"/privacy"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
			chromedp.Click(chromedp.CSS(`input[value="`+kind+`"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/privacy"]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
		if err != nil || heading != "Check your inbox" {
			t.Fatalf("after the form: %q, %v", heading, err)
		}
	}
	verify := func() (status, due string) {
		t.Helper()
		link := linkInHTML(t, newestMail(t, email, "confirm your privacy request").Body.HTML, "/privacy/verify")
		err := chromedp.Do(ctx,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/privacy/verify"] button`)),
			chromedp.Click(chromedp.CSS(`form[action="/privacy/verify"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`dd.status`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`dd.status`)))
		if err != nil {
			t.Fatal(err)
		}
		due, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelectorAll('dd')[3].textContent`))
		if err != nil {
			t.Fatal(err)
		}
		return status, due
	}

	ask("access")
	status, due := verify()
	if want := mail.Date(time.Now().Add(720 * time.Hour)); status != "completed" || due != want {
		t.Fatalf("status page says %q, due %q; want completed, due %q", status, due, want)
	}
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href^="/privacy/export"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dl`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	export, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(export, email) || !strings.Contains(export, "Newsletter") {
		t.Fatalf("export page: %q, %v", export, err)
	}

	ask("delete")
	if status, _ := verify(); status != "confirmed" {
		t.Fatalf("a verified deletion is %q", status)
	}
	next, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.next`)))
	if err != nil || !strings.Contains(next, mail.Date(time.Now().Add(72*time.Hour))) {
		t.Fatalf("what happens next: %q, %v", next, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[value="cancel"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`button[value="cancel"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`dd.status`)))
	if err != nil || status != "cancelled" {
		t.Fatalf("after cancel: %q, %v", status, err)
	}
	if p, err := personOf(t, email); err != nil || p.Email != email {
		t.Fatalf("the person after a cancelled deletion: %+v, %v", p, err)
	}
}

// linkInHTML is the href to path in a mail's HTML part.
func linkInHTML(t *testing.T, html, path string) string {
	t.Helper()
	i := strings.Index(html, path+"?t=")
	if i < 0 {
		t.Fatalf("no %s link in %s", path, html)
	}
	start := strings.LastIndex(html[:i], `href="`) + len(`href="`)
	end := start + strings.Index(html[start:], `"`)
	return strings.ReplaceAll(html[start:end], "&amp;", "&")
}
