package people

import (
	"context"
	"testing"
	"time"
)

// newSubscriptions runs the preferences page on st, mailing to a fake.
func newSubscriptions(st *memStore, now *time.Time) (*Subscriptions, *fakeMailer) {
	m := &fakeMailer{}
	return &Subscriptions{Store: st, Mailer: m, Links: fakeLinks{}, NewID: RandomID, Now: func() time.Time { return *now },
		PersonID: KeyedID([]byte("pepper-pepper-pepper-pepper-pepp")), Pseudonym: func(v string) string { return "k" + v },
		Retention: DefaultRetention, LinkTTL: 48 * time.Hour, ResendInterval: 10 * time.Minute}, m
}

func TestEveryWithdrawalStartsItsProofClockAndNothingElseDoes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(Person{ID: "p1", Status: Confirmed, Active: []Purpose{Newsletter, Surveys}, Version: 1})
	s, _ := newSubscriptions(st, &now)
	if changed, err := s.SetPreferences(context.Background(), "p1", []Purpose{Newsletter, Offers}, Context{Source: "preferences"}); err != nil || !changed.Changed {
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
	// The clock stood still, so the second change is stamped just after the first.
	if e := st.changes[1].Events[0]; e.Purpose != AllMarketing || e.At.Before(now) || e.ProofClock != (Clock{RuleLedgerProof, e.At.Add(DefaultRetention.LedgerProof)}) {
		t.Fatalf("one-click withdrawal = %+v; want all marketing with the proof clock", e)
	}
}
