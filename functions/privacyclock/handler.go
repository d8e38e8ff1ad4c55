package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/smithy-go"
	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// Run is the input EventBridge Scheduler sends (the schedule's Input).
type Run struct {
	// Now replaces the clock, on the local stack only (CLOCK_OVERRIDE=allow),
	// so tests can run the clock as of a later day. Deployed functions refuse it.
	Now string `json:"now,omitempty"`
}

// Result is what one run did: counts only.
type Result struct {
	Open      int `json:"open"`
	Expired   int `json:"expired"`
	Erased    int `json:"erased"`
	Completed int `json:"completed"`
	Reminders int `json:"reminders"`
	Notified  int `json:"notified"` // events published to the downstream systems
	Overdue   int `json:"overdue"`
	Failed    int `json:"failed"`
}

// requestStore is what the clock needs of the store.
type requestStore interface {
	OpenRequests(ctx context.Context) ([]privacy.Request, error)
	UpdateRequest(ctx context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error)
	// UpdatePerson is the one way a person changes (people.Store): a
	// deletion erases through it, as the retention sweep does.
	UpdatePerson(ctx context.Context, personID string, decide people.Decide) (people.Change, error)
}

type mailer interface {
	SendRequest(ctx context.Context, m mail.RequestMail) error
}

// Announcement is one reminder or overdue notice, as an EventBridge event's
// detail: the request's id, kind, status and due date, never the address
// or the person.
type Announcement struct {
	Request string           `json:"requestId"`
	Kind    privacy.Kind     `json:"kind"`
	Status  privacy.Status   `json:"status"`
	Due     time.Time        `json:"due"`
	Stage   privacy.Reminder `json:"stage"`
	// WaitingOn names the downstream systems that have not answered yet.
	WaitingOn []string `json:"waitingOn,omitempty"`
}

// announcer publishes announcements to EventBridge (events.go).
type announcer interface {
	Announce(ctx context.Context, as []Announcement) error
}

// handler moves open requests along: expiry of unverified ones, the end of
// a deletion's cool-off (erasure, then the last mail), reminders at 7 and 2
// days before the due date and overdue notices (EventBridge events), and
// the count of overdue requests as a CloudWatch metric. It reads what is
// open (store.OpenRequests), never the table; every change is one
// conditional write through the store's UpdateRequest, so a run that
// repeats (Scheduler retries, two overlapping runs) changes nothing twice.
type handler struct {
	requests      requestStore
	moves         mover // finishes corrections whose move was cut off (correct.go)
	mail          mailer
	events        announcer
	downstream    downstream.Publisher // the systems' bus: requests not yet announced to them (notify.go)
	retention     people.Retention
	now           func() time.Time
	allowOverride bool
	log           *slog.Logger
	metrics       func(Result, time.Time) // writes the metric line (emf)
}

func (h *handler) handle(ctx context.Context, in Run) (Result, error) {
	now := h.now().UTC()
	if in.Now != "" {
		if !h.allowOverride {
			return Result{}, fmt.Errorf("privacyclock: a clock override is refused outside the local stack")
		}
		t, err := time.Parse(time.RFC3339, in.Now)
		if err != nil {
			return Result{}, fmt.Errorf("privacyclock: now %q: %w", in.Now, err)
		}
		now = t.UTC()
	}
	open, err := h.requests.OpenRequests(ctx)
	if err != nil {
		return Result{}, err // Scheduler retries
	}
	res := Result{Open: len(open)}
	var announce []Announcement
	for _, r := range open {
		if r.Kind == privacy.Correct {
			q, err := h.correction(ctx, r, now, &res)
			if err != nil {
				res.Failed++
				h.log.ErrorContext(ctx, "privacy request: a correction's step failed, retried next run", "request", r.ID, "code", errorCode(err))
				continue
			}
			r = q
		}
		// The decisions run first on the request as listed (a consistent
		// read): only a request with something due is read and written
		// again, so a run costs what is open to list and what is due to do.
		if _, step := privacy.Advance(r, now); step != privacy.Wait {
			var err error
			if r, err = h.advance(ctx, r, now, &res); err != nil {
				res.Failed++
				h.log.ErrorContext(ctx, "privacy request: step failed, retried next run", "request", r.ID, "code", errorCode(err))
				continue
			}
		}
		// After the step: a web deletion is announced in the run that
		// ends its cool-off (privacy.Request.InCoolOff).
		r = h.notify(ctx, r, now, &res)
		if !r.Status.Open() {
			continue
		}
		if q, _ := privacy.Remind(r, now); q == nil {
			if r.IsOverdue(now) {
				res.Overdue++
			}
			continue
		}
		var stage privacy.Reminder
		q, changed, err := h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) {
			q, s := privacy.Remind(r, now)
			stage = s
			return q, nil
		})
		if err != nil {
			res.Failed++
			h.log.ErrorContext(ctx, "privacy request: reminder failed, retried next run", "request", r.ID, "code", errorCode(err))
			continue
		}
		if changed {
			announce = append(announce, Announcement{Request: q.ID, Kind: q.Kind, Status: q.Status, Due: q.Due, Stage: stage, WaitingOn: q.Waiting()})
		}
		if q.IsOverdue(now) {
			res.Overdue++
		}
	}
	if len(announce) > 0 {
		if err := h.events.Announce(ctx, announce); err != nil {
			// The reminders were recorded before the publication: they are
			// taken back, so the next run announces them again (at least
			// once; a batch EventBridge took in part is announced twice).
			res.Failed++
			h.log.ErrorContext(ctx, "privacy request: publishing reminders failed, retried next run", "reminders", len(announce), "code", errorCode(err))
			for _, a := range announce {
				if _, _, err := h.requests.UpdateRequest(ctx, a.Request, func(r privacy.Request) (*privacy.Request, error) {
					return privacy.Unremind(r, a.Stage, now), nil
				}); err != nil {
					h.log.ErrorContext(ctx, "privacy request: a reminder not announced stays recorded", "request", a.Request, "code", errorCode(err))
				}
			}
		} else {
			res.Reminders = len(announce)
		}
	}
	h.metrics(res, now)
	h.log.InfoContext(ctx, "privacy clock", "open", res.Open, "expired", res.Expired, "erased", res.Erased, "completed", res.Completed,
		"reminders", res.Reminders, "overdue", res.Overdue, "failed", res.Failed)
	return res, nil
}

// advance takes one request through what is due of its life at now
// (privacy.Advance) and returns it as it then stands.
func (h *handler) advance(ctx context.Context, r privacy.Request, now time.Time, res *Result) (privacy.Request, error) {
	var step privacy.Step
	q, changed, err := h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) {
		q, s := privacy.Advance(r, now)
		step = s
		return q, nil
	})
	switch {
	case err != nil:
		return r, err
	case step == privacy.Expire && changed:
		res.Expired++
		h.log.InfoContext(ctx, "privacy request expired unverified", "request", q.ID, "kind", q.Kind)
	case step == privacy.StartErasure, step == privacy.Erase:
		return h.erase(ctx, q, now, res)
	}
	return q, nil
}

// erase carries out a deletion in progress: the person is erased through
// the one update path, with the retention sweep's erasure (privacy.Erasure),
// then the request is completed (its address dropped) and the last mail
// goes to the address, once: a run cut off between the two erases nothing
// twice (the person is gone) and completes the request then.
func (h *handler) erase(ctx context.Context, r privacy.Request, now time.Time, res *Result) (privacy.Request, error) {
	reachable := true
	ch, err := h.requests.UpdatePerson(ctx, r.PersonID, func(p people.Person) (people.Change, error) {
		reachable = !p.Exists() || p.Deliverability.Reachable(now)
		return privacy.Erasure(p, h.retention, now), nil
	})
	if err != nil {
		return r, err
	}
	if ch.Erase != nil {
		res.Erased++
	}
	var email string
	q, changed, err := h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) {
		email = r.Email
		return privacy.Complete(r, now), nil
	})
	if err != nil || !changed {
		return q, err
	}
	if q.Status.Open() {
		// Erased; the downstream systems' last answer completes it
		// (privacy.Acknowledge) and the requests function sends the last mail.
		h.log.InfoContext(ctx, "privacy request: erased, waiting for downstream systems", "person", q.PersonID, "request", q.ID, "waiting", len(q.Waiting()))
		return q, nil
	}
	res.Completed++
	h.log.InfoContext(ctx, "privacy request: deletion completed", "person", q.PersonID, "request", q.ID, "erased", ch.Erase != nil)
	if email == "" || !reachable {
		return q, nil
	}
	if err := h.mail.SendRequest(ctx, mail.RequestMail{PersonID: q.PersonID, To: email, Topic: mail.RequestErased, Kind: q.Kind.Label(), Due: q.Due}); err != nil {
		// The address is gone with the request: the mail is not retried.
		res.Failed++
		h.log.ErrorContext(ctx, "privacy request: the last mail failed", "request", q.ID, "code", mail.ErrorCode(err))
	}
	return q, nil
}

// errorCode is what a log may say of an error: the AWS error code, or the
// domain's code, never an SDK error's text (it can carry an address).
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if e, ok := people.AsError(err); ok {
		return string(e.Code)
	}
	return "error"
}
