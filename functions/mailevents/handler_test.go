package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

// applied records the feedback handed to the rules; people named in gone
// no longer exist.
type applied struct {
	got  []people.Feedback
	ids  []string
	gone map[string]bool
	// at holds people's addresses: a Recipient not the person's is refused
	// as people.Feedbacks refuses it.
	at map[string]string
}

func (a *applied) Apply(_ context.Context, id string, e people.Feedback) (bool, error) {
	if a.gone[id] {
		return false, people.ErrNotFound
	}
	if addr, ok := a.at[id]; ok && addr != e.Recipient {
		return false, people.ErrNotRecipient
	}
	a.got, a.ids = append(a.got, e), append(a.ids, id)
	return true, nil
}

type marks []notice.Sent

func (m *marks) MarkSent(_ context.Context, s notice.Sent, _ time.Time) (bool, error) {
	*m = append(*m, s)
	return true, nil
}

// sesEvent is an event as SES publishes it over EventBridge, with tags, of
// a mail to jo@example.com: a bounce, complaint or delivery object in
// extra gets SES's recipient list naming that address unless it has one.
func sesEvent(eventType string, tags map[string][]string, extra map[string]any) Event {
	detail := map[string]any{"eventType": eventType, "mail": map[string]any{"messageId": "ses-1", "timestamp": "2026-12-01T09:00:00.000Z",
		"destination": []string{"jo@example.com"}, "tags": tags}}
	for k, v := range extra {
		detail[k] = v
	}
	lists := map[string]struct {
		name  string
		value any
	}{
		"bounce":    {"bouncedRecipients", []map[string]string{{"emailAddress": "jo@example.com"}}},
		"complaint": {"complainedRecipients", []map[string]string{{"emailAddress": "jo@example.com"}}},
		"delivery":  {"recipients", []string{"jo@example.com"}},
	}
	for k, l := range lists {
		if obj, ok := detail[k].(map[string]any); ok {
			if _, has := obj[l.name]; !has {
				obj[l.name] = l.value
			}
		}
	}
	d, _ := json.Marshal(detail)
	return Event{Source: "aws.ses", DetailType: "Email " + eventType, Detail: d}
}

func TestANoticesSendEventMarksItsRecordByTheTagsAndOtherEventsAreDroppedByKind(t *testing.T) {
	var got marks
	var logs bytes.Buffer
	h := &handler{store: &got, feedback: &applied{}, counts: emf(io.Discard, "f"), now: time.Now, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	ours := map[string][]string{"pledge-person": {"p-1"}, "pledge-mail": {"notice"}, "pledge-notice": {"2027_d02"},
		"ses:configuration-set": {"pledge-mail"}}
	if res, err := h.handle(context.Background(), sesEvent("Send", ours, nil)); err != nil || !res.Marked {
		t.Fatalf("a notice's send event = %+v, %v", res, err)
	}
	if len(got) != 1 || got[0] != (notice.Sent{Version: "2027.02", PersonID: "p-1", MessageID: "ses-1"}) {
		t.Fatalf("marked %+v", got)
	}
	confirm := map[string][]string{"pledge-person": {"p-1"}, "pledge-mail": {"confirm"}}
	for name, c := range map[string]struct {
		ev      Event
		dropped string
	}{
		"a notice's delay (read, no rule)": {sesEvent("DeliveryDelay", ours, map[string]any{"deliveryDelay": map[string]any{}}), ""},
		"a notice's bounce (to the rules)": {sesEvent("Bounce", ours, map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}}), ""},
		"a confirmation mail's send":       {sesEvent("Send", confirm, nil), ""},
		"a mail without our tags":          {sesEvent("Send", map[string][]string{"ses:configuration-set": {"x"}}, nil), mail.DropNotOurs},
		"a forged version":                 {sesEvent("Send", map[string][]string{"pledge-person": {"p-1"}, "pledge-mail": {"notice"}, "pledge-notice": {"_x"}}, nil), mail.DropBadTags},
		"an unknown type":                  {sesEvent("Subscription", ours, nil), mail.DropUnknownType},
		"another source":                   {Event{Source: "aws.s3", Detail: sesEvent("Send", ours, nil).Detail}, "not-ses"},
		"a detail that is junk":            {Event{Source: "aws.ses", Detail: json.RawMessage(`"x"`)}, mail.DropMalformed},
	} {
		res, err := h.handle(context.Background(), c.ev)
		if err != nil || res.Marked || res.Dropped != c.dropped {
			t.Errorf("%s = %+v, %v; want dropped %q, nothing marked", name, res, err, c.dropped)
		}
	}
	if len(got) != 1 {
		t.Fatalf("marked %+v; want only the notice's send", got)
	}
	if strings.Contains(logs.String(), "jo@example.com") {
		t.Fatalf("the logs carry the address:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), `"msg":"mail event dropped"`); n != 5 {
		t.Fatalf("%d drops logged; want each of the 5 by its kind:\n%s", n, logs.String())
	}
}

func TestBouncesComplaintsAndDeliveriesGoToTheRulesByTheTagsAndSomeoneGoneIsDropped(t *testing.T) {
	var logs bytes.Buffer
	rules := &applied{gone: map[string]bool{"p-gone": true}}
	h := &handler{store: &marks{}, feedback: rules, counts: emf(io.Discard, "f"), now: time.Now, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	tags := func(person, kind string) map[string][]string {
		return map[string][]string{"pledge-person": {person}, "pledge-mail": {kind}}
	}
	sent := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ev   Event
		want people.Feedback
	}{
		{sesEvent("Bounce", tags("p-1", "confirm"), map[string]any{"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General"}}),
			people.Feedback{Kind: people.FeedbackBounce, MessageID: "ses-1", At: sent, MailKind: "confirm", BounceType: "Permanent", Recipient: "jo@example.com"}},
		{sesEvent("Complaint", tags("p-1", "newsletter"), map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}}),
			people.Feedback{Kind: people.FeedbackComplaint, MessageID: "ses-1", At: sent, MailKind: "newsletter", FeedbackType: "abuse", Recipient: "jo@example.com"}},
		{sesEvent("Delivery", tags("p-1", "newsletter"), map[string]any{"delivery": map[string]any{}}),
			people.Feedback{Kind: people.FeedbackDelivery, MessageID: "ses-1", At: sent, MailKind: "newsletter", Recipient: "jo@example.com"}},
	} {
		rules.got = nil
		res, err := h.handle(context.Background(), c.ev)
		if err != nil || !res.Applied || len(rules.got) != 1 || rules.got[0] != c.want || rules.ids[len(rules.ids)-1] != "p-1" {
			t.Fatalf("%s = %+v, %v; applied %+v; want %+v", c.ev.DetailType, res, err, rules.got, c.want)
		}
	}
	res, err := h.handle(context.Background(), sesEvent("Bounce", tags("p-gone", "newsletter"), map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}}))
	if err != nil || res.Dropped != DropGone {
		t.Fatalf("a bounce for someone gone = %+v, %v; want dropped %q, no error (no retry)", res, err, DropGone)
	}
	if !strings.Contains(logs.String(), `"reason":"gone","type":"Bounce"`) || strings.Contains(logs.String(), "jo@example.com") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// A bounce or complaint tagged for one person whose recipient list names
// another address is dropped by its kind (no error: no retry), with no
// address in the log, and the person is not changed.
func TestAnEventTaggedForOnePersonButNamingAnotherRecipientIsDropped(t *testing.T) {
	var logs bytes.Buffer
	rules := &applied{at: map[string]string{"p-b": "b@example.com"}}
	h := &handler{store: &marks{}, feedback: rules, counts: emf(io.Discard, "f"), now: time.Now, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	forged := map[string][]string{"pledge-person": {"p-b"}, "pledge-mail": {"newsletter"}}
	for _, ev := range []Event{
		sesEvent("Bounce", forged, map[string]any{"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General"}}),
		sesEvent("Complaint", forged, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}}),
	} {
		res, err := h.handle(context.Background(), ev)
		if err != nil || res.Applied || res.Dropped != DropNotRecipient || res.Counted != "" {
			t.Errorf("%s for jo@ tagged for p-b = %+v, %v; want dropped %q, not counted, no error", ev.DetailType, res, err, DropNotRecipient)
		}
	}
	if len(rules.got) != 0 {
		t.Fatalf("applied %+v", rules.got)
	}
	if strings.Count(logs.String(), `"reason":"not-recipient"`) != 2 || strings.Contains(logs.String(), "@example.com") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// A payload that is not EventBridge's envelope at all is dropped as
// malformed and answered: an error would have Lambda retry an event that
// can never be read.
func TestAPayloadThatIsNoEventBridgeEnvelopeIsDroppedNotFailed(t *testing.T) {
	var logs bytes.Buffer
	h := &handler{store: &marks{}, feedback: &applied{}, counts: emf(io.Discard, "f"), now: time.Now, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	for _, p := range []string{`{"source":5}`, `[]`, `"x"`, `{"source":"aws.ses","detail-type":["Email Bounced"]}`} {
		res, err := h.invoke(context.Background(), json.RawMessage(p))
		if err != nil || res.Dropped != mail.DropMalformed {
			t.Errorf("%s = %+v, %v; want dropped %q, no error", p, res, err, mail.DropMalformed)
		}
	}
	if n := strings.Count(logs.String(), `"reason":"malformed"`); n != 4 {
		t.Fatalf("%d drops logged; want 4:\n%s", n, logs.String())
	}
	// A good envelope still goes through.
	ev, _ := json.Marshal(sesEvent("Send", map[string][]string{"pledge-person": {"p-1"}, "pledge-mail": {"confirm"}}, nil))
	if res, err := h.invoke(context.Background(), ev); err != nil || res.Dropped != "" || res.Counted != mail.MetricSends {
		t.Fatalf("a send = %+v, %v", res, err)
	}
}
