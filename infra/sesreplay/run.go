package sesreplay

import (
	"context"
	"fmt"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// Config is one replay: Events distinct events for People people, a share
// Dup of them delivered twice, shuffled; Seed seeds all of it.
type Config struct {
	People, Events int
	Dup            float64
	Seed           uint64
}

// Cost is what the events of one kind cost: Firsts first copies and
// Repeats repeated ones, and the requests each group made.
type Cost struct {
	Firsts, Repeats int
	First, Repeat   Requests
	// FirstWrites and RepeatWrites count the events that wrote something.
	FirstWrites, RepeatWrites int
}

// Result is what a replay did and cost.
type Result struct {
	Delivered int // events applied, repeats included
	Repeats   int
	ByKind    map[Kind]*Cost
	Total     Requests
	Elapsed   time.Duration // the replay through the table, without the import
	// Differ lists the people whose state after the shuffled replay through
	// the table is not the state after the same events, deduplicated and
	// in time order, in memory (with what each holds).
	Differ []string
}

// start is when the replay's mails were sent: the people signed up before.
var start = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)

// Replay imports cfg.People confirmed subscribers into s, whose requests c
// counts (s must be built on c), applies the events as delivered through
// people.Feedbacks on s, one at a time, and compares each person with
// the reference replay in memory.
func Replay(ctx context.Context, s *store.Store, c *Counting, cfg Config) (Result, error) {
	signedUp := start.Add(-24 * time.Hour)
	var ps []people.Person
	var ids []string
	var in []store.Imported
	for i := range cfg.People {
		id := fmt.Sprintf("rp-%05d-%d", i, cfg.Seed)
		p := people.Person{ID: id, Email: id + "@example.com", Status: people.Confirmed, Active: []people.Purpose{people.Newsletter, people.Offers},
			CreatedAt: signedUp, UpdatedAt: signedUp, ConfirmedAt: signedUp, Version: 1}
		ps, ids, in = append(ps, p), append(ids, id), append(in, store.Imported{Person: p})
	}
	if err := s.Import(ctx, in); err != nil {
		return Result{}, err
	}
	events := Generate(cfg.Seed, ids, cfg.Events, start, 40*24*time.Hour)
	delivered, repeat := Delivered(cfg.Seed, events, cfg.Dup)
	feedbacks := func(st people.Store) *people.Feedbacks {
		n := 0
		return &people.Feedbacks{Store: st, Rule: people.DefaultBounceRule, Retention: people.DefaultRetention,
			NewID: func() string { n++; return fmt.Sprintf("fb-%d", n) }, Now: func() time.Time { return start.Add(60 * 24 * time.Hour) }}
	}

	ref := NewMemory(ps)
	fr := feedbacks(ref)
	for _, e := range InOrder(events) {
		if _, err := Apply(ctx, fr, e); err != nil {
			return Result{}, err
		}
	}

	res := Result{Delivered: len(delivered), ByKind: map[Kind]*Cost{}}
	for _, k := range Kinds {
		res.ByKind[k] = &Cost{}
	}
	ft := feedbacks(s)
	began, before := time.Now(), c.Requests()
	for i, e := range delivered {
		at := c.Requests()
		wrote, err := Apply(ctx, ft, e)
		if err != nil {
			return Result{}, fmt.Errorf("event %d (%s): %w", i, e.Kind, err)
		}
		cost, used := res.ByKind[e.Kind], c.Requests().Sub(at)
		if repeat[i] {
			res.Repeats++
			cost.Repeats, cost.Repeat = cost.Repeats+1, cost.Repeat.Add(used)
			if wrote {
				cost.RepeatWrites++
			}
		} else {
			cost.Firsts, cost.First = cost.Firsts+1, cost.First.Add(used)
			if wrote {
				cost.FirstWrites++
			}
		}
	}
	res.Elapsed, res.Total = time.Since(began), c.Requests().Sub(before)

	for _, id := range ids {
		got, err := StateIn(ctx, s, id)
		if err != nil {
			return Result{}, err
		}
		if want := ref.State(id); !got.Same(want) {
			res.Differ = append(res.Differ, fmt.Sprintf("%s: %+v; in order: %+v", id, got, want))
		}
	}
	return res, nil
}
