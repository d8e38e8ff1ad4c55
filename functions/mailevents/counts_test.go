package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
)

// tallies records each daily counter call as "<yyyy-mm-dd> <metric>".
type tallies struct {
	got  []string
	fail error
}

func (t *tallies) CountMail(_ context.Context, day time.Time, m mail.Metric) error {
	if t.fail != nil {
		return t.fail
	}
	t.got = append(t.got, day.UTC().Format("2006-01-02")+" "+string(m))
	return nil
}

func TestEachDecodedEventAddsOneToItsDailyCounterOnTheDaySESAcceptedTheMail(t *testing.T) {
	var marked marks
	counts := &tallies{}
	var logs bytes.Buffer
	h := &handler{store: &marked, feedback: &applied{}, counts: counts, now: func() time.Time { return time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) },
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	notice := map[string][]string{"pledge-person": {"p-1"}, "pledge-mail": {"notice"}, "pledge-notice": {"2027_d02"}}
	news := map[string][]string{"pledge-person": {"p-2"}, "pledge-mail": {"newsletter"}}
	for _, c := range []struct {
		ev   Event
		want mail.Metric
	}{
		{sesEvent("Send", notice, nil), mail.MetricSends},
		{sesEvent("Send", news, nil), mail.MetricSends},
		{sesEvent("Delivery", news, map[string]any{"delivery": map[string]any{}}), mail.MetricDeliveries},
		{sesEvent("Bounce", news, map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}}), mail.MetricBouncesPermanent},
		{sesEvent("Bounce", news, map[string]any{"bounce": map[string]any{"bounceType": "Transient"}}), mail.MetricBouncesTransient},
		{sesEvent("Bounce", news, map[string]any{"bounce": map[string]any{"bounceType": "Undetermined"}}), mail.MetricBouncesUndetermined},
		{sesEvent("Complaint", news, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}}), mail.MetricComplaints},
		{sesEvent("Complaint", news, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "not-spam"}}), ""},
		{sesEvent("DeliveryDelay", news, nil), ""},
		{sesEvent("Send", map[string][]string{"ses:configuration-set": {"x"}}, nil), ""}, // dropped: not ours
	} {
		res, err := h.handle(context.Background(), c.ev)
		if err != nil || res.Counted != c.want {
			t.Errorf("%s = %+v, %v; want counted %q", c.ev.DetailType, res, err, c.want)
		}
	}
	// sesEvent's mail was accepted on 2026-12-01: the counters are of that
	// day, not of the day the event was handled.
	want := []string{"2026-12-01 sends", "2026-12-01 sends", "2026-12-01 deliveries", "2026-12-01 bounces-permanent",
		"2026-12-01 bounces-transient", "2026-12-01 bounces-undetermined", "2026-12-01 complaints"}
	if strings.Join(counts.got, ",") != strings.Join(want, ",") {
		t.Fatalf("counted %v\nwant    %v", counts.got, want)
	}

	// A counter that cannot be written is logged by its code; the event is
	// still answered (its person side done), so EventBridge does not retry.
	counts.fail = errors.New("jo@example.com: throttled")
	res, err := h.handle(context.Background(), sesEvent("Send", notice, nil))
	if err != nil || !res.Marked || res.Counted != "" {
		t.Fatalf("a send whose counter failed = %+v, %v; want marked, not counted, no error", res, err)
	}
	if !strings.Contains(logs.String(), `"msg":"mail counter not counted"`) || strings.Contains(logs.String(), "jo@example.com") {
		t.Fatalf("want the failed counter logged without the error's text:\n%s", logs.String())
	}
}

// countDaily's hook for a caller that knows an event for a duplicate. No
// caller passes false today: handle counts every event that arrives, a
// duplicate too (see countDaily), so this tests the hook, not the handler.
func TestCountDailyCountsNothingForAnEventItsCallerSaysIsADuplicate(t *testing.T) {
	counts := &tallies{}
	h := &handler{feedback: &applied{}, counts: counts, now: time.Now, log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	ev := mail.Event{Type: mail.EventBounce, BounceType: "Permanent", Sent: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	if m := h.countDaily(context.Background(), ev, false); m != "" || len(counts.got) != 0 {
		t.Fatalf("a duplicate counted %q: %v", m, counts.got)
	}
	if m := h.countDaily(context.Background(), ev, true); m != mail.MetricBouncesPermanent || len(counts.got) != 1 {
		t.Fatalf("a fresh bounce counted %q: %v", m, counts.got)
	}
}
