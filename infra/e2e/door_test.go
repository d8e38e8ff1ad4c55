package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

// The public door (issue "no mail bombing, no stranger's text in our mail,
// no unconfirmed changes"): abuse cases 2 to 6 and 9, end to end.

const strangersText = "Jo, your account is locked. Restore it at https://evil.example.net/restore"

func TestAFilledHoneypotIsAnsweredLikeASignUpAndWritesAndSendsNothing(t *testing.T) {
	items, mails := countItems(t), countMails(t)
	for _, field := range []string{"extra_comment", "website"} {
		form := signupForm("trapped-"+field+"@example.com", "newsletter")
		form.Set(field, "https://spam.example/buy")
		got := postForm(t, "/signup", form)
		if got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/signup/thanks" {
			t.Fatalf("a browser filling %s = %d %v %s; want 303 to the thank-you page, as a sign-up", field, got.Status, got.Header, got.Body)
		}
		script := do(t, http.MethodPost, "/signup", "application/x-www-form-urlencoded", "application/json", strings.NewReader(form.Encode()))
		if script.Status != http.StatusAccepted || !strings.Contains(script.Body, `"pending_confirmation"`) {
			t.Fatalf("a script filling %s = %d %s; want 202 as a sign-up", field, script.Status, script.Body)
		}
	}
	if n, m := countItems(t), countMails(t); n != items || m != mails {
		t.Fatalf("a filled trap wrote %d items and sent %d mails; want nothing", n-items, m-mails)
	}
}

func TestTheConfirmationMailCarriesNothingTheRequesterTyped(t *testing.T) {
	const email = "stranger-target@example.com"
	form := signupForm(email, "newsletter")
	form.Set("name", strangersText)
	if got := postForm(t, "/signup", form); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d %s", got.Status, got.Body)
	}
	mails := mailsTo(t, email)
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	for _, part := range []string{mails[0].Subject, mails[0].Body.Text, mails[0].Body.HTML} {
		for _, typed := range []string{"evil.example.net", "locked", "Jo,"} {
			if strings.Contains(part, typed) {
				t.Fatalf("the confirmation mail carries %q, typed by the requester:\n%s", typed, part)
			}
		}
	}
	if !strings.Contains(mails[0].Body.Text, "Hello,\n") {
		t.Fatalf("the mail does not greet without a name:\n%s", mails[0].Body.Text)
	}
}

func TestASignUpForAConfirmedAddressChangesNothingUntilTheButton(t *testing.T) {
	const email = "confirmed-victim@example.com"
	subscribe(t, email, "newsletter")
	before, _ := personOf(t, email)
	for _, name := range []string{strangersText, ""} {
		form := signupForm(email, "newsletter")
		form.Set("name", name)
		if got := postForm(t, "/signup", form); got.Status != http.StatusSeeOther {
			t.Fatalf("re-sign-up = %d", got.Status)
		}
	}
	// A new purpose with the stranger's name: the purpose and the name wait.
	form := signupForm(email, "newsletter", "offers")
	form.Set("name", strangersText)
	postForm(t, "/signup", form)
	p, _ := personOf(t, email)
	if p.Name != "Jo Tester" || !slices.Equal(p.Active, []people.Purpose{people.Newsletter}) || !slices.Equal(p.Pending, []people.Purpose{people.Offers}) ||
		p.Status != people.Confirmed || !p.ConfirmedAt.Equal(before.ConfirmedAt) {
		t.Fatalf("after a stranger's sign-ups the person is %+v; want their data as confirmed, offers pending", p)
	}
	sendNewsletter(t)
	news := marketingTo(t, email)
	if len(news) != 1 || !strings.Contains(news[0].Body.Text, "Hello Jo Tester,") || strings.Contains(news[0].Body.Text, "evil.example.net") {
		t.Fatalf("the newsletter greets the subscriber with %q", strings.SplitN(news[0].Body.Text, "\n", 2)[0])
	}
}

func TestAConfirmLinkWorksOnceAndAnOldLinkCannotSubscribeAgain(t *testing.T) {
	const email = "replayed@example.com"
	subscribe(t, email, "newsletter")
	old := tokenOf(t, confirmLink(t, mailsTo(t, email)[0]))
	sendNewsletter(t)
	if got := oneClick(t, unsubscribeURL(t, marketingTo(t, email)[0]), "urlencoded"); got.Status != 200 {
		t.Fatalf("one-click = %d", got.Status)
	}
	// Someone re-submits the form; the old link is pressed again.
	if got := postForm(t, "/signup", signupForm(email, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("re-sign-up = %d", got.Status)
	}
	before, _ := personOf(t, email)
	for _, accept := range []string{browserAccept, "application/json"} {
		got := do(t, http.MethodPost, "/confirm", "application/x-www-form-urlencoded", accept, strings.NewReader(url.Values{"t": {old}}.Encode()))
		if got.Status != 200 || !(strings.Contains(got.Body, "already used") || strings.Contains(got.Body, `"already_used"`)) {
			t.Fatalf("the old link = %d %s; want it to say it was already used", got.Status, got.Body)
		}
	}
	if p, _ := personOf(t, email); p.Has(people.Newsletter) || p.Version != before.Version {
		t.Fatalf("the old link changed the person: %+v", p)
	}
	// The new sign-up's own link does confirm.
	mails := mailsTo(t, email)
	var fresh string
	for _, m := range mails {
		if strings.HasPrefix(m.Subject, "Please confirm") {
			fresh = tokenOf(t, confirmLink(t, m))
		}
	}
	if fresh == old {
		t.Fatal("the re-sign-up mailed no new link")
	}
	if got := postForm(t, "/confirm", url.Values{"t": {fresh}}); got.Status != 200 || !strings.Contains(got.Body, "You are signed up") {
		t.Fatalf("the new link = %d %s", got.Status, got.Body)
	}
}

func TestPurposesAskedForMinutesAfterAConfirmationGetTheirOwnMail(t *testing.T) {
	const email = "offers-later@example.com"
	subscribe(t, email, "newsletter")
	if got := postForm(t, "/signup", signupForm(email, "offers")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up for offers = %d", got.Status)
	}
	mails := mailsTo(t, email)
	if len(mails) != 2 {
		t.Fatalf("%d mails; want the newsletter's confirmation and one for offers", len(mails))
	}
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[1]))}}); got.Status != 200 {
		t.Fatalf("confirm = %d", got.Status)
	}
	if p, _ := personOf(t, email); !slices.Equal(p.Active, []people.Purpose{people.Newsletter, people.Offers}) {
		t.Fatalf("after confirming offers: %+v", p.Active)
	}
	// Asked again within the interval, covered by no live link: its own mail; covered: none.
	postForm(t, "/signup", signupForm(email, "surveys"))
	postForm(t, "/signup", signupForm(email, "surveys"))
	if n := len(mailsTo(t, email)); n != 3 {
		t.Fatalf("%d mails after asking twice for surveys; want one more", n)
	}
}

func TestAGrantOnThePreferencesPageIsMailedAndWaitsForTheButton(t *testing.T) {
	const email = "grant-by-mail@example.com"
	subscribe(t, email, "newsletter")
	sendNewsletter(t)
	link := unsubscribeURL(t, marketingTo(t, email)[0])
	before := len(mailsTo(t, email))
	got := afterForm(t, postForm(t, pathOf(t, link), url.Values{"action": {"save"}, "purposes": {"newsletter", "testimonials"}}))
	if got.Status != 200 || !strings.Contains(got.Body, "Testimonials will start when you press the button") {
		t.Fatalf("save = %d %s", got.Status, got.Body)
	}
	p, _ := personOf(t, email)
	if p.Has(people.Testimonials) || !slices.Equal(p.Pending, []people.Purpose{people.Testimonials}) {
		t.Fatalf("after granting testimonials: %+v; want it pending, not in force", p)
	}
	mails := mailsTo(t, email)
	if len(mails) != before+1 || !strings.HasPrefix(mails[len(mails)-1].Subject, "Please confirm") {
		t.Fatalf("%d mails after the grant, want one confirmation more", len(mails)-before)
	}
	confirm := confirmLink(t, mails[len(mails)-1])
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirm)}}); got.Status != 200 || !strings.Contains(got.Body, "You are signed up") {
		t.Fatalf("confirm = %d %s", got.Status, got.Body)
	}
	if p, _ := personOf(t, email); !slices.Equal(p.Active, []people.Purpose{people.Newsletter, people.Testimonials}) || len(p.Pending) != 0 {
		t.Fatalf("after the button: %+v", p)
	}
}

func TestAnOldPreferencesLinkStillWithdrawsAndOffersAFreshLinkByMail(t *testing.T) {
	const email = "old-link@example.com"
	subscribe(t, email, "newsletter", "offers")
	id := people.KeyedID(pepper)(email)
	expired := "/unsubscribe?t=" + url.QueryEscape(keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, time.Now().AddDate(0, -3, 0), 31*24*time.Hour))

	page := do(t, http.MethodGet, expired, "", browserAccept, nil)
	if page.Status != http.StatusGone || !strings.Contains(page.Body, `action="/unsubscribe/link"`) || !strings.Contains(page.Body, `value="stop"`) {
		t.Fatalf("GET with an expired link = %d %s", page.Status, page.Body)
	}
	// Withdrawing works forever; granting does not.
	if got := afterForm(t, postForm(t, expired, url.Values{"action": {"save"}, "purposes": {"offers", "surveys"}})); got.Status != http.StatusGone ||
		!strings.Contains(got.Body, "This link is old: it can only turn things off") {
		t.Fatalf("save with an expired link = %d %s", got.Status, got.Body)
	}
	if p, _ := personOf(t, email); !slices.Equal(p.Active, []people.Purpose{people.Offers}) || len(p.Pending) != 0 {
		t.Fatalf("after a save with an expired link: %+v; want the newsletter withdrawn and surveys not granted", p)
	}
	if got := oneClick(t, stack.GatewayURL+expired, "urlencoded"); got.Status != 200 {
		t.Fatalf("one-click with an expired link = %d %s", got.Status, got.Body)
	}
	if p, _ := personOf(t, email); len(p.Active) != 0 || p.Status != people.Unsubscribed {
		t.Fatalf("after a one-click with an expired link: %+v", p)
	}

	// A link signed with a key we no longer hold names nobody: the page offers a fresh link.
	unknown, _ := token.NewKeys(map[string][]byte{"gone": []byte("0123456789abcdef0123456789abcdef")}, "gone")
	if got := do(t, http.MethodGet, "/unsubscribe?t="+url.QueryEscape(unknown.Issue(token.Unsubscribe, id, nil, time.Now(), 0)), "", browserAccept, nil); got.Status != 400 ||
		!strings.Contains(got.Body, `action="/unsubscribe/link"`) {
		t.Fatalf("GET with an unknown key = %d %s", got.Status, got.Body)
	}
	if got := do(t, http.MethodGet, "/unsubscribe/link", "", browserAccept, nil); got.Status != 200 || !strings.Contains(got.Body, `name="email"`) {
		t.Fatalf("GET /unsubscribe/link = %d", got.Status)
	}

	before := len(mailsTo(t, email))
	for _, typed := range []string{" Old-Link@Example.com", "nobody-we-hold@example.com"} {
		got := postForm(t, "/unsubscribe/link", url.Values{"email": {typed}})
		if got.Status != 200 || !strings.Contains(got.Body, "If we hold this address") {
			t.Fatalf("asking for a fresh link for %q = %d %s", typed, got.Status, got.Body)
		}
	}
	if len(mailsTo(t, "nobody-we-hold@example.com")) != 0 {
		t.Fatal("a fresh link went to an address we do not hold")
	}
	mails := mailsTo(t, email)
	if len(mails) != before+1 {
		t.Fatalf("%d fresh-link mails, want 1", len(mails)-before)
	}
	fresh := linkIn(t, mails[len(mails)-1].Body.HTML)
	if got := do(t, http.MethodGet, pathOf(t, fresh), "", browserAccept, nil); got.Status != 200 || !strings.Contains(got.Body, `value="save"`) {
		t.Fatalf("the fresh link = %d %s", got.Status, got.Body)
	}
	// Asked again at once: no second mail within the resend interval.
	postForm(t, "/unsubscribe/link", url.Values{"email": {email}})
	if n := len(mailsTo(t, email)); n != before+1 {
		t.Fatalf("%d fresh-link mails after asking twice at once, want 1", n-before)
	}
}
