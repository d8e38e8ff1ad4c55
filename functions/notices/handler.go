package main

import (
	"context"
	"log/slog"

	"github.com/smartprotect/pledge/shared/notice"
)

// Trigger is what the schedule sends ({}) and what the policies function
// sends when it kicks a run after publishing (the version, for the log).
type Trigger struct {
	Version string `json:"version,omitempty"`
}

type handler struct {
	fanout *notice.Fanout
	log    *slog.Logger
}

func (h *handler) handle(ctx context.Context, in Trigger) (notice.Report, error) {
	rep, err := h.fanout.Run(ctx)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "notices run", "trigger", in.Version, "run", rep.Run, "busy", rep.Busy, "sent", rep.Sent,
		"failed", rep.Failed, "undeliverable", rep.Undeliverable, "recounted", rep.Recounted, "calls", rep.Calls, "rate", rep.Rate, "stopped", rep.Stopped,
		"versions", rep.Versions, "err", err)
	return rep, err // an error fails the invocation; the next run resumes
}
