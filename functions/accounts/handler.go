package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

type accountRecorder interface {
	Record(ctx context.Context, in people.AccountInput) (people.AccountResult, error)
}

type handler struct {
	accounts accountRecorder
	log      *slog.Logger
}

// event is the body of POST /admin/accounts.
type event struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Event string `json:"event"` // "opened" or "closed"
	At    string `json:"at"`    // RFC 3339
}

// answer is what the product is told: the account state now recorded and,
// when the event changed it, the retention clock that runs.
type answer struct {
	Person    string     `json:"person"` // the keyed id, as in pledge's logs
	Account   string     `json:"account"`
	Changed   bool       `json:"changed"`
	Held      bool       `json:"held"`
	Retention *retention `json:"retention,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// retention says which rule will erase the person, and when, unless
// something moves the clock (the account reopening, confirmed activity).
type retention struct {
	Rule string    `json:"rule"`
	Due  time.Time `json:"due"`
}

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	if req.RouteKey != "POST /admin/accounts" {
		return web.FailAPI(people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
	}
	var in event
	if err := web.DecodeAPI(req, &in, "the account event"); err != nil {
		return web.FailAPI(err)
	}
	res, err := h.accounts.Record(ctx, people.AccountInput{Email: in.Email, Name: in.Name, Event: in.Event, At: in.At})
	if err != nil {
		return web.FailAPI(err)
	}
	out := answer{Person: res.PersonID, Account: string(res.State), Changed: res.Changed, Held: res.Held, Reason: res.Reason}
	if out.Account == "" {
		out.Account = "none"
	}
	if !res.Clock.IsZero() {
		out.Retention = &retention{Rule: string(res.Clock.Rule), Due: res.Clock.Due}
	}
	if res.Changed {
		h.log.InfoContext(ctx, "account event recorded", "person", res.PersonID, "account", res.State, "by", web.Caller(req))
	}
	return web.JSON(http.StatusOK, out), nil
}
