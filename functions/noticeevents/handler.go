package main

import (
	"context"
	"encoding/json"
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
	Marked  bool `json:"marked"`
	Ignored bool `json:"ignored,omitempty"` // not a notice's send event
}

func (h *handler) handle(ctx context.Context, ev Event) (Result, error) {
	sent, ok := mail.SentNotice(ev.Detail)
	if ev.Source != "aws.ses" || !ok {
		return Result{Ignored: true}, nil // another mail's event: nothing of ours
	}
	marked, err := h.store.MarkSent(ctx, sent, h.now())
	if err != nil {
		// Failing the invocation makes EventBridge retry it.
		h.log.ErrorContext(ctx, "marking a notice sent", "version", sent.Version, "person", sent.PersonID, "err", err)
		return Result{}, err
	}
	return Result{Marked: marked}, nil
}
