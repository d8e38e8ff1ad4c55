package people

import (
	"context"
	"errors"
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
// says about a person's address. SES publishes its events at least once
// and in any order (issue 12), so it is a function of the SET of events
// applied since ClearedAt, whatever their order and however often each
// came: each field is a maximum, a minimum or the latest few of a kind,
// and State, Since and Until follow from them (BounceRule.settle). An
// event that changes none of them (a duplicate, or an older event that
// the set already outweighs) writes nothing.
type Deliverability struct {
	State Reach
	// Since is, when Undeliverable, the SES time of the earliest permanent
	// bounce applied; when Resting, the time of the latest transient bounce.
	Since time.Time
	Until time.Time // for Resting: Since + BounceRule.Rest, when mail is tried again
	// Transient holds the SES times of the latest BounceRule.Transients
	// transient bounces after LastDelivery, oldest first: all a rest can
	// depend on, so the list never grows past the threshold. It is empty
	// while Undeliverable: nothing but a confirmed sign-up, which clears
	// it, ends that state.
	Transient []time.Time
	// ClearedAt is when a confirmed sign-up last cleared the state: feedback
	// about a mail sent no later than it changes nothing.
	ClearedAt time.Time
	// LastBounce, LastComplaint and LastDelivery are the SES times (the
	// mail's mail.timestamp) of the latest event of each kind applied.
	// LastComplaint counts only complaints: a "not-spam" feedback (the
	// recipient told their mailbox provider a mail was NOT spam) is no
	// complaint, and is recorded apart as LastNotSpam, changing nothing.
	LastBounce, LastComplaint, LastDelivery, LastNotSpam time.Time
}

// IsZero reports whether nothing was ever heard from SES about the address.
func (d Deliverability) IsZero() bool {
	return d.State == Deliverable && d.Since.IsZero() && d.Until.IsZero() && len(d.Transient) == 0 && d.ClearedAt.IsZero() &&
		d.LastBounce.IsZero() && d.LastComplaint.IsZero() && d.LastDelivery.IsZero() && d.LastNotSpam.IsZero()
}

// Equal reports whether d and e hold the same state and marks.
func (d Deliverability) Equal(e Deliverability) bool {
	return d.State == e.State && d.Since.Equal(e.Since) && d.Until.Equal(e.Until) && d.ClearedAt.Equal(e.ClearedAt) &&
		d.LastBounce.Equal(e.LastBounce) && d.LastComplaint.Equal(e.LastComplaint) && d.LastDelivery.Equal(e.LastDelivery) &&
		d.LastNotSpam.Equal(e.LastNotSpam) &&
		slices.EqualFunc(d.Transient, e.Transient, time.Time.Equal)
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
	return Deliverability{ClearedAt: now, LastBounce: d.LastBounce, LastComplaint: d.LastComplaint, LastDelivery: d.LastDelivery,
		LastNotSpam: d.LastNotSpam}
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
	// Recipient is the address the event names as bounced, complained or
	// delivered (its recipient list: pledge's mail has one recipient). It
	// must be the person's address, or Apply refuses the event
	// (ErrNotRecipient): the tags name the person, the recipient list
	// confirms it (issue 12, item 1), so a mail tagged for one person but
	// sent to another address never changes the person. Empty skips the
	// check, for a caller that built the event from the person itself; the
	// mail-events function always sets it (its decoder drops an event
	// without one). Never logged.
	Recipient string
}

// ErrNotRecipient: the event's recipient is not the person its tags name.
// The caller drops the event (a retry would be refused the same way).
var ErrNotRecipient = errors.New("people: the event's recipient is not the person's address")

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

// Apply applies one event to its person, in at most one write. The
// outcome depends on the set of events applied, not on their order or
// repetition (see Deliverability); an event that changes nothing (a
// duplicate, or one the events already applied outweigh) writes nothing.
// It reports whether something was written. Errors: ErrNotFound (the
// person no longer exists: the caller drops the event), ErrBusy, a wrapped
// fault; ErrNotRecipient (the event names another address: the caller
// drops it). With ctx marked FollowMoves, personID may be a key the person
// moved from (the mail went out before a correction of their address):
// the event applies to the person it leads to, a bounce or delivery of the
// old address is refused as not theirs, and a complaint is taken as theirs
// (oldMailbox). The recipient of such a complaint cannot be checked
// against the old key here (that takes the address pepper): the tag, which
// only pledge sets, names it.
func (f *Feedbacks) Apply(ctx context.Context, personID string, e Feedback) (bool, error) {
	ch, err := f.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		if e.Recipient != "" && NormaliseEmail(e.Recipient) != NormaliseEmail(p.Email) && !oldMailbox(p, personID, e) {
			return Change{}, ErrNotRecipient
		}
		return f.Decide(p, e, stampAfter(f.Now(), p)), nil
	})
	if err != nil {
		return false, fmt.Errorf("people.Feedbacks.Apply: %w", err)
	}
	return !ch.IsZero(), nil
}

// oldMailbox reports whether e is a complaint about a mail sent to the
// address p had before a correction: its tags name personID, the key p
// moved from (the store followed the forward pointer, see FollowMoves), so
// its recipient is the old address. Such a complaint is still the person
// asking for no more marketing, and stops it; a bounce or a delivery of the
// old address says nothing of the new one and stays refused
// (ErrNotRecipient).
func oldMailbox(p Person, personID string, e Feedback) bool {
	return e.Kind == FeedbackComplaint && p.ID != personID && slices.Contains(p.MovedFrom, personID)
}

// Decide is the pure decision for one event about p, stamped now: the
// person with the event merged into their deliverability, or no change
// when the merge changes nothing. Feedback about a mail sent no later
// than the last confirmed sign-up (ClearedAt) changes nothing.
func (f *Feedbacks) Decide(p Person, e Feedback, now time.Time) Change {
	if !e.At.After(p.Deliverability.ClearedAt) {
		return Change{}
	}
	switch e.Kind {
	case FeedbackBounce:
		return unlessSame(p, f.Rule.bounce(p.Deliverability, e), now)
	case FeedbackComplaint:
		return f.complaint(p, e, now)
	case FeedbackDelivery:
		return unlessSame(p, f.Rule.delivery(p.Deliverability, e), now)
	}
	return Change{}
}

// unlessSame is p with d, stamped now; no change when d is what p holds.
func unlessSame(p Person, d Deliverability, now time.Time) Change {
	if d.Equal(p.Deliverability) {
		return Change{}
	}
	q := changed(p)
	q.Deliverability, q.UpdatedAt = d, now
	return Change{After: q}
}

// bounce merges a bounce into d: a permanent one makes the address
// undeliverable from the earliest permanent bounce on (until a confirmed
// sign-up clears it); a transient one joins the latest transient bounces
// after the last delivery, which may rest the address (settle); an
// undetermined one changes nothing.
func (r BounceRule) bounce(d Deliverability, e Feedback) Deliverability {
	switch e.BounceType {
	case "Permanent":
		if d.State != Undeliverable || e.At.Before(d.Since) {
			d.Since = e.At
		}
		d.State, d.Transient = Undeliverable, nil // only a confirmed sign-up ends it, and it clears them
	case "Transient":
		if d.State != Undeliverable && e.At.After(d.LastDelivery) && !slices.ContainsFunc(d.Transient, e.At.Equal) {
			ts := append(slices.Clone(d.Transient), e.At)
			slices.SortFunc(ts, time.Time.Compare)
			d.Transient = ts[max(len(ts)-max(r.Transients, 1), 0):]
		}
	default:
		return d
	}
	d.LastBounce = later(d.LastBounce, e.At)
	return r.settle(d)
}

// delivery merges a delivery into d: it resets the transient bounces
// before it, which ends a rest they made. Only the latest delivery counts,
// so one older than it changes nothing; a newer one is written even with
// nothing to reset, since a transient bounce older than it may still
// arrive and must then not count (order-free; the price is one write per
// delivery that is the person's latest).
func (r BounceRule) delivery(d Deliverability, e Feedback) Deliverability {
	if !e.At.After(d.LastDelivery) {
		return d
	}
	d.LastDelivery = e.At
	d.Transient = slices.DeleteFunc(slices.Clone(d.Transient), func(t time.Time) bool { return !t.After(e.At) })
	if len(d.Transient) == 0 {
		d.Transient = nil
	}
	return r.settle(d)
}

// settle derives State, Since and Until from the marks: undeliverable
// stays (only a confirmed sign-up clears it); otherwise the address rests
// when its latest Transients transient bounces after the last delivery lie
// within Window, from the latest of them for Rest (issue 12's rule: 3 in
// 30 days, reset by a delivery). After the rest mail is tried again, and
// one more transient bounce without a delivery in between rests it again.
func (r BounceRule) settle(d Deliverability) Deliverability {
	if d.State == Undeliverable {
		d.Until = time.Time{}
		return d
	}
	n := len(d.Transient)
	if k := max(r.Transients, 1); n >= k && d.Transient[n-1].Sub(d.Transient[n-k]) < r.Window {
		d.State, d.Since, d.Until = Resting, d.Transient[n-1], d.Transient[n-1].Add(r.Rest)
		return d
	}
	d.State, d.Since, d.Until = Deliverable, time.Time{}, time.Time{}
	return d
}

// complaint stops all marketing at once, as one ledger withdrawal whose
// source is the complaint, whatever mail it was about: someone who reports
// a policy notice as spam wants no more of our mail than the law requires.
// The notices themselves go on (owed by law, policy section 15: nothing
// here makes the person unreachable). A "not-spam" feedback is recorded
// only. The
// withdrawal is idempotent (nothing left to withdraw: no entry), and
// marketing comes back only through a confirmed sign-up, which clears what
// was heard before it: so any complaint, whenever it arrives, stops it.
func (f *Feedbacks) complaint(p Person, e Feedback, now time.Time) Change {
	d := p.Deliverability
	if e.FeedbackType == "not-spam" {
		d.LastNotSpam = later(d.LastNotSpam, e.At)
		return unlessSame(p, d, now)
	}
	d.LastComplaint = later(d.LastComplaint, e.At)
	s := &Subscriptions{Retention: f.Retention, NewID: f.NewID}
	ch := s.stopMarketing(p, now, Context{Source: ComplaintSource})
	if ch.After == nil {
		return unlessSame(p, d, now)
	}
	ch.After.Deliverability = d
	return ch
}
