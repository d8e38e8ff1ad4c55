package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/web"
)

// requestReader reads privacy requests (store.Store).
type requestReader interface {
	OpenRequests(ctx context.Context) ([]privacy.Request, error)
	ClosedRequests(ctx context.Context, month string) ([]privacy.Request, error)
	Request(ctx context.Context, id string) (privacy.Request, error)
}

// handler serves staff's IAM-authorised view of privacy requests: the
// open ones (or those of one open status), a month's closed ones (of one
// closed status), and one request. Answers carry no address.
type handler struct {
	store requestReader
	staff *desk // staff.go: intake, completion, refusal, extension, systems' answers
	now   func() time.Time
	log   *slog.Logger
}

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	switch req.RouteKey {
	case "GET /admin/requests":
		return h.list(ctx, req)
	case "GET /admin/requests/{id}":
		return h.one(ctx, req)
	case "POST /admin/requests", "POST /admin/requests/{id}/complete", "POST /admin/requests/{id}/refuse",
		"POST /admin/requests/{id}/extend", "POST /admin/requests/{id}/systems/{name}":
		return h.staff.handle(ctx, req)
	}
	return web.FailAPI(people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// listAnswer is GET /admin/requests.
type listAnswer struct {
	Status   string            `json:"status"`
	Month    string            `json:"month,omitempty"`
	Overdue  int               `json:"overdue"`
	Requests []privacy.Summary `json:"requests"`
}

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// list answers ?status=open (the default: every open request, soonest due
// first), ?status=<an open status>, or ?status=<a closed status>&month=yyyy-mm
// (default: this month).
func (h *handler) list(ctx context.Context, req web.Request) (web.Response, error) {
	now := h.now().UTC()
	status := web.Query(req, "status")
	if status == "" {
		status = "open"
	}
	var want privacy.Status
	if status != "open" {
		s, err := privacy.ParseStatus(status)
		if err != nil {
			return web.FailAPI(err)
		}
		want = s
	}
	ans := listAnswer{Status: status, Requests: []privacy.Summary{}}
	var rs []privacy.Request
	var err error
	if want == "" || want.Open() {
		if web.Query(req, "month") != "" {
			return web.FailAPI(people.Errorf(people.Invalid, "month", "open requests are listed whatever month they came in"))
		}
		rs, err = h.store.OpenRequests(ctx)
	} else {
		ans.Month = web.Query(req, "month")
		if ans.Month == "" {
			ans.Month = now.Format("2006-01")
		}
		if !monthPattern.MatchString(ans.Month) {
			return web.FailAPI(people.Errorf(people.Invalid, "month", "give the month as yyyy-mm"))
		}
		rs, err = h.store.ClosedRequests(ctx, ans.Month)
	}
	if err != nil {
		return web.FailAPI(err)
	}
	for _, r := range rs {
		if want != "" && r.Status != want {
			continue
		}
		if r.IsOverdue(now) {
			ans.Overdue++
		}
		ans.Requests = append(ans.Requests, r.Summary())
	}
	h.log.InfoContext(ctx, "requests listed", "caller", web.Caller(req), "status", status, "count", len(ans.Requests))
	return web.JSON(http.StatusOK, ans), nil
}

// detailAnswer is GET /admin/requests/{id}: the record, without the address.
type detailAnswer struct {
	privacy.Summary
	Person      string             `json:"person"`
	Channel     string             `json:"channel,omitempty"`
	Expires     time.Time          `json:"expires,omitzero"`
	VerifiedAt  time.Time          `json:"verified,omitzero"`
	CoolOffEnds time.Time          `json:"cool_off_ends,omitzero"`
	ReasonText  string             `json:"reason_text,omitempty"`
	Reminded    []privacy.Reminder `json:"reminded,omitempty"`
	Overdue     bool               `json:"overdue"`
	staffView                      // staff.go
}

// detail is r's answer at now.
func detail(r privacy.Request, now time.Time) detailAnswer {
	return detailAnswer{Summary: r.Summary(), Person: r.PersonID, Channel: r.Channel, Expires: r.Expires,
		VerifiedAt: r.VerifiedAt, CoolOffEnds: r.CoolOffEnds, ReasonText: r.ReasonText, Reminded: r.Reminded, Overdue: r.IsOverdue(now),
		staffView: newStaffView(r)}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (h *handler) one(ctx context.Context, req web.Request) (web.Response, error) {
	id := req.PathParameters["id"]
	if !idPattern.MatchString(id) {
		return web.FailAPI(people.Errorf(people.Invalid, "id", "not a request id"))
	}
	r, err := h.store.Request(ctx, id)
	if errors.Is(err, people.ErrNotFound) {
		return web.FailAPI(people.Errorf(people.NotFound, "id", "no such request"))
	}
	if err != nil {
		return web.FailAPI(err)
	}
	return web.JSON(http.StatusOK, detail(r, h.now())), nil
}
