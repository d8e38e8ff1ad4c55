package metric

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestALineNamesEachCountItCarriesAndNothingElse(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	Counts(&out, "pledge", "pledge-dev-x", at, map[string]int{"Open": 3, "Failed": 0})
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		FunctionName string
		Open, Failed int
	}
	var keys map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || json.Unmarshal(out.Bytes(), &keys) != nil {
		t.Fatalf("not JSON: %s", out.String())
	}
	m := line.AWS.CloudWatchMetrics
	if len(keys) != 4 || line.AWS.Timestamp != at.UnixMilli() || line.FunctionName != "pledge-dev-x" || line.Open != 3 ||
		len(m) != 1 || m[0].Namespace != "pledge" || len(m[0].Dimensions) != 1 || m[0].Dimensions[0][0] != "FunctionName" ||
		len(m[0].Metrics) != 2 || m[0].Metrics[0] != (struct{ Name, Unit string }{"Failed", "Count"}) || m[0].Metrics[1].Name != "Open" {
		t.Fatalf("line = %s", out.String())
	}
	if out.Bytes()[out.Len()-1] != '\n' {
		t.Fatal("a line ends with a newline")
	}
}
