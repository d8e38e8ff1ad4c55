package main

import (
	"context"
	"errors"
	"time"

	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// mover finishes the move of an address correction (store.Store).
type mover interface {
	MovePerson(ctx context.Context, m store.Move) error
}

// moveSettle is how long after its last write a correction in progress is
// left to the run that moves it (the privacy function's timeout is 10 s):
// only a move older than that was cut off, and the clock finishes it.
const moveSettle = time.Minute

// cutOff reports whether r is an address correction whose move was cut
// off (its run ended, killed or timed out, before completing it) as of now.
func cutOff(r privacy.Request, now time.Time) bool {
	return r.Kind == privacy.Correct && r.Status == privacy.InProgress && now.Sub(r.UpdatedAt) > moveSettle
}

// correction moves a correction along before the other steps: a move cut
// off is finished (finishMove), one whose new mailbox never confirmed
// lapses (privacy.LapseMove).
func (h *handler) correction(ctx context.Context, r privacy.Request, now time.Time, res *Result) (privacy.Request, error) {
	switch {
	case cutOff(r, now):
		q, err := h.finishMove(ctx, r, now)
		if err == nil && q.Status == privacy.Completed {
			res.Completed++
		}
		return q, err
	case privacy.LapseMove(r, privacy.DefaultTiming.LinkTTL, now) != nil:
		q, changed, err := h.requests.UpdateRequest(ctx, r.ID, func(q privacy.Request) (*privacy.Request, error) {
			return privacy.LapseMove(q, privacy.DefaultTiming.LinkTTL, now), nil
		})
		if err == nil && changed {
			res.Expired++
		}
		return q, err
	}
	return r, nil
}

// finishMove finishes the move of r (store.MovePerson resumes where the
// cut-off run stopped) and completes r; a new address that came to belong
// to someone else before the move began refuses r, nothing moved. The
// person is not mailed: the status page says it is done.
func (h *handler) finishMove(ctx context.Context, r privacy.Request, now time.Time) (privacy.Request, error) {
	c := r.Correction
	err := h.moves.MovePerson(ctx, store.Move{From: c.From, To: c.PersonID, Email: c.Email, RequestID: r.ID, At: c.Confirmed, EntryID: r.ID})
	decide := func(q privacy.Request) (*privacy.Request, error) { return privacy.CompleteCorrection(q, now), nil }
	switch {
	case errors.Is(err, privacy.ErrAddressTaken):
		decide = func(q privacy.Request) (*privacy.Request, error) { return privacy.RefuseTaken(q, now), nil }
	case err != nil:
		return r, err
	}
	q, _, err := h.requests.UpdateRequest(ctx, r.ID, decide)
	if err != nil {
		return r, err
	}
	h.log.InfoContext(ctx, "privacy request: a cut-off correction finished", "request", r.ID, "status", q.Status)
	return q, nil
}
