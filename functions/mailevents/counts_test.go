package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
)

// emfLine is the part of an embedded-metric-format line the tests read.
type emfLine struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
}

// readEMF parses every line of out as an EMF line, failing t on one that
// is not JSON, and returns them with each line's keys and values.
func readEMF(t *testing.T, out string) (lines []emfLine, raw []map[string]any) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var e emfLine
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %s: %v", l, err)
		}
		json.Unmarshal([]byte(l), &m)
		lines, raw = append(lines, e), append(raw, m)
	}
	return lines, raw
}

func TestEachDecodedEventAddsOneToItsDailyMetricOnTheDaySESAcceptedTheMail(t *testing.T) {
	var marked marks
	var out, logs bytes.Buffer
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	h := &handler{store: &marked, feedback: &applied{}, counts: emf(&out, "pledge-dev-mailevents"), now: func() time.Time { return now },
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
		{sesEvent("Reject", news, nil), ""},
		{sesEvent("Send", map[string][]string{"ses:configuration-set": {"x"}}, nil), ""}, // dropped: not ours
	} {
		res, err := h.handle(context.Background(), c.ev)
		if err != nil || res.Counted != c.want {
			t.Errorf("%s = %+v, %v; want counted %q", c.ev.DetailType, res, err, c.want)
		}
	}
	// sesEvent's mail was accepted on 2026-12-01 09:00: the metrics are
	// stamped then, not when the event was handled.
	lines, _ := readEMF(t, out.String())
	var got []string
	for _, l := range lines {
		for _, m := range l.AWS.CloudWatchMetrics[0].Metrics {
			got = append(got, time.UnixMilli(l.AWS.Timestamp).UTC().Format(time.RFC3339)+" "+m.Name)
		}
	}
	want := []string{"2026-12-01T09:00:00Z sends", "2026-12-01T09:00:00Z sends", "2026-12-01T09:00:00Z deliveries", "2026-12-01T09:00:00Z bounces-permanent",
		"2026-12-01T09:00:00Z bounces-transient", "2026-12-01T09:00:00Z bounces-undetermined", "2026-12-01T09:00:00Z complaints"}
	if !slices.Equal(got, want) {
		t.Fatalf("counted %v\nwant    %v", got, want)
	}

	// A mail accepted more than metricMaxAge ago (CloudWatch would refuse
	// its time) counts when its event is handled.
	out.Reset()
	now = time.Date(2026, 12, 20, 8, 0, 0, 0, time.UTC)
	if res, err := h.handle(context.Background(), sesEvent("Delivery", news, map[string]any{"delivery": map[string]any{}})); err != nil || res.Counted != mail.MetricDeliveries {
		t.Fatalf("a late delivery = %+v, %v", res, err)
	}
	if lines, _ := readEMF(t, out.String()); len(lines) != 1 || lines[0].AWS.Timestamp != now.UnixMilli() {
		t.Fatalf("a delivery of a mail 19 days old wrote %s; want one line stamped %s", out.String(), now)
	}
}

// Every line is embedded metric format CloudWatch reads: its metadata names
// the one metric the line carries (value 1, unit Count) in the mail
// namespace with the function as its dimension, and the line holds no
// other key: no address, no person key, no message id.
func TestAMetricLineNamesExactlyItsMetricAndNoOne(t *testing.T) {
	var out bytes.Buffer
	h := &handler{store: &marks{}, feedback: &applied{}, counts: emf(&out, "pledge-dev-mailevents"), now: time.Now,
		log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	tags := map[string][]string{"pledge-person": {"p-7f3a"}, "pledge-mail": {"notice"}, "pledge-notice": {"2027_d02"}}
	for _, ev := range []Event{
		sesEvent("Send", tags, nil),
		sesEvent("Delivery", tags, map[string]any{"delivery": map[string]any{}}),
		sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}}),
		sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Transient"}}),
		sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Undetermined"}}),
		sesEvent("Complaint", tags, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}}),
	} {
		if _, err := h.handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	lines, raw := readEMF(t, out.String())
	var names []string
	for i, l := range lines {
		text := strings.Split(strings.TrimSpace(out.String()), "\n")[i]
		if len(l.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("line %s: want one metric directive", text)
		}
		d := l.AWS.CloudWatchMetrics[0]
		if d.Namespace != metricNamespace || len(d.Dimensions) != 1 || !slices.Equal(d.Dimensions[0], []string{"FunctionName"}) ||
			len(d.Metrics) != 1 || d.Metrics[0].Unit != "Count" || l.AWS.Timestamp == 0 {
			t.Fatalf("line %s: want one Count metric in %s by FunctionName, stamped", text, metricNamespace)
		}
		name := d.Metrics[0].Name
		names = append(names, name)
		keys := slices.Sorted(maps.Keys(raw[i]))
		if want := slices.Sorted(slices.Values([]string{"_aws", "FunctionName", name})); !slices.Equal(keys, want) {
			t.Errorf("line %s has keys %v; want %v", text, keys, want)
		}
		if v, ok := raw[i][name].(float64); !ok || v != 1 || raw[i]["FunctionName"] != "pledge-dev-mailevents" {
			t.Errorf("line %s: want %s = 1 for the function", text, name)
		}
		for _, secret := range []string{"@", "p-7f3a", "ses-1", "2027_d02", "notice"} {
			if strings.Contains(text, secret) {
				t.Errorf("line %s carries %q", text, secret)
			}
		}
	}
	var want []string
	for _, m := range mail.Metrics {
		want = append(want, string(m))
	}
	if !slices.Equal(names, want) {
		t.Fatalf("metrics %v; want %v", names, want)
	}
}

// countDaily's hook for a caller that knows an event for a duplicate. No
// caller passes false today: handle counts every event that arrives, a
// duplicate too (see countDaily), so this tests the hook, not the handler.
func TestCountDailyCountsNothingForAnEventItsCallerSaysIsADuplicate(t *testing.T) {
	var out bytes.Buffer
	h := &handler{feedback: &applied{}, counts: emf(&out, "f"), now: time.Now, log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	ev := mail.Event{Type: mail.EventBounce, BounceType: "Permanent", Sent: time.Now().Add(-time.Hour)}
	if m := h.countDaily(ev, false); m != "" || out.Len() != 0 {
		t.Fatalf("a duplicate counted %q: %s", m, out.String())
	}
	if m := h.countDaily(ev, true); m != mail.MetricBouncesPermanent || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("a fresh bounce counted %q: %s", m, out.String())
	}
}
