package main

import (
	"context"
	"slices"
	"testing"
	"time"

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
