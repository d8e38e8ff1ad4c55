package people

import (
	"context"
	"slices"
	"time"
)

// Store is the one way a person changes: the store reads the person
// (consistently), decide says what changes, and the store writes exactly that,
// on the condition that nobody wrote the person in between. On a lost race
// (a condition that failed, a transaction conflict) or throttling that the
// SDK gave up on, the store reads and decides again after a jittered
// backoff, a bounded number of times; past the bound it answers ErrBusy.
type Store interface {
	// Person reads one person consistently; ErrNotFound if there is none.
	Person(ctx context.Context, personID string) (Person, error)
	// UpdatePerson runs decide on the person as stored (a Person with only
	// ID set and Version 0 when there is nobody) and writes the Change it
	// returns. decide may run more than once and must have no side effects
	// beyond its result; an error from decide is returned as it is and
	// nothing is written. It returns the change written (a zero Change when
	// decide asked for none). Errors: decide's, ErrBusy, or a wrapped fault.
	UpdatePerson(ctx context.Context, personID string, decide Decide) (Change, error)
}

// Decide is a pure decision about one person as read.
type Decide func(p Person) (Change, error)

// Change is what one decision asks the store to write, all in one write.
// A zero Change writes nothing.
type Change struct {
	// After is the person as they are to be stored (nil: the profile is
	// not written). Its Version is the one read; the store bumps it.
	After  *Person
	Events []ConsentEvent // ledger entries to append; never overwritten
	Joined []Purpose      // lists the person joins (marketing sends query them)
	Left   []Purpose      // lists the person leaves
	// Erase, when set, deletes the person instead: see Erasure.
	Erase *Erasure
}

// IsZero reports whether the change writes nothing.
func (c Change) IsZero() bool { return c.After == nil && c.Erase == nil && len(c.Events) == 0 }

// Erasure is a person's erasure under a retention rule (or, later, a privacy
// request): the profile and list memberships go; what stays is a
// suppression marker under the keyed id (nothing else) whose ProofClock
// ends the ledger's proof period, and an aggregate count per rule and month
// (policy sections 2, 5 and 11).
type Erasure struct {
	Rule       Rule
	At         time.Time
	ProofClock Clock // when the ledger entries written before the erasure go
}

// Unread is a change decided without reading the person, which is right
// only for a person as Assumed: the store writes it on that condition, in
// one write. See Subscriptions.StopMarketing.
type Unread struct {
	Assumed   Assumption
	Remove    []Purpose // taken out of the active and the pending set
	Status    Status
	Clock     Clock
	Recipient bool      // the person is a recipient of policy notices afterwards
	At        time.Time // the change's stamp
	Left      []Purpose // lists the person leaves
	Events    []ConsentEvent
}

// Assumption is what an Unread change assumes of the person as stored.
type Assumption struct {
	AnyOf         []Purpose // at least one of these is active or pending
	NoneActive    []Purpose // none of these is active
	Status        []Status  // the status is one of these
	NoAccount     bool      // the product reported no account
	NoLinks       bool      // no confirm link is live (none could grant what is withdrawn)
	WrittenBefore time.Time // the last write was stamped before this (the ledger keeps the order of writes)
}

// Holds reports whether p is as a assumes: the rule the store's condition
// states in DynamoDB's terms (tests hold the two equal).
func (a Assumption) Holds(p Person) bool {
	return p.Exists() &&
		slices.ContainsFunc(a.AnyOf, func(q Purpose) bool { return p.Has(q) || slices.Contains(p.Pending, q) }) &&
		!slices.ContainsFunc(a.NoneActive, p.Has) &&
		slices.Contains(a.Status, p.Status) &&
		(!a.NoAccount || p.Account.State == NoAccount) &&
		(!a.NoLinks || len(p.Links) == 0) &&
		p.UpdatedAt.Before(a.WrittenBefore)
}

// NoticeRecipient reports whether the person is told of policy changes:
// everyone who confirmed an address, unsubscribed people included, and
// everyone the product vouches for with an account (policy sections 6, 15).
func (p Person) NoticeRecipient() bool {
	return p.Status == Confirmed || p.Status == Unsubscribed || p.Account.State != NoAccount
}

// Exists reports whether the person was read from the store (Version 0 is
// nobody).
func (p Person) Exists() bool { return p.Version > 0 }

// stampAfter is the time a change made now is stamped with: strictly after
// the last write the decision read, so that the ledger's order (entries are
// sorted by their stamp) is the order in which the changes were written,
// even when two functions' clocks disagree by a little.
func stampAfter(now time.Time, p Person) time.Time {
	now = now.UTC()
	if !now.After(p.UpdatedAt) {
		return p.UpdatedAt.Add(time.Microsecond)
	}
	return now
}

// changed returns a copy of p to modify, with its sets cloned.
func changed(p Person) *Person {
	q := p
	q.Active, q.Pending, q.Links = slices.Clone(p.Active), slices.Clone(p.Pending), slices.Clone(p.Links)
	return &q
}
