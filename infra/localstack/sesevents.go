package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// publishSESEvents does locally what a configuration set's EventBridge
// event destination does in AWS: for every mail SES accepts with a
// configuration set, an "Email Sent" event carrying the mail's message tags
// goes, asynchronously and after SES has answered (or not: see SESFaults),
// to each function whose EventBridgeRule matches it. Mail to SES's mailbox
// simulator (simulatorEvents) also produces the feedback events real SES
// produces for it; other mail only its send event (the emulator delivers
// nothing).
func (s *Stack) publishSESEvents() {
	targets := map[string][]string{} // detail-type -> functions
	for _, f := range s.Functions {
		for _, dt := range f.SESEvents {
			targets[dt] = append(targets[dt], f.LogicalID)
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
			for _, ev := range sesEvents(sent, m) {
				var head struct {
					DetailType string `json:"detail-type"`
				}
				_ = json.Unmarshal(ev, &head)
				for _, fn := range targets[head.DetailType] {
					s.sesEvents.Add(1)
					go func() {
						defer s.sesEvents.Add(-1)
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						if _, err := s.Invoke(ctx, fn, ev); err != nil && !s.closed.Load() {
							slog.Warn("SES event delivery failed", "function", fn, "err", err)
						}
					}()
				}
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

// simulatorDomain is SES's mailbox simulator: mail to its addresses is
// answered with the events below, and never reaches anyone.
const simulatorDomain = "simulator.amazonses.com"

// simulated is what the simulator does with mail to one of its addresses.
type simulated struct {
	delivered                   bool
	bounceType, bounceSubType   string // a bounce when set
	complaint                   bool
	diagnostic, status, smtpMsg string
}

// simulatorEvents are the simulator's addresses (the local part, without
// a +label) and what SES publishes for each: success@ and ooto@ are
// delivered (ooto@'s auto-reply goes to the sender, not into an event);
// complaint@ is delivered and then reported as spam; bounce@ bounces hard;
// suppressionlist@ bounces as on the account's suppression list.
var simulatorEvents = map[string]simulated{
	"success":         {delivered: true},
	"ooto":            {delivered: true},
	"complaint":       {delivered: true, complaint: true},
	"bounce":          {bounceType: "Permanent", bounceSubType: "General", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 user unknown"},
	"suppressionlist": {bounceType: "Permanent", bounceSubType: "OnAccountSuppressionList", status: "5.1.1", diagnostic: "Amazon SES did not send the message to this address because it is on the suppression list for your account."},
}

// sesEvents are the EventBridge events SES publishes for one accepted
// mail: its send event, then what the simulator does with its recipients.
// Shapes as SES's event publishing documents them (eventType, mail,
// and the bounce, complaint or delivery object).
func sesEvents(sent Send, m SentMail) [][]byte {
	// SES puts the mail's own tags beside its ses: ones in every event.
	tags := map[string][]string{"ses:configuration-set": {sent.ConfigurationSet}}
	for name, value := range m.Tags {
		tags[name] = []string{value}
	}
	mailObj := map[string]any{"timestamp": sent.At.UTC().Format(time.RFC3339Nano), "messageId": m.MessageID,
		"destination": m.To, "headersTruncated": false, "headers": m.Headers, "tags": tags}
	event := func(detailType, eventType string, at time.Time, extra map[string]any) []byte {
		detail := map[string]any{"eventType": eventType, "mail": mailObj}
		for k, v := range extra {
			detail[k] = v
		}
		b, _ := json.Marshal(map[string]any{"version": "0", "source": "aws.ses", "detail-type": detailType,
			"time": at.UTC().Format(time.RFC3339), "detail": detail})
		return b
	}
	out := [][]byte{event("Email Sent", "Send", sent.At, map[string]any{"send": map[string]any{}})}
	at := sent.At.Add(time.Second) // the feedback's own time, after the send
	stamp := at.UTC().Format("2006-01-02T15:04:05.000Z")
	var delivered, bounced, complained []string
	var bounce simulated
	for _, to := range m.To {
		sim, ok := simulatorAddress(to)
		switch {
		case !ok:
		case sim.bounceType != "":
			bounced, bounce = append(bounced, to), sim
		default:
			delivered = append(delivered, to)
			if sim.complaint {
				complained = append(complained, to)
			}
		}
	}
	if len(delivered) > 0 {
		out = append(out, event("Email Delivered", "Delivery", at, map[string]any{"delivery": map[string]any{
			"timestamp": stamp, "processingTimeMillis": 1000, "recipients": delivered,
			"smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com"}}))
	}
	if len(bounced) > 0 {
		var recipients []map[string]string
		for _, to := range bounced {
			recipients = append(recipients, map[string]string{"emailAddress": to, "action": "failed", "status": bounce.status, "diagnosticCode": bounce.diagnostic})
		}
		out = append(out, event("Email Bounced", "Bounce", at, map[string]any{"bounce": map[string]any{
			"bounceType": bounce.bounceType, "bounceSubType": bounce.bounceSubType, "bouncedRecipients": recipients,
			"timestamp": stamp, "feedbackId": feedbackID(m.MessageID, "b"), "reportingMTA": "dns; amazonses.com"}}))
	}
	if len(complained) > 0 {
		var recipients []map[string]string
		for _, to := range complained {
			recipients = append(recipients, map[string]string{"emailAddress": to})
		}
		out = append(out, event("Email Complaint Received", "Complaint", at.Add(time.Second), map[string]any{"complaint": map[string]any{
			"complainedRecipients": recipients, "timestamp": at.Add(time.Second).UTC().Format("2006-01-02T15:04:05.000Z"),
			"feedbackId": feedbackID(m.MessageID, "c"), "userAgent": "Amazon SES Mailbox Simulator",
			"complaintFeedbackType": "abuse", "arrivalDate": stamp}}))
	}
	return out
}

// simulatorAddress reports what the simulator does with mail to addr, if
// it is one of its addresses ("bounce+label@simulator.amazonses.com" is
// bounce@).
func simulatorAddress(addr string) (simulated, bool) {
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !ok || domain != simulatorDomain {
		return simulated{}, false
	}
	local, _, _ = strings.Cut(local, "+")
	sim, ok := simulatorEvents[local]
	return sim, ok
}

func feedbackID(messageID, kind string) string { return fmt.Sprintf("%s-%s-000000", messageID, kind) }
