package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

type recordingSystems struct{ published []string }

func (s *recordingSystems) Publish(_ context.Context, rs []privacy.Request) error {
	for _, r := range rs {
		s.published = append(s.published, r.ID)
	}
	return nil
}

// A deletion entered by staff whose event did not go out is published by
// the next run, erased after its cool-off, and waits, in progress, for the
// downstream systems: reminders and the overdue count cover it, and no
// last mail goes until the last system answers.
func TestAnErasedDeletionWaitsForTheSystemsUnderTheReminders(t *testing.T) {
	f := newFixture()
	timing := privacy.DefaultTiming
	timing.Systems = []string{"billing", "support"}
	r := timing.Enter("s1", "p1", privacy.Intake{Channel: privacy.Email, Kind: privacy.Delete, Email: "p1@example.com", Received: t0,
		VerifiedBy: "amy", VerifiedHow: "reply from the address"}, t0)
	f.st.requests["s1"] = r
	res := f.run(t, t0.Add(time.Hour))
	if res.Notified != 1 || !slices.Equal(f.systems.published, []string{"s1"}) || f.st.requests["s1"].Staff.Notified.IsZero() {
		t.Fatalf("first run = %+v, published %v", res, f.systems.published)
	}
	if res := f.run(t, t0.Add(2*time.Hour)); res.Notified != 0 || len(f.systems.published) != 1 {
		t.Fatalf("published again: %+v", res)
	}
	res = f.run(t, t0.Add(73*time.Hour))
	q := f.st.requests["s1"]
	if res.Completed != 0 || q.Status != privacy.InProgress || q.Staff.ErasedAt.IsZero() || len(f.mail.sent) != 0 {
		t.Fatalf("after the cool-off = %+v, %+v, mails %d", res, q, len(f.mail.sent))
	}
	writes := f.st.writes
	if res := f.run(t, t0.Add(74*time.Hour)); res.Erased != 0 || f.st.writes != writes {
		t.Fatalf("a run while waiting = %+v, %d writes", res, f.st.writes-writes)
	}
	res = f.run(t, q.Due.Add(time.Hour))
	if res.Overdue != 1 || len(f.bus.got) == 0 || !slices.Equal(f.bus.got[len(f.bus.got)-1].WaitingOn, []string{"billing", "support"}) {
		t.Fatalf("overdue run = %+v, announcements %+v", res, f.bus.got)
	}
}

// A deletion verified on the web is announced by the run that ends its
// cool-off and starts its erasure, never before; one cancelled in its
// cool-off never reaches the systems and waits on none of them.
func TestAWebDeletionReachesTheSystemsOnlyWhenItsErasureStarts(t *testing.T) {
	f := newFixture()
	timing := privacy.DefaultTiming
	timing.Systems = []string{"billing", "support"}
	for _, id := range []string{"w1", "w2"} {
		r := timing.New(id, "p-"+id, privacy.Delete, id+"@example.com", t0, "n-"+id)
		q, _ := timing.Verify(r, r.Nonce, true, t0)
		f.st.requests[id] = *q
		f.st.people["p-"+id] = people.Person{ID: "p-" + id, Email: id + "@example.com", Status: people.Confirmed, Version: 1}
	}
	if res := f.run(t, t0.Add(time.Hour)); res.Notified != 0 || len(f.systems.published) != 0 {
		t.Fatalf("in the cool-off = %+v, published %v", res, f.systems.published)
	}
	c, err := privacy.Cancel(f.st.requests["w2"], t0.Add(2*time.Hour))
	if err != nil || c == nil {
		t.Fatal(c, err)
	}
	f.st.requests["w2"] = *c
	res := f.run(t, t0.Add(73*time.Hour))
	w1 := f.st.requests["w1"]
	if res.Notified != 1 || res.Erased != 1 || !slices.Equal(f.systems.published, []string{"w1"}) || w1.Status != privacy.InProgress ||
		w1.Staff.Notified.IsZero() || !slices.Equal(w1.Waiting(), []string{"billing", "support"}) {
		t.Fatalf("after the cool-off = %+v, published %v, w1 %+v", res, f.systems.published, w1)
	}
	if w2 := f.st.requests["w2"]; w2.Status != privacy.Cancelled || !w2.Staff.Notified.IsZero() || f.st.people["p-w2"].ID == "" {
		t.Fatalf("cancelled = %+v", w2)
	}
	if res := f.run(t, t0.Add(74*time.Hour)); res.Notified != 0 || len(f.systems.published) != 1 {
		t.Fatalf("published again: %+v", res)
	}
}
