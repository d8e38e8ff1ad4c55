package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/smartprotect/pledge/shared/metric"
)

// The events the clock publishes on the default event bus: a rule on
// source "pledge.privacy" routes them to whoever handles requests.
const (
	eventSource      = "pledge.privacy"
	detailTypeRemind = "Privacy Request Reminder"
	detailTypeDue    = "Privacy Request Overdue"
)

// eventsAPI is the part of the EventBridge client the clock uses.
type eventsAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// bus publishes announcements on the default event bus, ten to a call
// (PutEvents' limit per request).
type bus struct{ api eventsAPI }

// Announce publishes as; an entry EventBridge refused is an error naming
// how many, by its error code (never text).
func (b bus) Announce(ctx context.Context, as []Announcement) error {
	for start := 0; start < len(as); start += 10 {
		var entries []types.PutEventsRequestEntry
		for _, a := range as[start:min(start+10, len(as))] {
			detail, err := json.Marshal(a)
			if err != nil {
				return err
			}
			kind := detailTypeRemind
			if a.Stage == "overdue" {
				kind = detailTypeDue
			}
			entries = append(entries, types.PutEventsRequestEntry{Source: aws.String(eventSource), DetailType: aws.String(kind), Detail: aws.String(string(detail))})
		}
		out, err := b.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			var api smithy.APIError
			if errors.As(err, &api) {
				return fmt.Errorf("privacyclock: PutEvents: %s", api.ErrorCode())
			}
			return fmt.Errorf("privacyclock: PutEvents failed")
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("privacyclock: PutEvents refused %d entries", out.FailedEntryCount)
		}
	}
	return nil
}

// metricNamespace and the metrics the clock reports after every run, in
// CloudWatch's embedded metric format (a log line CloudWatch Logs turns into
// metrics): the alarm in template.yaml watches OverdueRequests.
const metricNamespace = "pledge"

// emf writes r as one embedded-metric-format line to w (shared/metric),
// with the function's name as the one dimension (the alarm names it).
func emf(w io.Writer, function string) func(Result, time.Time) {
	return func(r Result, now time.Time) {
		metric.Counts(w, metricNamespace, function, now, map[string]int{
			"OverdueRequests": r.Overdue, "OpenRequests": r.Open, "RequestRemindersSent": r.Reminders, "RequestStepsFailed": r.Failed,
		})
	}
}
