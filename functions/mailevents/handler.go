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

type handler struct {
	store sentMarker
	now   func() time.Time
	log   *slog.Logger
}

// Result says what an event did, for the invocation's log and tests.
type Result struct {
	Marked  bool   `json:"marked,omitempty"`  // a notice record became sent
	Dropped string `json:"dropped,omitempty"` // why the event was dropped (mail.Drop*)
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
		return Result{}, nil
	}
	marked, err := h.store.MarkSent(ctx, sent, h.now()) // its error names the operation, version and person
	return Result{Marked: marked}, err
}

func (h *handler) drop(ctx context.Context, d *mail.DropError) Result {
	h.log.WarnContext(ctx, "mail event dropped", "reason", d.Reason, "type", d.Type)
	return Result{Dropped: d.Reason}
}
