package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/retention"
)

// dueStore holds one person due for erasure on 2026-12-01 and records what
// the sweep did; the real store is tested against DynamoDB in package store.
type dueStore struct {
	erased []string
	runs   []retention.Summary
	cursor string
}

func (d *dueStore) DueEntries(_ context.Context, day, _ string) ([]retention.Entry, string, error) {
	if day != "2026-12-01" || len(d.erased) > 0 {
		return nil, "", nil
	}
	due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return []retention.Entry{{Key: "k1", Kind: retention.Person, PersonID: "p1", Day: day, Rule: people.RuleUnconfirmed, Due: due}}, "", nil
}

// UpdatePerson shows decide p1, unconfirmed, with the clock DueEntries filed.
func (d *dueStore) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ch, err := decide(people.Person{ID: id, Status: people.Unconfirmed, Version: 1, Clock: people.Clock{Rule: people.RuleUnconfirmed, Due: due}})
	if err == nil && ch.Erase != nil {
		d.erased = append(d.erased, id)
	}
	return ch, err
}

func (d *dueStore) Purge(context.Context, retention.Entry, func(people.Purpose) []people.Purpose) (retention.Outcome, error) {
	return retention.Moved, nil
}

func (d *dueStore) Cursor(context.Context) (string, error) { return d.cursor, nil }
func (d *dueStore) SetCursor(_ context.Context, day string) error {
	d.cursor = day
	return nil
}
func (d *dueStore) SaveRun(_ context.Context, s retention.Summary) error {
	d.runs = append(d.runs, s)
	return nil
}

func newHandler(st *dueStore, allowOverride bool) *handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &handler{
		sweep: &retention.Sweep{Store: st, Retention: people.DefaultRetention, Log: log, Epoch: "2026-11-25"},
		now:   func() time.Time { return time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC) },
		log:   log, allowOverride: allowOverride,
	}
}

func TestHandler(t *testing.T) {
	later := `2026-12-02T03:30:00Z`

	t.Run("a deployed function refuses a clock override and erases nothing", func(t *testing.T) {
		st := &dueStore{}
		if _, err := newHandler(st, false).handle(context.Background(), Run{Now: later}); err == nil {
			t.Fatal("a clock override was accepted outside the local stack")
		}
		if len(st.erased) > 0 || len(st.runs) > 0 || st.cursor != "" {
			t.Errorf("erased %v, saved %d runs, cursor %q; want nothing done", st.erased, len(st.runs), st.cursor)
		}
	})

	t.Run("the local stack sweeps as of the given time", func(t *testing.T) {
		st := &dueStore{}
		res, err := newHandler(st, true).handle(context.Background(), Run{Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.erased) != 1 || st.erased[0] != "p1" || res.Erased["unconfirmed"] != 1 || !res.Done || res.LastDay != "2026-12-02" {
			t.Errorf("erased %v, result %+v; want p1 erased under the unconfirmed rule up to 2026-12-02", st.erased, res)
		}
	})

	t.Run("today, nothing is due yet", func(t *testing.T) {
		st := &dueStore{}
		res, err := newHandler(st, false).handle(context.Background(), Run{})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.erased) > 0 || res.Erased["unconfirmed"] != 0 || !res.Done {
			t.Errorf("erased %v, result %+v; want nothing erased and the run done", st.erased, res)
		}
	})

	t.Run("a dry run counts what is due and erases nothing", func(t *testing.T) {
		st := &dueStore{}
		res, err := newHandler(st, true).handle(context.Background(), Run{Now: later, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.erased) > 0 || !res.DryRun || res.Due["unconfirmed"] != 1 || st.cursor != "" {
			t.Errorf("erased %v, result %+v, cursor %q; want one due, none erased, the cursor left alone", st.erased, res, st.cursor)
		}
	})

	t.Run("a malformed override is refused", func(t *testing.T) {
		st := &dueStore{}
		if _, err := newHandler(st, true).handle(context.Background(), Run{Now: "next tuesday"}); err == nil || len(st.erased) > 0 {
			t.Errorf("err = %v, erased %v; want an error and nothing erased", err, st.erased)
		}
	})
}
