package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/web"
)

// memDesk is the store, mailer and bus of the desk, in memory.
type memDesk struct {
	requests  map[string]privacy.Request
	mails     []mail.RequestMail
	published []string
	writes    int
}

func (m *memDesk) OpenRequest(_ context.Context, r privacy.Request) (privacy.Request, bool, error) {
	for _, o := range m.requests {
		if o.PersonID == r.PersonID && o.Kind == r.Kind && o.Status.Open() {
			return o, false, nil
		}
	}
	r.Version = 1
	m.requests[r.ID] = r
	m.writes++
	return r, true, nil
}

func (m *memDesk) UpdateRequest(_ context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error) {
	r, ok := m.requests[id]
	if !ok {
		return privacy.Request{}, false, people.ErrNotFound
	}
	q, err := decide(r)
	if err != nil || q == nil {
		return r, false, err
	}
	q.Version = r.Version + 1
	m.requests[id] = *q
	m.writes++
	return *q, true, nil
}

func (m *memDesk) Person(context.Context, string) (people.Person, error) {
	return people.Person{}, people.ErrNotFound
}

func (m *memDesk) SendRequest(_ context.Context, r mail.RequestMail) error {
	m.mails = append(m.mails, r)
	return nil
}

func (m *memDesk) Publish(_ context.Context, rs []privacy.Request) error {
	for _, r := range rs {
		m.published = append(m.published, r.ID)
	}
	return nil
}

func deskFixture() (*handler, *memDesk) {
	m := &memDesk{requests: map[string]privacy.Request{}}
	timing := privacy.DefaultTiming
	timing.Systems = []string{"billing", "support"}
	n := 0
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &handler{store: &memRequests{}, now: func() time.Time { return t0 }, log: log,
		staff: &desk{store: m, mail: m, bus: m, timing: timing, keyed: func(s string) string { return fmt.Sprintf("key-%d", len(s)) },
			now: func() time.Time { return t0 }, newID: func() string { n++; return "req" + string(rune('a'+n)) }, log: log}}
	return h, m
}

func post(t *testing.T, h *handler, route string, params map[string]string, body string) (int, map[string]any) {
	t.Helper()
	resp, err := h.handle(context.Background(), web.Request{RouteKey: route, PathParameters: params, Body: body,
		Headers: map[string]string{"content-type": "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	return resp.StatusCode, out
}

func errField(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

const goodIntake = `{"channel":"phone","kind":"remove-content","email":"Jo@Example.com","received":"2027-01-03T15:00:00Z",
	"verifiedBy":"amy","verifiedHow":"called back the number on the account","details":"the testimonial on the pricing page"}`

func TestAStaffEntryIsVerifiedDueFromReceiptAndPublishedOnce(t *testing.T) {
	h, m := deskFixture()
	status, out := post(t, h, "POST /admin/requests", nil, goodIntake)
	if status != 201 || out["status"] != "verified" || out["channel"] != "phone" || out["due"] != "2027-02-02T15:00:00Z" ||
		out["verifiedBy"] != "amy" || out["person"] != "key-14" || out["notified"] == nil || len(m.published) != 1 {
		t.Fatalf("entry = %d %v, published %v", status, out, m.published)
	}
	if body, _ := json.Marshal(out); strings.Contains(string(body), "@") {
		t.Fatalf("the answer carries the address: %s", body)
	}
	status, again := post(t, h, "POST /admin/requests", nil, goodIntake)
	if status != 200 || again["id"] != out["id"] || len(m.requests) != 1 || len(m.published) != 1 {
		t.Fatalf("a retried entry = %d %v", status, again)
	}
	other := strings.Replace(goodIntake, `"amy"`, `"bob"`, 1)
	if status, out := post(t, h, "POST /admin/requests", nil, other); status != 409 || errField(out) != "kind" {
		t.Fatalf("another entry of the same kind = %d %v", status, out)
	}
}

func TestBadStaffEntriesAreA4xxNamingTheFieldAndChangeNothing(t *testing.T) {
	h, m := deskFixture()
	for _, tt := range []struct {
		name, old, new string
		status         int
		field          string
	}{
		{"an unknown channel", `"phone"`, `"fax"`, 400, "channel"},
		{"an unknown kind", `"remove-content"`, `"forget-me"`, 400, "kind"},
		{"a bad address", `"Jo@Example.com"`, `"jo@"`, 400, "email"},
		{"a future time", `"2027-01-03T15:00:00Z"`, `"2027-01-05T15:00:00Z"`, 400, "received"},
		{"a time that is no time", `"2027-01-03T15:00:00Z"`, `"yesterday"`, 400, "received"},
		{"a time past the deadline", `"2027-01-03T15:00:00Z"`, `"2026-11-01T15:00:00Z"`, 400, "received"},
		{"nobody verified", `"amy"`, `""`, 400, "verifiedBy"},
		{"an unknown field", `"details"`, `"detail"`, 400, "detail"},
		{"a field of the wrong type", `"amy"`, `7`, 400, "verifiedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(t, h, "POST /admin/requests", nil, strings.Replace(goodIntake, tt.old, tt.new, 1))
			if status != tt.status || errField(out) != tt.field {
				t.Fatalf("= %d %v, want %d on %s", status, out, tt.status, tt.field)
			}
		})
	}
	big := strings.Replace(goodIntake, "the testimonial", strings.Repeat("x", web.MaxBody), 1)
	if status, _ := post(t, h, "POST /admin/requests", nil, big); status != 413 {
		t.Fatalf("an oversized body = %d", status)
	}
	if m.writes != 0 || len(m.published) != 0 {
		t.Fatalf("bad entries wrote %d, published %v", m.writes, m.published)
	}
}

func TestARefusalIsMailedWithItsReasonOnce(t *testing.T) {
	h, m := deskFixture()
	_, out := post(t, h, "POST /admin/requests", nil, goodIntake)
	id := map[string]string{"id": out["id"].(string)}
	if status, out := post(t, h, "POST /admin/requests/{id}/refuse", id, `{"reason":"other"}`); status != 400 || errField(out) != "text" {
		t.Fatalf("other without text = %d %v", status, out)
	}
	body := `{"reason":"legal-hold","text":"A court ordered us to keep the testimonial."}`
	status, out := post(t, h, "POST /admin/requests/{id}/refuse", id, body)
	if status != 200 || out["status"] != "refused" || out["mailed"] != true || len(m.mails) != 1 || m.mails[0].Topic != mail.RequestRefused ||
		m.mails[0].To != "jo@example.com" || !strings.Contains(m.mails[0].Words, "A court ordered us") {
		t.Fatalf("refuse = %d %v, mails %+v", status, out, m.mails)
	}
	if status, out := post(t, h, "POST /admin/requests/{id}/refuse", id, body); status != 200 || out["mailed"] != false || len(m.mails) != 1 {
		t.Fatalf("a retried refusal = %d %v, %d mails", status, out, len(m.mails))
	}
	if status, _ := post(t, h, "POST /admin/requests/{id}/complete", id, `{}`); status != 409 {
		t.Fatalf("completing a refused request = %d", status)
	}
}

func TestAnExtensionIsMailedOnceAndNotGivenTwiceOrLate(t *testing.T) {
	h, m := deskFixture()
	_, out := post(t, h, "POST /admin/requests", nil, strings.Replace(goodIntake, "remove-content", "access", 1))
	id := map[string]string{"id": out["id"].(string)}
	for _, bad := range []struct{ body, field string }{{`{"months":3,"reason":"x"}`, "months"}, {`{"months":1}`, "reason"}, {`{"months":"1","reason":"x"}`, "months"}} {
		if status, out := post(t, h, "POST /admin/requests/{id}/extend", id, bad.body); status != 400 || errField(out) != bad.field {
			t.Fatalf("%s = %d %v", bad.body, status, out)
		}
	}
	status, out := post(t, h, "POST /admin/requests/{id}/extend", id, `{"months":2,"reason":"The data spans three archives."}`)
	ext, _ := out["extension"].(map[string]any)
	if status != 200 || out["due"] != "2027-04-02T15:00:00Z" || ext["originalDue"] != "2027-02-02T15:00:00Z" || len(m.mails) != 1 ||
		m.mails[0].Topic != mail.RequestExtended || !m.mails[0].Due.Equal(time.Date(2027, 4, 2, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("extend = %d %v, mails %+v", status, out, m.mails)
	}
	status, out = post(t, h, "POST /admin/requests/{id}/extend", id, `{"months":1,"reason":"Still more."}`)
	if e, _ := out["error"].(map[string]any); status != 409 || !strings.Contains(e["message"].(string), "extended once already") || len(m.mails) != 1 {
		t.Fatalf("a second extension = %d %v", status, out)
	}
	_, out = post(t, h, "POST /admin/requests", nil, strings.Replace(strings.Replace(goodIntake, "remove-content", "delete", 1), "2027-01-03", "2026-12-06", 1))
	late := map[string]string{"id": out["id"].(string)}
	h.staff.now = func() time.Time { return t0.Add(10 * 24 * time.Hour) } // past 2027-01-05, its due date
	if status, out := post(t, h, "POST /admin/requests/{id}/extend", late, `{"months":1,"reason":"x"}`); status != 409 || len(m.mails) != 1 {
		t.Fatalf("a late extension = %d %v", status, out)
	}
}

func TestAcknowledgmentsOfUnknownSystemsOrRequestsAre404sNamingWhich(t *testing.T) {
	h, m := deskFixture()
	_, out := post(t, h, "POST /admin/requests", nil, strings.Replace(goodIntake, "remove-content", "access", 1))
	id := out["id"].(string)
	for _, tt := range []struct {
		id, name, body string
		status         int
		field          string
	}{
		{id, "crm", `{"acted":true}`, 404, "name"},
		{"nope", "billing", `{"acted":true}`, 404, "id"},
		{id, "billing", `{}`, 400, "acted"},
		{id, "billing", `{"acted":false}`, 400, "reason"},
		{id, "billing", `{"acted":true,"why":"x"}`, 400, "why"},
	} {
		status, out := post(t, h, "POST /admin/requests/{id}/systems/{name}", map[string]string{"id": tt.id, "name": tt.name}, tt.body)
		if status != tt.status || errField(out) != tt.field {
			t.Fatalf("%s/%s %s = %d %v", tt.id, tt.name, tt.body, status, out)
		}
	}
	status, out := post(t, h, "POST /admin/requests/{id}/systems/{name}", map[string]string{"id": id, "name": "billing"}, `{"acted":false,"reason":"no account"}`)
	if status != 200 || len(out["waitingOn"].([]any)) != 1 || m.writes != 3 {
		t.Fatalf("ack = %d %v (writes %d)", status, out, m.writes)
	}
}

func TestTheLastSystemCompletesAnErasedDeletionAndMailsTheLastMail(t *testing.T) {
	h, m := deskFixture()
	_, out := post(t, h, "POST /admin/requests", nil, strings.Replace(goodIntake, "remove-content", "delete", 1))
	id := out["id"].(string)
	r := m.requests[id]
	q, _ := privacy.Advance(r, t0.Add(73*time.Hour))
	m.requests[id] = *privacy.Complete(*q, t0.Add(73*time.Hour)) // pledge erased; the systems are waited for
	for i, name := range []string{"billing", "support"} {
		status, out := post(t, h, "POST /admin/requests/{id}/systems/{name}", map[string]string{"id": id, "name": name}, `{"acted":true}`)
		want := []string{"in-progress", "completed"}[i]
		if status != 200 || out["status"] != want {
			t.Fatalf("%s = %d %v", name, status, out)
		}
	}
	if len(m.mails) != 1 || m.mails[0].Topic != mail.RequestErased || m.requests[id].Email != "" {
		t.Fatalf("mails %+v", m.mails)
	}
}

// FuzzDecodeIntake: whatever the body, the decoder answers an intake or
// a *people.Error (a 4xx), never a panic or another error.
func FuzzDecodeIntake(f *testing.F) {
	f.Add(goodIntake)
	f.Add(`{"channel":"email","kind":"delete","email":"a@b.co","received":"2027-01-04T08:00:00+01:00","verifiedBy":"x","verifiedHow":"y"}`)
	f.Add(`{"channel":null}`)
	f.Add(`[]`)
	f.Add(`{"received":"9999-12-31T23:59:59Z"}`)
	f.Fuzz(func(t *testing.T, body string) {
		in, err := decodeIntake(web.Request{Body: body, Headers: map[string]string{"content-type": "application/json"}}, privacy.DefaultTiming, t0)
		if err != nil {
			if _, ok := people.AsError(err); !ok {
				t.Fatalf("%q: %v is not a *people.Error", body, err)
			}
			return
		}
		if in.Received.After(t0.Add(time.Minute)) || people.ValidateEmail(in.Email) != nil || in.VerifiedBy == "" {
			t.Fatalf("%q decoded to %+v", body, in)
		}
	})
}
