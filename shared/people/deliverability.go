package people

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Reach is whether mail reaches a person, as SES's feedback says.
type Reach string

// The states of a person's deliverability.
const (
	Deliverable   Reach = ""              // no feedback against the address
	Undeliverable Reach = "undeliverable" // a permanent bounce: no mail of any kind until a new confirmed sign-up
	Resting       Reach = "resting"       // too many transient bounces: no mail until Deliverability.Until
)

// Deliverability is what SES's feedback (bounces, complaints, deliveries)
// says about a person's address, and the marks that make applying that
// feedback idempotent and independent of order: SES publishes its events
// at least once and in any order (issue 12). Each Last* is the SES
// timestamp (mail.timestamp) of the last event of that kind applied; an
// event no later than it changes nothing.
type Deliverability struct {
	State Reach
	Since time.Time // when State began (the event's SES time)
	Until time.Time // for Resting: when mail is tried again
	// Transient holds the SES times of the transient bounces inside the
	// rolling window that no later delivery reset, oldest first.
	Transient []time.Time
	// ClearedAt is when a confirmed sign-up last cleared the state: a
	// bounce of a mail sent before it changes nothing.
	ClearedAt                               time.Time
	LastBounce, LastComplaint, LastDelivery time.Time
}

// IsZero reports whether nothing was ever heard from SES about the address.
func (d Deliverability) IsZero() bool {
	return d.State == Deliverable && d.Since.IsZero() && d.Until.IsZero() && len(d.Transient) == 0 && d.ClearedAt.IsZero() &&
		d.LastBounce.IsZero() && d.LastComplaint.IsZero() && d.LastDelivery.IsZero()
}

// Reachable reports whether mail may go to the person at now.
func (d Deliverability) Reachable(now time.Time) bool {
	switch d.State {
	case Undeliverable:
		return false
	case Resting:
		return !now.Before(d.Until)
	}
	return true
}

// cleared is d after a confirmed sign-up at now: deliverable again, and
// blind to the feedback of mail sent before now.
func (d Deliverability) cleared(now time.Time) Deliverability {
	return Deliverability{ClearedAt: now, LastBounce: d.LastBounce, LastComplaint: d.LastComplaint, LastDelivery: d.LastDelivery}
}

// BounceRule is when transient bounces make a person rest: Transients
// bounces within Window, not reset by a delivery, rest the address for
// Rest (issue 12: default 3 in 30 days, parameters of the deployment).
type BounceRule struct {
	Transients int
	Window     time.Duration
	Rest       time.Duration
}

// DefaultBounceRule is issue 12's default: 3 transient bounces in 30 days
// rest an address for 7 days.
var DefaultBounceRule = BounceRule{Transients: 3, Window: 30 * 24 * time.Hour, Rest: 7 * 24 * time.Hour}

// FeedbackKind is the kind of an SES event a rule acts on.
type FeedbackKind string

// The kinds of feedback.
const (
	FeedbackBounce    FeedbackKind = "bounce"
	FeedbackComplaint FeedbackKind = "complaint"
	FeedbackDelivery  FeedbackKind = "delivery"
)

// Feedback is one SES event about a mail to a person, in SES's words
// (no address): At is the mail's SES timestamp, MessageID SES's id.
type Feedback struct {
	Kind      FeedbackKind
	MessageID string
	At        time.Time
	MailKind  string // the pledge-mail tag: "confirm", "newsletter", "notice", ...
	// BounceType is "Permanent", "Transient" or "Undetermined";
	// FeedbackType is the complaint's (e.g. "abuse", "not-spam", or "").
	BounceType, FeedbackType string
}

// ComplaintSource is the ledger source of a withdrawal a complaint made.
const ComplaintSource = "complaint"

// Feedbacks applies SES's feedback to people (issue 12, item 2).
type Feedbacks struct {
	Store     Store
	Rule      BounceRule
	Retention Retention
	NewID     func() string
	Now       func() time.Time
}

// Apply applies one event to its person, in at most one write; an event
// already applied, or older than the last of its kind, writes nothing. It
// reports whether something was written. Errors: ErrNotFound (the person
// no longer exists: the caller drops the event), ErrBusy, a wrapped fault.
func (f *Feedbacks) Apply(ctx context.Context, personID string, e Feedback) (bool, error) {
	ch, err := f.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		return f.Decide(p, e, stampAfter(f.Now(), p)), nil
	})
	if err != nil {
		return false, fmt.Errorf("people.Feedbacks.Apply: %w", err)
	}
	return !ch.IsZero(), nil
}

// Decide is the pure decision for one event about p, stamped now.
func (f *Feedbacks) Decide(p Person, e Feedback, now time.Time) Change {
	switch e.Kind {
	case FeedbackBounce:
		return f.Rule.bounce(p, e, now)
	case FeedbackComplaint:
		return f.complaint(p, e, now)
	case FeedbackDelivery:
		return f.Rule.delivery(p, e, now)
	}
	return Change{}
}

// withDeliverability is p with d, stamped now.
func withDeliverability(p Person, d Deliverability, now time.Time) Change {
	q := changed(p)
	q.Deliverability, q.UpdatedAt = d, now
	return Change{After: q}
}

// bounce: a permanent bounce makes the person undeliverable, whenever it
// arrives (unless it is older than a new sign-up); a transient one counts
// in the rolling window, and past the threshold rests the address; an
// undetermined one changes nothing.
func (r BounceRule) bounce(p Person, e Feedback, now time.Time) Change {
	d := p.Deliverability
	if !e.At.After(d.ClearedAt) || d.State == Undeliverable {
		return Change{} // from before a new sign-up, or nothing left to stop
	}
	switch e.BounceType {
	case "Permanent":
		d.State, d.Since, d.Until, d.Transient = Undeliverable, e.At, time.Time{}, nil
		if e.At.After(d.LastBounce) {
			d.LastBounce = e.At
		}
	case "Transient":
		if !e.At.After(d.LastBounce) {
			return Change{} // a duplicate, or older than the last bounce applied
		}
		d.LastBounce = e.At
		d.Transient = r.inWindow(append(slices.Clone(d.Transient), e.At), e.At, d.LastDelivery)
		if len(d.Transient) >= r.Transients {
			d.State, d.Since, d.Until = Resting, e.At, e.At.Add(r.Rest)
			d.Transient = nil // the rest starts the count again
		}
	default:
		return Change{}
	}
	return withDeliverability(p, d, now)
}

// inWindow keeps the bounces within Window before newest and after the
// last delivery, sorted.
func (r BounceRule) inWindow(ts []time.Time, newest, delivered time.Time) []time.Time {
	slices.SortFunc(ts, time.Time.Compare)
	return slices.DeleteFunc(ts, func(t time.Time) bool {
		return !t.After(delivered) || !t.After(newest.Add(-r.Window))
	})
}

// delivery resets the transient count (of bounces before it) and ends a
// rest that began before it. A delivery with nothing to reset (no
// transient bounce counted, no rest) writes nothing: deliveries are most
// of SES's events, and a write for each would cost one per mail sent. The
// price is a little order: a transient bounce older than such a delivery
// that arrives after it still counts.
func (r BounceRule) delivery(p Person, e Feedback, now time.Time) Change {
	d := p.Deliverability
	if !e.At.After(d.LastDelivery) || len(d.Transient) == 0 && d.State != Resting {
		return Change{}
	}
	d.LastDelivery = e.At
	d.Transient = slices.DeleteFunc(slices.Clone(d.Transient), func(t time.Time) bool { return !t.After(e.At) })
	if len(d.Transient) == 0 {
		d.Transient = nil
	}
	if d.State == Resting && d.Since.Before(e.At) {
		d.State, d.Since, d.Until = Deliverable, time.Time{}, time.Time{}
	}
	return withDeliverability(p, d, now)
}

// complaint stops all marketing at once, as one ledger withdrawal whose
// source is the complaint; a "not-spam" feedback, or a complaint about a
// policy notice (owed by law, policy section 15), is recorded only.
func (f *Feedbacks) complaint(p Person, e Feedback, now time.Time) Change {
	d := p.Deliverability
	if !e.At.After(d.LastComplaint) {
		return Change{}
	}
	d.LastComplaint = e.At
	if e.FeedbackType == "not-spam" || e.MailKind == "notice" || !e.At.After(d.ClearedAt) {
		return withDeliverability(p, d, now)
	}
	s := &Subscriptions{Retention: f.Retention, NewID: f.NewID}
	ch := s.stopMarketing(p, now, Context{Source: ComplaintSource})
	if ch.After == nil {
		return withDeliverability(p, d, now)
	}
	ch.After.Deliverability = d
	return ch
}
