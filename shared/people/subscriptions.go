package people

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Subscriptions runs unsubscribing and the preferences page.
type Subscriptions struct {
	Store     Store
	NewID     func() string
	Now       func() time.Time
	Pseudonym func(string) string // keyed hash for client IPs in the ledger
	Retention Retention
}

// UnreadStore is a Store that can also write a change decided without
// reading the person, under the condition that the person is as assumed.
type UnreadStore interface {
	Store
	// UpdateUnread writes u if the person as stored is as u.Assumed, in one
	// write; it reports false, having written nothing, when they are not
	// (or when the write lost a race), and the caller decides on a read.
	UpdateUnread(ctx context.Context, personID string, u Unread) (bool, error)
}

// StopMarketing stops every marketing purpose at once, active or pending
// (one-click unsubscribe or "stop all marketing"), with one ledger entry
// for all of them. Legally required notices are not marketing and are not
// affected; testimonials are no mail and stay. It is idempotent and answers
// false when nothing changed, including for a person who no longer exists.
//
// Mail clients send one-clicks in bulk, so the common case costs one write
// and no read: the decision for a subscriber with marketing consents only,
// past double opt-in, without an account, is the same for all of them, and
// a store that can (UnreadStore) writes it on that condition. Anyone else is
// read and decided on as usual.
func (s *Subscriptions) StopMarketing(ctx context.Context, personID string, c Context) (bool, error) {
	if u, ok := s.Store.(UnreadStore); ok {
		written, err := u.UpdateUnread(ctx, personID, s.unreadStop(personID, s.Now().UTC(), c))
		if err != nil {
			return false, fmt.Errorf("people.StopMarketing: %w", err)
		}
		if written {
			return true, nil
		}
	}
	ch, err := s.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		return s.stopMarketing(p, stampAfter(s.Now(), p), c), nil
	})
	if err != nil {
		return false, fmt.Errorf("people.StopMarketing: %w", err)
	}
	return !ch.IsZero(), nil
}

// stopMarketing is the decision: p without any marketing purpose, active
// or pending; nothing when there was none.
func (s *Subscriptions) stopMarketing(p Person, now time.Time, c Context) Change {
	if !slices.ContainsFunc(append(slices.Clone(p.Active), p.Pending...), Purpose.Marketing) {
		return Change{} // nothing left to withdraw, or nobody
	}
	e := s.Retention.WithProofClocks(NewEvents(p.ID, Withdraw, []Purpose{AllMarketing}, now, s.ledgerContext(c, p), s.NewID))
	active := slices.DeleteFunc(slices.Clone(p.Active), Purpose.Marketing)
	left := slices.DeleteFunc(slices.Clone(p.Active), func(q Purpose) bool { return !q.Marketing() })
	status := Unsubscribed // no marketing left, whatever else stays (a testimonial)
	if p.Status == Unconfirmed {
		status = Unconfirmed
	}
	return s.change(p, active, slices.DeleteFunc(slices.Clone(p.Pending), Purpose.Marketing), status, now, nil, left, e)
}

// unreadStop is stopMarketing decided for a subscriber with every marketing
// purpose and nothing else, stamped now: for every person as Assumed (some
// marketing purpose to withdraw, none but marketing active, confirmed or
// unsubscribed, no account, last written before now) the decision writes
// the same status, clock, entry and list departures, which is what makes it
// right to write without reading.
func (s *Subscriptions) unreadStop(personID string, now time.Time, c Context) Unread {
	typical := Person{ID: personID, Status: Confirmed, Active: slices.Clone(MarketingPurposes)}
	ch := s.stopMarketing(typical, now, c)
	var others []Purpose
	for _, q := range Purposes {
		if !q.Marketing() {
			others = append(others, q)
		}
	}
	return Unread{
		Assumed: Assumption{AnyOf: MarketingPurposes, NoneActive: others, Status: []Status{Confirmed, Unsubscribed}, NoAccount: true, WrittenBefore: now},
		Remove:  MarketingPurposes, Status: ch.After.Status, Clock: ch.After.Clock, Recipient: ch.After.NoticeRecipient(),
		At: now, Left: ch.Left, Events: ch.Events,
	}
}

// SetPreferences makes want the person's active purposes: each purpose that
// starts is a grant in the ledger, each that stops, or that was pending and
// is no longer wanted, a withdrawal. It answers false when there was nothing
// to change. Errors: ErrNotFound (erased), ErrBusy.
func (s *Subscriptions) SetPreferences(ctx context.Context, personID string, want []Purpose, c Context) (bool, error) {
	ch, err := s.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		var joined, left, dropped []Purpose
		for _, q := range Purposes {
			switch has, wants, pending := p.Has(q), slices.Contains(want, q), slices.Contains(p.Pending, q); {
			case wants && !has:
				joined = append(joined, q)
			case has && !wants:
				left = append(left, q)
			case pending && !wants:
				dropped = append(dropped, q)
			}
		}
		if len(joined) == 0 && len(left) == 0 && len(dropped) == 0 {
			return Change{}, nil
		}
		now := stampAfter(s.Now(), p)
		pc := s.ledgerContext(c, p)
		pending := slices.DeleteFunc(slices.Clone(p.Pending), func(q Purpose) bool { return !slices.Contains(want, q) || slices.Contains(joined, q) })
		events := append(NewEvents(personID, Grant, joined, now, pc, s.NewID),
			s.Retention.WithProofClocks(NewEvents(personID, Withdraw, append(left, dropped...), now, pc, s.NewID))...)
		return s.change(p, slices.Clone(want), pending, statusFor(want, p.Status), now, joined, left, events), nil
	})
	if err != nil {
		return false, fmt.Errorf("people.SetPreferences: %w", err)
	}
	return !ch.IsZero(), nil
}

// ledgerContext is c as the ledger records it for p.
func (s *Subscriptions) ledgerContext(c Context, p Person) Context {
	if c.PolicyVersion == "" {
		c.PolicyVersion = p.PolicyVersion
	}
	return c.Pseudonymised(s.Pseudonym)
}

// change is p with new consent sets and status, the clock they imply, the
// list memberships that change and the entries that prove it.
func (s *Subscriptions) change(p Person, active, pending []Purpose, status Status, now time.Time, joined, left []Purpose, events []ConsentEvent) Change {
	q := changed(p)
	q.Active, q.Pending, q.Status, q.UpdatedAt = active, pending, status, now
	q.Clock = s.Retention.PersonClock(q.Status, q.Active, q.Account, now)
	return Change{After: q, Joined: joined, Left: left, Events: events}
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
// little to anyone else, with the domain as they typed it (DisplayEmail):
// "jo.tester@example.com" -> "j***@e***.com", "jo@xn--bcher-kva.example" ->
// "j***@b***.example".
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(DisplayEmail(addr), "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	tld := ""
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		tld = domain[i:]
	}
	first := func(s string) string { _, n := utf8.DecodeRuneInString(s); return s[:n] }
	return first(local) + "***@" + first(domain) + "***" + tld
}
