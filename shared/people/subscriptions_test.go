package people

import (
	"context"
	"testing"
	"time"
)

// subStore keeps one person and the last change applied to them.
type subStore struct {
	p       Person
	changes []ConsentChange
	stopped []ConsentEvent
}

func (s *subStore) Person(context.Context, string) (Person, error) { return s.p, nil }
func (s *subStore) ChangeConsent(_ context.Context, _ Person, ch ConsentChange) error {
	s.changes = append(s.changes, ch)
	return nil
}
func (s *subStore) StopMarketing(_ context.Context, _ string, e ConsentEvent, _ Clock) (bool, error) {
	s.stopped = append(s.stopped, e)
	return true, nil
}

func TestEveryWithdrawalStartsItsProofClockAndNothingElseDoes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := &subStore{p: Person{ID: "p1", Status: Confirmed, Active: []Purpose{Newsletter, Surveys}}}
	s := &Subscriptions{Store: st, NewID: RandomID, Now: func() time.Time { return now }, Pseudonym: func(v string) string { return "k" + v },
		Retention: DefaultRetention}
	if changed, err := s.SetPreferences(context.Background(), "p1", []Purpose{Newsletter, Offers}, Context{Source: "preferences"}); err != nil || !changed {
		t.Fatalf("SetPreferences = %v, %v", changed, err)
	}
	want := Clock{RuleLedgerProof, now.Add(DefaultRetention.LedgerProof)}
	for _, e := range st.changes[0].Events {
		switch {
		case e.Action == Withdraw && (e.Purpose != Surveys || e.ProofClock != want):
			t.Errorf("withdrawal %+v; want surveys with the proof clock %v", e, want)
		case e.Action != Withdraw && !e.ProofClock.IsZero():
			t.Errorf("a %s entry started a proof clock: %+v", e.Action, e)
		}
	}
	if _, err := s.StopMarketing(context.Background(), "p1", Context{Source: "one-click"}); err != nil {
		t.Fatal(err)
	}
	if e := st.stopped[0]; e.Purpose != AllMarketing || e.ProofClock != want {
		t.Fatalf("one-click withdrawal = %+v; want all marketing with the proof clock", e)
	}
}
