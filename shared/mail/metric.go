package mail

// Metric names one of the daily aggregate counts of mail events: counts
// only, never an address or a person key (issue 12, item 6). The
// mail-events function reports them as CloudWatch metrics of these names.
type Metric string

// The daily mail metrics. A bounce counts under its SES bounce type.
const (
	MetricSends               Metric = "sends"
	MetricDeliveries          Metric = "deliveries"
	MetricBouncesPermanent    Metric = "bounces-permanent"
	MetricBouncesTransient    Metric = "bounces-transient"
	MetricBouncesUndetermined Metric = "bounces-undetermined"
	MetricComplaints          Metric = "complaints"
)

// Metrics lists every daily mail metric, in the order a report shows them.
var Metrics = []Metric{MetricSends, MetricDeliveries, MetricBouncesPermanent, MetricBouncesTransient,
	MetricBouncesUndetermined, MetricComplaints}

// Metric is the daily metric e counts under, and false for an event no
// counter takes: a delivery delay, a rejection, and a "not-spam" feedback
// (a recipient taking back a complaint is no complaint). A bounce whose
// type SES left out or is not one of its three counts as undetermined.
func (e Event) Metric() (Metric, bool) {
	switch e.Type {
	case EventSend:
		return MetricSends, true
	case EventDelivery:
		return MetricDeliveries, true
	case EventBounce:
		switch e.BounceType {
		case "Permanent":
			return MetricBouncesPermanent, true
		case "Transient":
			return MetricBouncesTransient, true
		}
		return MetricBouncesUndetermined, true
	case EventComplaint:
		if e.FeedbackType == "not-spam" {
			return "", false
		}
		return MetricComplaints, true
	}
	return "", false
}
