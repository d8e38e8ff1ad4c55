package e2e

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/people"
)

// TestHEADOnEveryPageAnswersAsGETWithoutABodyAndChangesNothing: link
// checkers (and some mail scanners) send HEAD; a page that answers 404 to it
// is reported as a broken link.
func TestHEADOnEveryPageAnswersAsGETWithoutABodyAndChangesNothing(t *testing.T) {
	const pending, subscribed = "linkcheck-pending@example.com", "linkcheck-subscribed@example.com"
	if got := postForm(t, "/signup", signupForm(pending, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d %s", got.Status, got.Body)
	}
	mails := mailsTo(t, pending)
	confirm := pathOf(t, confirmLink(t, mails[len(mails)-1]))
	subscribe(t, subscribed, "newsletter")
	sendNewsletter(t)
	unsubscribe := pathOf(t, unsubscribeURL(t, marketingTo(t, subscribed)[0]))

	items, sent := countItems(t), countMails(t)
	for _, path := range []string{"/signup", "/signup/thanks", confirm, unsubscribe, "/confirm?t=garbage", "/unsubscribe?t=garbage"} {
		for _, accept := range []string{browserAccept, "application/json"} {
			get := do(t, http.MethodGet, path, "", accept, nil)
			head := do(t, http.MethodHead, path, "", accept, nil)
			if head.Status != get.Status || head.Body != "" || get.Body == "" || head.Status == http.StatusNotFound {
				t.Errorf("HEAD %s (%s) = %d with %d bytes; GET = %d with %d bytes", path, accept, head.Status, len(head.Body), get.Status, len(get.Body))
			}
			if h, g := withoutTransport(head.Header), withoutTransport(get.Header); !maps.EqualFunc(h, g, slices.Equal) {
				t.Errorf("HEAD %s (%s) headers %v; GET's %v", path, accept, h, g)
			}
		}
	}
	if countItems(t) != items || countMails(t) != sent {
		t.Fatalf("GET and HEAD wrote %d items and sent %d mails", countItems(t)-items, countMails(t)-sent)
	}
	if p, _ := personOf(t, pending); p.Status != people.Unconfirmed || len(p.Active) != 0 {
		t.Fatalf("HEAD on the confirm link changed the person: %+v", p)
	}
	if p, _ := personOf(t, subscribed); !p.Has(people.Newsletter) {
		t.Fatalf("HEAD on the unsubscribe link changed the person: %+v", p)
	}
	// No route but the pages answers HEAD: API Gateway routes HEAD only
	// where the template declares it.
	if got := do(t, http.MethodHead, "/admin/policies/2026-01-01", "", "", nil); got.Status == http.StatusOK {
		t.Fatalf("HEAD on an admin route = %d", got.Status)
	}
}

// withoutTransport drops the headers the HTTP server sets per response
// (date, length of a body HEAD does not carry).
func withoutTransport(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return h
}

// TestAnAddressIsTakenAsItsOwnerTypesIt: a Unicode domain is mailed in its
// xn-- form and shown as typed; what cannot be mailed is refused with a
// message that says why.
func TestAnAddressIsTakenAsItsOwnerTypesIt(t *testing.T) {
	const typed, mailTo = "Jo@Bücher-Idn.example.com", "jo@xn--bcher-idn-q9a.example.com"
	if got := postForm(t, "/signup", signupForm(typed, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d %s", got.Status, got.Body)
	}
	mails := mailsTo(t, mailTo)
	if len(mails) != 1 {
		t.Fatalf("%d confirmation mails to %s; want 1", len(mails), mailTo)
	}
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[0]))}}); got.Status != http.StatusOK {
		t.Fatalf("confirm = %d %s", got.Status, got.Body)
	}
	p, err := personOf(t, mailTo)
	if err != nil || !p.Has(people.Newsletter) || p.Email != mailTo {
		t.Fatalf("the person typed as %s is %+v, %v", typed, p, err)
	}
	sendNewsletter(t)
	link := unsubscribeURL(t, marketingTo(t, mailTo)[0])
	if page := do(t, http.MethodGet, pathOf(t, link), "", browserAccept, nil); page.Status != 200 || !strings.Contains(page.Body, "j***@bücher-idn.example.com") {
		t.Fatalf("the preferences page does not show the domain as typed: %d\n%s", page.Status, page.Body)
	}

	items, sent := countItems(t), countMails(t)
	for email, says := range map[string]string{
		"jö@example.com":          "outside ASCII",
		"jo@example.com\u200b":    "zero-width space (U+200B)",
		"jo@bücher.example\ufeff": "byte order mark",
	} {
		got := do(t, http.MethodPost, "/signup", "application/x-www-form-urlencoded", "application/json", strings.NewReader(signupForm(email, "newsletter").Encode()))
		if got.Status != http.StatusBadRequest || !strings.Contains(got.Body, says) || !strings.Contains(got.Body, `"field":"email"`) {
			t.Errorf("sign-up for %q = %d %s; want 400 saying %q", email, got.Status, got.Body, says)
		}
	}
	if countItems(t) != items || countMails(t) != sent {
		t.Fatal("a refused address wrote or sent something")
	}
}
