package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// recordingSubs records what the handler asks of the domain; the real flow
// is tested against the emulators in infra/e2e.
type recordingSubs struct {
	stopped   []people.Context
	saved     [][]people.Purpose
	withdrawn [][]people.Purpose
	asked     []string // addresses a fresh link was asked for
	result    people.PreferencesResult
}

func (r *recordingSubs) StopMarketing(_ context.Context, _ string, c people.Context) (bool, error) {
	r.stopped = append(r.stopped, c)
	return true, nil
}

func (r *recordingSubs) SetPreferences(_ context.Context, _ string, want []people.Purpose, _ people.Context) (people.PreferencesResult, error) {
	r.saved = append(r.saved, want)
	return r.result, nil
}

func (r *recordingSubs) Withdraw(_ context.Context, _ string, keep []people.Purpose, _ people.Context) (people.PreferencesResult, error) {
	r.withdrawn = append(r.withdrawn, keep)
	return people.PreferencesResult{Changed: true}, nil
}

func (r *recordingSubs) SendPreferencesLink(_ context.Context, typed string, _ people.Context) error {
	r.asked = append(r.asked, typed)
	return nil
}

type onePerson struct{ p people.Person }

func (o onePerson) Person(context.Context, string) (people.Person, error) { return o.p, nil }

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newHandler(t *testing.T) (*handler, *recordingSubs, string) {
	t.Helper()
	keys, _ := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	subs := &recordingSubs{}
	p := onePerson{people.Person{ID: "p1", Email: "jo@example.com", Active: []people.Purpose{people.Newsletter}}}
	h := &handler{subs: func(string) subscriptions { return subs }, people: p, keys: keys, site: site, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return h, subs, keys.Issue(token.Unsubscribe, "p1", []string{"newsletter"}, now, 0)
}

func oneClickEvent(t *testing.T, tok string) web.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/one-click.json")
	if err != nil {
		t.Fatal(err)
	}
	var req web.Request
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "TOKEN", tok)), &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOneClickAsHTTPAPIDeliversItStopsMarketingWithoutARedirect(t *testing.T) {
	h, subs, tok := newHandler(t)
	resp, err := h.handle(context.Background(), oneClickEvent(t, tok))
	if err != nil || resp.StatusCode != 200 || resp.Headers["Location"] != "" || len(resp.Cookies) != 0 {
		t.Fatalf("one-click = %d %v, %v", resp.StatusCode, resp.Headers, err)
	}
	if len(subs.stopped) != 1 || subs.stopped[0].Source != "one-click" || subs.stopped[0].IP != "203.0.113.9" {
		t.Fatalf("stopped = %+v", subs.stopped)
	}
}

func TestGETNeverChangesState(t *testing.T) {
	h, subs, tok := newHandler(t)
	req := web.Request{RouteKey: "GET /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{"accept": "text/html"}}
	resp, err := h.handle(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "j***@example.com") || !strings.Contains(resp.Body, `value="newsletter" checked`) {
		t.Fatalf("GET = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if len(subs.stopped)+len(subs.saved) != 0 {
		t.Fatal("GET changed state")
	}
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	h, subs, tok := newHandler(t)
	confirmTok := h.keys.Issue(token.Confirm, "p1", []string{"newsletter"}, now, time.Hour)
	for name, req := range map[string]web.Request{
		"a confirm token":    oneClickEvent(t, confirmTok),
		"a tampered token":   oneClickEvent(t, tok[:len(tok)-3]+"AAA"),
		"an unknown purpose": {RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}, Body: "action=save&purposes=resale"},
	} {
		resp, err := h.handle(context.Background(), req)
		if err != nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("%s: = %d, %v; want a 4xx", name, resp.StatusCode, err)
		}
	}
	if len(subs.stopped)+len(subs.saved)+len(subs.withdrawn) != 0 {
		t.Fatal("a refused request changed state")
	}
}

// TestAnyPOSTToAOneClickLinkUnsubscribes: mail clients and add-ons send the
// one-click POST in every shape; each must unsubscribe with a 200, and the
// preferences form must still be the form.
func TestAnyPOSTToAOneClickLinkUnsubscribes(t *testing.T) {
	post := func(tok, contentType, body string, b64 bool) web.Request {
		req := web.Request{RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{}, Body: body}
		if contentType != "" {
			req.Headers["content-type"] = contentType
		}
		if b64 {
			req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
		}
		return req
	}
	multipart := "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
	for name, c := range map[string]struct {
		contentType, body string
		b64               bool
	}{
		"an empty body and no content type":   {"", "", false},
		"an empty form":                       {"application/x-www-form-urlencoded", "", true},
		"a form with a trailing line break":   {"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click\r\n", true},
		"a form with spaces around the value": {"application/x-www-form-urlencoded", "List-Unsubscribe=+One-Click+", true},
		"a form with spaces around the =":     {"application/x-www-form-urlencoded", "List-Unsubscribe = One-Click", true},
		"text/plain":                          {"text/plain", "List-Unsubscribe=One-Click", false},
		"no content type":                     {"", "List-Unsubscribe=One-Click", true},
		"an unknown content type":             {"application/octet-stream", "\x00\x01", true},
		"multipart":                           {"multipart/form-data; boundary=b", multipart, true},
		"JSON":                                {"application/json", `{"List-Unsubscribe":"One-Click"}`, false},
		"another value than One-Click":        {"application/x-www-form-urlencoded", "List-Unsubscribe=Yes", true},
		"One Click with a space":              {"application/x-www-form-urlencoded", "List-Unsubscribe=One+Click", true},
		"an action that is not the form's":    {"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click&action=bogus", true},
		"purposes without the form's action":  {"application/x-www-form-urlencoded", "purposes=offers", true},
	} {
		t.Run(name, func(t *testing.T) {
			h, subs, tok := newHandler(t)
			resp, err := h.handle(context.Background(), post(tok, c.contentType, c.body, c.b64))
			if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"unsubscribed"`) {
				t.Fatalf("= %d %s, %v; want 200 unsubscribed", resp.StatusCode, resp.Body, err)
			}
			if len(subs.stopped) != 1 || subs.stopped[0].Source != "one-click" || len(subs.saved) != 0 {
				t.Fatalf("stopped %+v, saved %v; want one one-click stop", subs.stopped, subs.saved)
			}
		})
	}
	t.Run("the preferences form is still the form", func(t *testing.T) {
		h, subs, tok := newHandler(t)
		if resp, err := h.handle(context.Background(), post(tok, "application/x-www-form-urlencoded", "action=save&purposes=offers", true)); err != nil || resp.StatusCode != 200 {
			t.Fatalf("save = %d, %v", resp.StatusCode, err)
		}
		if resp, err := h.handle(context.Background(), post(tok, "application/x-www-form-urlencoded", "action=stop", true)); err != nil || resp.StatusCode != 200 {
			t.Fatalf("stop = %d, %v", resp.StatusCode, err)
		}
		if len(subs.saved) != 1 || len(subs.stopped) != 1 || subs.stopped[0].Source != "preferences" {
			t.Fatalf("saved %v, stopped %+v; want one save and one stop from the preferences", subs.saved, subs.stopped)
		}
	})
}

func TestAnExpiredLinkStopsAndWithdrawsButNeverGrantsAndOffersAFreshLink(t *testing.T) {
	h, subs, _ := newHandler(t)
	old := h.keys.Issue(token.Unsubscribe, "p1", []string{"newsletter"}, now.AddDate(0, -3, 0), 31*24*time.Hour)
	form := func(body string) web.Request {
		return web.Request{RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": old},
			Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}, Body: body}
	}
	page, err := h.handle(context.Background(), web.Request{RouteKey: "GET /unsubscribe", QueryStringParameters: map[string]string{"t": old},
		Headers: map[string]string{"accept": "text/html"}})
	if err != nil || page.StatusCode != 410 || !strings.Contains(page.Body, `action="/unsubscribe/link"`) || !strings.Contains(page.Body, `value="stop"`) ||
		strings.Contains(page.Body, `value="save"`) {
		t.Fatalf("GET with an expired link = %d %s, %v; want the fresh-link page with a stop button and no save", page.StatusCode, page.Body, err)
	}
	if resp, _ := h.handle(context.Background(), oneClickEvent(t, old)); resp.StatusCode != 200 || len(subs.stopped) != 1 {
		t.Fatalf("one-click with an expired link = %d, stopped %d; want it honoured", resp.StatusCode, len(subs.stopped))
	}
	// A form sends the browser on to the link's page (303), which for an
	// expired link is the fresh-link page (410) saying what the form did.
	after := func(resp web.Response) web.Response {
		t.Helper()
		loc := resp.Headers["Location"]
		if resp.StatusCode != 303 || !strings.HasPrefix(loc, "/unsubscribe?t=") {
			t.Fatalf("a form's answer = %d %v; want 303 to the link's page", resp.StatusCode, resp.Headers)
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(loc, "/unsubscribe?"))
		page, err := h.handle(context.Background(), web.Request{RouteKey: "GET /unsubscribe", RawQueryString: strings.TrimPrefix(loc, "/unsubscribe?"),
			QueryStringParameters: map[string]string{"t": q.Get("t"), "done": q.Get("done")}, Headers: map[string]string{"accept": "text/html"}})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	// The store as it has the person after the stop.
	h.people = onePerson{people.Person{ID: "p1", Email: "jo@example.com"}}
	if resp, _ := h.handle(context.Background(), form("action=stop")); len(subs.stopped) != 2 {
		t.Fatalf("stop all with an expired link = %d, stopped %d", resp.StatusCode, len(subs.stopped))
	} else if page := after(resp); page.StatusCode != 410 || !strings.Contains(page.Body, "You are unsubscribed from all marketing mail") {
		t.Fatalf("after stopping with an expired link = %d %s", page.StatusCode, page.Body)
	}
	if resp, _ := h.handle(context.Background(), form("action=save&purposes=offers")); len(subs.saved) != 0 || len(subs.withdrawn) != 1 {
		t.Fatalf("save with an expired link = %d, saved %v, withdrawn %v; want a withdrawal only", resp.StatusCode, subs.saved, subs.withdrawn)
	} else if page := after(resp); page.StatusCode != 410 || !strings.Contains(page.Body, "This link is old: it can only turn things off") {
		t.Fatalf("after saving with an expired link = %d %s", page.StatusCode, page.Body)
	}
	unknown, _ := token.NewKeys(map[string][]byte{"k9": []byte("0123456789abcdef0123456789abcdef")}, "k9")
	page, _ = h.handle(context.Background(), web.Request{RouteKey: "GET /unsubscribe", Headers: map[string]string{"accept": "text/html"},
		QueryStringParameters: map[string]string{"t": unknown.Issue(token.Unsubscribe, "p1", nil, now, 0)}})
	if page.StatusCode != 400 || !strings.Contains(page.Body, `action="/unsubscribe/link"`) || strings.Contains(page.Body, `value="stop"`) {
		t.Fatalf("GET with an unknown key = %d %s; want the fresh-link page without a stop button", page.StatusCode, page.Body)
	}
	sent, err := h.handle(context.Background(), web.Request{RouteKey: "POST /unsubscribe/link", Headers: map[string]string{
		"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}, Body: "email=jo%40example.com"})
	if err != nil || sent.StatusCode != 200 || !strings.Contains(sent.Body, "If we hold this address") || !slices.Equal(subs.asked, []string{"jo@example.com"}) {
		t.Fatalf("asking for a fresh link = %d %s, %v, asked %v", sent.StatusCode, sent.Body, err, subs.asked)
	}
}

func TestASaveThatGrantsSaysAConfirmationMailIsOnItsWay(t *testing.T) {
	h, subs, tok := newHandler(t)
	req := web.Request{RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok},
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}, Body: "action=save&purposes=newsletter&purposes=testimonials"}
	subs.result = people.PreferencesResult{Changed: true, Waiting: []people.Purpose{people.Testimonials}, Mailed: true}
	resp, _ := h.handle(context.Background(), req)
	if resp.StatusCode != 303 || resp.Headers["Location"] != "/unsubscribe?t="+url.QueryEscape(tok)+"&done=saved" {
		t.Fatalf("save = %d %v; want 303 to the page of the link (POST-redirect-GET)", resp.StatusCode, resp.Headers)
	}
	// The page it leads to, as the store has the person after the save.
	h.people = onePerson{people.Person{ID: "p1", Email: "jo@example.com", Active: []people.Purpose{people.Newsletter}, Pending: []people.Purpose{people.Testimonials}}}
	page, _ := h.handle(context.Background(), web.Request{RouteKey: "GET /unsubscribe", QueryStringParameters: map[string]string{"t": tok, "done": "saved"},
		Headers: map[string]string{"accept": "text/html"}})
	if page.StatusCode != 200 || !strings.Contains(page.Body, `role="status">Your choices are saved. You now receive: Newsletter. Testimonials will start when you press the button in the confirmation mail`) {
		t.Fatalf("the page after a save = %d %s", page.StatusCode, page.Body)
	}
	subs.result = people.PreferencesResult{Changed: true, Limited: true, RetryAfter: 4 * time.Minute}
	if resp, _ := h.handle(context.Background(), req); resp.StatusCode != 429 || !strings.Contains(resp.Body, "Nothing new was started") ||
		!strings.Contains(resp.Body, "because we have recently sent this address as many mails as we allow.") || resp.Headers["Retry-After"] != "240" {
		t.Fatalf("a save the limits refused = %d %v %s; want 429, Retry-After 240 and the page", resp.StatusCode, resp.Headers, resp.Body)
	}
	script := req
	script.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
	if resp, _ := h.handle(context.Background(), script); resp.StatusCode != 429 || resp.Headers["Retry-After"] != "240" || !strings.Contains(resp.Body, `"code":"rate_limited"`) {
		t.Fatalf("a script's save the limits refused = %d %v %s; want 429, Retry-After and the error body", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// The done= query is the person's own link plus words anyone can add: a
// page shown with it says only what the person's state bears out.
func TestThePageAfterAFormSaysWhatTheStateBearsOutWhateverTheQueryClaims(t *testing.T) {
	h, _, tok := newHandler(t) // jo receives the newsletter; our mail reaches her
	get := func(done string) string {
		t.Helper()
		resp, err := h.handle(context.Background(), web.Request{RouteKey: "GET /unsubscribe", QueryStringParameters: map[string]string{"t": tok, "done": done},
			Headers: map[string]string{"accept": "text/html"}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET with done=%s = %d, %v", done, resp.StatusCode, err)
		}
		return resp.Body
	}
	for _, done := range []string{"stop", "unreachable"} {
		body := get(done)
		for _, claim := range []string{"You are unsubscribed", "does not reach this address"} {
			if strings.Contains(body, claim) {
				t.Errorf("done=%s on a subscribed, reachable person's page says %q", done, claim)
			}
		}
		if !strings.Contains(body, `role="status">Your choices are saved. You now receive: Newsletter.`) {
			t.Errorf("done=%s: the status does not say what the person receives:\n%s", done, body)
		}
	}
	// What a save leaves of the testimonial permission is said too.
	if body := get("saved"); !strings.Contains(body, "We will not publish a testimonial of yours.") {
		t.Errorf("the page after a save does not say that no testimonial is published:\n%s", body)
	}
	h.people = onePerson{people.Person{ID: "p1", Email: "jo@example.com", Active: []people.Purpose{people.Testimonials}}}
	if body := get("stop"); !strings.Contains(body, "You are unsubscribed from all marketing mail") {
		t.Errorf("after a stop the page does not say so:\n%s", body)
	}
	if body := get("saved"); !strings.Contains(body, "no marketing mail. We may publish a testimonial you give us, with your name.") {
		t.Errorf("the page after a save does not say the testimonial permission stays:\n%s", body)
	}
}
