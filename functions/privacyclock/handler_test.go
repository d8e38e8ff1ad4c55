package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// memStore runs the decisions on requests and people in memory; the real
// store is tested against DynamoDB in package store and end to end.
type memStore struct {
	requests map[string]privacy.Request
	people   map[string]people.Person
	erased   []string
	writes   int
	reads    int // UpdateRequest and UpdatePerson calls: each reads before it decides
}

func (m *memStore) OpenRequests(context.Context) ([]privacy.Request, error) {
	var out []privacy.Request
	for _, r := range m.requests {
		if r.Status.Open() {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) UpdateRequest(_ context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error) {
	m.reads++
	r := m.requests[id]
	q, err := decide(r)
	if err != nil || q == nil {
		return r, false, err
	}
	m.requests[id] = *q
	m.writes++
	return *q, true, nil
}

func (m *memStore) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	p, ok := m.people[id]
	if !ok {
		p = people.Person{ID: id}
	}
	ch, err := decide(p)
	if err != nil || ch.IsZero() {
		return people.Change{}, err
	}
	if ch.Erase != nil {
		delete(m.people, id)
		m.erased = append(m.erased, id)
	}
	m.writes++
	return ch, nil
}

type recordingMailer struct{ sent []mail.RequestMail }

func (m *recordingMailer) SendRequest(_ context.Context, r mail.RequestMail) error {
	m.sent = append(m.sent, r)
	return nil
}

type recordingBus struct{ got []Announcement }

func (b *recordingBus) Announce(_ context.Context, as []Announcement) error {
	b.got = append(b.got, as...)
	return nil
}

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

type fixture struct {
	h       *handler
	st      *memStore
	mail    *recordingMailer
	bus     *recordingBus
	systems recordingSystems // systems_test.go
	metrics bytes.Buffer
}

func newFixture() *fixture {
	f := &fixture{st: &memStore{requests: map[string]privacy.Request{}, people: map[string]people.Person{}}, mail: &recordingMailer{}, bus: &recordingBus{}}
	f.h = &handler{requests: f.st, mail: f.mail, events: f.bus, downstream: &f.systems, retention: people.DefaultRetention, now: func() time.Time { return t0 },
		allowOverride: true, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.h.metrics = emf(&f.metrics, "pledge-privacyclock")
	return f
}

func (f *fixture) add(id, person string, kind privacy.Kind, verified bool) {
	r := privacy.DefaultTiming.New(id, person, kind, person+"@example.com", t0, "n-"+id)
	if verified {
		q, _ := privacy.DefaultTiming.Verify(r, r.Nonce, true, t0)
		r = *q
	}
	f.st.requests[id] = r
	f.st.people[person] = people.Person{ID: person, Email: person + "@example.com", Status: people.Confirmed, Version: 1}
}

func (f *fixture) run(t *testing.T, at time.Time) Result {
	t.Helper()
	res, err := f.h.handle(context.Background(), Run{Now: at.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUnverifiedRequestsExpireAfterSevenDays(t *testing.T) {
	f := newFixture()
	f.add("r1", "p1", privacy.Access, false)
	if res := f.run(t, t0.Add(6*24*time.Hour)); res.Expired != 0 || f.st.writes != 0 || f.st.reads != 0 {
		t.Fatalf("after 6 days = %+v, %d writes, %d reads; want nothing beyond the listing", res, f.st.writes, f.st.reads)
	}
	res := f.run(t, t0.Add(7*24*time.Hour))
	if r := f.st.requests["r1"]; res.Expired != 1 || r.Status != privacy.Expired || r.Email != "" || len(f.mail.sent) != 0 {
		t.Fatalf("after 7 days = %+v, %+v", res, r)
	}
	if again := f.run(t, t0.Add(8*24*time.Hour)); again.Open != 0 || again.Expired != 0 {
		t.Fatalf("the next run = %+v", again)
	}
}

func TestADeletionIsCarriedOutAfterItsCoolOffOnceWithOneLastMail(t *testing.T) {
	f := newFixture()
	f.add("d1", "p1", privacy.Delete, true)
	f.st.people["bystander"] = people.Person{ID: "bystander", Version: 1}
	if res := f.run(t, t0.Add(71*time.Hour)); res.Erased != 0 || len(f.st.erased) != 0 {
		t.Fatalf("in the cool-off = %+v", res)
	}
	res := f.run(t, t0.Add(72*time.Hour))
	r := f.st.requests["d1"]
	if res.Erased != 1 || res.Completed != 1 || len(f.st.erased) != 1 || f.st.erased[0] != "p1" || r.Status != privacy.Completed ||
		r.Outcome != privacy.Erased || r.Email != "" {
		t.Fatalf("after the cool-off = %+v, request %+v, erased %v", res, r, f.st.erased)
	}
	if len(f.mail.sent) != 1 || f.mail.sent[0].Topic != mail.RequestErased || f.mail.sent[0].To != "p1@example.com" || f.mail.sent[0].PersonID != "p1" {
		t.Fatalf("mails = %+v", f.mail.sent)
	}
	if _, ok := f.st.people["bystander"]; !ok {
		t.Fatal("someone else was erased")
	}
	writes := f.st.writes
	f.run(t, t0.Add(73*time.Hour))
	if f.st.writes != writes || len(f.mail.sent) != 1 {
		t.Fatal("a second run wrote or mailed again")
	}
}

func TestAnUndeliverablePersonGetsNoLastMail(t *testing.T) {
	f := newFixture()
	f.add("d1", "p1", privacy.Delete, true)
	p := f.st.people["p1"]
	p.Deliverability = people.Deliverability{State: people.Undeliverable, Since: t0}
	f.st.people["p1"] = p
	if res := f.run(t, t0.Add(72*time.Hour)); res.Completed != 1 || len(f.mail.sent) != 0 {
		t.Fatalf("= %+v, mails %+v", res, f.mail.sent)
	}
}

func TestRemindersAndOverdueAreAnnouncedOnceAndCountedAsAMetric(t *testing.T) {
	f := newFixture()
	f.add("d1", "p1", privacy.Delete, true)
	// A deletion stuck in progress (an erasure that keeps failing would
	// leave it so): hold it there by making it an access request in progress.
	r := f.st.requests["d1"]
	r.Kind, r.Status = privacy.Access, privacy.InProgress
	f.st.requests["d1"] = r
	due := r.Due
	f.run(t, due.Add(-7*24*time.Hour))
	f.run(t, due.Add(-6*24*time.Hour))
	f.run(t, due.Add(-2*24*time.Hour))
	f.metrics.Reset()
	res := f.run(t, due)
	f.run(t, due.Add(time.Hour))
	var stages []string
	for _, a := range f.bus.got {
		stages = append(stages, string(a.Stage))
		if a.Request != "d1" || !a.Due.Equal(due) {
			t.Fatalf("announcement %+v", a)
		}
	}
	if strings.Join(stages, ",") != "due-in-7-days,due-in-2-days,overdue" || res.Overdue != 1 {
		t.Fatalf("announced %v, overdue %d", stages, res.Overdue)
	}
	var line map[string]any
	first, _, _ := strings.Cut(f.metrics.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil || line["OverdueRequests"] != float64(1) || line["FunctionName"] != "pledge-privacyclock" {
		t.Fatalf("metric line %s, %v", f.metrics.String(), err)
	}
	aws := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if aws["Namespace"] != "pledge" {
		t.Fatalf("namespace %v", aws["Namespace"])
	}
}

func TestAClockOverrideIsRefusedOutsideTheLocalStack(t *testing.T) {
	f := newFixture()
	f.h.allowOverride = false
	if _, err := f.h.handle(context.Background(), Run{Now: t0.Format(time.RFC3339)}); err == nil {
		t.Fatal("an override was accepted")
	}
}

type fakeEvents struct{ calls []*eventbridge.PutEventsInput }

func (e *fakeEvents) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	e.calls = append(e.calls, in)
	return &eventbridge.PutEventsOutput{}, nil
}

func TestTheBusPublishesTenEventsToACallWithoutThePerson(t *testing.T) {
	api := &fakeEvents{}
	var as []Announcement
	for range 12 {
		as = append(as, Announcement{Request: "r", Kind: privacy.Delete, Status: privacy.InProgress, Due: t0, Stage: privacy.Overdue})
	}
	as[0].Stage = privacy.DueIn7Days
	if err := (bus{api}).Announce(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	if len(api.calls) != 2 || len(api.calls[0].Entries) != 10 || len(api.calls[1].Entries) != 2 {
		t.Fatalf("%d calls", len(api.calls))
	}
	e := api.calls[0].Entries
	if *e[0].Source != "pledge.privacy" || *e[0].DetailType != detailTypeRemind || *e[1].DetailType != detailTypeDue ||
		!strings.Contains(*e[0].Detail, `"requestId":"r"`) || strings.Contains(*e[0].Detail, "@") {
		t.Fatalf("entry %+v %s", e[0], *e[0].Detail)
	}
}

// flakyBus refuses the first fails publications, then records.
type flakyBus struct {
	fails int
	recordingBus
}

func (b *flakyBus) Announce(ctx context.Context, as []Announcement) error {
	if b.fails > 0 {
		b.fails--
		return errors.New("privacyclock: PutEvents: ThrottlingException")
	}
	return b.recordingBus.Announce(ctx, as)
}

func TestAReminderEventBridgeRefusedIsAnnouncedByTheNextRun(t *testing.T) {
	f := newFixture()
	bus := &flakyBus{fails: 1}
	f.h.events = bus
	f.add("d1", "p1", privacy.Delete, true)
	r := f.st.requests["d1"]
	r.Kind, r.Status = privacy.Access, privacy.InProgress // open and verified when its reminder comes
	f.st.requests["d1"] = r
	if res := f.run(t, r.Due.Add(-7*24*time.Hour)); res.Failed != 1 || res.Reminders != 0 {
		t.Fatalf("a refused publication = %+v", res)
	}
	if res := f.run(t, r.Due.Add(-7*24*time.Hour+time.Hour)); res.Reminders != 1 || res.Failed != 0 {
		t.Fatalf("the next run = %+v; want the reminder announced", res)
	}
	f.run(t, r.Due.Add(-7*24*time.Hour+2*time.Hour))
	if len(bus.got) != 1 || bus.got[0].Stage != privacy.DueIn7Days {
		t.Fatalf("announced %+v; want the 7-day reminder once", bus.got)
	}
}
