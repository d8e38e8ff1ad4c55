package e2e

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/mail"
)

// mailMetric is one daily mail metric line the mail-events function wrote
// (embedded metric format), as read back from its log.
type mailMetric struct {
	Line  string
	Day   string // the UTC day of its timestamp
	Name  string // the one metric its metadata names
	Value float64
	Keys  []string // the line's top-level keys, sorted
}

// mailMetrics reads every embedded-metric-format line the mail-events
// function's instances of s wrote to their logs (the local stack keeps each
// instance's output in LogDir). A line that does not parse (being written)
// or names other than one metric is returned in bad.
func mailMetrics(t *testing.T, s *localstack.Stack) (ms []mailMetric, bad []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.LogDir, "MailEventsFunction-*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no log of the mail-events function in the stack's logs (%v)", err)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "{") || !strings.Contains(line, `"_aws"`) {
				continue
			}
			var meta struct {
				AWS struct {
					Timestamp         int64
					CloudWatchMetrics []struct{ Metrics []struct{ Name string } }
				} `json:"_aws"`
			}
			var all map[string]any
			if json.Unmarshal([]byte(line), &meta) != nil || json.Unmarshal([]byte(line), &all) != nil ||
				len(meta.AWS.CloudWatchMetrics) != 1 || len(meta.AWS.CloudWatchMetrics[0].Metrics) != 1 {
				bad = append(bad, line)
				continue
			}
			m := mailMetric{Line: line, Day: time.UnixMilli(meta.AWS.Timestamp).UTC().Format("2006-01-02"),
				Name: meta.AWS.CloudWatchMetrics[0].Metrics[0].Name, Keys: slices.Sorted(maps.Keys(all))}
			m.Value, _ = all[m.Name].(float64)
			ms = append(ms, m)
		}
		f.Close()
	}
	return ms, bad
}

// checkMailCounts waits for the mail-events function to have counted
// every mail s's SES accepted through the configuration set (s records its
// sends) in the daily sends metric, stamped on the UTC day SES took it,
// exactly once (the local stack delivers each event once), and checks that
// every metric line holds its metadata, the function's name and its one
// metric only: no address, no person key.
func checkMailCounts(t *testing.T, s *localstack.Stack) {
	t.Helper()
	want, persons := map[string]float64{}, map[string]bool{}
	for _, sent := range s.SESCalls.Sends() {
		if sent.ConfigurationSet == "" {
			continue
		}
		for _, m := range sent.Mails {
			want[sent.At.UTC().Format("2006-01-02")]++
			persons[m.Tags[mail.TagPerson]] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("no mail went through the configuration set")
	}
	var ms []mailMetric
	var bad []string
	got := map[string]float64{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ms, bad = mailMetrics(t, s)
		clear(got)
		for _, m := range ms {
			if m.Name == string(mail.MetricSends) {
				got[m.Day] += m.Value
			}
		}
		if (maps.Equal(got, want) && len(bad) == 0) || time.Now().After(deadline) {
			break
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d metric lines are not one metric in embedded metric format, e.g. %s", len(bad), bad[0])
	}
	if !maps.Equal(got, want) {
		t.Fatalf("daily sends metrics = %v; want %v, one per mail SES accepted", got, want)
	}
	for _, m := range ms {
		if !slices.Contains(mail.Metrics, mail.Metric(m.Name)) || m.Value != 1 {
			t.Errorf("metric line %s: want one of %v, value 1", m.Line, mail.Metrics)
		}
		if want := slices.Sorted(slices.Values([]string{"_aws", "FunctionName", m.Name})); !slices.Equal(m.Keys, want) {
			t.Errorf("metric line %s has keys %v; want %v only", m.Line, m.Keys, want)
		}
		for p := range persons {
			if p != "" && strings.Contains(m.Line, p) {
				t.Errorf("metric line %s names a person key", m.Line)
			}
		}
		if strings.Contains(m.Line, "@") {
			t.Errorf("metric line %s carries an address", m.Line)
		}
	}
}
