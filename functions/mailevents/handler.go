package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

// Event is what EventBridge delivers from SES's event destination.
type Event struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

type sentMarker interface {
	MarkSent(ctx context.Context, sent notice.Sent, now time.Time) (bool, error)
}

// feedbackApplier applies SES's feedback to a person (people.Feedbacks).
type feedbackApplier interface {
	Apply(ctx context.Context, personID string, e people.Feedback) (bool, error)
}

type handler struct {
	store    sentMarker
	feedback feedbackApplier
	// counts records one event under metric m at time at (emf: a log line
	// CloudWatch turns into a metric; no DynamoDB request).
	counts func(m mail.Metric, at time.Time)
	now    func() time.Time
	log    *slog.Logger
}

// Result says what an event did, for the invocation's log and tests.
type Result struct {
	Marked  bool   `json:"marked,omitempty"`  // a notice record became sent
	Applied bool   `json:"applied,omitempty"` // a bounce, complaint or delivery changed its person
	Dropped string `json:"dropped,omitempty"` // why the event was dropped (mail.Drop*, DropGone, "not-ses")
	// Counted is the daily mail metric the event added one to, if any.
	Counted mail.Metric `json:"counted,omitempty"`
}

// Why the rules drop an event the decoder took.
const (
	DropGone = "gone" // the event's person no longer exists (erased since the mail)
	// DropNotRecipient: the event's recipient is not the address of the
	// person its tags name (people.ErrNotRecipient).
	DropNotRecipient = "not-recipient"
)

// feedbackKinds are the SES event types a deliverability rule acts on.
var feedbackKinds = map[mail.EventType]people.FeedbackKind{
	mail.EventBounce: people.FeedbackBounce, mail.EventComplaint: people.FeedbackComplaint, mail.EventDelivery: people.FeedbackDelivery,
}

// invoke is the function's entry: it reads EventBridge's envelope itself,
// so that a payload of another shape is dropped as malformed, like a
// malformed detail, instead of failing the invocation (which Lambda would
// retry for an event that can never be read).
func (h *handler) invoke(ctx context.Context, payload json.RawMessage) (Result, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return h.drop(ctx, &mail.DropError{Reason: mail.DropMalformed, Type: "?"}), nil
	}
	return h.handle(ctx, ev)
}

// handle maps one SES event to its person by the mail's tags: a notice's
// Send event marks its record sent; a bounce, complaint or delivery goes
// through the deliverability rules (people.Feedbacks, issue 12), which
// also check that the event's recipient list names the person's address.
// An event it cannot use, for a person who no longer exists, or whose
// recipient is not the person's address is logged by its kind and dropped
// (answered, not failed: a retry would only fail again); a store error
// fails the invocation, which Lambda retries (EventBridge invokes it
// asynchronously: by default twice more within minutes, then the event is
// dropped, and the errors alarm fires).
func (h *handler) handle(ctx context.Context, ev Event) (Result, error) {
	if ev.Source != "aws.ses" {
		return h.drop(ctx, &mail.DropError{Reason: "not-ses", Type: "?"}), nil
	}
	me, err := mail.DecodeEvent(ev.Detail)
	var drop *mail.DropError
	if errors.As(err, &drop) {
		return h.drop(ctx, drop), nil
	}
	if err != nil {
		return Result{}, err
	}
	if sent, ok := me.SentNotice(); ok {
		marked, err := h.store.MarkSent(ctx, sent, h.now()) // its error names the operation, version and person
		if err != nil {
			return Result{Marked: marked}, err
		}
		// Not marked is no duplicate here: the notices run's Settle usually
		// marked the record sent before SES's event arrived.
		return Result{Marked: marked, Counted: h.countDaily(me, true)}, nil
	}
	kind, ok := feedbackKinds[me.Type]
	if !ok {
		// Other sends, delays and rejections change nobody.
		h.log.InfoContext(ctx, "mail event", "type", me.Type, "kind", me.Kind, "person", me.PersonID)
		return Result{Counted: h.countDaily(me, true)}, nil
	}
	// The tag names the key the person had when the mail went out; a
	// correction of their address since moved them (people.FollowMoves).
	applied, err := h.feedback.Apply(people.FollowMoves(ctx), me.PersonID, people.Feedback{
		Kind: kind, MessageID: me.MessageID, At: me.Sent, MailKind: string(me.Kind),
		BounceType: me.BounceType, FeedbackType: me.FeedbackType, Recipient: me.Recipient,
	})
	switch {
	case errors.Is(err, people.ErrNotFound):
		return h.drop(ctx, &mail.DropError{Reason: DropGone, Type: string(me.Type)}), nil
	case errors.Is(err, people.ErrNotRecipient):
		return h.drop(ctx, &mail.DropError{Reason: DropNotRecipient, Type: string(me.Type)}), nil
	}
	if err != nil {
		return Result{}, err
	}
	h.log.InfoContext(ctx, "mail event", "type", me.Type, "kind", me.Kind, "person", me.PersonID, "applied", applied,
		"bounceType", me.BounceType, "bounceSubType", me.BounceSubType, "feedbackType", me.FeedbackType)
	// Not applied is not always a duplicate (an older delivery, an
	// undetermined bounce, a bounce while undeliverable change nothing of
	// the person but are events all the same): the counts stay at least once.
	return Result{Applied: applied, Counted: h.countDaily(me, true)}, nil
}

// countDaily adds me to its daily mail metric (mail.Event.Metric) as one
// embedded-metric-format line on the function's output (emf): CloudWatch
// sums the lines into the metric, so counting costs no DynamoDB request and
// an event costs no more than its person-side write. The line is stamped
// with the time SES accepted the mail (mail.timestamp), so a day's sum is
// of the mails SES accepted that day, UTC, whenever their events arrive; an
// event without that time, or with one CloudWatch would refuse (more than
// metricMaxAge old, or in the future), is stamped with the handling time.
// It returns the metric counted, "" for none.
//
// The metrics count ARRIVALS, at least once per distinct event: an event
// EventBridge delivers twice (or an invocation retried after a store
// error) counts twice, so a day's sum may run over the true count by the
// duplicate rate (SES over EventBridge: rare; alarms use SES's own
// reputation metrics, not these). Counting each event exactly once would
// cost a conditional write of a marker per event, for an aggregate: not
// worth it. The person side never counts a duplicate twice.
// fresh is the hook should a caller know an event for a duplicate: false
// does not count it; every caller today passes true.
func (h *handler) countDaily(me mail.Event, fresh bool) mail.Metric {
	m, ok := me.Metric()
	if !ok || !fresh {
		return ""
	}
	at, now := me.Sent, h.now()
	if at.IsZero() || at.After(now) || now.Sub(at) > metricMaxAge {
		at = now
	}
	h.counts(m, at)
	return m
}

func (h *handler) drop(ctx context.Context, d *mail.DropError) Result {
	h.log.WarnContext(ctx, "mail event dropped", "reason", d.Reason, "type", d.Type)
	return Result{Dropped: d.Reason}
}
