package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

type policyStore interface {
	Publish(ctx context.Context, p notice.Policy, records people.Clock) (notice.Version, bool, error)
	PolicyVersion(ctx context.Context, version string) (notice.Version, error)
}

// kicker starts a notices run now rather than at the next scheduled one.
type kicker interface {
	Kick(ctx context.Context, version string) error
}

type handler struct {
	store       policyStore
	kicker      kicker
	minNotice   time.Duration
	recordsKept time.Duration
	now         func() time.Time
	log         *slog.Logger
}

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	switch req.RouteKey {
	case "POST /admin/policies":
		return h.publish(ctx, req)
	case "GET /admin/policies/{version}":
		return h.status(ctx, req)
	}
	return web.FailAPI(people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

func (h *handler) publish(ctx context.Context, req web.Request) (web.Response, error) {
	var in notice.Publication
	if err := web.DecodeAPI(req, &in, "the policy version"); err != nil {
		return web.FailAPI(err)
	}
	pol, err := in.Validate(h.now(), h.minNotice, web.Caller(req))
	if err != nil {
		return web.FailAPI(err)
	}
	v, created, err := h.store.Publish(ctx, pol, pol.RecordsClock(h.recordsKept))
	if err != nil {
		return web.FailAPI(err)
	}
	status := http.StatusOK // the same version again: nothing changed
	if created {
		status = http.StatusCreated
		h.log.InfoContext(ctx, "policy version published", "version", pol.Version, "effective", pol.Effective,
			"material", pol.Material, "by", pol.PublishedBy)
		if pol.Material {
			// The schedule would start it within minutes anyway; a failed
			// kick only costs those minutes.
			if err := h.kicker.Kick(ctx, pol.Version); err != nil {
				h.log.WarnContext(ctx, "kicking the notices function", "version", pol.Version, "err", err)
			}
		}
	}
	return web.JSON(status, statusOf(v, h.now())), nil
}

func (h *handler) status(ctx context.Context, req web.Request) (web.Response, error) {
	version := req.PathParameters["version"]
	if err := notice.ValidVersion(version); err != nil {
		return web.FailAPI(err)
	}
	v, err := h.store.PolicyVersion(ctx, version)
	if err != nil {
		return web.FailAPI(err)
	}
	return web.JSON(http.StatusOK, statusOf(v, h.now())), nil
}

// Status is a version and where its notice stands.
type Status struct {
	notice.Policy
	notice.Progress
	Remaining       int       `json:"remaining"`
	EstimatedFinish time.Time `json:"estimatedFinish,omitzero"`
	// Late is true when the notice will not reach everyone before the
	// version takes effect.
	Late bool `json:"late"`
}

func statusOf(v notice.Version, now time.Time) Status {
	p := v.Progress
	return Status{Policy: v.Policy, Progress: p, Remaining: p.Remaining(), EstimatedFinish: p.EstimatedFinish(now), Late: p.Late(v.Policy, now)}
}

// lambdaKicker invokes the notices function asynchronously.
type lambdaKicker struct {
	fns      *awslambda.Client
	function string
}

func (k lambdaKicker) Kick(ctx context.Context, version string) error {
	if k.function == "" {
		return fmt.Errorf("NOTICES_FUNCTION is not set")
	}
	payload, _ := json.Marshal(map[string]string{"version": version})
	_, err := k.fns.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(k.function), InvocationType: types.InvocationTypeEvent, Payload: payload})
	return err
}
