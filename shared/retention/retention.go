// Package retention applies the retention rules to what is due. Every write
// that starts or moves a clock also files the item under its due day in the
// sparse "due" index; a sweep reads only the due days up to today, so its
// cost follows what is due, never the size of the table.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Kind is what sort of item a due entry is.
type Kind int

// The kinds of due items.
const (
	Person        Kind = iota + 1 // a person, under a person's rule
	ErasedLedger                  // an erased person's ledger, once its proof period ends
	Withdrawal                    // a withdrawal and the entries of the consents it ended
	NoticeRecords                 // an old policy version's per-recipient notice records
)

// Entry is one item in the due index. Key is the store's handle on the item,
// opaque here.
type Entry struct {
	Key      string
	Kind     Kind
	PersonID string // whose item it is (the keyed id, never an address); "" for notice records
	Day      string // yyyy-mm-dd
	Rule     people.Rule
	Due      time.Time
}

// Outcome is what became of one due entry.
type Outcome int

// The outcomes.
const (
	Erased      Outcome = iota // the person (or their old ledger) is gone
	Moved                      // the clock moved since it was filed (they came back): skipped
	Rescheduled                // still held, the rule no longer applies: the clock of the one that does runs (none while an account is open)
)

// Store is what a sweep needs from the table.
type Store interface {
	// DueEntries returns one page of the entries due on day, after cursor.
	DueEntries(ctx context.Context, day string, cursor string) (entries []Entry, next string, err error)
	// UpdatePerson is the one way a person changes (see people.Store):
	// a person falling due is erased through it.
	UpdatePerson(ctx context.Context, personID string, decide people.Decide) (people.Change, error)
	// Purge deletes what a non-person entry's clock ended, if that clock
	// has not moved; endedBy says which purposes a withdrawal ended.
	Purge(ctx context.Context, e Entry, endedBy func(people.Purpose) []people.Purpose) (Outcome, error)
	// Cursor is the first day not yet swept clean ("" before the first run).
	Cursor(ctx context.Context) (string, error)
	SetCursor(ctx context.Context, day string) error
	SaveRun(ctx context.Context, s Summary) error
}

// Summary is what one run did; it holds counts only, never personal data.
type Summary struct {
	Started, Finished time.Time
	DryRun            bool
	FirstDay, LastDay string // the due days looked at
	Done              bool   // every due day up to today was swept clean
	Due               map[people.Rule]int
	Erased            map[people.Rule]int
	Moved             int
	Rescheduled       int
	Failed            int
}

// Sweep applies the rules to every entry due up to today.
type Sweep struct {
	Store     Store
	Retention people.Retention
	Log       *slog.Logger
	// Epoch is the first day to sweep when no run has recorded a cursor:
	// the day pledge started filing clocks.
	Epoch string
	// Margin is how long before the context's deadline a run stops.
	Margin time.Duration
}

const dayLayout = "2006-01-02"

// Run sweeps the due days from the cursor through today. It stops before
// ctx's deadline less Margin, and the next run resumes where it stopped. An
// entry that fails is counted, logged without personal data, and retried
// next run: the cursor does not move past its day.
func (s *Sweep) Run(ctx context.Context, now time.Time, dryRun bool) (Summary, error) {
	sum := Summary{Started: now, DryRun: dryRun, Due: map[people.Rule]int{}, Erased: map[people.Rule]int{}}
	cursor, err := s.Store.Cursor(ctx)
	if err != nil && ctx.Err() != nil {
		return sum, nil // out of time before any work: nothing changed, the next run starts here
	}
	if err != nil {
		return sum, err
	}
	if cursor == "" {
		cursor = s.Epoch
	}
	day, err := time.Parse(dayLayout, cursor)
	if err != nil {
		return sum, fmt.Errorf("retention: cursor %q: %w", cursor, err)
	}
	today := now.UTC().Format(dayLayout)
	sum.FirstDay = cursor
	deadline, hasDeadline := ctx.Deadline()
	margin := s.Margin
	if remaining := time.Until(deadline); hasDeadline && remaining < 4*margin {
		margin = remaining / 4 // a short invocation keeps most of its time for work
	}
	outOfTime := func() bool { return hasDeadline && time.Now().Add(margin).After(deadline) }

	newCursor := cursor
	clean := true // every day so far was swept without failures
	for d := day; d.Format(dayLayout) <= today; d = d.AddDate(0, 0, 1) {
		name := d.Format(dayLayout)
		sum.LastDay = name
		failedBefore := sum.Failed
		finished, err := s.sweepDay(ctx, name, now, dryRun, &sum, outOfTime)
		if err != nil && ctx.Err() == nil {
			return s.finish(ctx, sum, newCursor, dryRun, err)
		}
		if !finished {
			return s.finish(ctx, sum, newCursor, dryRun, nil)
		}
		if sum.Failed > failedBefore {
			clean = false
		}
		if clean && name < today {
			// Everything due that day is gone: never look at it again. Today
			// stays, as more may fall due before midnight.
			newCursor = d.AddDate(0, 0, 1).Format(dayLayout)
		}
	}
	sum.Done = true
	return s.finish(ctx, sum, newCursor, dryRun, nil)
}

func (s *Sweep) sweepDay(ctx context.Context, day string, now time.Time, dryRun bool, sum *Summary, outOfTime func() bool) (bool, error) {
	page := ""
	for {
		if outOfTime() {
			return false, nil
		}
		entries, next, err := s.Store.DueEntries(ctx, day, page)
		if err != nil {
			return false, err // the caller tells a deadline from a fault
		}
		for _, e := range entries {
			if e.Due.After(now) {
				continue // due later today
			}
			sum.Due[e.Rule]++
			if dryRun {
				continue
			}
			if outOfTime() {
				return false, nil
			}
			outcome, err := s.apply(ctx, e, now)
			switch {
			case err != nil && ctx.Err() != nil:
				return false, nil // cut off by the deadline: the next run retries it
			case err != nil:
				sum.Failed++
				s.Log.ErrorContext(ctx, "retention: entry failed, retried next run", "person", e.PersonID, "rule", e.Rule, "err", err)
			case outcome == Erased:
				sum.Erased[e.Rule]++
			case outcome == Moved:
				sum.Moved++
			case outcome == Rescheduled:
				sum.Rescheduled++
			}
		}
		if next == "" {
			return true, nil
		}
		page = next
	}
}

// apply carries out one due entry: a person is erased when the domain says
// their rule still applies (people.Retention.Expire), through the one update
// path; anything else is purged as filed.
func (s *Sweep) apply(ctx context.Context, e Entry, now time.Time) (Outcome, error) {
	if e.Kind != Person {
		return s.Store.Purge(ctx, e, people.EndedBy)
	}
	ch, err := s.Store.UpdatePerson(ctx, e.PersonID, func(p people.Person) (people.Change, error) {
		return s.Retention.Expire(p, people.Clock{Rule: e.Rule, Due: e.Due}, now), nil
	})
	switch {
	case err != nil:
		return 0, err
	case ch.Erase != nil:
		return Erased, nil
	case ch.After != nil:
		return Rescheduled, nil
	}
	return Moved, nil
}

func (s *Sweep) finish(ctx context.Context, sum Summary, cursor string, dryRun bool, runErr error) (Summary, error) {
	sum.Finished = time.Now().UTC()
	// The checkpoint is written even when the run's own time is up: that is
	// what the margin before the deadline is for.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// A dry run changes no data and moves no cursor; its summary, marked as
	// a dry run, is kept like any other run's.
	if !dryRun {
		if err := s.Store.SetCursor(ctx, cursor); err != nil && runErr == nil {
			runErr = err
		}
	}
	if err := s.Store.SaveRun(ctx, sum); err != nil && runErr == nil {
		runErr = err
	}
	return sum, runErr
}
