// Package metric writes counts as CloudWatch embedded metric format (EMF)
// lines: a JSON log line on a function's standard output, which Lambda sends
// to the function's log group and CloudWatch Logs turns into metrics,
// without an API call or a grant. Spec: AWS, "Specification: Embedded
// metric format" (CloudWatch User Guide).
package metric

import (
	"encoding/json"
	"io"
	"slices"
	"time"
)

// Counts writes counts as one EMF line to w: each key a metric of unit
// Count in namespace, with FunctionName = function as the one dimension,
// stamped at (milliseconds since the epoch). The line holds those keys
// only, so it never carries more than the caller's metric names and
// numbers. Metrics are listed in name order. A failed write is lost (the
// caller's stdout: nothing to retry).
func Counts(w io.Writer, namespace, function string, at time.Time, counts map[string]int) {
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	slices.Sort(names)
	defs := make([]map[string]string, len(names))
	line := map[string]any{"FunctionName": function}
	for i, name := range names {
		defs[i] = map[string]string{"Name": name, "Unit": "Count"}
		line[name] = counts[name]
	}
	line["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": namespace, "Dimensions": [][]string{{"FunctionName"}}, "Metrics": defs,
		}},
	}
	b, _ := json.Marshal(line) // only strings, ints and maps of them
	w.Write(append(b, '\n'))
}
