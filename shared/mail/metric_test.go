package mail

import "testing"

func TestEachEventCountsUnderItsMetricAndDelaysRejectionsAndNotSpamUnderNone(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		want Metric
		ok   bool
	}{
		{Event{Type: EventSend}, MetricSends, true},
		{Event{Type: EventDelivery}, MetricDeliveries, true},
		{Event{Type: EventBounce, BounceType: "Permanent"}, MetricBouncesPermanent, true},
		{Event{Type: EventBounce, BounceType: "Transient"}, MetricBouncesTransient, true},
		{Event{Type: EventBounce, BounceType: "Undetermined"}, MetricBouncesUndetermined, true},
		{Event{Type: EventBounce, BounceType: "?"}, MetricBouncesUndetermined, true},
		{Event{Type: EventComplaint, FeedbackType: "abuse"}, MetricComplaints, true},
		{Event{Type: EventComplaint}, MetricComplaints, true},
		{Event{Type: EventComplaint, FeedbackType: "not-spam"}, "", false},
		{Event{Type: EventDeliveryDelay}, "", false},
		{Event{Type: EventReject}, "", false},
	} {
		if got, ok := c.ev.Metric(); got != c.want || ok != c.ok {
			t.Errorf("%s %s%s counts as %q, %v; want %q, %v", c.ev.Type, c.ev.BounceType, c.ev.FeedbackType, got, ok, c.want, c.ok)
		}
	}
}
