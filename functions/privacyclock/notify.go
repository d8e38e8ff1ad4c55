package main

import (
	"context"
	"time"

	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/privacy"
)

// notify publishes r's event to the downstream systems if it is verified
// and was not published yet (the function that verified or entered it
// could not: EventBridge failed, or it was cut off), and returns r as it
// then stands. A failure is counted and logged; the next run tries again.
func (h *handler) notify(ctx context.Context, r privacy.Request, now time.Time, res *Result) privacy.Request {
	if !r.NeedsNotice() {
		return r
	}
	q, err := downstream.Notify(ctx, h.requests, h.downstream, r, now)
	if err != nil {
		res.Failed++
		h.log.ErrorContext(ctx, "privacy request: downstream event failed, retried next run", "request", r.ID, "code", errorCode(err))
		return r
	}
	res.Notified++
	return q
}
