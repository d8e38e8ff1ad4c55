package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/mail/mailtest"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// recordingStore records the sign-up; the real store is tested against
// DynamoDB in package store and end to end in infra/e2e.
type recordingStore struct {
	people.Store
	got []people.Change
}

// UpdatePerson decides about a person nobody knows yet and records the change.
func (s *recordingStore) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	ch, err := decide(people.Person{ID: id})
	if err == nil && !ch.IsZero() {
		s.got = append(s.got, ch)
	}
	return ch, err
}

type recordingMailer struct{ sent []people.ConfirmationMail }

func (m *recordingMailer) SendConfirmation(_ context.Context, c people.ConfirmationMail) error {
	m.sent = append(m.sent, c)
	return nil
}

func newHandler(t *testing.T) (*handler, *recordingStore, *recordingMailer) {
	t.Helper()
	keys, err := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	st, m := &recordingStore{}, &recordingMailer{}
	return &handler{site: site, policy: config.PolicyInForce{Version: "2015-03-22", URL: "https://example.com/privacy"},
		keys: keys, log: slog.New(slog.NewTextHandler(io.Discard, nil)), svc: people.Service{
			Store: st, Mailer: m, PersonID: people.KeyedID([]byte("pepper")), NewID: people.RandomID, Now: time.Now, LinkTTL: 48 * time.Hour,
			ResendInterval: 10 * time.Minute, PolicyVersion: "2015-03-22",
		}}, st, m
}

func golden(t *testing.T, name string) web.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req web.Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAFormPostAsHTTPAPIDeliversItIsRecordedAndRedirected(t *testing.T) {
	h, st, m := newHandler(t)
	resp, err := h.handle(context.Background(), golden(t, "form-post.json"))
	if err != nil || resp.StatusCode != 303 || resp.Headers["Location"] != "/signup/thanks" {
		t.Fatalf("handle = %d %v, %v", resp.StatusCode, resp.Headers, err)
	}
	if len(st.got) != 1 {
		t.Fatalf("%d sign-ups recorded", len(st.got))
	}
	r := st.got[0]
	if r.After.Email != "jo@example.com" || r.After.Name != "" || len(r.After.Links) != 1 || r.After.Links[0].Name != "Jo Tester" || !slices.Equal(r.After.Pending, []people.Purpose{people.Newsletter, people.Surveys}) ||
		r.Events[0].IP != people.KeyedID([]byte("pepper"))("ip:198.51.100.7") || r.Events[0].Source != "signup-form" || r.Events[0].UserAgent != "Mozilla/5.0 (X11; Linux x86_64)" {
		t.Fatalf("recorded %+v", r)
	}
	if len(m.sent) != 1 || !strings.HasPrefix(m.sent[0].Link, "https://abc123.execute-api.us-east-1.amazonaws.com/confirm?t=") {
		t.Fatalf("mail = %+v; want a link on the API's own HTTPS domain", m.sent)
	}
}

func TestAFilledHoneypotIsAnsweredLikeASignUpAndChangesNothing(t *testing.T) {
	for _, tt := range []struct {
		name, field string
		html        bool
	}{
		{"a browser filling the trap", "extra_comment", true},
		{"a script filling the trap", "extra_comment", false},
		{"a bot filling the field's old name", "website", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, st, m := newHandler(t)
			req := golden(t, "form-post.json")
			body, _ := base64.StdEncoding.DecodeString(req.Body)
			req.Body = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(body), "website=", tt.field+"=spam", 1)))
			if !tt.html {
				req.Headers["accept"] = "application/json"
			}
			resp, err := h.handle(context.Background(), req)
			want := 202
			if tt.html {
				want = 303
			}
			if err != nil || resp.StatusCode != want || (tt.html && resp.Headers["Location"] != "/signup/thanks") ||
				(!tt.html && !strings.Contains(resp.Body, `"pending_confirmation"`)) {
				t.Fatalf("handle = %d %v %s, %v; want %d exactly as a sign-up", resp.StatusCode, resp.Headers, resp.Body, err, want)
			}
			if len(st.got) != 0 || len(m.sent) != 0 {
				t.Fatalf("a filled trap wrote %d changes and sent %d mails", len(st.got), len(m.sent))
			}
		})
	}
}

func TestTheFormShowsEveryPurposeUncheckedWithThePolicyVersion(t *testing.T) {
	h, _, _ := newHandler(t)
	resp, err := h.handle(context.Background(), web.Request{RouteKey: "GET /signup"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /signup = %d, %v", resp.StatusCode, err)
	}
	for _, p := range people.Purposes {
		if !strings.Contains(resp.Body, `name="purposes" value="`+string(p)+`">`) || !strings.Contains(resp.Body, `<label for="purpose-`+string(p)+`"><strong>`+p.Label()) {
			t.Errorf("the form lacks an unchecked box for %s", p)
		}
	}
	if strings.Contains(resp.Body, "checked") || !strings.Contains(resp.Body, `name="policy_version" value="2015-03-22"`) {
		t.Fatal("the form pre-checks a box or lacks the policy version")
	}
}

// TestARefusedConfirmationMailLogsNoAddress: SES's MessageRejected text
// lists addresses; neither the JSON log, nor the error Lambda logs, nor the
// answer carries one.
func TestARefusedConfirmationMailLogsNoAddress(t *testing.T) {
	h, _, _ := newHandler(t)
	var logs bytes.Buffer
	h.log = slog.New(slog.NewJSONHandler(&logs, nil))
	sender, err := mail.NewSender(mailtest.Rejecting{}, "no-reply@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Mailer = sender
	req := golden(t, "form-post.json") // signs up Jo@Example.com
	req.Headers["accept"] = "application/json"
	resp, err := h.handle(context.Background(), req)
	if err == nil && resp.StatusCode < 500 {
		t.Fatalf("a refused confirmation mail answered %d; want a 5xx", resp.StatusCode)
	}
	said := fmt.Sprintf("%s\n%v\n%s", logs.String(), err, resp.Body)
	for _, addr := range []string{mailtest.RejectedAddress, "jo@example.com", "Jo@Example.com"} {
		if strings.Contains(strings.ToLower(said), strings.ToLower(addr)) {
			t.Fatalf("the function said %q, which names %s", said, addr)
		}
	}
	if !strings.Contains(said, "MessageRejected") {
		t.Fatalf("the function said %q; want SES's code", said)
	}
}

func TestTheHoneypotIsHiddenFromPeopleAndFromAutofill(t *testing.T) {
	h, _, _ := newHandler(t)
	resp, _ := h.handle(context.Background(), web.Request{RouteKey: "GET /signup"})
	i := strings.Index(resp.Body, `name="`+page.TrapField+`"`)
	if i < 0 {
		t.Fatalf("the form has no trap field:\n%s", resp.Body)
	}
	label := resp.Body[strings.LastIndex(resp.Body[:i], "<label"):]
	label = label[:strings.Index(label, "</label>")]
	for _, want := range []string{`class="hp"`, `aria-hidden="true"`, `<textarea`, `tabindex="-1"`, `autocomplete="off"`} {
		if !strings.Contains(label, want) {
			t.Errorf("the trap lacks %s: %s", want, label)
		}
	}
	for _, attracts := range []string{"website", "url", "name", "email", "phone", "type="} {
		if strings.Contains(strings.ToLower(strings.ReplaceAll(label, `name="`+page.TrapField+`"`, "")), attracts) {
			t.Errorf("the trap's markup says %q, which autofill and password managers look for: %s", attracts, label)
		}
	}
	if strings.Contains(page.TrapField, "name") || strings.Contains(page.TrapField, "url") || strings.Contains(page.TrapField, "web") {
		t.Errorf("the trap is named %q", page.TrapField)
	}
}

// fullCounters answers every counter as full, as the store does over a limit.
type fullCounters struct{ takes int }

func (c *fullCounters) Take(context.Context, people.Counter) (bool, error) {
	c.takes++
	return false, nil
}
func (c *fullCounters) GiveBack(context.Context, people.Counter) error { return nil }

func TestASignUpOverALimitIsA429ThatRecordsAndSendsNothing(t *testing.T) {
	h, st, m := newHandler(t)
	counters := &fullCounters{}
	h.svc.Limiter = &people.Limiter{Counters: counters, Keyed: people.KeyedID([]byte("pepper")), Now: time.Now, Limits: config.DefaultLimits}
	form := golden(t, "form-post.json")
	resp, err := h.handle(context.Background(), form)
	if err != nil || resp.StatusCode != 429 || resp.Headers["Retry-After"] == "" || resp.Headers["Content-Type"] != "text/html; charset=utf-8" ||
		!strings.Contains(resp.Body, "Please try again a little later") {
		t.Fatalf("form post over a limit = %d %v, %v\n%s", resp.StatusCode, resp.Headers, err, resp.Body)
	}
	script := form
	script.Headers = map[string]string{"accept": "application/json", "content-type": form.Headers["content-type"]}
	resp, err = h.handle(context.Background(), script)
	if err != nil || resp.StatusCode != 429 || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, `"code":"rate_limited"`) {
		t.Fatalf("script over a limit = %d %v %s, %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	if len(st.got) != 0 || len(m.sent) != 0 || counters.takes != 1 {
		t.Fatalf("over a limit: %d changes, %d mails, %d counter requests; want none, none and one (then the full counter is known)", len(st.got), len(m.sent), counters.takes)
	}
}

func TestARefusedSignUpShowsTheFormAgainAsFilledInWithTheProblemBesideItsField(t *testing.T) {
	h, st, m := newHandler(t)
	for name, c := range map[string]struct {
		body, field, says string
		status            int
		kept              []string
	}{
		"a space in the address": {"email=jo+%40example.com&name=Jo&purposes=offers&policy_version=2015-03-22&form_id=signup-form", "email",
			"An email address has no spaces.", 400, []string{`value="jo @example.com"`, `value="Jo"`, `value="offers" checked`}},
		"nothing ticked": {"email=jo%40example.com&policy_version=2015-03-22&form_id=signup-form", "purposes",
			"Please tick at least one thing you would like to receive.", 400, []string{`value="jo@example.com"`}},
		"an address without @": {"email=jo.example.com&purposes=newsletter&purposes=surveys&policy_version=2015-03-22&form_id=signup-form", "email",
			"An email address needs an @", 400, []string{`value="jo.example.com"`, `value="newsletter" checked`, `value="surveys" checked`}},
		"an unknown field": {"email=jo%40example.com&purposes=newsletter&admin=1&policy_version=2015-03-22&form_id=signup-form", "",
			"Something in the form did not come through", 400, []string{`value="jo@example.com"`, `value="newsletter" checked`}},
	} {
		t.Run(name, func(t *testing.T) {
			req := web.Request{RouteKey: "POST /signup", Body: c.body,
				Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}}
			resp, err := h.handle(context.Background(), req)
			if err != nil || resp.StatusCode != c.status || !strings.Contains(resp.Body, c.says) || !strings.Contains(resp.Body, `<form method="post" action="/signup">`) ||
				!strings.Contains(resp.Body, "<title>Please check the form ·") {
				t.Fatalf("= %d, %v\n%s", resp.StatusCode, err, resp.Body)
			}
			for _, k := range c.kept {
				if !strings.Contains(resp.Body, k) {
					t.Errorf("the form lost %s", k)
				}
			}
			if c.field != "" && (!strings.Contains(resp.Body, `aria-describedby="`+c.field+`-problem"`) || !strings.Contains(resp.Body, `id="`+c.field+`-problem" class="problem" role="alert"`)) {
				t.Errorf("the problem is not tied to the %s field:\n%s", c.field, resp.Body)
			}
			script := req
			script.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
			if resp, _ := h.handle(context.Background(), script); resp.StatusCode != c.status || !strings.HasPrefix(resp.Body, `{"error":{"code":"invalid"`) {
				t.Errorf("a script got %d %s; want the JSON error", resp.StatusCode, resp.Body)
			}
		})
	}
	if len(st.got) != 0 || len(m.sent) != 0 {
		t.Fatalf("refused sign-ups wrote %d changes and sent %d mails", len(st.got), len(m.sent))
	}
}

// contract is api/openapi.yaml, which the $default route's answers must match.
var contract = api.MustLoad()

func TestEveryUnknownRouteGetsAPageWithTheWaysForwardOrTheJSONError(t *testing.T) {
	h, _, _ := newHandler(t)
	handle := web.ServeHead(h.handle)
	// Every answer here is also held to api/openapi.yaml's x-default-route.
	serve := func(ctx context.Context, req web.Request) (web.Response, error) {
		resp, err := handle(ctx, req)
		if err == nil {
			if cerr := contract.CheckEvent(req, resp); cerr != nil {
				t.Errorf("%s %s: the answer breaks api/openapi.yaml: %v", req.RequestContext.HTTP.Method, req.RawPath, cerr)
			}
		}
		return resp, err
	}
	request := func(method, path, accept string) web.Request {
		req := web.Request{RouteKey: "$default", RawPath: path, Headers: map[string]string{"accept": accept}}
		req.RequestContext.RouteKey, req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "$default", method, path
		return req
	}
	page, err := serve(context.Background(), request("GET", "/no/such/page", "text/html"))
	if err != nil || page.StatusCode != 404 || !strings.Contains(page.Body, "We cannot find that page") || !strings.Contains(page.Body, `href="/signup"`) ||
		!strings.Contains(page.Body, `href="/unsubscribe/link"`) || !strings.Contains(page.Body, `href="mailto:privacy@example.com"`) || page.Headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Fatalf("a browser's unknown route = %d %v\n%s", page.StatusCode, err, page.Body)
	}
	if js, _ := serve(context.Background(), request("POST", "/nope", "application/json")); js.StatusCode != 404 || !strings.HasPrefix(js.Body, `{"error":{"code":"not_found"`) {
		t.Fatalf("a script's unknown route = %d %s", js.StatusCode, js.Body)
	}
	if head, _ := serve(context.Background(), request("HEAD", "/no/such/page", "text/html")); head.StatusCode != 404 || head.Body != "" {
		t.Fatalf("HEAD of an unknown route = %d %q; want 404 without a body", head.StatusCode, head.Body)
	}
	for _, method := range []string{"GET", "HEAD"} {
		if root, _ := serve(context.Background(), request(method, "/", "text/html")); root.StatusCode != 303 || root.Headers["Location"] != "/signup" || root.Body != "" {
			t.Fatalf("%s / = %d %v; want 303 to the sign-up form", method, root.StatusCode, root.Headers)
		}
	}
}
