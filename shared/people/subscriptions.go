package people

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ConsentChange is one atomic change of a person's consents: the new sets,
// the new status and the ledger entries that prove it. Stores apply it only
// if the person is still at the version it was computed from.
type ConsentChange struct {
	Active  []Purpose // the consents in force afterwards
	Pending []Purpose // the consents awaiting confirmation afterwards
	Status  Status
	Joined  []Purpose // purposes that became active: the person joins their lists
	Left    []Purpose // purposes that stopped being active: the person leaves their lists
	Events  []ConsentEvent
	Now     time.Time
	Clock   Clock // the person's retention clock from now on; zero: none runs (an open account)
}

// SubscriptionStore is what unsubscribing and the preferences page need.
type SubscriptionStore interface {
	Person(ctx context.Context, personID string) (Person, error)
	// ChangeConsent applies ch if p is still at p.Version; ErrConflict otherwise.
	ChangeConsent(ctx context.Context, p Person, ch ConsentChange) error
	// StopMarketing withdraws every marketing purpose, active or pending, and
	// appends e, in one write. It reports false, changing nothing, when the
	// person has no marketing purpose left or does not exist.
	// It restarts the clock as clock, which assumes no purpose is left.
	StopMarketing(ctx context.Context, personID string, e ConsentEvent, clock Clock) (bool, error)
}

// Subscriptions runs unsubscribing and the preferences page.
type Subscriptions struct {
	Store     SubscriptionStore
	NewID     func() string
	Now       func() time.Time
	Pseudonym func(string) string // keyed hash for client IPs in the ledger
	Retention Retention
}

// StopMarketing stops every marketing purpose at once (one-click unsubscribe
// or "stop all marketing"). Legally required notices are not marketing and
// are not affected. It is idempotent and answers false when nothing changed,
// including for a person who no longer exists.
func (s *Subscriptions) StopMarketing(ctx context.Context, personID string, c Context) (bool, error) {
	now := s.Now().UTC()
	e := s.Retention.WithProofClocks(NewEvents(personID, Withdraw, []Purpose{AllMarketing}, now, c.Pseudonymised(s.Pseudonym), s.NewID))[0]
	// One write and no read, so the clock assumes no account: the sweep
	// re-checks the account before it erases anyone (see store.Erase).
	changed, err := s.Store.StopMarketing(ctx, personID, e, s.Retention.PersonClock(Unsubscribed, nil, Account{}, now))
	if err != nil {
		return false, fmt.Errorf("people.StopMarketing: %w", err)
	}
	return changed, nil
}

// SetPreferences makes want the person's active purposes: each purpose that
// starts is a grant in the ledger, each that stops a withdrawal. Purposes
// pending confirmation that are not wanted are dropped. It answers false
// when there was nothing to change.
func (s *Subscriptions) SetPreferences(ctx context.Context, personID string, want []Purpose, c Context) (bool, error) {
	for range 3 {
		p, err := s.Store.Person(ctx, personID)
		if err != nil {
			return false, err
		}
		var joined, left []Purpose
		for _, q := range Purposes {
			switch has, wants := p.Has(q), slices.Contains(want, q); {
			case wants && !has:
				joined = append(joined, q)
			case has && !wants:
				left = append(left, q)
			}
		}
		pending := slices.DeleteFunc(slices.Clone(p.Pending), func(q Purpose) bool { return !slices.Contains(want, q) || slices.Contains(joined, q) })
		if len(joined) == 0 && len(left) == 0 && len(pending) == len(p.Pending) {
			return false, nil
		}
		now := s.Now().UTC()
		if c.PolicyVersion == "" {
			c.PolicyVersion = p.PolicyVersion
		}
		pc := c.Pseudonymised(s.Pseudonym)
		status := statusFor(want, p.Status)
		ch := ConsentChange{
			Active: want, Pending: pending, Joined: joined, Left: left, Now: now,
			Events: append(NewEvents(personID, Grant, joined, now, pc, s.NewID),
				s.Retention.WithProofClocks(NewEvents(personID, Withdraw, left, now, pc, s.NewID))...),
			Status: status, Clock: s.Retention.PersonClock(status, want, p.Account, now),
		}
		err = s.Store.ChangeConsent(ctx, p, ch)
		if err == ErrConflict {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("people.SetPreferences: %w", err)
		}
		return true, nil
	}
	return false, ErrConflict
}

// statusFor is the status after a change to the active purposes.
func statusFor(active []Purpose, current Status) Status {
	if len(active) > 0 {
		return Confirmed
	}
	if current == Unconfirmed {
		return Unconfirmed
	}
	return Unsubscribed
}

// MaskEmail shows enough of an address for its owner to recognise it and
// little to anyone else: "jo.tester@example.com" -> "j***@e***.com".
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	tld := ""
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		tld = domain[i:]
	}
	return local[:1] + "***@" + domain[:1] + "***" + tld
}
