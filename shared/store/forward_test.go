package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// moved is "old" (confirmed for the newsletter) moved to "new" by a
// correction of their address, at t0+5h.
func moved(t *testing.T) (*store.Store, string) {
	t.Helper()
	s, table := freshTable(t)
	if err := s.MovePerson(context.Background(), moveOf(movable(t, s, 3))); err != nil {
		t.Fatal(err)
	}
	return s, table
}

func TestAOneClickOnALinkMailedBeforeAMoveUnsubscribesTheMovedPerson(t *testing.T) {
	ctx := context.Background()
	s, _ := moved(t)
	w := newWorld(s, t0.Add(6*time.Hour))
	// Keyed by the old id without FollowMoves (as anything keyed by an
	// address is), the pointer is nobody.
	if changed, err := w.subscriptions().StopMarketing(ctx, "old", people.Context{Source: "one-click"}); err != nil || changed {
		t.Fatalf("a one-click that does not follow = %v, %v", changed, err)
	}
	if p, err := s.Person(ctx, "old"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the pointer read as a person: %+v, %v", p, err)
	}
	// The unsubscribe function's token names the old id and follows.
	follow := people.FollowMoves(ctx)
	if p, err := s.Person(follow, "old"); err != nil || p.ID != "new" || !p.Has(people.Newsletter) {
		t.Fatalf("followed = %+v, %v", p, err)
	}
	if changed, err := w.subscriptions().StopMarketing(follow, "old", people.Context{Source: "one-click"}); err != nil || !changed {
		t.Fatalf("a one-click on the old id = %v, %v", changed, err)
	}
	p, err := s.Person(ctx, "new")
	if err != nil || len(p.Active) != 0 || len(p.Pending) != 0 || p.Email != "new@example.com" {
		t.Fatalf("the moved person after the one-click = %+v, %v", p, err)
	}
	evs, err := s.Consents(ctx, "new")
	if err != nil || len(evs) == 0 {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Action != people.Withdraw || last.Purpose != people.AllMarketing || last.Source != "one-click" || last.PersonID != "new" {
		t.Fatalf("the last entry = %+v", last)
	}
	if old, err := s.Consents(ctx, "old"); err != nil || len(old) != 0 {
		t.Fatalf("entries under the old key: %+v, %v", old, err)
	}
	if ids, _, err := s.Members(ctx, people.Newsletter, "", 10); err != nil || len(ids) != 0 {
		t.Fatalf("the newsletter's members = %v, %v", ids, err)
	}
}

func TestTheOldAddressSigningUpAfterAMoveIsANewPersonAndLeavesTheMovedOneAlone(t *testing.T) {
	ctx := context.Background()
	s, table := moved(t)
	was, err := s.Person(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(s, t0.Add(6*time.Hour))
	if res := w.signUp(t, "old", people.Testimonials); res.PersonID != "old" || !res.MailSent {
		t.Fatalf("sign-up = %+v", res)
	}
	fresh, err := s.Person(people.FollowMoves(ctx), "old")
	if err != nil || fresh.ID != "old" || fresh.Email != "old@example.com" || !slices.Equal(fresh.Pending, []people.Purpose{people.Testimonials}) ||
		len(fresh.Active) != 0 || len(fresh.MovedFrom) != 0 || !fresh.CreatedAt.Equal(t0.Add(6*time.Hour)) {
		t.Fatalf("the old key after the sign-up = %+v, %v", fresh, err)
	}
	now, err := s.Person(ctx, "new")
	if err != nil || now.Version != was.Version || !slices.Equal(now.Active, was.Active) || now.Email != "new@example.com" {
		t.Fatalf("the moved person = %+v, was %+v, %v", now, was, err)
	}
	// An erasure of the moved person leaves the new person of the old key.
	erase(t, s, "new", t0.Add(7*time.Hour))
	if p, err := s.Person(ctx, "old"); err != nil || p.Email != "old@example.com" || p.Version != fresh.Version {
		t.Fatalf("the old key's new person after the erasure = %+v, %v", p, err)
	}
	if text := scanText(t, table); strings.Contains(text, "movedTo") {
		t.Fatalf("a pointer left:\n%s", text)
	}
}

func TestAnErasureOfAMovedPersonDeletesThePointerTheMoveLeft(t *testing.T) {
	ctx := context.Background()
	s, table := moved(t)
	if !strings.Contains(scanText(t, table), "movedTo=new pk=P#old") {
		t.Fatal("the move left no pointer")
	}
	erase(t, s, "new", t0.Add(7*time.Hour))
	if text := scanText(t, table); strings.Contains(text, "P#old") || strings.Contains(text, "movedTo") {
		t.Fatalf("left after the erasure:\n%s", text)
	}
	if p, err := s.Person(people.FollowMoves(ctx), "old"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the old id after the erasure = %+v, %v", p, err)
	}
}

func TestFeedbackTaggedWithTheOldKeyReachesTheMovedPersonOnlyAsAComplaint(t *testing.T) {
	ctx := people.FollowMoves(context.Background())
	s, _ := moved(t)
	f := &people.Feedbacks{Store: s, Rule: people.DefaultBounceRule, Retention: r, NewID: people.RandomID, Now: func() time.Time { return t0.Add(6 * time.Hour) }}
	sent := t0.Add(4 * time.Hour) // before the move, to the old address
	bounce := people.Feedback{Kind: people.FeedbackBounce, MessageID: "m1", At: sent, MailKind: "newsletter", BounceType: "Permanent", Recipient: "old@example.com"}
	if _, err := f.Apply(ctx, "old", bounce); !errors.Is(err, people.ErrNotRecipient) {
		t.Fatalf("a bounce of the old address = %v", err)
	}
	if p, err := s.Person(ctx, "new"); err != nil || !p.Deliverability.IsZero() || !p.Has(people.Newsletter) {
		t.Fatalf("the moved person after the old address bounced = %+v, %v", p, err)
	}
	complaint := people.Feedback{Kind: people.FeedbackComplaint, MessageID: "m2", At: sent, MailKind: "newsletter", FeedbackType: "abuse", Recipient: "old@example.com"}
	if applied, err := f.Apply(ctx, "old", complaint); err != nil || !applied {
		t.Fatalf("a complaint from the old mailbox = %v, %v", applied, err)
	}
	p, err := s.Person(ctx, "new")
	if err != nil || len(p.Active) != 0 || !p.Deliverability.LastComplaint.Equal(sent) {
		t.Fatalf("the moved person after the complaint = %+v, %v", p, err)
	}
}

// erase erases id at at, as the sweep and a deletion request do.
func erase(t *testing.T, s *store.Store, id string, at time.Time) {
	t.Helper()
	if _, err := s.UpdatePerson(context.Background(), id, func(p people.Person) (people.Change, error) {
		return people.Change{Erase: &people.Erasure{Rule: people.RuleNoPurpose, At: at, ProofClock: people.Clock{Rule: people.RuleLedgerProof, Due: at.Add(r.LedgerProof)}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestAnErasureAfterTwoMovesDeletesBothPointers(t *testing.T) {
	ctx := context.Background()
	s, table := moved(t)
	second := store.Move{From: "new", To: "newer", Email: "newer@example.com", RequestID: "req-correct-2", At: t0.Add(8 * time.Hour), EntryID: "corr-2"}
	if err := s.MovePerson(ctx, second); err != nil {
		t.Fatal(err)
	}
	p, err := s.Person(people.FollowMoves(ctx), "new")
	if err != nil || p.ID != "newer" || !slices.Equal(slices.Sorted(slices.Values(p.MovedFrom)), []string{"new", "old"}) {
		t.Fatalf("the second move's person = %+v, %v", p, err)
	}
	if text := scanText(t, table); strings.Count(text, "movedTo=") != 2 {
		t.Fatalf("want two pointers:\n%s", text)
	}
	erase(t, s, "newer", t0.Add(9*time.Hour))
	if text := scanText(t, table); strings.Contains(text, "movedTo") || strings.Contains(text, "P#old") {
		t.Fatalf("left after the erasure:\n%s", text)
	}
}
