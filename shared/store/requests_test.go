package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

func openRequest(t *testing.T, s *store.Store, id, personID string, kind privacy.Kind, at time.Time) privacy.Request {
	t.Helper()
	r, created, err := s.OpenRequest(context.Background(), privacy.DefaultTiming.New(id, personID, kind, personID+"@example.com", at, "nonce-"+id))
	if err != nil || !created {
		t.Fatalf("OpenRequest(%s) = %+v, %v, %v", id, r, created, err)
	}
	return r
}

func TestOneOpenRequestPerKindAndPersonAndOneClock(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	first := openRequest(t, s, "req-1", "pid-1", privacy.Delete, t0)
	again, created, err := s.OpenRequest(ctx, privacy.DefaultTiming.New("req-2", "pid-1", privacy.Delete, "pid-1@example.com", t0.Add(time.Hour), "n2"))
	if err != nil || created || again.ID != first.ID || !again.Received.Equal(t0) || !again.Due.Equal(first.Due) {
		t.Fatalf("asking again = %+v, created %v, %v; want the open request and its clock", again, created, err)
	}
	if _, err := s.Request(ctx, "req-2"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the second request was stored: %v", err)
	}
	other := openRequest(t, s, "req-3", "pid-1", privacy.Access, t0) // another kind runs on its own
	if other.ID != "req-3" {
		t.Fatal(other.ID)
	}
	// Once the deletion closes, a new one may start.
	if _, changed, err := s.UpdateRequest(ctx, "req-1", func(r privacy.Request) (*privacy.Request, error) {
		q, _ := privacy.DefaultTiming.Verify(r, "nonce-req-1", true, t0.Add(time.Minute))
		return q, nil
	}); err != nil || !changed {
		t.Fatal(err)
	}
	if _, changed, err := s.UpdateRequest(ctx, "req-1", func(r privacy.Request) (*privacy.Request, error) { return privacy.Cancel(r, t0.Add(2*time.Minute)) }); err != nil || !changed {
		t.Fatal(err)
	}
	openRequest(t, s, "req-4", "pid-1", privacy.Delete, t0.Add(time.Hour))
	all, err := s.PersonRequests(ctx, "pid-1")
	var got []string
	for _, r := range all {
		got = append(got, r.ID+":"+string(r.Status))
	}
	if err != nil || strings.Join(got, " ") != "req-1:cancelled req-3:unverified req-4:unverified" {
		t.Fatalf("the person's requests = %v, %v; want each one made, oldest first, the answered duplicate not among them", got, err)
	}
	if none, err := s.PersonRequests(ctx, "pid-nobody"); err != nil || len(none) != 0 {
		t.Fatalf("nobody's requests = %v, %v", none, err)
	}
}

func TestConcurrentRequestsOfOneKindOpenOneRequest(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := s.OpenRequest(ctx, privacy.DefaultTiming.New("c-"+string(rune('a'+i)), "pid-c", privacy.Access, "c@example.com", t0, "n"))
			ids[i], errs[i] = r.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent asks answered %v / %v; want one request for all", ids, errs)
		}
	}
	open, err := s.OpenRequests(ctx)
	if err != nil || len(open) != 1 {
		t.Fatalf("open requests = %d, %v", len(open), err)
	}
}

func TestAClosedRequestKeepsNoAddressAndLeavesTheOpenList(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	openRequest(t, s, "a-1", "pid-a", privacy.Access, t0)
	openRequest(t, s, "d-1", "pid-d", privacy.Delete, t0.Add(-time.Hour))
	open, err := s.OpenRequests(ctx)
	if err != nil || len(open) != 2 || open[0].ID != "d-1" || open[1].ID != "a-1" || open[1].Email != "pid-a@example.com" {
		t.Fatalf("open = %+v, %v; want both, soonest due first", open, err)
	}
	verify := func(r privacy.Request) (*privacy.Request, error) {
		q, _ := privacy.DefaultTiming.Verify(r, "nonce-a-1", true, t0.Add(time.Minute))
		return q, nil
	}
	done, changed, err := s.UpdateRequest(ctx, "a-1", verify)
	if err != nil || !changed || done.Status != privacy.Completed || done.Version != 2 {
		t.Fatalf("verify = %+v, %v, %v", done, changed, err)
	}
	if _, changed, err := s.UpdateRequest(ctx, "a-1", verify); err != nil || changed {
		t.Fatalf("a second verify changed %v, %v", changed, err)
	}
	got, err := s.Request(ctx, "a-1")
	if err != nil || got.Email != "" || got.Nonce != "" || got.Status != privacy.Completed || got.Outcome != privacy.ExportSent {
		t.Fatalf("stored = %+v, %v", got, err)
	}
	dump := scanText(t, table)
	if strings.Contains(dump, "pid-a@example.com") || strings.Contains(dump, "OPEN#access") {
		t.Fatalf("the closed request left its address or marker:\n%s", dump)
	}
	open, err = s.OpenRequests(ctx)
	if err != nil || len(open) != 1 || open[0].ID != "d-1" {
		t.Fatalf("open after closing = %+v, %v", open, err)
	}
	closed, err := s.ClosedRequests(ctx, "2026-11")
	if err != nil || len(closed) != 1 || closed[0].ID != "a-1" || closed[0].Email != "" {
		t.Fatalf("closed in the month = %+v, %v", closed, err)
	}
	if other, err := s.ClosedRequests(ctx, "2026-12"); err != nil || len(other) != 0 {
		t.Fatalf("closed in another month = %+v, %v", other, err)
	}
}

func TestARaceOnARequestIsDecidedAgainOnWhatWon(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	openRequest(t, s, "d-2", "pid-2", privacy.Delete, t0)
	if _, _, err := s.UpdateRequest(ctx, "d-2", func(r privacy.Request) (*privacy.Request, error) {
		q, _ := privacy.DefaultTiming.Verify(r, "nonce-d-2", true, t0)
		return q, nil
	}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	r, changed, err := s.UpdateRequest(ctx, "d-2", func(r privacy.Request) (*privacy.Request, error) {
		calls++
		if calls == 1 { // someone cancels between this read and its write
			if _, _, err := s.UpdateRequest(ctx, "d-2", func(r privacy.Request) (*privacy.Request, error) { return privacy.Cancel(r, t0.Add(time.Hour)) }); err != nil {
				t.Fatal(err)
			}
		}
		q, _ := privacy.Advance(r, t0.Add(80*time.Hour))
		return q, nil
	})
	if err != nil || changed || calls != 2 || r.Status != privacy.Cancelled {
		t.Fatalf("after the race: %+v changed %v after %d decisions, %v; want the cancel to stand", r, changed, calls, err)
	}
}

func TestADeletionErasesThroughTheSweepsPath(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	person(t, s, "pid-e", t0, true, people.Newsletter)
	ch, err := s.UpdatePerson(ctx, "pid-e", func(p people.Person) (people.Change, error) {
		return privacy.Erasure(p, people.DefaultRetention, t0.Add(time.Hour)), nil
	})
	if err != nil || ch.Erase == nil {
		t.Fatalf("erasure = %+v, %v", ch, err)
	}
	if _, err := s.Person(ctx, "pid-e"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the person is still there: %v", err)
	}
	dump := scanText(t, table)
	for _, want := range []string{"SUPPRESSED", "erased#erasure-request"} {
		if !strings.Contains(dump, want) {
			t.Errorf("after the erasure the table lacks %s:\n%s", want, dump)
		}
	}
	if strings.Contains(dump, "pid-e@example.com") || strings.Contains(dump, "L#newsletter") {
		t.Fatalf("the erasure left the address or a list membership:\n%s", dump)
	}
}
