package localstack

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"
)

// publishSESEvents does locally what a configuration set's EventBridge
// event destination does in AWS: for every mail SES accepts with a
// configuration set, an "Email Sent" event carrying the mail's message tags
// goes, asynchronously and after SES has answered (or not: see SESFaults),
// to each function whose EventBridgeRule matches it. The emulator itself
// publishes no events, and no other event type yet.
func (s *Stack) publishSESEvents() {
	var targets []string
	for _, f := range s.Functions {
		if slices.Contains(f.SESEvents, "Email Sent") {
			targets = append(targets, f.LogicalID)
		}
	}
	if len(targets) == 0 {
		return
	}
	s.SESCalls.OnSend(func(sent Send) {
		if sent.ConfigurationSet == "" {
			return // SES publishes events only through a configuration set
		}
		for _, m := range sent.Mails {
			// SES puts the mail's own tags beside its ses: ones in every event.
			tags := map[string][]string{"ses:configuration-set": {sent.ConfigurationSet}}
			for name, value := range m.Tags {
				tags[name] = []string{value}
			}
			event, _ := json.Marshal(map[string]any{
				"version": "0", "source": "aws.ses", "detail-type": "Email Sent", "time": sent.At.UTC().Format(time.RFC3339),
				"detail": map[string]any{
					"eventType": "Send",
					"mail": map[string]any{"timestamp": sent.At.UTC().Format(time.RFC3339Nano), "messageId": m.MessageID,
						"destination": m.To, "headersTruncated": false, "headers": m.Headers,
						"tags": tags},
					"send": map[string]any{},
				},
			})
			for _, fn := range targets {
				s.sesEvents.Add(1)
				go func() {
					defer s.sesEvents.Add(-1)
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if _, err := s.Invoke(ctx, fn, event); err != nil && !s.closed.Load() {
						slog.Warn("SES event delivery failed", "function", fn, "err", err)
					}
				}()
			}
		}
	})
}

// SESEventsSettled waits until the functions have handled every SES event
// of the mails SES accepted so far (answered or failed), so that a test may
// compare the table before and after a request while the mail-events
// function is counting an earlier mail. Errors: ctx's, if it ends first.
func (s *Stack) SESEventsSettled(ctx context.Context) error {
	for s.SESCalls.SendsInFlight() > 0 || s.sesEvents.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
