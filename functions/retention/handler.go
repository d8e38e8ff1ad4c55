package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/retention"
)

// Run is the input EventBridge Scheduler sends (the schedule's Input), and
// what `make sweep` sends on the local stack.
type Run struct {
	DryRun bool `json:"dryRun"`
	// Now replaces the clock, on the local stack only (CLOCK_OVERRIDE=allow),
	// so tests can sweep as of a later day. Deployed functions refuse it.
	Now string `json:"now,omitempty"`
}

// Result is the run summary the invocation returns.
type Result struct {
	DryRun      bool           `json:"dryRun"`
	Done        bool           `json:"done"`
	FirstDay    string         `json:"firstDay"`
	LastDay     string         `json:"lastDay"`
	Due         map[string]int `json:"due"`
	Erased      map[string]int `json:"erased"`
	Moved       int            `json:"moved"`
	Rescheduled int            `json:"rescheduled"`
	Failed      int            `json:"failed"`
}

type handler struct {
	sweep         *retention.Sweep
	now           func() time.Time
	allowOverride bool
	dryRunDefault bool
	log           *slog.Logger
}

func (h *handler) handle(ctx context.Context, in Run) (Result, error) {
	now := h.now().UTC()
	if in.Now != "" {
		if !h.allowOverride {
			return Result{}, fmt.Errorf("retention: a clock override is refused outside the local stack")
		}
		t, err := time.Parse(time.RFC3339, in.Now)
		if err != nil {
			return Result{}, fmt.Errorf("retention: now %q: %w", in.Now, err)
		}
		now = t.UTC()
	}
	sum, err := h.sweep.Run(ctx, now, in.DryRun || h.dryRunDefault)
	res := Result{DryRun: sum.DryRun, Done: sum.Done, FirstDay: sum.FirstDay, LastDay: sum.LastDay,
		Due: counts(sum.Due), Erased: counts(sum.Erased), Moved: sum.Moved, Rescheduled: sum.Rescheduled, Failed: sum.Failed}
	h.log.InfoContext(ctx, "retention sweep", "dryRun", res.DryRun, "done", res.Done, "due", res.Due, "erased", res.Erased,
		"moved", res.Moved, "rescheduled", res.Rescheduled, "failed", res.Failed)
	if err != nil {
		return res, err // Scheduler retries; the next run resumes from the cursor
	}
	return res, nil
}

func counts(m map[people.Rule]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}
