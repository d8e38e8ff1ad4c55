package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/export/exporttest"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// memRequests keeps requests in memory with the store's rules (one open
// request per kind and person; decisions written as decided); the real
// store is tested against DynamoDB in package store and end to end.
type memRequests struct {
	byID   map[string]privacy.Request
	open   map[string]string // person + kind -> id
	writes int
}

func (m *memRequests) OpenRequest(_ context.Context, r privacy.Request) (privacy.Request, bool, error) {
	k := r.PersonID + "/" + string(r.Kind)
	if id, ok := m.open[k]; ok {
		return m.byID[id], false, nil
	}
	r.Version = 1
	m.byID[r.ID], m.open[k] = r, r.ID
	m.writes++
	return r, true, nil
}

func (m *memRequests) PersonRequests(_ context.Context, personID string) ([]privacy.Request, error) {
	var out []privacy.Request
	for _, r := range m.byID {
		if r.PersonID == personID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memRequests) Request(_ context.Context, id string) (privacy.Request, error) {
	r, ok := m.byID[id]
	if !ok {
		return r, people.ErrNotFound
	}
	return r, nil
}

func (m *memRequests) UpdateRequest(_ context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error) {
	r, ok := m.byID[id]
	if !ok {
		return r, false, people.ErrNotFound
	}
	q, err := decide(r)
	if err != nil || q == nil {
		return r, false, err
	}
	q.Version = r.Version + 1
	m.byID[id] = *q
	if !q.Status.Open() {
		delete(m.open, r.PersonID+"/"+string(r.Kind))
	}
	m.writes++
	return *q, true, nil
}

type memPeople map[string]people.Person

func (m memPeople) Person(_ context.Context, id string) (people.Person, error) {
	p, ok := m[id]
	if !ok {
		return people.Person{}, people.ErrNotFound
	}
	return p, nil
}

// memHoldings is what the export reads of the people memPeople holds:
// their profiles.
type memHoldings memPeople

func (m memHoldings) Holdings(_ context.Context, id string) (export.Held, error) {
	p, ok := m[id]
	if !ok {
		return export.Held{}, people.ErrNotFound
	}
	return export.Held{Person: &p}, nil
}

// facts are the export's settings in these tests.
var facts = export.Facts{Controller: export.Controller{Name: "SmartProtect, Inc.", PostalAddress: "514 S. Stratford Road"},
	Retention: func() people.Retention {
		r := people.DefaultRetention
		r.NoticeRecords = 3 * 365 * 24 * time.Hour
		return r
	}()}

type recordingMailer struct{ sent []mail.RequestMail }

func (m *recordingMailer) SendRequest(_ context.Context, r mail.RequestMail) error {
	m.sent = append(m.sent, r)
	return nil
}

// openDoor admits everything, counting; full refuses everything.
type openDoor struct {
	admitted int
	full     bool
}

func (d *openDoor) Admit(context.Context, string, string) (people.Permit, error) {
	if d.full {
		return people.Permit{}, &people.Error{Code: people.RateLimited, Message: people.LimitedMessage, RetryAfter: time.Minute}
	}
	d.admitted++
	return people.Permit{}, nil
}

var (
	t0     = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	pepper = people.KeyedID([]byte("pepper"))
)

type fixture struct {
	h      *handler
	reqs   *memRequests
	people memPeople
	mail   *recordingMailer
	door   *openDoor
	now    time.Time
	ids    int

	systems recordingSystems // systems_test.go
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{reqs: &memRequests{byID: map[string]privacy.Request{}, open: map[string]string{}}, people: memPeople{},
		mail: &recordingMailer{}, door: &openDoor{}, now: t0}
	known := pepper("jo@example.com")
	f.people[known] = people.Person{ID: known, Email: "jo@example.com", Status: people.Confirmed, Active: []people.Purpose{people.Newsletter}, Version: 2}
	base, _ := url.Parse("https://pledge.example.com")
	f.h = &handler{requests: f.reqs, people: f.people, mail: f.mail, systems: &f.systems, limits: f.door, export: accessExport{now: func() time.Time { return f.now }, Exporter: export.Exporter{Store: memHoldings(f.people), Facts: facts}},
		keys: keys, keyed: pepper, timing: privacy.DefaultTiming, base: base, site: site,
		now: func() time.Time { return f.now }, newID: func() string { f.ids++; return "id" + string(rune('a'+f.ids)) },
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f
}

func post(route, body string, html bool) web.Request {
	req := web.Request{RouteKey: "POST " + route, Body: body, Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}}
	req.RequestContext.HTTP.SourceIP = "198.51.100.7"
	if html {
		req.Headers["accept"] = "text/html"
	}
	if path, query, ok := strings.Cut(route, "?"); ok {
		req.RouteKey, req.RawQueryString = "POST "+path, query
	}
	return req
}

func get(route string, html bool) web.Request {
	req := web.Request{RouteKey: "GET " + route, Headers: map[string]string{}}
	if path, query, ok := strings.Cut(route, "?"); ok {
		req.RouteKey, req.RawQueryString = "GET "+path, query
	}
	if html {
		req.Headers["accept"] = "text/html"
	}
	return req
}

func (f *fixture) do(t *testing.T, req web.Request) web.Response {
	t.Helper()
	resp, err := f.h.handle(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", req.RouteKey, err)
	}
	if err := contract.CheckEvent(req, resp); err != nil {
		t.Errorf("the answer breaks api/openapi.yaml: %v", err)
	}
	return resp
}

// contract is api/openapi.yaml, which every answer here must match.
var contract = api.MustLoad()

// tokenOf returns the t= of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("t") == "" {
		t.Fatalf("link %q carries no token", link)
	}
	return u.Query().Get("t")
}

func TestTheFormOffersEachKindAndAnswersScriptsInJSON(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, get("/privacy", true))
	for _, want := range []string{`value="access"`, `value="delete"`, `value="correct"`, `value="remove-content"`, `name="new_name"`, `name="new_email"`, `name="email"`, `name="` + page.TrapField + `"`, `action="/privacy"`} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	resp = f.do(t, get("/privacy", false))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"kinds":["access","delete","correct","remove-content"]`) {
		t.Fatalf("a script got %d %s", resp.StatusCode, resp.Body)
	}
}

func TestAskingAnswersTheSameForKnownAndUnknownAddressesAndMailsAVerificationLink(t *testing.T) {
	f := newFixture(t)
	known := f.do(t, post("/privacy", "kind=access&email=Jo@Example.com", false))
	unknown := f.do(t, post("/privacy", "kind=access&email=nobody@example.com", false))
	if known.StatusCode != 202 || unknown.StatusCode != 202 || known.Body != unknown.Body {
		t.Fatalf("known %d %s, unknown %d %s: want the same answer", known.StatusCode, known.Body, unknown.StatusCode, unknown.Body)
	}
	if len(f.mail.sent) != 2 || f.mail.sent[0].Topic != mail.RequestVerify || f.mail.sent[0].To != "jo@example.com" || f.mail.sent[0].PersonID != pepper("jo@example.com") ||
		!strings.HasPrefix(f.mail.sent[0].Link, "https://pledge.example.com/privacy/verify?t=") || f.mail.sent[1].To != "nobody@example.com" {
		t.Fatalf("mails = %+v", f.mail.sent)
	}
	if browser := f.do(t, post("/privacy", "kind=delete&email=jo@example.com", true)); browser.StatusCode != 303 || browser.Headers["Location"] != "/privacy/sent" {
		t.Fatalf("a browser got %d %v", browser.StatusCode, browser.Headers)
	}
}

func TestAskingAgainReturnsTheOpenRequestAndStartsNoSecondClock(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	f.now = t0.Add(time.Hour)
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	if len(f.reqs.byID) != 1 || f.reqs.writes != 1 || len(f.mail.sent) != 2 {
		t.Fatalf("%d requests, %d writes, %d mails; want one request, and its link mailed again", len(f.reqs.byID), f.reqs.writes, len(f.mail.sent))
	}
	first, second := tokenOf(t, f.mail.sent[0].Link), tokenOf(t, f.mail.sent[1].Link)
	c1, _ := f.h.keys.Verify(first, token.PrivacyVerify, f.now)
	c2, _ := f.h.keys.Verify(second, token.PrivacyVerify, f.now)
	if c1.Subject != c2.Subject || c1.Nonce != c2.Nonce || c1.Nonce == "" {
		t.Fatalf("the second mail's link is not the open request's: %+v / %+v", c1, c2)
	}
	// Once verified, asking again mails the status link.
	f.do(t, post("/privacy/verify", "t="+second, false))
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	last := f.mail.sent[len(f.mail.sent)-1]
	if last.Topic != mail.RequestStatus || !strings.Contains(last.StatusLink, "/privacy/status?t=") || len(f.reqs.byID) != 1 {
		t.Fatalf("asking after verification mailed %+v", last)
	}
}

func TestBadInputIsAClear4xxThatChangesAndMailsNothing(t *testing.T) {
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"an unknown kind", "application/x-www-form-urlencoded", "kind=correction&email=jo@example.com", 400, "invalid"},
		{"no kind", "application/json", `{"email":"jo@example.com"}`, 400, "invalid"},
		{"a bad address", "application/json", `{"kind":"access","email":"jo@"}`, 400, "invalid"},
		{"an unknown field", "application/json", `{"kind":"access","email":"jo@example.com","admin":true}`, 400, "invalid"},
		{"broken JSON", "application/json", `{"kind":"access",`, 400, "invalid"},
		{"an oversized body", "application/json", `{"kind":"access","email":"` + strings.Repeat("a", web.MaxBody) + `"}`, 413, "too_large"},
		{"another media type", "text/plain", "access jo@example.com", 415, "unsupported_media"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := post("/privacy", tt.body, false)
			req.Headers["content-type"] = tt.contentType
			resp := f.do(t, req)
			if resp.StatusCode != tt.status || !strings.Contains(resp.Body, `"code":"`+tt.code+`"`) {
				t.Fatalf("answer %d %s; want %d %s", resp.StatusCode, resp.Body, tt.status, tt.code)
			}
			if len(f.reqs.byID) != 0 || len(f.mail.sent) != 0 {
				t.Fatal("bad input stored or mailed something")
			}
		})
	}
}

func TestAFloodMeetsTheDoorsLimitsAndATrapIsAnsweredLikeARequest(t *testing.T) {
	f := newFixture(t)
	f.door.full = true
	resp := f.do(t, post("/privacy", "kind=access&email=jo@example.com", true))
	if resp.StatusCode != 429 || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, "try again") {
		t.Fatalf("over the limits = %d %v", resp.StatusCode, resp.Headers)
	}
	f.door.full = false
	trapped := f.do(t, post("/privacy", "kind=access&email=jo@example.com&"+page.TrapField+"=buy", false))
	normal := f.do(t, post("/privacy", "kind=access&email=other@example.com", false))
	if trapped.StatusCode != 202 || trapped.Body != normal.Body || f.door.admitted != 2 {
		t.Fatalf("trap = %d %s, admitted %d", trapped.StatusCode, trapped.Body, f.door.admitted)
	}
	if len(f.reqs.byID) != 1 || len(f.mail.sent) != 1 || f.mail.sent[0].To != "other@example.com" {
		t.Fatalf("the trap stored or mailed: %d requests, %+v", len(f.reqs.byID), f.mail.sent)
	}
}

func TestAnUndeliverablePersonIsNotMailed(t *testing.T) {
	f := newFixture(t)
	id := pepper("jo@example.com")
	p := f.people[id]
	p.Deliverability = people.Deliverability{State: people.Undeliverable, Since: t0.Add(-time.Hour)}
	f.people[id] = p
	resp := f.do(t, post("/privacy", "kind=access&email=jo@example.com", false))
	if resp.StatusCode != 202 || len(f.mail.sent) != 0 {
		t.Fatalf("answer %d, mails %+v; want the usual answer and no mail", resp.StatusCode, f.mail.sent)
	}
}

func TestVerifyingAnAccessRequestMailsTheExportOnceAndTheExportIsThePersons(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=access&email=jo@example.com", false))
	tok := tokenOf(t, f.mail.sent[0].Link)
	pageResp := f.do(t, get("/privacy/verify?t="+url.QueryEscape(tok), true))
	if pageResp.StatusCode != 200 || !strings.Contains(pageResp.Body, `action="/privacy/verify"`) || !strings.Contains(pageResp.Body, "A copy of your data") {
		t.Fatalf("verify page = %d\n%s", pageResp.StatusCode, pageResp.Body)
	}
	if f.reqs.writes != 1 {
		t.Fatal("GET changed the request")
	}
	resp := f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tok), true))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "completed") || !strings.Contains(resp.Body, "Open your data") ||
		!strings.Contains(resp.Body, "4 January 2027") || !strings.Contains(resp.Body, "3 February 2027") {
		t.Fatalf("after the button = %d\n%s", resp.StatusCode, resp.Body)
	}
	again := f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tok), false))
	if again.StatusCode != 200 || len(f.mail.sent) != 2 || f.reqs.writes != 2 {
		t.Fatalf("a double click: %d, %d mails, %d writes; want the status, no second mail or write", again.StatusCode, len(f.mail.sent), f.reqs.writes)
	}
	m := f.mail.sent[1]
	if m.Topic != mail.RequestExport || !strings.Contains(m.Link, "/privacy/export?t=") || !m.Until.Equal(t0.Add(7*24*time.Hour)) {
		t.Fatalf("export mail = %+v", m)
	}
	doc := f.do(t, get("/privacy/export?t="+url.QueryEscape(tokenOf(t, m.Link)), false))
	var got export.Document
	if doc.StatusCode != 200 || json.Unmarshal([]byte(doc.Body), &got) != nil || got.Profile == nil || got.Profile.Email != "jo@example.com" ||
		len(got.Requests) != 1 || got.Requests[0].Kind != string(privacy.Access) || exporttest.Validate([]byte(doc.Body)) != nil {
		t.Fatalf("export = %d %s", doc.StatusCode, doc.Body)
	}
	f.now = t0.Add(7 * 24 * time.Hour)
	if late := f.do(t, get("/privacy/export?t="+url.QueryEscape(tokenOf(t, m.Link)), false)); late.StatusCode != 410 {
		t.Fatalf("an export link after 7 days = %d", late.StatusCode)
	}
}

func TestAnUnknownAddressIsToldPledgeHoldsNothing(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=access&email=nobody@example.com", false))
	resp := f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tokenOf(t, f.mail.sent[0].Link)), false))
	var got statusAnswer
	if json.Unmarshal([]byte(resp.Body), &got) != nil || got.Status != privacy.Refused || got.Reason != privacy.NoData {
		t.Fatalf("after verification = %s", resp.Body)
	}
	if len(f.mail.sent) != 2 || f.mail.sent[1].Topic != mail.RequestNoData || f.mail.sent[1].To != "nobody@example.com" {
		t.Fatalf("mails = %+v", f.mail.sent)
	}
}

func TestADeletionCanBeCancelledInItsCoolOffOnce(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tokenOf(t, f.mail.sent[0].Link)), false))
	status := f.mail.sent[1]
	if status.Topic != mail.RequestStatus || !status.Until.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("status mail = %+v", status)
	}
	link := "/privacy/status?t=" + url.QueryEscape(tokenOf(t, status.StatusLink))
	view := f.do(t, get(link, true))
	if !strings.Contains(view.Body, "Cancel the deletion") || !strings.Contains(view.Body, "7 January 2027") {
		t.Fatalf("status page lacks cancel or the day:\n%s", view.Body)
	}
	resp := f.do(t, post(link, "action=cancel", false))
	if !strings.Contains(resp.Body, `"status":"cancelled"`) {
		t.Fatalf("cancel = %s", resp.Body)
	}
	writes := f.reqs.writes
	if again := f.do(t, post(link, "action=cancel", false)); again.StatusCode != 200 || f.reqs.writes != writes {
		t.Fatalf("a second cancel = %d %s", again.StatusCode, again.Body)
	}
	if page := f.do(t, get(link, true)); strings.Contains(page.Body, "Cancel the deletion") {
		t.Fatal("a cancelled request still offers cancel")
	}
}

func TestTooLateToCancelIsAConflict(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tokenOf(t, f.mail.sent[0].Link)), false))
	f.now = t0.Add(72 * time.Hour)
	resp := f.do(t, post("/privacy/status?t="+url.QueryEscape(tokenOf(t, f.mail.sent[1].StatusLink)), "action=cancel", false))
	if resp.StatusCode != 409 {
		t.Fatalf("cancel after the cool-off = %d %s", resp.StatusCode, resp.Body)
	}
}

func TestForgedExpiredReusedAndWrongPurposeLinksAreRefused(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=delete&email=jo@example.com", false))
	verifyTok := tokenOf(t, f.mail.sent[0].Link)
	c, _ := f.h.keys.Verify(verifyTok, token.PrivacyVerify, t0)
	other, _ := token.NewKeys(map[string][]byte{"k1": []byte("ffffffffffffffffffffffffffffffff")}, "k1")
	for _, tt := range []struct {
		name, route string
		status      int
	}{
		{"a confirm link on the verify route", "POST /privacy/verify", 400},
		{"an unsubscribe link on the status route", "GET /privacy/status", 400},
		{"a status link on the verify route", "POST /privacy/verify", 400},
		{"a verify link on the export route", "GET /privacy/export", 400},
		{"a forged link", "POST /privacy/verify", 400},
		{"an expired link", "POST /privacy/verify", 410},
		{"a reused nonce of a replaced link", "POST /privacy/verify", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tok string
			switch tt.name {
			case "a confirm link on the verify route":
				tok = f.h.keys.IssueOnce(token.Confirm, c.Subject, c.Nonce, []string{"newsletter"}, t0, time.Hour)
			case "an unsubscribe link on the status route":
				tok = f.h.keys.Issue(token.Unsubscribe, c.Subject, []string{"preferences"}, t0, 0)
			case "a status link on the verify route":
				tok = f.h.keys.Issue(token.PrivacyStatus, c.Subject, nil, t0, time.Hour)
			case "a verify link on the export route":
				tok = verifyTok
			case "a forged link":
				tok = other.IssueOnce(token.PrivacyVerify, c.Subject, c.Nonce, nil, t0, time.Hour)
			case "an expired link":
				tok = f.h.keys.IssueOnce(token.PrivacyVerify, c.Subject, c.Nonce, nil, t0.Add(-25*time.Hour), 24*time.Hour)
			case "a reused nonce of a replaced link":
				tok = f.h.keys.IssueOnce(token.PrivacyVerify, c.Subject, "old-nonce", nil, t0, time.Hour)
			}
			method, path, _ := strings.Cut(tt.route, " ")
			var req web.Request
			if method == "POST" {
				req = post(path, "t="+url.QueryEscape(tok), false)
			} else {
				req = get(path+"?t="+url.QueryEscape(tok), false)
			}
			writes, mails := f.reqs.writes, len(f.mail.sent)
			resp := f.do(t, req)
			if resp.StatusCode != tt.status || f.reqs.writes != writes || len(f.mail.sent) != mails {
				t.Fatalf("%s = %d %s (writes %d->%d)", tt.route, resp.StatusCode, resp.Body, writes, f.reqs.writes)
			}
		})
	}
	if r := f.reqs.byID[c.Subject]; r.Status != privacy.Unverified {
		t.Fatalf("the request moved to %s", r.Status)
	}
}

func TestHEADAnswersLikeGETWithoutABody(t *testing.T) {
	f := newFixture(t)
	req := get("/privacy", true)
	req.RouteKey = "HEAD /privacy"
	resp, err := web.ServeHead(f.h.handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Body != "" || resp.Headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Fatalf("HEAD /privacy = %d %v %q, %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	if err := contract.CheckEvent(req, resp); err != nil {
		t.Errorf("the answer breaks api/openapi.yaml: %v", err)
	}
}

// FuzzDecodeAsk: whatever the body, decodeAsk never panics, and what it
// accepts is a kind of the list and an address ValidateEmail accepts.
func FuzzDecodeAsk(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "kind=access&email=jo@example.com"},
		{"application/json", `{"kind":"delete","email":"Jo@Example.com","extra_comment":""}`},
		{"application/json", `{"kind":"delete","kind":"access","email":"a@b.co"}`},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\naccess\r\n--X--\r\n"},
		{"application/x-www-form-urlencoded", "kind=access&kind=delete&email=%zz"},
		{"text/plain", "\x00\xff"},
	} {
		f.Add(seed.ct, seed.body)
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		got, err := decodeAsk(web.Request{Headers: map[string]string{"content-type": contentType}, Body: body})
		if err != nil {
			if _, ok := people.AsError(err); !ok {
				t.Fatalf("decodeAsk returned a fault, not a 4xx: %v", err)
			}
			return
		}
		if _, kerr := privacy.ParseKind(string(got.Kind)); kerr != nil || people.ValidateEmail(got.Email) != nil || got.Email != people.NormaliseEmail(got.Email) {
			t.Fatalf("decodeAsk accepted %+v", got)
		}
	})
}

func TestTheFormStatesTheCoolOffTheFunctionRunsWith(t *testing.T) {
	f := newFixture(t)
	f.h.timing.CoolOff = 48 * time.Hour // RequestCoolOff set lower than its default
	resp := f.do(t, get("/privacy", true))
	if !strings.Contains(resp.Body, "after 48 hours in which you can still cancel") || strings.Contains(resp.Body, "72 hours") {
		t.Fatalf("the form does not state the cool-off of 48 hours:\n%s", resp.Body)
	}
}

func TestAskingAgainAfterTheOpenRequestLapsedStartsANewOneWhoseLinkWorks(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=access&email=jo@example.com", false))
	// Seven days on, before the hourly clock has expired the request.
	f.now = t0.Add(privacy.DefaultTiming.VerifyWindow + time.Minute)
	f.do(t, post("/privacy", "kind=access&email=jo@example.com", false))
	first, _ := f.h.keys.Verify(tokenOf(t, f.mail.sent[0].Link), token.PrivacyVerify, t0)
	second, err := f.h.keys.Verify(tokenOf(t, f.mail.sent[1].Link), token.PrivacyVerify, f.now)
	if err != nil || second.Subject == first.Subject || len(f.reqs.byID) != 2 || f.reqs.byID[first.Subject].Status != privacy.Expired {
		t.Fatalf("asking after the lapse mailed the lapsed request's link: %+v / %+v, %v; requests %+v", first, second, err, f.reqs.byID)
	}
	if resp := f.do(t, post("/privacy/verify", "t="+tokenOf(t, f.mail.sent[1].Link), false)); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"completed"`) {
		t.Fatalf("the new link's button answered %d %s", resp.StatusCode, resp.Body)
	}
}

func TestTheFormStatesTheDeadlineTheFunctionRunsWith(t *testing.T) {
	f := newFixture(t)
	f.h.timing.Deadline = 20 * 24 * time.Hour // RequestDeadline set shorter than its default
	resp := f.do(t, get("/privacy", true))
	if !strings.Contains(resp.Body, "We answer within 20 days.") || strings.Contains(resp.Body, "30 days") {
		t.Fatalf("the form does not state the deadline of 20 days:\n%s", resp.Body)
	}
}

func TestTheStatusPageSaysWhyARequestWasRefusedInWords(t *testing.T) {
	f := newFixture(t)
	f.do(t, post("/privacy", "kind=access&email=nobody@example.com", false))
	resp := f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tokenOf(t, f.mail.sent[0].Link)), true))
	if !strings.Contains(resp.Body, "refused: we hold no data about this address") || strings.Contains(resp.Body, "no-data") {
		t.Fatalf("the status page of a refused request:\n%s", resp.Body)
	}
}
