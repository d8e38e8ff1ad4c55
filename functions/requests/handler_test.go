package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/web"
)

type memRequests struct {
	open, closed []privacy.Request
	months       []string
}

func (m *memRequests) OpenRequests(context.Context) ([]privacy.Request, error) { return m.open, nil }
func (m *memRequests) ClosedRequests(_ context.Context, month string) ([]privacy.Request, error) {
	m.months = append(m.months, month)
	return m.closed, nil
}
func (m *memRequests) Request(_ context.Context, id string) (privacy.Request, error) {
	for _, r := range append(m.open, m.closed...) {
		if r.ID == id {
			return r, nil
		}
	}
	return privacy.Request{}, people.ErrNotFound
}

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func fixture() (*handler, *memRequests) {
	// A deletion verified 31 days ago that was never carried out: overdue.
	stuck, _ := privacy.DefaultTiming.Verify(privacy.DefaultTiming.New("u1", "p1", privacy.Delete, "a@example.com", t0.Add(-31*24*time.Hour), "n"), "n", true, t0.Add(-31*24*time.Hour))
	unverified := privacy.DefaultTiming.New("u2", "p3", privacy.Access, "c@example.com", t0, "n")
	v, _ := privacy.DefaultTiming.Verify(privacy.DefaultTiming.New("d1", "p2", privacy.Delete, "b@example.com", t0, "n"), "n", true, t0)
	c, _ := privacy.Cancel(*v, t0)
	c.ID = "c1"
	m := &memRequests{open: []privacy.Request{*stuck, unverified, *v}, closed: []privacy.Request{*c}}
	return &handler{store: m, now: func() time.Time { return t0 }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, m
}

// contract is api/openapi.yaml, which every answer here must match.
var contract = api.MustLoad()

func call(t *testing.T, h *handler, route, query string, params map[string]string) (int, string) {
	t.Helper()
	req := web.Request{RouteKey: route, RawQueryString: query, PathParameters: params}
	resp, err := h.handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := contract.CheckEvent(req, resp); err != nil {
		t.Errorf("the answer breaks api/openapi.yaml: %v", err)
	}
	return resp.StatusCode, resp.Body
}

func TestListingOpenRequestsByStatusCountsTheOverdueAndShowsNoAddress(t *testing.T) {
	h, _ := fixture()
	status, body := call(t, h, "GET /admin/requests", "", nil)
	var got listAnswer
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Requests) != 3 || got.Overdue != 1 || strings.Contains(body, "@") {
		t.Fatalf("open = %d %s", status, body)
	}
	status, body = call(t, h, "GET /admin/requests", "status=verified", nil)
	if json.Unmarshal([]byte(body), &got) != nil || len(got.Requests) != 2 || got.Requests[0].ID != "u1" || got.Requests[1].ID != "d1" {
		t.Fatalf("verified = %d %s", status, body)
	}
}

func TestClosedRequestsAreListedByMonth(t *testing.T) {
	h, m := fixture()
	status, body := call(t, h, "GET /admin/requests", "status=cancelled", nil)
	if status != 200 || !strings.Contains(body, `"id":"c1"`) || m.months[0] != "2027-01" {
		t.Fatalf("cancelled = %d %s, months %v", status, body, m.months)
	}
	call(t, h, "GET /admin/requests", "status=completed&month=2026-12", nil)
	if m.months[1] != "2026-12" {
		t.Fatalf("months %v", m.months)
	}
}

func TestBadQueriesAreA400(t *testing.T) {
	h, _ := fixture()
	for _, q := range []string{"status=open-ish", "status=completed&month=2026-13", "status=verified&month=2026-11", "status=completed&month=26-1"} {
		if status, body := call(t, h, "GET /admin/requests", q, nil); status != 400 {
			t.Errorf("%s = %d %s", q, status, body)
		}
	}
}

func TestOneRequestIsReadByID(t *testing.T) {
	h, _ := fixture()
	status, body := call(t, h, "GET /admin/requests/{id}", "", map[string]string{"id": "c1"})
	var got detailAnswer
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Status != privacy.Cancelled || got.Person != "p2" || strings.Contains(body, "@") {
		t.Fatalf("c1 = %d %s", status, body)
	}
	if status, _ := call(t, h, "GET /admin/requests/{id}", "", map[string]string{"id": "nope"}); status != 404 {
		t.Fatalf("unknown = %d", status)
	}
	if status, _ := call(t, h, "GET /admin/requests/{id}", "", map[string]string{"id": "../x"}); status != 400 {
		t.Fatalf("bad id = %d", status)
	}
}
