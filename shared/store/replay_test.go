package store_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/smartprotect/pledge/infra/sesreplay"
	"github.com/smartprotect/pledge/shared/store"
)

// SES's events, a tenth of them delivered twice and all shuffled, applied
// through the table one at a time, leave every person as the same events
// deduplicated and in time order do (issue 12: events arrive at least once
// and in any order), each event making one read and at most one write and
// no repeat writing. The full size of the figure (10,000 events
// for 2,000 people) runs in `go run ./infra/cmd/bench -only feedback`;
// REPLAY_EVENTS sets the size here (default 2,000 events for 400 people).
func TestShuffledAndRepeatedMailEventsEndAsTheSameEventsInOrder(t *testing.T) {
	ctx := context.Background()
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("REPLAY_EVENTS")); err == nil && v > 0 {
		n = v
	}
	_, table := freshTable(t)
	c := &sesreplay.Counting{API: db}
	res, err := sesreplay.Replay(ctx, store.New(c, table), c, sesreplay.Config{People: n / 5, Events: n, Dup: 0.1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Differ) > 0 {
		t.Fatalf("%d of %d people differ from the replay in order, e.g. %s", len(res.Differ), n/5, res.Differ[0])
	}
	if res.Repeats < n/20 {
		t.Fatalf("only %d repeats in %d events: the test repeats too little to test it", res.Repeats, res.Delivered)
	}
	for kind, cost := range res.ByKind {
		if cost.Firsts == 0 {
			t.Fatalf("no %s event in the replay", kind)
		}
		if cost.RepeatWrites > 0 || cost.Repeat.Writes > 0 {
			t.Errorf("%d repeated %s events wrote (%d write requests)", cost.RepeatWrites, kind, cost.Repeat.Writes)
		}
		if cost.First.Writes > cost.Firsts || cost.First.Reads > cost.Firsts {
			t.Errorf("%d %s events made %+v: more than one read and one write each", cost.Firsts, kind, cost.First)
		}
	}
	if writes := res.ByKind[sesreplay.Transient].FirstWrites + res.ByKind[sesreplay.Complaint].FirstWrites; writes == 0 {
		t.Fatal("no bounce or complaint wrote anything: the replay tested nothing")
	}
	t.Logf("%d events (%d repeats) for %d people in %s: %+v requests", res.Delivered, res.Repeats, n/5, res.Elapsed, res.Total)
}
