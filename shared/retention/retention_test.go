package retention

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// dayStore holds due entries by day; the real store is tested against
// DynamoDB in package store.
type dayStore struct {
	due     map[string][]Entry
	failing map[string]bool // person ids whose erasure fails
	cursor  string
	readErr error // what reading the cursor fails with, if anything
	runs    []Summary
	queries []string
}

func (d *dayStore) DueEntries(_ context.Context, day, _ string) ([]Entry, string, error) {
	d.queries = append(d.queries, day)
	return d.due[day], "", nil
}

// UpdatePerson shows decide an unconfirmed person whose clock is their
// entry's, and drops the entry when decide erases them.
func (d *dayStore) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	if d.failing[id] {
		return people.Change{}, errors.New("throttled")
	}
	for day, list := range d.due {
		for i, e := range list {
			if e.PersonID != id {
				continue
			}
			p := people.Person{ID: id, Status: people.Unconfirmed, Version: 1, Clock: people.Clock{Rule: e.Rule, Due: e.Due}}
			ch, err := decide(p)
			if err == nil && ch.Erase != nil {
				d.due[day] = append(list[:i:i], list[i+1:]...)
			}
			return ch, err
		}
	}
	return decide(people.Person{ID: id})
}

func (d *dayStore) Purge(context.Context, Entry, func(people.Purpose) []people.Purpose) (Outcome, error) {
	return 0, errors.New("only people are due in these tests")
}

func (d *dayStore) Cursor(ctx context.Context) (string, error) {
	if d.readErr != nil {
		return "", d.readErr
	}
	return d.cursor, ctx.Err()
}
func (d *dayStore) SetCursor(_ context.Context, day string) error { d.cursor = day; return nil }
func (d *dayStore) SaveRun(_ context.Context, s Summary) error {
	d.runs = append(d.runs, s)
	return nil
}

func entry(id, day string) Entry {
	due, _ := time.Parse("2006-01-02", day)
	return Entry{Key: "key-" + id, Kind: Person, PersonID: id, Day: day, Rule: people.RuleUnconfirmed, Due: due}
}

func TestAFailedErasureIsCountedAndRetriedWithoutFailingTheRun(t *testing.T) {
	st := &dayStore{
		due: map[string][]Entry{
			"2026-11-02": {entry("a", "2026-11-02"), entry("b", "2026-11-02")},
			"2026-11-03": {entry("c", "2026-11-03")},
		},
		failing: map[string]bool{"b": true},
	}
	var logged []byte
	s := &Sweep{Store: st, Retention: people.DefaultRetention, Epoch: "2026-11-01", Log: slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) { logged = append(logged, p...) }), nil))}
	now := time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)

	sum, err := s.Run(context.Background(), now, false)
	if err != nil || sum.Failed != 1 || sum.Erased[people.RuleUnconfirmed] != 2 || !sum.Done {
		t.Fatalf("first run = %+v, %v", sum, err)
	}
	if st.cursor != "2026-11-02" {
		t.Fatalf("cursor = %s; it must not pass the day with a failure", st.cursor)
	}
	if len(logged) == 0 || strings.Contains(string(logged), "a@") {
		t.Fatalf("log = %s", logged)
	}
	st.failing = nil
	sum, err = s.Run(context.Background(), now, false)
	if err != nil || sum.Failed != 0 || sum.Erased[people.RuleUnconfirmed] != 1 || st.cursor != "2026-11-05" {
		t.Fatalf("retry = %+v, cursor %s, %v", sum, st.cursor, err)
	}
	if len(st.runs) != 2 {
		t.Fatalf("%d run summaries recorded, want 2", len(st.runs))
	}
}

func TestASweepNeverLooksPastToday(t *testing.T) {
	st := &dayStore{due: map[string][]Entry{}}
	s := &Sweep{Store: st, Retention: people.DefaultRetention, Epoch: "2026-11-01", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.Run(context.Background(), time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC), false)
	if len(st.queries) != 3 || st.queries[2] != "2026-11-03" || st.cursor != "2026-11-03" {
		t.Fatalf("queries %v, cursor %s", st.queries, st.cursor)
	}
}

func TestARunOutOfTimeBeforeItsCursorStopsCleanlyButAFaultIsAnError(t *testing.T) {
	st := &dayStore{due: map[string][]Entry{"2026-11-02": {entry("a", "2026-11-02")}}}
	s := &Sweep{Store: st, Retention: people.DefaultRetention, Epoch: "2026-11-01", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	now := time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC)
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := s.Run(expired, now, false)
	if err != nil || sum.Done || len(st.queries) != 0 || len(st.due["2026-11-02"]) != 1 {
		t.Fatalf("a run without time = %+v, %v, queries %v; want a clean stop that changed nothing", sum, err, st.queries)
	}
	st.readErr = errors.New("access denied")
	if _, err := s.Run(context.Background(), now, false); err == nil {
		t.Fatal("a cursor that cannot be read for another reason must fail the run")
	}
}

type writerFunc func([]byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }
