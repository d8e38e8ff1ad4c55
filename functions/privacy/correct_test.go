package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// memCorrector changes memPeople as the store would: names by the
// decision, moves by re-keying; cut makes the next move fail once.
type memCorrector struct {
	people memPeople
	moves  int
	cut    bool
	onCut  func() // what the cut run had done: the store re-points the requests early in a move
	events []people.ConsentEvent
}

func (m *memCorrector) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	p, ok := m.people[id]
	if !ok {
		p = people.Person{ID: id}
	}
	ch, err := decide(p)
	if err != nil || ch.IsZero() {
		return people.Change{}, err
	}
	q := *ch.After
	q.Version++
	m.people[id], m.events = q, append(m.events, ch.Events...)
	return ch, nil
}

func (m *memCorrector) MovePerson(_ context.Context, mv store.Move) error {
	m.moves++
	if m.cut {
		m.cut = false
		if m.onCut != nil {
			m.onCut()
		}
		return errors.New("cut off")
	}
	p, ok := m.people[mv.From]
	if !ok {
		if _, done := m.people[mv.To]; done {
			return nil
		}
		return people.ErrNotFound
	}
	if _, taken := m.people[mv.To]; taken {
		return privacy.ErrAddressTaken
	}
	m.people[mv.To] = people.Readdressed(p, mv.To, mv.Email, mv.At)
	delete(m.people, mv.From)
	return nil
}

type correctionMails struct{ sent []mail.CorrectionMail }

func (c *correctionMails) SendCorrection(_ context.Context, m mail.CorrectionMail) error {
	c.sent = append(c.sent, m)
	return nil
}

func correctionFixture(t *testing.T) (*fixture, *memCorrector, *correctionMails) {
	f := newFixture(t)
	c, m := &memCorrector{people: f.people}, &correctionMails{}
	f.h.correct, f.h.correctMail = c, m
	return f, c, m
}

func (f *fixture) verifyLast(t *testing.T) (int, string) {
	t.Helper()
	resp := f.do(t, post("/privacy/verify", "t="+tokenOf(t, f.mail.sent[len(f.mail.sent)-1].Link), false))
	return resp.StatusCode, resp.Body
}

func TestANameCorrectionIsAppliedOnceVerifiedWithALedgerEntry(t *testing.T) {
	f, c, m := correctionFixture(t)
	jo := pepper("jo@example.com")
	if resp := f.do(t, post("/privacy", "kind=correct&email=jo@example.com&new_name=Jo+Smith&new_email=", false)); resp.StatusCode != 202 {
		t.Fatalf("ask = %d %s", resp.StatusCode, resp.Body)
	}
	if f.people[jo].Name != "" {
		t.Fatal("the name changed before verification")
	}
	status, body := f.verifyLast(t)
	if status != 200 || !strings.Contains(body, `"status":"completed"`) || !strings.Contains(body, `"outcome":"corrected"`) {
		t.Fatalf("verify = %d %s", status, body)
	}
	if p := f.people[jo]; p.Name != "Jo Smith" || p.Email != "jo@example.com" || len(p.Active) != 1 {
		t.Fatalf("person = %+v", p)
	}
	if len(c.events) != 1 || c.events[0].Action != people.Correct || c.events[0].Purpose != people.CorrectedName {
		t.Fatalf("ledger entries = %+v", c.events)
	}
	if len(m.sent) != 1 || m.sent[0].Topic != mail.CorrectionDone || m.sent[0].To != "jo@example.com" {
		t.Fatalf("correction mails = %+v", m.sent)
	}
	for _, r := range f.reqs.byID {
		if r.Correction.Name != "" || r.Email != "" {
			t.Fatalf("a closed correction keeps %+v", r)
		}
	}
	// A second press changes nothing twice.
	f.verifyLast(t)
	if len(c.events) != 1 || len(m.sent) != 1 {
		t.Fatalf("a second press wrote %d entries, %d mails", len(c.events), len(m.sent))
	}
}

func TestAnAddressCorrectionWaitsForTheNewMailboxThenMovesOnceAndResumesWhenCut(t *testing.T) {
	f, c, m := correctionFixture(t)
	jo, neu := pepper("jo@example.com"), pepper("jo.new@example.com")
	f.do(t, post("/privacy", "kind=correct&email=jo@example.com&new_email=Jo.New@Example.com", false))
	if status, body := f.verifyLast(t); status != 200 || !strings.Contains(body, `"status":"verified"`) || !strings.Contains(body, "new address") {
		t.Fatalf("verify = %d %s", status, body)
	}
	if _, moved := f.people[neu]; moved || c.moves != 0 {
		t.Fatal("moved before the new mailbox confirmed")
	}
	if len(m.sent) != 1 || m.sent[0].Topic != mail.CorrectionConfirmAddress || m.sent[0].To != "jo.new@example.com" || m.sent[0].PersonID != neu ||
		!strings.HasPrefix(m.sent[0].Link, "https://pledge.example.com/privacy/correct?t=") {
		t.Fatalf("correction mails = %+v", m.sent)
	}
	link := tokenOf(t, m.sent[0].Link)
	if resp := f.do(t, get("/privacy/correct?t="+link, true)); resp.StatusCode != 200 || !strings.Contains(resp.Body, `action="/privacy/correct"`) || c.moves != 0 {
		t.Fatalf("the page = %d, %d moves: GET shows a button and moves nothing", resp.StatusCode, c.moves)
	}
	// The verification link is not the new mailbox's.
	if resp := f.do(t, post("/privacy/correct", "t="+tokenOf(t, f.mail.sent[0].Link), false)); resp.StatusCode != 400 || c.moves != 0 {
		t.Fatalf("the verification link on /privacy/correct = %d %s", resp.StatusCode, resp.Body)
	}
	c.cut, c.onCut = true, func() {
		for id, r := range f.reqs.byID {
			r.PersonID = neu
			f.reqs.byID[id] = r
		}
	}
	if resp, err := f.h.handle(context.Background(), post("/privacy/correct", "t="+link, false)); err == nil && resp.StatusCode < 500 {
		t.Fatalf("a cut move answered %d", resp.StatusCode)
	}
	resp := f.do(t, post("/privacy/correct", "t="+link, false))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"completed"`) || c.moves != 2 {
		t.Fatalf("the press after the cut = %d %s, %d moves", resp.StatusCode, resp.Body, c.moves)
	}
	if _, old := f.people[jo]; old || f.people[neu].Email != "jo.new@example.com" || len(f.people[neu].Active) != 1 {
		t.Fatalf("people = %+v", f.people)
	}
	if last := m.sent[len(m.sent)-1]; len(m.sent) != 2 || last.Topic != mail.CorrectionDone || last.To != "jo.new@example.com" {
		t.Fatalf("correction mails = %+v", m.sent)
	}
	// Once done, the link moves nothing again.
	if resp := f.do(t, post("/privacy/correct", "t="+link, false)); resp.StatusCode != 200 || c.moves != 2 || len(m.sent) != 2 {
		t.Fatalf("a press after the move = %d, %d moves", resp.StatusCode, c.moves)
	}
}

func TestACorrectionToAnAddressSomeoneHoldsIsRefusedAndChangesNothing(t *testing.T) {
	f, c, m := correctionFixture(t)
	other := pepper("ann@example.com")
	f.people[other] = people.Person{ID: other, Email: "ann@example.com", Name: "Ann", Version: 1}
	f.do(t, post("/privacy", "kind=correct&email=jo@example.com&new_email=ann@example.com&new_name=Jo+Smith", false))
	link := tokenOf(t, f.mail.sent[len(f.mail.sent)-1].Link)
	// A script gets the JSON error every client error in JSON has
	// (api/openapi.yaml); the request is refused.
	status, body := f.verifyLast(t)
	if status != 409 || !strings.Contains(body, `"code":"conflict"`) || !strings.Contains(body, `"field":"new_email"`) || !strings.Contains(body, "belongs to another person") {
		t.Fatalf("verify = %d %s", status, body)
	}
	for _, r := range f.reqs.byID {
		if r.Status != privacy.Refused || r.Reason != privacy.Other || r.ReasonText != privacy.AddressTakenText {
			t.Fatalf("the request = %s %s %q; want refused, other, the address taken", r.Status, r.Reason, r.ReasonText)
		}
	}
	// A browser pressing again gets the status page, saying why, with the 409.
	if page := f.do(t, post("/privacy/verify", "t="+link, true)); page.StatusCode != 409 || !strings.Contains(page.Body, "belongs to another person") || !strings.Contains(page.Body, "<html") {
		t.Fatalf("verify in a browser = %d %s", page.StatusCode, page.Body)
	}
	if c.moves != 0 || len(c.events) != 0 || len(m.sent) != 0 || f.people[pepper("jo@example.com")].Name != "" || f.people[other].Name != "Ann" {
		t.Fatalf("a refused correction changed something: %d moves, %+v, %+v", c.moves, c.events, m.sent)
	}
}

func TestBadCorrectionsAreAClear400NamingTheFieldAndChangeNothing(t *testing.T) {
	for _, tt := range []struct{ name, body, field string }{
		{"nothing to correct", "kind=correct&email=jo@example.com", "new_name"},
		{"an invalid new address", "kind=correct&email=jo@example.com&new_email=jo@", "new_email"},
		{"the same address", "kind=correct&email=jo@example.com&new_email=JO@example.com", "new_email"},
		{"a name with a line break", "kind=correct&email=jo@example.com&new_name=Jo%0ABcc:x", "new_name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, _, m := correctionFixture(t)
			resp := f.do(t, post("/privacy", tt.body, false))
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"field":"`+tt.field+`"`) {
				t.Fatalf("answer %d %s; want 400 on %s", resp.StatusCode, resp.Body, tt.field)
			}
			if len(f.reqs.byID) != 0 || len(f.mail.sent) != 0 || len(m.sent) != 0 || f.door.admitted != 0 {
				t.Fatal("a bad correction stored, mailed or counted something")
			}
		})
	}
}
