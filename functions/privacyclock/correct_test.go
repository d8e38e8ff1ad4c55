package main

import (
	"context"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// recordingMover records the moves it is asked to finish; taken answers
// that the new address belongs to someone else.
type recordingMover struct {
	moves []store.Move
	taken bool
}

func (m *recordingMover) MovePerson(_ context.Context, mv store.Move) error {
	m.moves = append(m.moves, mv)
	if m.taken {
		return privacy.ErrAddressTaken
	}
	return nil
}

// moving adds a correction of old's address to new, in progress since at.
func (f *fixture) moving(id string, at time.Time) {
	r := privacy.DefaultTiming.New(id, "old", privacy.Correct, "old@example.com", t0, "n")
	r.Correction = privacy.Correction{Email: "new@example.com", PersonID: "new", From: "old"}
	q, _ := privacy.DefaultTiming.VerifyCorrection(r, "n", true, false, "m", t0)
	q, _ = privacy.ConfirmMove(*q, "m", at)
	q.PersonID = "new" // the move re-points the request early
	f.st.requests[id] = *q
}

func TestTheClockFinishesAMoveCutOffAndLeavesOneInFlightAlone(t *testing.T) {
	f := newFixture()
	m := &recordingMover{}
	f.h.moves = m
	f.moving("cut", t0)
	f.moving("running", t0.Add(time.Hour))
	at := t0.Add(time.Hour + 30*time.Second)
	res := f.run(t, at)
	if len(m.moves) != 1 || m.moves[0] != (store.Move{From: "old", To: "new", Email: "new@example.com", RequestID: "cut", At: t0, EntryID: "cut"}) {
		t.Fatalf("moves = %+v", m.moves)
	}
	if r := f.st.requests["cut"]; r.Status != privacy.Completed || r.Outcome != privacy.Corrected || res.Completed != 1 {
		t.Fatalf("the cut-off correction = %+v, %+v", r, res)
	}
	if r := f.st.requests["running"]; r.Status != privacy.InProgress {
		t.Fatalf("a move in flight = %+v", r)
	}
	m.taken = true
	f.run(t, at.Add(time.Hour))
	if r := f.st.requests["running"]; r.Status != privacy.Refused || r.ReasonText != privacy.AddressTakenText {
		t.Fatalf("a move to a taken address = %+v", r)
	}
}

func TestACorrectionWhoseNewMailboxNeverConfirmedLapsesAfterItsLink(t *testing.T) {
	f := newFixture()
	f.h.moves = &recordingMover{}
	r := privacy.DefaultTiming.New("waiting", "old", privacy.Correct, "old@example.com", t0, "n")
	r.Correction = privacy.Correction{Email: "new@example.com", PersonID: "new", From: "old"}
	q, _ := privacy.DefaultTiming.VerifyCorrection(r, "n", true, false, "m", t0)
	f.st.requests["waiting"] = *q
	if res := f.run(t, t0.Add(23*time.Hour)); res.Expired != 0 || f.st.requests["waiting"].Status != privacy.Verified {
		t.Fatalf("within the link's day: %+v, %+v", res, f.st.requests["waiting"])
	}
	res := f.run(t, t0.Add(25*time.Hour))
	if got := f.st.requests["waiting"]; res.Expired != 1 || got.Status != privacy.Expired || got.Correction.Email != "" || got.Email != "" {
		t.Fatalf("after the link's day: %+v, %+v", res, got)
	}
}
