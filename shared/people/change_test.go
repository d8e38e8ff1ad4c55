package people

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestEveryChangeIsStampedAfterTheWriteItRead(t *testing.T) {
	read := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := Person{UpdatedAt: read}
	for _, tt := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"a clock ahead of the last write", read.Add(time.Second), read.Add(time.Second)},
		{"a clock equal to it", read, read.Add(time.Microsecond)},
		{"a clock behind it (another function's clock ran ahead)", read.Add(-time.Second), read.Add(time.Microsecond)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := stampAfter(tt.now, p); !got.Equal(tt.want) {
				t.Fatalf("stampAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpireErasesOnlyWhileTheRuleStillApplies(t *testing.T) {
	r := DefaultRetention
	now := time.Date(2026, 12, 2, 3, 30, 0, 0, time.UTC)
	due := Clock{RuleUnconfirmed, now.Add(-time.Hour)}
	unconfirmed := Person{ID: "p", Status: Unconfirmed, Pending: []Purpose{Newsletter}, Clock: due, Version: 2}
	for _, tt := range []struct {
		name   string
		p      Person
		erase  bool
		refile Clock // the clock refiled, when not erased and not left alone
	}{
		{"an unconfirmed sign-up whose week is up", unconfirmed, true, Clock{}},
		{"nobody (erased already)", Person{ID: "p"}, false, Clock{}},
		{"a person whose clock moved (they confirmed)", func() Person {
			q := unconfirmed
			q.Clock = Clock{RuleInactive, now.Add(1000 * time.Hour)}
			return q
		}(), false, Clock{}},
		{"an unconfirmed sign-up whose account opened (an older write's clock)", func() Person {
			q := unconfirmed
			q.Account = Account{State: AccountOpen, At: now.Add(-48 * time.Hour)}
			return q
		}(), false, Clock{}},
		{"a testimonial consent left after a one-click of an older version", Person{ID: "p", Status: Unsubscribed, Active: []Purpose{Testimonials},
			Clock: Clock{RuleNoPurpose, due.Due}, Version: 3}, false, Clock{RuleInactive, now.Add(r.Inactive)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch := r.Expire(tt.p, tt.p.Clock, now)
			if tt.p.Clock.Rule == RuleInactive { // the clock moved: the entry read still names the old one
				ch = r.Expire(tt.p, due, now)
			}
			switch {
			case tt.erase:
				if ch.Erase == nil || ch.Erase.Rule != due.Rule || ch.Erase.ProofClock != (Clock{RuleLedgerProof, now.Add(r.LedgerProof)}) || ch.After != nil {
					t.Fatalf("Expire = %+v; want an erasure under %s starting the ledger's proof clock", ch, due.Rule)
				}
			case tt.p.Account.State == AccountOpen:
				if ch.Erase != nil || ch.After == nil || !ch.After.Clock.IsZero() {
					t.Fatalf("Expire = %+v; want the clock stopped while the account is open", ch)
				}
			case !tt.refile.IsZero():
				if ch.Erase != nil || ch.After == nil || ch.After.Clock != tt.refile || !slices.Equal(ch.After.Active, tt.p.Active) {
					t.Fatalf("Expire = %+v; want the clock refiled as %+v and nothing else changed", ch, tt.refile)
				}
			default:
				if !ch.IsZero() {
					t.Fatalf("Expire = %+v; want nothing written", ch)
				}
			}
		})
	}
}

func TestASignUpForWhatIsInForceChangesNothingAndIsNeverBothActiveAndPending(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	res, _ := svc.SignUp(ctx, input("jo@example.com", "newsletter"))
	if _, err := svc.Confirm(ctx, res.PersonID, nonceIn(mailer.last()), Context{}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	writes, mails := len(st.changes), len(mailer.sent)
	if _, err := svc.SignUp(ctx, input("jo@example.com", "newsletter")); err != nil {
		t.Fatal(err)
	}
	if len(st.changes) != writes || len(mailer.sent) != mails {
		t.Fatal("a sign-up for a consent in force wrote or mailed")
	}
	if _, err := svc.SignUp(ctx, input("jo@example.com", "newsletter", "offers")); err != nil {
		t.Fatal(err)
	}
	p := st.people[res.PersonID]
	if !slices.Equal(p.Active, []Purpose{Newsletter}) || !slices.Equal(p.Pending, []Purpose{Offers}) || mailer.sent[len(mailer.sent)-1].Purposes[0] != Offers {
		t.Fatalf("after asking for newsletter and offers: %+v, mail %+v; want only offers pending and mailed", p, mailer.sent)
	}
}

func TestAReleaseFreesOnlyItsOwnMailClaim(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	res, _ := svc.SignUp(ctx, input("jo@example.com", "newsletter"))
	l, _ := st.people[res.PersonID].Link(nonceIn(mailer.last()))
	if err := releaseMail(ctx, st, svc.Now, res.PersonID, Link{Nonce: "another", Issued: now}); err != nil {
		t.Fatal(err)
	}
	if p := st.people[res.PersonID]; !p.ConfirmMailAt.Equal(now) || len(p.Links) != 1 {
		t.Fatalf("a release of another mail cleared the claim: %+v", p)
	}
	if err := releaseMail(ctx, st, svc.Now, res.PersonID, l); err != nil {
		t.Fatal(err)
	}
	if p := st.people[res.PersonID]; !p.ConfirmMailAt.IsZero() || len(p.Links) != 0 {
		t.Fatalf("the release left the claim or the link: %+v", p)
	}
}

func TestStopMarketingLeavesTestimonialsAndAnUnconfirmedSignUpUnconfirmed(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(
		Person{ID: "quote", Status: Confirmed, Active: []Purpose{Newsletter, Testimonials}, Pending: []Purpose{Offers}, Version: 4},
		Person{ID: "new", Status: Unconfirmed, Pending: []Purpose{Surveys}, Version: 1},
	)
	s := &Subscriptions{Store: st, NewID: RandomID, Now: func() time.Time { return now }, Pseudonym: func(v string) string { return v }, Retention: DefaultRetention}
	for _, id := range []string{"quote", "new"} {
		if changed, err := s.StopMarketing(context.Background(), id, Context{Source: "one-click"}); err != nil || !changed {
			t.Fatalf("StopMarketing(%s) = %v, %v", id, changed, err)
		}
	}
	q := st.people["quote"]
	if q.Status != Unsubscribed || !slices.Equal(q.Active, []Purpose{Testimonials}) || len(q.Pending) != 0 || q.Clock.Rule != RuleInactive {
		t.Fatalf("quote = %+v; want unsubscribed from marketing, the testimonial consent and its clock kept", q)
	}
	if ch := st.changes[0]; !slices.Equal(ch.Left, []Purpose{Newsletter}) || len(ch.Events) != 1 || ch.Events[0].Purpose != AllMarketing {
		t.Fatalf("change = %+v; want the newsletter list left and one all-marketing withdrawal", ch)
	}
	if n := st.people["new"]; n.Status != Unconfirmed || len(n.Pending) != 0 || n.Clock.Rule != RuleUnconfirmed {
		t.Fatalf("new = %+v; want still unconfirmed, nothing pending, on the unconfirmed clock", n)
	}
}

func TestDroppingAPendingPurposeOnThePreferencesPageIsAWithdrawal(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(Person{ID: "p", Status: Confirmed, Active: []Purpose{Newsletter}, Pending: []Purpose{Surveys}, Version: 2})
	s := &Subscriptions{Store: st, NewID: RandomID, Now: func() time.Time { return now }, Pseudonym: func(v string) string { return v }, Retention: DefaultRetention}
	if changed, err := s.SetPreferences(context.Background(), "p", []Purpose{Newsletter}, Context{Source: "preferences"}); err != nil || !changed.Changed {
		t.Fatalf("SetPreferences = %v, %v", changed, err)
	}
	ch := st.changes[0]
	if len(ch.Events) != 1 || ch.Events[0].Action != Withdraw || ch.Events[0].Purpose != Surveys || len(ch.After.Pending) != 0 {
		t.Fatalf("change = %+v; want the pending surveys withdrawn, with its ledger entry", ch)
	}
}
