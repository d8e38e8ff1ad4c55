package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

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

type marketingSender interface {
	SendMarketing(ctx context.Context, m mail.MarketingMail) error
}

// handler sends one marketing mail to everyone subscribed to a list. It is
// invoked by an operator (or `make dev`'s sample send), never over HTTP.
type handler struct {
	store          listStore
	mailer         marketingSender
	keys           *token.Keys
	base           *url.URL
	unsubscribeTTL time.Duration
	now            func() time.Time
	log            *slog.Logger
}

// Send is the invocation input.
type Send struct {
	List       string   `json:"list"` // a marketing purpose; default "newsletter"
	Subject    string   `json:"subject"`
	Paragraphs []string `json:"paragraphs"`
}

// Result says what happened to each member of the list.
type Result struct {
	List    string `json:"list"`
	Sent    int    `json:"sent"`
	Skipped int    `json:"skipped"` // no longer subscribed by the time of sending, or erased
	Failed  int    `json:"failed"`
}

var sample = Send{
	List:    string(people.Newsletter),
	Subject: "The SmartProtect newsletter",
	Paragraphs: []string{
		"This is a sample newsletter from the local pledge stack.",
		"Use the link at the bottom to unsubscribe or change what we send you. Your mail program may also offer a one-click unsubscribe button.",
	},
}

func (h *handler) handle(ctx context.Context, in Send) (Result, error) {
	if in.List == "" {
		in.List = sample.List
	}
	if in.Subject == "" {
		in.Subject, in.Paragraphs = sample.Subject, sample.Paragraphs
	}
	list := people.Purpose(in.List)
	if !list.Marketing() {
		return Result{}, fmt.Errorf("newsletter: %q is not a marketing list", in.List)
	}
	if h.base == nil {
		return Result{}, errors.New("newsletter: PUBLIC_BASE_URL must be set: unsubscribe links need it")
	}
	res := Result{List: in.List}
	cursor := ""
	for {
		ids, next, err := h.store.Members(ctx, list, cursor, 100)
		if err != nil {
			return res, err
		}
		for _, id := range ids {
			h.sendOne(ctx, id, list, in, &res)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	h.log.InfoContext(ctx, "newsletter sent", "list", res.List, "sent", res.Sent, "skipped", res.Skipped, "failed", res.Failed)
	return res, nil
}

func (h *handler) sendOne(ctx context.Context, id string, list people.Purpose, in Send, res *Result) {
	p, err := h.store.Person(ctx, id)
	switch {
	case errors.Is(err, people.ErrNotFound):
		res.Skipped++
		return
	case err != nil:
		res.Failed++
		h.log.ErrorContext(ctx, "reading a list member", "person", id, "err", err)
		return
	case !p.Has(list):
		res.Skipped++ // unsubscribed since the list was read: honoured at once
		return
	}
	tok := h.keys.Issue(token.Unsubscribe, id, []string{string(list)}, h.now(), h.unsubscribeTTL)
	err = h.mailer.SendMarketing(ctx, mail.MarketingMail{
		PersonID: id, To: p.Email, Name: p.Name, List: list, Subject: in.Subject, Paragraphs: in.Paragraphs,
		UnsubscribeURL: web.TokenURL(h.base.String(), "/unsubscribe", tok),
	})
	if err != nil {
		res.Failed++
		h.log.ErrorContext(ctx, "sending", "person", id, "err", err)
		return
	}
	res.Sent++
}
