package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// movable sets up "old": confirmed for the newsletter (a list membership),
// told of policy v2 (a notice record), n more ledger entries, an access
// request and an open correction request; it returns the correction.
func movable(t *testing.T, s *store.Store, n int) privacy.Request {
	t.Helper()
	ctx := context.Background()
	pol := policy("v2", true)
	if _, _, err := s.Publish(ctx, pol, people.Clock{}); err != nil {
		t.Fatal(err)
	}
	person(t, s, "old", t0, true, people.Newsletter)
	rc := notice.Recipient{ID: "old", Email: "old@example.com"}
	if res, err := s.Claim(ctx, "v2", rc, "run-a", t0.Add(3*time.Hour), t0.Add(time.Hour)); err != nil || res != notice.Claimed {
		t.Fatalf("claim = %v, %v", res, err)
	}
	must(t, s.Settle(ctx, "v2", "run-a", []notice.Outcome{{PersonID: "old", Sent: true, MessageID: "m-1", Attempts: 1}}, t0.Add(time.Hour)))
	addLedger(t, s, "old", n, t0.Add(2*time.Hour))
	openRequest(t, s, "req-access", "old", privacy.Access, t0.Add(3*time.Hour))
	return openRequest(t, s, "req-correct", "old", privacy.Correct, t0.Add(4*time.Hour))
}

func moveOf(r privacy.Request) store.Move {
	return store.Move{From: "old", To: "new", Email: "new@example.com", RequestID: r.ID, At: t0.Add(5 * time.Hour), EntryID: "corr-1"}
}

// checkMoved fails unless "new" holds everything "old" held before (was),
// plus the correction's entry, and nothing is left under "old".
func checkMoved(t *testing.T, s *store.Store, table string, was heldBefore) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Holdings(ctx, "old"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the old key still holds something: %v", err)
	}
	h, err := s.Holdings(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	p := h.Person
	if p == nil || p.ID != "new" || p.Email != "new@example.com" || p.Name != was.person.Name || !slices.Equal(p.Active, was.person.Active) ||
		p.Status != was.person.Status || !p.CreatedAt.Equal(was.person.CreatedAt) || p.Clock != was.person.Clock {
		t.Fatalf("the new profile = %+v; was %+v", p, was.person)
	}
	if len(h.Consents) != len(was.ledger)+1 {
		t.Fatalf("the new key holds %d ledger entries; want %d + the correction", len(h.Consents), len(was.ledger))
	}
	for i, e := range was.ledger {
		got := h.Consents[i]
		if got.ID != e.ID || !got.At.Equal(e.At) || got.Action != e.Action || got.Purpose != e.Purpose || got.ProofClock != e.ProofClock {
			t.Fatalf("entry %d = %+v; was %+v", i, got, e)
		}
	}
	last := h.Consents[len(h.Consents)-1]
	if last.Action != people.Correct || last.Purpose != people.CorrectedAddress || last.Source != "privacy-request:req-correct" || !last.At.After(was.ledger[len(was.ledger)-1].At) {
		t.Fatalf("the correction's entry = %+v", last)
	}
	if len(h.Notices) != 1 || h.Notices[0].MessageID != "m-1" || !h.Listed[people.Newsletter].Equal(was.listed) || len(h.Listed) != 1 {
		t.Fatalf("notices %+v, lists %+v", h.Notices, h.Listed)
	}
	rs, err := s.PersonRequests(ctx, "new")
	if err != nil || len(rs) != 2 || rs[0].ID != "req-access" || rs[1].ID != "req-correct" || rs[0].PersonID != "new" || rs[1].PersonID != "new" {
		t.Fatalf("the new key's requests = %+v, %v", rs, err)
	}
	if !slices.Equal(p.MovedFrom, []string{"old"}) {
		t.Fatalf("the new profile's movedFrom = %v", p.MovedFrom)
	}
	if text := withoutPointer(t, table); strings.Contains(text, "P#old") || strings.Contains(text, "R#old") || strings.Contains(text, "person=old ") || strings.Contains(text, "moving") {
		t.Fatalf("left under the old key, or a mark left:\n%s", text)
	}
	// Their export holds the correction and validates against its schema.
	if doc, _ := exportJSON(t, s, "new", t0.Add(6*time.Hour)); doc.Profile == nil || doc.Profile.Email != "new@example.com" {
		t.Fatalf("the export after the move = %+v", doc.Profile)
	}
	// The person changes again as anyone does.
	if _, err := s.UpdatePerson(ctx, "new", people.Rename("Jo Moved", "req-x", t0.Add(6*time.Hour), people.RandomID)); err != nil {
		t.Fatal(err)
	}
}

// withoutPointer is the table's dump without the forward pointer the move
// of "old" to "new" left in the old key (the new key and when, no address,
// no name); it fails if the pointer is not there as that.
func withoutPointer(t *testing.T, table string) string {
	t.Helper()
	text := scanText(t, table)
	pointer := "movedAt=" + moveOf(privacy.Request{}).At.UTC().Format("2006-01-02T15:04:05.000000000Z") + " movedTo=new pk=P#old sk=PROFILE \n"
	if !strings.Contains(text, "\n"+pointer) {
		t.Fatalf("the old key holds no forward pointer as %q:\n%s", pointer, text)
	}
	return strings.Replace(text, pointer, "", 1)
}

type heldBefore struct {
	person people.Person
	ledger []people.ConsentEvent
	listed time.Time
}

func before(t *testing.T, s *store.Store) heldBefore {
	t.Helper()
	h, err := s.Holdings(context.Background(), "old")
	if err != nil || h.Person == nil {
		t.Fatal(err)
	}
	return heldBefore{person: *h.Person, ledger: h.Consents, listed: h.Listed[people.Newsletter]}
}

func TestAnAddressCorrectionMovesAPersonWithAThousandLedgerEntries(t *testing.T) {
	s, table := freshTable(t)
	r := movable(t, s, 1000)
	was := before(t, s)
	moto.Calls.Reset()
	if err := s.MovePerson(context.Background(), moveOf(r)); err != nil {
		t.Fatal(err)
	}
	calls := moto.Calls.Counts()
	checkMoved(t, s, table, was)
	// 1,002 ledger entries, 2 history entries (+ their requests), an open
	// marker, a membership and a notice record: 1,008 items (and 2 updates),
	// copied then deleted in transactions of at most 100, between the
	// begin and the flip.
	if tx := calls["TransactWriteItems"]; tx < 2+2*1008/100 || tx > 2+2*(1010/100+2) {
		t.Fatalf("%d transactions for a move of 1,008 items: %v", tx, calls)
	}
	t.Logf("DynamoDB requests of the move: %v", calls)
	if err := s.MovePerson(context.Background(), moveOf(r)); err != nil {
		t.Fatalf("a move done is done: %v", err)
	}
}

// cutDB fails every write after the first n.
type cutDB struct {
	store.API
	n    int64
	done atomic.Int64
}

var errCut = errors.New("cut off")

func (c *cutDB) cut() bool { return c.done.Add(1) > c.n }

func (c *cutDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.cut() {
		return nil, errCut
	}
	return c.API.TransactWriteItems(ctx, in, o...)
}

func (c *cutDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.cut() {
		return nil, errCut
	}
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *cutDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if c.cut() {
		return nil, errCut
	}
	return c.API.PutItem(ctx, in, o...)
}

func TestAMoveCutOffAfterAnyWriteIsFinishedByTheNextAndBlocksOtherChangesMeanwhile(t *testing.T) {
	// 150 entries: the copy and the clean-up take several transactions each.
	for n := int64(0); ; n++ {
		s, table := freshTable(t)
		r := movable(t, s, 150)
		was := before(t, s)
		cut := store.New(&cutDB{API: db, n: n}, table)
		err := cut.MovePerson(context.Background(), moveOf(r))
		if err == nil {
			if n < 5 {
				t.Fatalf("a move of 150 entries took %d writes", n)
			}
			checkMoved(t, s, table, was)
			t.Logf("a move of 150 entries takes %d writes; cut after each of them, it was finished by the next run", n)
			return
		}
		if !errors.Is(err, errCut) {
			t.Fatalf("cut after %d writes: %v", n, err)
		}
		if n > 0 {
			for _, id := range []string{"old", "new"} {
				if _, err := s.UpdatePerson(context.Background(), id, people.Rename("Other", "req-y", t0.Add(6*time.Hour), people.RandomID)); !errors.Is(err, people.ErrBusy) && !errors.Is(err, people.ErrNotFound) {
					t.Fatalf("cut after %d writes: a change of %s during the move = %v; want busy", n, id, err)
				}
			}
		}
		if err := s.MovePerson(context.Background(), moveOf(r)); err != nil {
			t.Fatalf("cut after %d writes, the next run: %v", n, err)
		}
		checkMoved(t, s, table, was)
	}
}

func TestAMoveToAnAddressSomeoneHoldsIsRefusedAndChangesNothing(t *testing.T) {
	s, table := freshTable(t)
	r := movable(t, s, 3)
	person(t, s, "new", t0, false, people.Offers)
	text := scanText(t, table)
	if err := s.MovePerson(context.Background(), moveOf(r)); !errors.Is(err, privacy.ErrAddressTaken) {
		t.Fatalf("MovePerson = %v; want the address taken", err)
	}
	if got := scanText(t, table); got != text {
		t.Fatalf("a refused move changed the table:\n%s\nwas\n%s", got, text)
	}
}

// hookDB runs hook once, before the first transaction whose writes match.
type hookDB struct {
	store.API
	match func(*dynamodb.TransactWriteItemsInput) bool
	hook  func()
	fired atomic.Bool
}

func (h *hookDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if h.match(in) && !h.fired.Swap(true) {
		h.hook()
	}
	return h.API.TransactWriteItems(ctx, in, o...)
}

// A notice record written to the old key while the move runs (SES's send
// event marks it sent after the copy, or just before the clean-up deletes
// it) is carried to the new key: the move loses none of it.
func TestANoticeRecordWrittenToTheOldKeyDuringAMoveIsCarriedToTheNewKey(t *testing.T) {
	deletesOld := func(sk string) func(*dynamodb.TransactWriteItemsInput) bool {
		return func(in *dynamodb.TransactWriteItemsInput) bool {
			for _, w := range in.TransactItems {
				if w.Delete != nil && avS(w.Delete.Key["pk"]) == "P#old" && (sk == "" || avS(w.Delete.Key["sk"]) == sk) {
					return true
				}
			}
			return false
		}
	}
	for _, c := range []struct {
		name  string
		match func(*dynamodb.TransactWriteItemsInput) bool
	}{
		{"after the copy", deletesOld("PROFILE")},
		{"before the clean-up's deletes", func(in *dynamodb.TransactWriteItemsInput) bool {
			return deletesOld("")(in) && !deletesOld("PROFILE")(in)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s, table := freshTable(t)
			r := movable(t, s, 150)
			if _, _, err := s.Publish(ctx, policy("v3", true), people.Clock{}); err != nil {
				t.Fatal(err)
			}
			rc := notice.Recipient{ID: "old", Email: "old@example.com"}
			if res, err := s.Claim(ctx, "v3", rc, "run-b", t0.Add(5*time.Hour), t0.Add(4*time.Hour)); err != nil || res != notice.Claimed {
				t.Fatalf("claim = %v, %v", res, err)
			}
			h := &hookDB{API: db, match: c.match, hook: func() {
				if changed, err := s.MarkSent(ctx, notice.Sent{Version: "v3", PersonID: "old", MessageID: "m-3"}, t0.Add(5*time.Hour)); err != nil || !changed {
					t.Errorf("SES's send event during the move: %v, %v", changed, err)
				}
			}}
			if err := store.New(h, table).MovePerson(ctx, moveOf(r)); err != nil {
				t.Fatal(err)
			}
			if !h.fired.Load() {
				t.Fatal("the move never reached the hook")
			}
			held, err := s.Holdings(ctx, "new")
			if err != nil {
				t.Fatal(err)
			}
			var v3 *export.HeldNotice
			for i, n := range held.Notices {
				if n.Policy.Version == "v3" {
					v3 = &held.Notices[i]
				}
			}
			if v3 == nil || v3.State != notice.RecordSent || v3.MessageID != "m-3" {
				t.Fatalf("the new key's v3 record = %+v; want it sent as m-3", v3)
			}
			if _, err := s.Holdings(ctx, "old"); !errors.Is(err, people.ErrNotFound) {
				t.Fatalf("the old key still holds something: %v", err)
			}
			if text := withoutPointer(t, table); strings.Contains(text, "P#old") {
				t.Fatalf("left under the old key:\n%s", text)
			}
		})
	}
}

func avS(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// Two runs of one move at once (the new mailbox's button pressed twice,
// or pressed while the clock finishes it): the one that loses the race to
// begin goes on with the move the other began; it does not take the new
// key for someone else's and refuse the correction.
func TestTwoRunsOfOneMoveAtOnceBothSucceed(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	r := movable(t, s, 3)
	was := before(t, s)
	var other error
	h := &hookDB{API: db, match: func(in *dynamodb.TransactWriteItemsInput) bool {
		for _, w := range in.TransactItems {
			if w.Put != nil && avS(w.Put.Item["pk"]) == "P#new" && avS(w.Put.Item["sk"]) == "PROFILE" {
				return true
			}
		}
		return false
	}, hook: func() { other = s.MovePerson(ctx, moveOf(r)) }}
	if err := store.New(h, table).MovePerson(ctx, moveOf(r)); err != nil {
		t.Fatalf("the run that lost the race to begin: %v; want the move done", err)
	}
	if !h.fired.Load() || other != nil {
		t.Fatalf("the other run: fired %v, %v", h.fired.Load(), other)
	}
	checkMoved(t, s, table, was)
}
