package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

// memPolicies keeps versions as the store does: the same again is a no-op,
// other content under a published version a conflict.
type memPolicies map[string]notice.Version

func (m memPolicies) Publish(_ context.Context, p notice.Policy, _ people.Clock) (notice.Version, bool, error) {
	if old, ok := m[p.Version]; ok {
		if !old.Policy.Same(p) {
			return old, false, people.Errorf(people.Conflict, "version", "already published")
		}
		return old, false, nil
	}
	v := notice.Version{Policy: p, Progress: notice.Progress{State: p.InitialState()}}
	m[p.Version] = v
	return v, true, nil
}

func (m memPolicies) PolicyVersion(_ context.Context, version string) (notice.Version, error) {
	if v, ok := m[version]; ok {
		return v, nil
	}
	return notice.Version{}, people.Errorf(people.NotFound, "version", "no such version")
}

// contract is api/openapi.yaml, which every answer here must match.
var contract = api.MustLoad()

type kicks []string

func (k *kicks) Kick(_ context.Context, version string) error {
	*k = append(*k, version)
	return errors.New("the kick fails: the schedule will start the run")
}

func TestPublishingKicksTheSenderOnceAndOnlyForAMaterialVersion(t *testing.T) {
	var kicked kicks
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := &handler{store: memPolicies{}, kicker: &kicked, minNotice: 30 * 24 * time.Hour, now: func() time.Time { return now },
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	post := func(body string) web.Response {
		t.Helper()
		req := web.Request{RouteKey: "POST /admin/policies", Body: body, Headers: map[string]string{"content-type": "application/json"}}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::1:user/ops"}}
		resp, err := h.handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.CheckEvent(req, resp); err != nil {
			t.Error(err)
		}
		return resp
	}
	material := `{"version":"2027-02","effective":"2027-01-31","material":true,"summary":"Surveys kept 12 months.","url":"https://example.com/p"}`
	if resp := post(material); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish = %d %s", resp.StatusCode, resp.Body)
	} else {
		var st Status
		json.Unmarshal([]byte(resp.Body), &st)
		if st.PublishedBy != "arn:aws:iam::1:user/ops" || st.State != notice.Pending {
			t.Fatalf("status = %+v; want the caller recorded and the notice pending", st)
		}
		// The fields operators and `make notice-status` read, by name.
		var fields map[string]any
		json.Unmarshal([]byte(resp.Body), &fields)
		for _, name := range []string{"version", "effective", "state", "total", "sent", "failed", "remaining", "late"} {
			if _, ok := fields[name]; !ok {
				t.Errorf("the status has no %q: %s", name, resp.Body)
			}
		}
	}
	if resp := post(material); resp.StatusCode != http.StatusOK {
		t.Fatalf("the same again = %d %s", resp.StatusCode, resp.Body)
	}
	minor := `{"version":"2027-02a","effective":"2026-11-26","material":false,"summary":"Typo fixed.","url":"https://example.com/p"}`
	if resp := post(minor); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a minor version = %d %s", resp.StatusCode, resp.Body)
	}
	if len(kicked) != 1 || kicked[0] != "2027-02" {
		t.Fatalf("kicked %v; want the material version once, a failed kick not failing the publish", kicked)
	}
	get := web.Request{RouteKey: "GET /admin/policies/{version}", PathParameters: map[string]string{"version": "nope"}}
	status, _ := h.handle(context.Background(), get)
	if status.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown version = %d", status.StatusCode)
	}
	if err := contract.CheckEvent(get, status); err != nil {
		t.Error(err)
	}
}
