package notice

import (
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

func TestAPublicationIsCheckedBeforeAnythingIsStored(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	yes, no := true, false
	good := Publication{Version: "2027-01", Effective: "2027-01-31", Material: &yes, Summary: "Surveys are kept 12 months.", URL: "https://example.com/privacy"}
	pol, err := good.Validate(now, 30*24*time.Hour, "arn:aws:iam::1:user/ops")
	if err != nil || !pol.Effective.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || pol.PublishedBy != "arn:aws:iam::1:user/ops" || pol.InitialState() != Pending {
		t.Fatalf("a good publication = %+v, %v", pol, err)
	}
	minor := good
	minor.Material, minor.Effective = &no, "2026-11-26T00:00:00Z" // not material: no notice period
	if pol, err := minor.Validate(now, 30*24*time.Hour, ""); err != nil || pol.InitialState() != NotRequired {
		t.Fatalf("a minor change = %+v, %v", pol, err)
	}
	for name, change := range map[string]func(p *Publication){
		"a material change too soon": func(p *Publication) { p.Effective = "2026-12-20" },
		"no materiality":             func(p *Publication) { p.Material = nil },
		"a bad version":              func(p *Publication) { p.Version = "v2/../x" },
		"an empty version":           func(p *Publication) { p.Version = "" },
		"a bad date":                 func(p *Publication) { p.Effective = "31/01/2027" },
		"no summary":                 func(p *Publication) { p.Summary = "  " },
		"a long summary":             func(p *Publication) { p.Summary = strings.Repeat("x", MaxSummary+1) },
		"a control character":        func(p *Publication) { p.Summary = "a\rBcc: x@example.com" },
		"a plain http URL":           func(p *Publication) { p.URL = "http://example.com/privacy" },
		"a URL with a quote":         func(p *Publication) { p.URL = `https://example.com/"><script>` },
	} {
		p := good
		change(&p)
		_, err := p.Validate(now, 30*24*time.Hour, "")
		if e, ok := people.AsError(err); !ok || e.Code != people.Invalid || e.Message == "" {
			t.Errorf("%s: %v; want a clear invalid-input error", name, err)
		}
	}
	if _, err := good.Validate(now, 30*24*time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := good.Validate(now, 0, "")
	b, _ := good.Validate(now.Add(time.Hour), 0, "someone else")
	if !a.Same(b) {
		t.Fatal("the same publication at another time, by another operator, must count as the same")
	}
	other := good
	other.Summary = "Different."
	c, _ := other.Validate(now, 0, "")
	if a.Same(c) {
		t.Fatal("a different summary must not count as the same")
	}
}

func TestProgressEstimatesTheFinishAndSaysWhenItIsLate(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	pol := Policy{Material: true, Effective: now.Add(time.Hour)}
	p := Progress{State: Sending, Total: 100000, Sent: 40000, Failed: 0, Rate: 14}
	if got := p.EstimatedFinish(now); got.Sub(now).Round(time.Second) != 4286*time.Second { // 60,000 at 14/s
		t.Fatalf("estimate = %v", got)
	}
	if !p.Late(pol, now) { // 60,000 at 14/s is 71 minutes
		t.Fatal("a notice finishing after the effective time must be late")
	}
	p.Rate = 50 // 20 minutes
	if p.Late(pol, now) {
		t.Fatal("a notice finishing before the effective time is not late")
	}
	if (Progress{State: Pending}).Late(pol, now) {
		t.Fatal("a pending notice with an hour to go cannot be judged late yet")
	}
	if !(Progress{State: Pending}).Late(pol, now.Add(2*time.Hour)) {
		t.Fatal("a notice not started when the version took effect is late")
	}
}

func TestOnlyAMaterialVersionsNoticeRecordsGetAClock(t *testing.T) {
	effective := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	material := Policy{Version: "v2", Effective: effective, Material: true}
	if got := material.RecordsClock(24 * time.Hour); got != (people.Clock{Rule: people.RuleNoticeRecords, Due: effective.Add(24 * time.Hour)}) {
		t.Fatalf("material = %+v; want the records kept a day after the version takes effect", got)
	}
	if got := (Policy{Version: "v2.1", Effective: effective}).RecordsClock(24 * time.Hour); !got.IsZero() {
		t.Fatalf("not material = %+v; want no clock (no notice, no records)", got)
	}
}
