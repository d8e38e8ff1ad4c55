package people

import (
	"context"
	"slices"
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

func TestAOneClickWrittenUnreadIsTheDecisionMadeOnARead(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-time.Hour)
	people := []struct {
		name   string
		p      Person
		unread bool // the one-write path applies
	}{
		{"a subscriber", Person{Status: Confirmed, Active: []Purpose{Newsletter, Offers}, UpdatedAt: earlier}, true},
		{"a subscriber with a purpose pending", Person{Status: Confirmed, Active: []Purpose{Newsletter}, Pending: []Purpose{Surveys}, UpdatedAt: earlier}, true},
		{"a subscriber with testimonials pending", Person{Status: Confirmed, Active: []Purpose{Offers}, Pending: []Purpose{Testimonials}, UpdatedAt: earlier}, true},
		{"a subscriber who also gave a testimonial", Person{Status: Confirmed, Active: []Purpose{Newsletter, Testimonials}, UpdatedAt: earlier}, false},
		{"a subscriber with an open account", Person{Status: Confirmed, Active: []Purpose{Newsletter}, Account: Account{AccountOpen, earlier}, UpdatedAt: earlier}, false},
		{"an unconfirmed sign-up", Person{Status: Unconfirmed, Pending: []Purpose{Newsletter}, UpdatedAt: earlier}, false},
		{"a person written after this clock's now", Person{Status: Confirmed, Active: []Purpose{Newsletter}, UpdatedAt: now.Add(time.Second)}, false},
		{"someone already unsubscribed", Person{Status: Unsubscribed, UpdatedAt: earlier}, false},
		{"a subscriber with a confirm link still live", Person{Status: Confirmed, Active: []Purpose{Newsletter}, Pending: []Purpose{Offers}, UpdatedAt: earlier,
			Links: []Link{{Nonce: "n1", Purposes: []Purpose{Offers}, Issued: earlier, Expires: now.Add(time.Hour)}}}, false},
	}
	for _, tt := range people {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.ID, tt.p.Version = "p", 3
			read, unread := newMemStore(tt.p), &unreadMemStore{memStore: newMemStore(tt.p)}
			for _, st := range []Store{read, unread} {
				s := &Subscriptions{Store: st, NewID: RandomID, Now: func() time.Time { return now }, Pseudonym: func(v string) string { return v }, Retention: DefaultRetention}
				if _, err := s.StopMarketing(context.Background(), "p", Context{Source: "one-click"}); err != nil {
					t.Fatal(err)
				}
			}
			if got := unread.unread == 1; got != tt.unread {
				t.Fatalf("written unread: %v, want %v", got, tt.unread)
			}
			a, b := read.people["p"], unread.people["p"]
			if !slices.Equal(a.Active, b.Active) || !slices.Equal(a.Pending, b.Pending) || a.Status != b.Status || a.Clock != b.Clock ||
				a.NoticeRecipient() != b.NoticeRecipient() || a.Version != b.Version {
				t.Fatalf("decided on a read: %+v\nwritten unread: %+v", a, b)
			}
			if len(read.changes) != len(unread.changes) {
				t.Fatalf("%d changes on a read, %d unread", len(read.changes), len(unread.changes))
			}
			for i := range read.changes {
				x, y := read.changes[i], unread.changes[i]
				// The unread write leaves every marketing list (leaving one the
				// person is not on changes nothing); it must leave at least those
				// the read decision leaves.
				if len(x.Events) != len(y.Events) || (len(x.Events) > 0 && (x.Events[0].Purpose != y.Events[0].Purpose || x.Events[0].ProofClock != y.Events[0].ProofClock)) ||
					slices.ContainsFunc(x.Left, func(q Purpose) bool { return !slices.Contains(y.Left, q) }) {
					t.Fatalf("change on a read %+v, unread %+v", x, y)
				}
			}
		})
	}
}
