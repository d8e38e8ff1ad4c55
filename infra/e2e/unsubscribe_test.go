package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

// subscribe signs email up for purposes and presses the confirm button.
func subscribe(t *testing.T, email string, purposes ...string) {
	t.Helper()
	if got := postForm(t, "/signup", signupForm(email, purposes...)); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d %s", got.Status, got.Body)
	}
	mails := mailsTo(t, email)
	link := confirmLink(t, mails[len(mails)-1])
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, link)}}); got.Status != 200 {
		t.Fatalf("confirm = %d %s", got.Status, got.Body)
	}
}

type newsletterResult struct{ Sent, Skipped, Undeliverable, Failed int }

func sendNewsletter(t *testing.T) newsletterResult {
	t.Helper()
	out, err := stack.Invoke(context.Background(), "NewsletterFunction", []byte(`{"list":"newsletter","subject":"News","paragraphs":["Hello"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var r newsletterResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("newsletter answered %s", out)
	}
	return r
}

func header(m localstack.Mail, name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// marketingTo returns the marketing mails to addr: those with List-Unsubscribe.
func marketingTo(t *testing.T, addr string) []localstack.Mail {
	t.Helper()
	var out []localstack.Mail
	for _, m := range mailsTo(t, addr) {
		if header(m, "List-Unsubscribe") != "" {
			out = append(out, m)
		}
	}
	return out
}

// unsubscribeURL reads the one-click URL as a mail provider does: from the
// List-Unsubscribe header, checking List-Unsubscribe-Post.
func unsubscribeURL(t *testing.T, m localstack.Mail) string {
	t.Helper()
	lu := header(m, "List-Unsubscribe")
	if !strings.HasPrefix(lu, "<") || !strings.HasSuffix(lu, ">") || header(m, "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("not an RFC 8058 mail: List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, header(m, "List-Unsubscribe-Post"))
	}
	return lu[1 : len(lu)-1]
}

// oneClick POSTs as RFC 8058 describes: no cookies, the URL from the header,
// the body "List-Unsubscribe=One-Click" urlencoded or as multipart; or as
// some mail clients and add-ons really send it (encoding "empty": no body and
// no content type; "spaced": urlencoded with stray white space; "text": as
// text/plain; "json": as a JSON object).
func oneClick(t *testing.T, link string, encoding string) answer {
	t.Helper()
	post := func(contentType, body string) answer {
		return do(t, http.MethodPost, pathOf(t, link), contentType, "", strings.NewReader(body))
	}
	switch encoding {
	case "multipart":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("List-Unsubscribe", "One-Click")
		w.Close()
		return do(t, http.MethodPost, pathOf(t, link), w.FormDataContentType(), "", &buf)
	case "empty":
		return do(t, http.MethodPost, pathOf(t, link), "", "", nil)
	case "spaced":
		return post("application/x-www-form-urlencoded", "List-Unsubscribe=One-Click\r\n")
	case "text":
		return post("text/plain", "List-Unsubscribe=One-Click")
	case "json":
		return post("application/json", `{"List-Unsubscribe": "One-Click"}`)
	}
	return post("application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
}

func TestEveryMarketingMailCarriesOneClickHeadersAndAVisibleLink(t *testing.T) {
	const email = "reader@example.com"
	subscribe(t, email, "newsletter")
	if r := sendNewsletter(t); r.Sent < 1 || r.Failed != 0 {
		t.Fatalf("newsletter = %+v", r)
	}
	mails := marketingTo(t, email)
	if len(mails) != 1 {
		t.Fatalf("%d marketing mails to %s, want 1", len(mails), email)
	}
	link := unsubscribeURL(t, mails[0])
	if !strings.Contains(mails[0].Body.Text, link) || !strings.Contains(mails[0].Body.HTML, `href="`+link+`"`) {
		t.Fatal("the unsubscribe link is not visible in both parts")
	}
	for _, m := range mailsTo(t, email) {
		if strings.HasPrefix(m.Subject, "Please confirm") && header(m, "List-Unsubscribe") != "" {
			t.Error("the confirmation mail is not marketing but carries List-Unsubscribe")
		}
	}
	// The token names the person and the list, never the address.
	body, _, _ := strings.Cut(tokenOf(t, link), ".")
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || strings.Contains(string(payload), "@") || strings.Contains(string(payload), "reader") || !strings.Contains(string(payload), `"newsletter"`) {
		t.Fatalf("token payload = %s, %v", payload, err)
	}
	c, err := keys.Verify(tokenOf(t, link), token.Unsubscribe, time.Now().AddDate(5, 0, 0))
	if err != nil || c.Expires != 0 {
		t.Fatalf("the unsubscribe token expires: %+v, %v", c, err)
	}
}

func TestOneClickUnsubscribeAsAMailProviderDoesIt(t *testing.T) {
	for _, encoding := range []string{"urlencoded", "multipart", "empty", "spaced", "text", "json"} {
		t.Run(encoding, func(t *testing.T) {
			email := "oneclick-" + encoding + "@example.com"
			subscribe(t, email, "newsletter", "offers", "testimonials")
			sendNewsletter(t)
			link := unsubscribeURL(t, marketingTo(t, email)[0])

			stack.DynamoDBCalls.Reset()
			got := oneClick(t, link, encoding)
			if got.Status != 200 || got.Header.Get("Location") != "" || got.Header.Get("Set-Cookie") != "" {
				t.Fatalf("one-click = %d %v %s; want 200 without a redirect or cookie", got.Status, got.Header, got.Body)
			}
			// The person keeps a testimonial, so the one-write path's condition
			// fails and the decision is made on a read (one transaction
			// refused, a read, a transaction).
			if calls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents); !maps.Equal(calls, map[string]int{"TransactWriteItems": 2, "GetItem": 1}) {
				t.Fatalf("one-click made DynamoDB calls %v; want the unread write refused, a read and a transaction", calls)
			}
			p, _ := personOf(t, email)
			if p.Status != people.Unsubscribed || !slices.Equal(p.Active, []people.Purpose{people.Testimonials}) {
				t.Fatalf("after one-click the person is %+v; want no marketing, the testimonial consent kept", p)
			}

			stack.DynamoDBCalls.Reset()
			if again := oneClick(t, link, encoding); again.Status != 200 {
				t.Fatalf("a repeated one-click = %d", again.Status)
			}
			if calls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents); !maps.Equal(calls, map[string]int{"TransactWriteItems": 1, "GetItem": 1}) {
				t.Fatalf("a repeated one-click made DynamoDB calls %v; want the unread write refused and a read that finds nothing to do", calls)
			}
			withdrawals := 0
			for _, e := range ledgerOf(t, email) {
				if e.Action == people.Withdraw {
					withdrawals++
					if e.Source != "one-click" || e.Purpose != people.AllMarketing || e.IP != keyedIP("127.0.0.1") {
						t.Errorf("withdrawal entry = %+v", e)
					}
				}
			}
			if withdrawals != 1 {
				t.Fatalf("%d withdrawals in the ledger after two one-clicks, want 1", withdrawals)
			}
			sendNewsletter(t)
			if n := len(marketingTo(t, email)); n != 1 {
				t.Fatalf("%d marketing mails after unsubscribing, want still 1", n)
			}
		})
	}
}

func TestAOneClickFromASubscriberIsOneWrite(t *testing.T) {
	const email = "oneclick-plain@example.com"
	subscribe(t, email, "newsletter", "offers")
	sendNewsletter(t)
	link := unsubscribeURL(t, marketingTo(t, email)[0])
	stack.DynamoDBCalls.Reset()
	if got := oneClick(t, link, "urlencoded"); got.Status != 200 {
		t.Fatalf("one-click = %d %s", got.Status, got.Body)
	}
	if calls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents); !maps.Equal(calls, map[string]int{"TransactWriteItems": 1}) {
		t.Fatalf("one-click made DynamoDB calls %v; want one transaction and no read", calls)
	}
	if p, _ := personOf(t, email); p.Status != people.Unsubscribed || len(p.Active) != 0 || p.Clock.Rule != people.RuleNoPurpose {
		t.Fatalf("after one-click the person is %+v; want unsubscribed, nothing active, the no-purpose clock", p)
	}
}

func TestThePreferencesPageShowsAndSavesChoices(t *testing.T) {
	const email = "prefs@example.com"
	subscribe(t, email, "newsletter")
	sendNewsletter(t)
	link := unsubscribeURL(t, marketingTo(t, email)[0])
	before, _ := personOf(t, email)

	for range 2 { // scanners and people open links more than once
		page := do(t, http.MethodGet, pathOf(t, link), "", browserAccept, nil)
		if page.Status != 200 || !strings.Contains(page.Body, "p***@example.com") || strings.Contains(page.Body, email) ||
			!strings.Contains(page.Body, `value="newsletter" checked`) || !strings.Contains(page.Body, `value="offers">`) ||
			!strings.Contains(page.Body, `value="stop"`) || strings.Contains(page.Body, "<script") {
			t.Fatalf("preferences page = %d\n%s", page.Status, page.Body)
		}
	}
	if p, _ := personOf(t, email); p.Version != before.Version {
		t.Fatalf("GET changed the person: version %d -> %d", before.Version, p.Version)
	}

	save := url.Values{"action": {"save"}, "purposes": {"offers", "surveys"}}
	for range 2 {
		got := postForm(t, pathOf(t, link), save)
		if got.Status != http.StatusSeeOther || got.Header.Get("Location") != pathOf(t, link)+"&done=saved" {
			t.Fatalf("save = %d %v; want 303 to the link's page", got.Status, got.Header)
		}
		if page := do(t, http.MethodGet, got.Header.Get("Location"), "", browserAccept, nil); page.Status != 200 || !strings.Contains(page.Body, "Your choices are saved") {
			t.Fatalf("the page after a save = %d\n%s", page.Status, page.Body)
		}
	}
	// The grants wait for the button in the one mail the saves sent.
	p, _ := personOf(t, email)
	if len(p.Active) != 0 || !slices.Equal(p.Pending, []people.Purpose{people.Offers, people.Surveys}) {
		t.Fatalf("after saving the person is %+v; want offers and surveys pending", p)
	}
	mails := mailsTo(t, email)
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[len(mails)-1]))}}); got.Status != 200 {
		t.Fatalf("confirm = %d", got.Status)
	}
	p, _ = personOf(t, email)
	if !slices.Equal(p.Active, []people.Purpose{people.Offers, people.Surveys}) || p.Status != people.Confirmed {
		t.Fatalf("after confirming the person is %+v", p)
	}
	var changes []string
	for _, e := range ledgerOf(t, email) {
		if e.Source == "preferences" {
			changes = append(changes, string(e.Action)+":"+string(e.Purpose))
		}
	}
	slices.Sort(changes)
	if strings.Join(changes, " ") != "grant:offers grant:surveys withdraw:newsletter" {
		t.Fatalf("preference changes in the ledger = %v; want one entry per change, none for the repeat", changes)
	}

	if got := postForm(t, pathOf(t, link), url.Values{"action": {"stop"}}); got.Status != http.StatusSeeOther || got.Header.Get("Location") != pathOf(t, link)+"&done=stop" {
		t.Fatalf("stop all = %d %v; want 303 to the link's page", got.Status, got.Header)
	}
	if p, _ := personOf(t, email); len(p.Active) != 0 || p.Status != people.Unsubscribed {
		t.Fatalf("after stop all the person is %+v", p)
	}
}

func TestBadUnsubscribeTokensAreRefusedAndChangeNothing(t *testing.T) {
	const email = "guarded@example.com"
	subscribe(t, email, "newsletter")
	id := people.KeyedID(pepper)(email)
	good := keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, time.Now(), 0)
	tests := map[string]string{
		"tampered":              good[:len(good)-2] + "AA",
		"a confirm token":       keys.Issue(token.Confirm, id, []string{"newsletter"}, time.Now(), time.Hour),
		"garbage":               "not-a-token",
		"missing":               "",
		"an email in its place": email,
	}
	items := countItems(t)
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			path := "/unsubscribe?t=" + url.QueryEscape(tok)
			if got := oneClick(t, stack.GatewayURL+path, "urlencoded"); got.Status < 400 || got.Status > 499 || !strings.Contains(got.Body, `"code"`) {
				t.Fatalf("one-click = %d %s", got.Status, got.Body)
			}
			if page := do(t, http.MethodGet, path, "", browserAccept, nil); page.Status < 400 || page.Status > 499 || !strings.Contains(page.Body, "link") {
				t.Fatalf("GET = %d %s", page.Status, page.Body)
			}
		})
	}
	if p, _ := personOf(t, email); !p.Has(people.Newsletter) || countItems(t) != items {
		t.Fatal("a refused token changed something")
	}
	// With a good token, any POST that is not the preferences form is a
	// one-click, whatever its body says (RFC 8058 clients vary).
	odd := do(t, http.MethodPost, "/unsubscribe?t="+url.QueryEscape(good), "application/x-www-form-urlencoded", "", strings.NewReader("List-Unsubscribe=Yes"))
	if p, _ := personOf(t, email); odd.Status != 200 || p.Has(people.Newsletter) {
		t.Fatalf("an odd one-click body with a good token = %d, %+v; want 200 and unsubscribed", odd.Status, p)
	}
}

func TestATokenForAnErasedPersonAnswersAsIfUnsubscribed(t *testing.T) {
	gone := keys.Issue(token.Unsubscribe, people.KeyedID(pepper)("erased@example.com"), []string{"newsletter"}, time.Now(), 0)
	path := "/unsubscribe?t=" + url.QueryEscape(gone)
	if page := do(t, http.MethodGet, path, "", browserAccept, nil); page.Status != 200 || !strings.Contains(page.Body, "You are unsubscribed") {
		t.Fatalf("GET = %d %s", page.Status, page.Body)
	}
	items := countItems(t)
	if got := oneClick(t, stack.GatewayURL+path, "urlencoded"); got.Status != 200 || !strings.Contains(got.Body, `"unsubscribed"`) {
		t.Fatalf("one-click = %d %s", got.Status, got.Body)
	}
	if got := postForm(t, path, url.Values{"action": {"save"}, "purposes": {"offers"}}); got.Status != 200 || !strings.Contains(got.Body, "You are unsubscribed") {
		t.Fatalf("save = %d %s", got.Status, got.Body)
	}
	if n := countItems(t); n != items {
		t.Fatalf("a token for an erased person wrote %d items", n-items)
	}
}
