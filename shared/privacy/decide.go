package privacy

import (
	"slices"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Every decision below is pure: it takes the request as read and the time,
// and returns the request as it is to be written (nil: nothing changes).
// Run on a request it already changed, each returns nil, so a double click
// or a duplicate delivery changes nothing twice.

// Decide is a pure decision about one request as read: the request as it
// is to be written, or nil for no change (the store's UpdateRequest runs
// it, maybe more than once).
type Decide func(Request) (*Request, error)

// Verification is what pressing a verification link's button came to.
type Verification int

// The outcomes of a verification.
const (
	// JustVerified: the link was live; the request moved on (see Verify).
	JustVerified Verification = iota + 1
	// AlreadyVerified: the request is past verification (this link, or a
	// double click): nothing changes, the status page shows where it stands.
	AlreadyVerified
	// LinkUsed: the link is not the request's live one.
	LinkUsed
	// Lapsed: the request was never verified within VerifyWindow; it is
	// now expired.
	Lapsed
)

// Verify decides a press of the verification button of r's link carrying
// nonce, at now. held says whether pledge holds a profile for the address.
// A live link moves r on: an unknown address's request is refused no-data
// (pledge holds nothing about it; the person is told so by mail); an
// access request is completed (the export link is mailed); a deletion is
// verified and its cool-off starts.
func (t Timing) Verify(r Request, nonce string, held bool, now time.Time) (*Request, Verification) {
	switch {
	case r.Status != Unverified:
		return nil, AlreadyVerified
	case !now.Before(r.Expires):
		q := r.close(Expired, now)
		return &q, Lapsed
	case nonce == "" || nonce != r.Nonce:
		return nil, LinkUsed
	}
	var q Request
	switch {
	case !held && r.Kind != RemoveContent: // content lives in the product, not in pledge
		q = r.close(Refused, now)
		q.Reason = NoData
	case r.Kind == Access:
		q = r.close(Completed, now)
		q.Outcome = ExportSent
	case r.Kind == RemoveContent: // waits for staff (staff.go)
		q = r.touch(now)
		q.Status, q.Nonce = InProgress, ""
	default:
		q = r.touch(now)
		q.Status, q.Nonce, q.CoolOffEnds = Verified, "", now.UTC().Add(t.CoolOff)
	}
	q.VerifiedAt = now.UTC()
	return &q, JustVerified
}

// ErrTooLate answers a cancellation after a deletion's cool-off, or of a
// request that is not a deletion in its cool-off.
var ErrTooLate = people.Errorf(people.Conflict, "", "This request can no longer be cancelled.")

// Cancel decides a cancellation at now: a verified deletion still in its
// cool-off is cancelled; one already cancelled changes nothing; anything
// else is ErrTooLate.
func Cancel(r Request, now time.Time) (*Request, error) {
	switch {
	case r.Status == Cancelled:
		return nil, nil
	case r.Kind == Delete && r.Status == Verified && now.Before(r.CoolOffEnds):
		q := r.close(Cancelled, now)
		return &q, nil
	}
	return nil, ErrTooLate
}

// CanCancel reports whether the status page offers "cancel" at now.
func (r Request) CanCancel(now time.Time) bool {
	return r.Kind == Delete && r.Status == Verified && now.Before(r.CoolOffEnds)
}

// Step is what the clock does with an open request at a tick.
type Step int

// The clock's steps.
const (
	Wait         Step = iota // nothing is due yet
	Expire                   // an unverified request lapsed: it is closed expired
	StartErasure             // a deletion's cool-off ended: it is in progress
	Erase                    // a deletion in progress: erase the person, then Complete
)

// Advance decides what the clock does with r at now, and r as it is to be
// written first (nil for Wait and Erase, which write nothing before the
// erasure).
func Advance(r Request, now time.Time) (*Request, Step) {
	switch {
	case r.Status == Unverified && !now.Before(r.Expires):
		q := r.close(Expired, now)
		return &q, Expire
	case r.Kind == Delete && r.Status == Verified && !now.Before(r.CoolOffEnds):
		q := r.touch(now)
		q.Status = InProgress
		return &q, StartErasure
	case r.Kind == Delete && r.Status == InProgress && !r.Staff.ErasedAt.IsZero() && !r.SystemsDone():
		return nil, Wait // erased; waiting for the downstream systems (staff.go)
	case r.Kind == Delete && r.Status == InProgress:
		return nil, Erase
	}
	return nil, Wait
}

// Complete records that the person of a deletion in progress is erased;
// once every downstream system pledged has acknowledged too (SystemsDone),
// it closes the request: it keeps the outcome and the times, and drops
// the address. Until then the request stays in progress, erased, and the
// last acknowledgment closes it (Acknowledge). Anything else changes
// nothing.
func Complete(r Request, now time.Time) *Request {
	if r.Kind != Delete || r.Status != InProgress {
		return nil
	}
	if !r.SystemsDone() {
		if !r.Staff.ErasedAt.IsZero() {
			return nil
		}
		q := r.touch(now)
		q.Staff.ErasedAt = now.UTC()
		return &q
	}
	q := r.close(Completed, now)
	if q.Staff.ErasedAt.IsZero() {
		q.Staff.ErasedAt = now.UTC()
	}
	q.Outcome = Erased
	return &q
}

// ErasureRule names a deletion request among the erasure counters (the
// month's "erased#<rule>" aggregate), beside the retention rules.
const ErasureRule people.Rule = "erasure-request"

// Erasure is the change that erases p for a deletion request at now,
// through the retention sweep's own erasure (people.Erasure: profile and
// list memberships gone, a suppression marker whose proof clock ends the
// ledger's proof period, an aggregate count); nothing when p is already
// gone. Its stamp is after p's last write, so the proof purge takes every
// ledger entry written before the erasure.
func Erasure(p people.Person, ret people.Retention, now time.Time) people.Change {
	if !p.Exists() {
		return people.Change{}
	}
	at := now.UTC()
	if !at.After(p.UpdatedAt) {
		at = p.UpdatedAt.Add(time.Microsecond)
	}
	return people.Change{Erase: &people.Erasure{Rule: ErasureRule, At: at,
		ProofClock: people.Clock{Rule: people.RuleLedgerProof, Due: at.Add(ret.LedgerProof)}}}
}

// reminders are the stages, latest first, with how long before the due
// date each is announced.
var reminders = []struct {
	stage  Reminder
	before time.Duration
}{{Overdue, 0}, {DueIn2Days, 2 * 24 * time.Hour}, {DueIn7Days, 7 * 24 * time.Hour}}

// Remind decides which reminder a verified open request gets at now (an
// unverified one is no request to answer yet: it lapses after VerifyWindow,
// long before a 30-day due date): the latest
// stage reached that was not announced yet (earlier stages it skipped are
// marked too, so a late tick does not announce stale ones), and r with it
// recorded; nil and "" when none is due.
func Remind(r Request, now time.Time) (*Request, Reminder) {
	if !r.Status.Open() || r.Status == Unverified {
		return nil, ""
	}
	for i, s := range reminders {
		if now.Before(r.Due.Add(-s.before)) {
			continue
		}
		if slices.Contains(r.Reminded, s.stage) {
			return nil, ""
		}
		q := r.touch(now)
		for _, earlier := range reminders[i:] {
			if !slices.Contains(q.Reminded, earlier.stage) {
				q.Reminded = append(q.Reminded, earlier.stage)
			}
		}
		return &q, s.stage
	}
	return nil, ""
}

// IsOverdue reports whether r is verified and open past its due date at now.
func (r Request) IsOverdue(now time.Time) bool {
	return r.Status.Open() && r.Status != Unverified && !now.Before(r.Due)
}

// Unremind decides that stage was not announced after all (EventBridge
// refused it): r without it, so the next tick announces it again (at least
// once); nil when r does not record it.
func Unremind(r Request, stage Reminder, now time.Time) *Request {
	i := slices.Index(r.Reminded, stage)
	if i < 0 {
		return nil
	}
	q := r.touch(now)
	q.Reminded = slices.Delete(q.Reminded, i, i+1)
	return &q
}
