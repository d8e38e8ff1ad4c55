package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
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

// mailCounter adds one to a daily aggregate counter (store.CountMail).
type mailCounter interface {
	CountMail(ctx context.Context, day time.Time, m mail.Metric) error
}

type handler struct {
	store  sentMarker
	counts mailCounter
	now    func() time.Time
	log    *slog.Logger
}

// Result says what an event did, for the invocation's log and tests.
type Result struct {
	Marked  bool   `json:"marked,omitempty"`  // a notice record became sent
	Dropped string `json:"dropped,omitempty"` // why the event was dropped (mail.Drop*)
	// Counted is the daily counter the event added one to, if any.
	Counted mail.Metric `json:"counted,omitempty"`
}

// handle maps one SES event to its person by the mail's tags. An event it
// cannot use is logged by its kind and dropped (answered, not failed:
// EventBridge would only deliver it again); a store error fails the
// invocation, so that EventBridge retries it.
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
	sent, ok := me.SentNotice()
	if !ok {
		// Deliveries, bounces, complaints, delays and rejections are read
		// and mapped, but no rule acts on them yet (issue 12, item 2).
		h.log.InfoContext(ctx, "mail event", "type", me.Type, "kind", me.Kind, "person", me.PersonID)
		return Result{Counted: h.countDaily(ctx, me, true)}, nil
	}
	marked, err := h.store.MarkSent(ctx, sent, h.now()) // its error names the operation, version and person
	if err != nil {
		return Result{Marked: marked}, err
	}
	// Not marked is no duplicate here: the notices run's Settle usually
	// marked the record sent before SES's event arrived.
	return Result{Marked: marked, Counted: h.countDaily(ctx, me, true)}, nil
}

// countDaily adds me to its daily aggregate counter (mail.Event.Metric), on
// the UTC day SES accepted the mail (mail.timestamp; the handling time if
// the event has none), after the event's person-side write: one UpdateItem
// more per counted event. It returns the metric counted, "" for none.
//
// fresh is the hook for deduplication: a person-side rule that finds the
// event already applied (a duplicate delivery) passes false, and the event
// is not counted again. Events with no person-side decision pass true, so
// their counts are at least once: EventBridge may deliver an event twice.
// A failed counter write is logged by its code and not retried: an
// aggregate is not worth the invocation's retry, which would run the
// person side again.
func (h *handler) countDaily(ctx context.Context, me mail.Event, fresh bool) mail.Metric {
	m, ok := me.Metric()
	if !ok || !fresh {
		return ""
	}
	day := me.Sent
	if day.IsZero() {
		day = h.now()
	}
	if err := h.counts.CountMail(ctx, day, m); err != nil {
		h.log.WarnContext(ctx, "mail counter not counted", "metric", m, "error", mail.ErrorCode(err))
		return ""
	}
	return m
}

func (h *handler) drop(ctx context.Context, d *mail.DropError) Result {
	h.log.WarnContext(ctx, "mail event dropped", "reason", d.Reason, "type", d.Type)
	return Result{Dropped: d.Reason}
}
