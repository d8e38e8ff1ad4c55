package main

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// listStore is what sending to a list needs from the table.
type listStore interface {
	Members(ctx context.Context, purpose people.Purpose, cursor string, limit int32) ([]string, string, error)
	Person(ctx context.Context, personID string) (people.Person, error)
}

// marketingSender sends one marketing mail; its error wraps
// mail.ErrThrottled or mail.ErrHalted when SES refused the send so.
type marketingSender interface {
	SendMarketing(ctx context.Context, m mail.MarketingMail) error
}

// account is the SES account's max send rate, in messages a second (0:
// sending is disabled).
type account interface {
	MaxSendRate(ctx context.Context) (float64, error)
}

// maxTries is how often one member's mail is sent while SES throttles it
// before it counts as failed.
const maxTries = 5

// handler sends one marketing mail to everyone subscribed to a list, at or
// under the SES account's max send rate. It is invoked by an operator (or
// the local stack's dev page), never over HTTP.
type handler struct {
	store          listStore
	mailer         marketingSender
	account        account
	clock          mail.Clock
	keys           *token.Keys
	base           *url.URL
	unsubscribeTTL time.Duration
	log            *slog.Logger
}

// Send is the invocation input.
type Send struct {
	List       string   `json:"list"` // a marketing purpose; default "newsletter"
	Subject    string   `json:"subject"`
	Paragraphs []string `json:"paragraphs"` // plain text, at least one
}

// Result says what happened to each member of the list.
type Result struct {
	List    string  `json:"list"`
	Rate    float64 `json:"rate"` // the send rate kept, messages a second
	Sent    int     `json:"sent"`
	Skipped int     `json:"skipped"` // no longer subscribed by the time of sending, or erased
	// Undeliverable counts members SES's feedback says mail does not
	// reach (a permanent bounce, or a rest after transient ones): not sent,
	// neither skipped nor failed.
	Undeliverable int `json:"undeliverable"`
	Failed        int `json:"failed"`    // including members still throttled after maxTries sends
	Throttled     int `json:"throttled"` // sends SES throttled and that were tried again after a backoff
	// Stopped says why the run ended before the end of the list: the SES
	// account cannot send now, or the invocation ran out of time.
	Stopped string `json:"stopped,omitempty"`
}

// valid refuses, as a people.Error with code invalid (a 400 to whoever
// shows it), a send that cannot be right: no subject, a list that is not a
// marketing purpose, no paragraph.
func (in Send) valid() (people.Purpose, error) {
	if in.List == "" {
		in.List = string(people.Newsletter)
	}
	list := people.Purpose(in.List)
	switch {
	case strings.TrimSpace(in.Subject) == "":
		return "", people.Errorf(people.Invalid, "subject", "the subject is empty")
	case strings.ContainsFunc(in.Subject, unicode.IsControl):
		// A line break would start a header of its own (RFC 5322 section 2.2).
		return "", people.Errorf(people.Invalid, "subject", "the subject must be one line, without control characters")
	case !list.Marketing():
		return "", people.Errorf(people.Invalid, "list", "%q is not a marketing list", in.List)
	case !hasText(in.Paragraphs):
		return "", people.Errorf(people.Invalid, "paragraphs", "the newsletter has no text: give at least one paragraph")
	}
	return list, nil
}

func hasText(paragraphs []string) bool {
	for _, p := range paragraphs {
		if strings.TrimSpace(p) != "" {
			return true
		}
	}
	return false
}

func (h *handler) handle(ctx context.Context, in Send) (Result, error) {
	list, err := in.valid()
	if err != nil {
		return Result{}, err
	}
	if h.base == nil {
		return Result{}, errors.New("newsletter: PUBLIC_BASE_URL must be set: unsubscribe links need it")
	}
	rate, err := h.account.MaxSendRate(ctx)
	if err != nil {
		return Result{}, err
	}
	if rate <= 0 {
		return Result{}, errors.New("newsletter: the SES account's max send rate is 0: sending is not enabled")
	}
	// One mail a call: every member's mail carries their own unsubscribe link.
	run := &sending{handler: h, in: in, list: list, pace: mail.NewPacer(rate, 1, h.clock), res: Result{List: string(list), Rate: rate}}
	cursor := ""
	for run.res.Stopped == "" {
		ids, next, err := h.store.Members(ctx, list, cursor, 100)
		if err != nil {
			return run.res, err
		}
		for _, id := range ids {
			if run.res.Stopped != "" {
				break
			}
			run.sendOne(ctx, id)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	level := slog.LevelInfo
	if run.res.Stopped != "" {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "newsletter sent", "list", run.res.List, "rate", rate, "sent", run.res.Sent, "skipped", run.res.Skipped,
		"failed", run.res.Failed, "throttled", run.res.Throttled, "stopped", run.res.Stopped)
	// Not an error even when stopped: Lambda's retry would mail again
	// everyone already sent to. The operator reads Stopped and the counts.
	return run.res, nil
}

// sending is one run through a list.
type sending struct {
	*handler
	in   Send
	list people.Purpose
	pace *mail.Pacer
	res  Result
}

func (s *sending) sendOne(ctx context.Context, id string) {
	p, err := s.store.Person(ctx, id)
	switch {
	case errors.Is(err, people.ErrNotFound):
		s.res.Skipped++
		return
	case err != nil:
		s.res.Failed++
		s.log.ErrorContext(ctx, "reading a list member", "person", id, "err", err)
		return
	case !p.Has(s.list):
		s.res.Skipped++ // unsubscribed since the list was read: honoured at once
		return
	case !p.Deliverability.Reachable(s.clock.Now()):
		s.res.Undeliverable++
		return
	}
	tok := s.keys.Issue(token.Unsubscribe, id, []string{string(s.list)}, s.clock.Now(), s.unsubscribeTTL)
	m := mail.MarketingMail{
		PersonID: id, To: p.Email, Name: p.Name, List: s.list, Subject: s.in.Subject, Paragraphs: s.in.Paragraphs,
		UnsubscribeURL: web.TokenURL(s.base.String(), "/unsubscribe", tok),
	}
	for try := 1; ; try++ {
		if err := s.pace.Wait(ctx); err != nil {
			s.res.Stopped = "out of time"
			return
		}
		err := s.mailer.SendMarketing(ctx, m)
		switch {
		case err == nil:
			s.pace.Sent()
			s.res.Sent++
			return
		case errors.Is(err, mail.ErrHalted):
			s.pace.Sent()
			s.res.Stopped = "the SES account cannot send now (" + mail.ErrorCode(err) + ")"
			return
		case errors.Is(err, mail.ErrThrottled) && try < maxTries:
			s.res.Throttled++
			backoff := s.pace.Throttled()
			s.log.WarnContext(ctx, "newsletter throttled, backing off", "person", id, "try", try, "backoff", backoff)
		default:
			s.pace.Sent()
			s.res.Failed++
			s.log.ErrorContext(ctx, "sending", "person", id, "try", try, "code", mail.ErrorCode(err))
			return
		}
	}
}
