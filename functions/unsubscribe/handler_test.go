package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
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
	stopped []people.Context
	saved   [][]people.Purpose
}

func (r *recordingSubs) StopMarketing(_ context.Context, _ string, c people.Context) (bool, error) {
	r.stopped = append(r.stopped, c)
	return true, nil
}

func (r *recordingSubs) SetPreferences(_ context.Context, _ string, want []people.Purpose, _ people.Context) (bool, error) {
	r.saved = append(r.saved, want)
	return true, nil
}

type onePerson struct{ p people.Person }

func (o onePerson) Person(context.Context, string) (people.Person, error) { return o.p, nil }

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newHandler(t *testing.T) (*handler, *recordingSubs, string) {
	t.Helper()
	keys, _ := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road")
	if err != nil {
		t.Fatal(err)
	}
	subs := &recordingSubs{}
	p := onePerson{people.Person{ID: "p1", Email: "jo@example.com", Active: []people.Purpose{people.Newsletter}}}
	h := &handler{subs: subs, people: p, keys: keys, site: site, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "j***@e***.com") || !strings.Contains(resp.Body, `value="newsletter" checked`) {
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
		"a confirm token":         oneClickEvent(t, confirmTok),
		"a tampered token":        oneClickEvent(t, tok[:len(tok)-3]+"AAA"),
		"a wrong one-click value": {RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}, Body: "List-Unsubscribe=Yes"},
		"an unknown purpose":      {RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}, Body: "action=save&purposes=resale"},
		"no action":               {RouteKey: "POST /unsubscribe", QueryStringParameters: map[string]string{"t": tok}, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}, Body: "purposes=offers"},
	} {
		resp, err := h.handle(context.Background(), req)
		if err != nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("%s: = %d, %v; want a 4xx", name, resp.StatusCode, err)
		}
	}
	if len(subs.stopped)+len(subs.saved) != 0 {
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
