package main

import (
	"io"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/metric"
)

// metricNamespace is the CloudWatch namespace of the daily mail metrics,
// one per mail.Metric, named as it is ("sends", "deliveries",
// "bounces-permanent", "bounces-transient", "bounces-undetermined",
// "complaints"), with the function's name as their one dimension (so each
// stack has its own). A day's count is the metric's Sum over a day (period
// 86400 s, UTC).
const metricNamespace = "pledge/mail"

// metricMaxAge is how old a metric's timestamp may be: CloudWatch refuses
// embedded metrics stamped more than two weeks in the past (and more than
// two hours in the future); a day less leaves room for the log's delivery.
const metricMaxAge = 13 * 24 * time.Hour

// emf returns a counter that writes each count as one embedded-metric-format
// line to w (the function's standard output; shared/metric): metric m,
// value 1, unit Count, stamped at, dimension FunctionName = function. The
// line holds those keys only: never an address or a person key.
func emf(w io.Writer, function string) func(m mail.Metric, at time.Time) {
	return func(m mail.Metric, at time.Time) {
		metric.Counts(w, metricNamespace, function, at, map[string]int{string(m): 1})
	}
}
