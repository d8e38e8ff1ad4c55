package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/link"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

type recordingConfirmer struct {
	calls   []string
	nonce   string
	ctx     people.Context
	outcome people.ConfirmOutcome
}

func (r *recordingConfirmer) Confirm(_ context.Context, id, nonce string, c people.Context) (people.ConfirmOutcome, error) {
	r.calls, r.nonce, r.ctx = append(r.calls, id), nonce, c
	return r.outcome, nil
}

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// onePerson holds p1, whose live link n-2 carries the name a sign-up gave.
type onePerson struct{}

func (onePerson) Person(_ context.Context, id string) (people.Person, error) {
	if id != "p1" {
		return people.Person{}, people.ErrNotFound
	}
	return people.Person{ID: "p1", Version: 1, Links: []people.Link{{Nonce: "n-2", Name: `Jo "><script>`, Expires: now.Add(time.Hour)}}}, nil
}

func newHandler(t *testing.T) (*handler, *recordingConfirmer, *token.Keys) {
	t.Helper()
	keys, _ := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c := &recordingConfirmer{}
	return &handler{svc: c, people: onePerson{}, keys: keys, prefs: link.Minter{Keys: keys}, site: site, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, c, keys
}

func TestGETShowsTheButtonAndChangesNothing(t *testing.T) {
	h, c, keys := newHandler(t)
	tok := keys.Issue(token.Confirm, "p1", []string{"newsletter", "surveys"}, now, time.Hour)
	resp, err := h.handle(context.Background(), web.Request{RouteKey: "GET /confirm", QueryStringParameters: map[string]string{"t": tok}})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `<input type="hidden" name="t" value="`+tok+`">`) ||
		!strings.Contains(resp.Body, "<li>Customer surveys</li>") {
		t.Fatalf("GET = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	nameOnly := keys.IssueOnce(token.Confirm, "p1", "n-2", nil, now, time.Hour)
	resp, err = h.handle(context.Background(), web.Request{RouteKey: "GET /confirm", QueryStringParameters: map[string]string{"t": nameOnly}})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "the name given on the form") || !strings.Contains(resp.Body, `value="`+nameOnly+`"`) {
		t.Fatalf("GET of a link for a name alone = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	// The name the sign-up gave is shown here, escaped, before the button
	// confirms it: the only place its owner sees it, since mail never carries it.
	if !strings.Contains(resp.Body, "We will greet you as <strong>Jo &#34;&gt;&lt;script&gt;</strong>") {
		t.Fatalf("the confirm page does not show the name it confirms: %s", resp.Body)
	}
	if len(c.calls) != 0 {
		t.Fatal("GET confirmed")
	}
}

func TestPOSTConfirmsTheLinkByItsNonce(t *testing.T) {
	h, c, keys := newHandler(t)
	tok := keys.IssueOnce(token.Confirm, "p1", "n-1", []string{"surveys"}, now, time.Hour)
	req := web.Request{RouteKey: "POST /confirm", Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
		Body: url.Values{"t": {tok}}.Encode()}
	req.RequestContext.HTTP.SourceIP = "198.51.100.7"
	resp, err := h.handle(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Body != `{"status":"confirmed"}` {
		t.Fatalf("POST = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if !slices.Equal(c.calls, []string{"p1"}) || c.nonce != "n-1" || c.ctx.IP != "198.51.100.7" || c.ctx.Source != "confirm-link" {
		t.Fatalf("confirmed %v %q %+v", c.calls, c.nonce, c.ctx)
	}
	c.outcome = people.AlreadyUsed
	req.Headers["accept"] = "text/html"
	if resp, err := h.handle(context.Background(), req); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "already used") ||
		!strings.Contains(resp.Body, "Nothing has changed") {
		t.Fatalf("a used link = %d %s, %v; want a page that says so", resp.StatusCode, resp.Body, err)
	}
}

func TestPOSTRefusesExpiredAndForeignTokens(t *testing.T) {
	h, c, keys := newHandler(t)
	for name, tok := range map[string]string{
		"expired":     keys.Issue(token.Confirm, "p1", []string{"surveys"}, now.Add(-2*time.Hour), time.Hour),
		"unsubscribe": keys.Issue(token.Unsubscribe, "p1", []string{"surveys"}, now, 0),
		"no scope":    keys.Issue(token.Confirm, "p1", nil, now, time.Hour),
		"bad scope":   keys.Issue(token.Confirm, "p1", []string{"resale"}, now, time.Hour),
	} {
		req := web.Request{RouteKey: "POST /confirm", Headers: map[string]string{"content-type": "application/json"}, Body: `{"t":"` + tok + `"}`}
		resp, err := h.handle(context.Background(), req)
		if err != nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("%s: POST = %d, %v; want a 4xx", name, resp.StatusCode, err)
		}
	}
	if len(c.calls) != 0 {
		t.Fatal("a refused token confirmed")
	}
}
