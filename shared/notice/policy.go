// Package notice is the domain of policy-change notices (policy sections 6
// and 15): a published policy version, the rule that a material change is
// announced before it takes effect, and the fan-out that tells every person
// once, at the pace SES allows, across runs that may be cut off anywhere.
// It imports no AWS package; store and mail satisfy its interfaces.
package notice

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smartprotect/pledge/shared/people"
)

// Policy is one published version of the privacy policy. Once published it
// never changes: a correction is a new version.
type Policy struct {
	Version     string    `json:"version"`
	Effective   time.Time `json:"effective"`
	Material    bool      `json:"material"`
	Summary     string    `json:"summary"`
	URL         string    `json:"url"`
	PublishedAt time.Time `json:"publishedAt"`
	PublishedBy string    `json:"publishedBy,omitempty"` // the IAM caller, for the audit trail
}

// State is where a version's notices stand.
type State string

const (
	NotRequired State = "not-required" // not material: nobody needs telling
	Pending     State = "pending"      // material, no notice sent yet
	Sending     State = "sending"      // the fan-out has started
	Done        State = "done"         // everyone has been told (or failed for good)
)

// Progress is what the fan-out of one version has done so far. A recipient
// is counted once, when the checkpoint moves past them.
type Progress struct {
	State  State `json:"state"`
	Total  int   `json:"total"`
	Sent   int   `json:"sent"`
	Failed int   `json:"failed"`
	// Undeliverable counts the recipients SES's feedback said our mail
	// does not reach when their turn came: not sent, and neither lost nor
	// failed (issue 12). One told by a later catch-up pass leaves it.
	Undeliverable int       `json:"undeliverable"`
	StartedAt     time.Time `json:"startedAt,omitzero"`
	FinishedAt    time.Time `json:"finishedAt,omitzero"`
	Rate          float64   `json:"rate,omitempty"` // recipients per second the sender is allowed
	Cursor        string    `json:"-"`              // where the next run resumes
	Walked        bool      `json:"-"`              // every recipient has been tried once
	// CaughtUpAt is when a catch-up pass last finished: a pass tells the
	// people who became recipients after the walk passed their place.
	CaughtUpAt  time.Time `json:"caughtUpAt,omitzero"`
	CatchCursor string    `json:"-"` // where a cut-off catch-up pass resumes
}

// Remaining is how many recipients are still to be told.
func (p Progress) Remaining() int { return max(p.Total-p.Sent-p.Failed-p.Undeliverable, 0) }

// EstimatedFinish is when, at Rate, the remaining recipients will have been
// told; zero when there is nothing to estimate from.
func (p Progress) EstimatedFinish(now time.Time) time.Time {
	switch {
	case p.State == Done:
		return p.FinishedAt
	case p.Remaining() == 0 && p.State == Sending:
		return now
	case p.Rate <= 0:
		return time.Time{}
	}
	return now.Add(time.Duration(float64(p.Remaining()) / p.Rate * float64(time.Second)))
}

// Late reports whether the notice will not (or did not) reach everyone
// before the version takes effect.
func (p Progress) Late(pol Policy, now time.Time) bool {
	if !pol.Material || p.State == NotRequired {
		return false
	}
	finish := p.EstimatedFinish(now)
	if finish.IsZero() {
		return now.After(pol.Effective)
	}
	return finish.After(pol.Effective)
}

// Publication is a request to publish a version, as an operator sends it.
type Publication struct {
	Version   string `json:"version"`
	Effective string `json:"effective"` // RFC 3339 time, or a yyyy-mm-dd day (midnight UTC)
	Material  *bool  `json:"material"`  // required: whether the change needs a notice
	Summary   string `json:"summary"`
	URL       string `json:"url"`
}

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidVersion checks a version id, as published or as named in a URL.
func ValidVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return people.Errorf(people.Invalid, "version", "a version is 1 to 64 letters, digits, dots, dashes or underscores")
	}
	return nil
}

// MaxSummary bounds the summary that goes into every notice.
const MaxSummary = 4000

// Validate checks a publication against the rules at now and returns the
// policy it publishes. A material version must take effect no sooner than
// minNotice from now: the policy promises notice before the change.
func (in Publication) Validate(now time.Time, minNotice time.Duration, by string) (Policy, error) {
	if err := ValidVersion(in.Version); err != nil {
		return Policy{}, err
	}
	effective, err := parseEffective(in.Effective)
	if err != nil {
		return Policy{}, people.Errorf(people.Invalid, "effective", "give the effective date as 2006-01-02 or an RFC 3339 time")
	}
	if in.Material == nil {
		return Policy{}, people.Errorf(people.Invalid, "material", "say whether the change is material (true or false)")
	}
	summary := strings.TrimSpace(in.Summary)
	switch {
	case summary == "":
		return Policy{}, people.Errorf(people.Invalid, "summary", "a summary of the change is required")
	case utf8.RuneCountInString(summary) > MaxSummary:
		return Policy{}, people.Errorf(people.Invalid, "summary", "the summary is longer than %d characters", MaxSummary)
	case strings.IndexFunc(summary, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return Policy{}, people.Errorf(people.Invalid, "summary", "the summary may hold line breaks but no other control characters")
	}
	u, err := url.Parse(in.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(in.URL, " \r\n\t<>\"") {
		return Policy{}, people.Errorf(people.Invalid, "url", "the policy URL must be an https URL")
	}
	if *in.Material && effective.Before(now.Add(minNotice)) {
		return Policy{}, people.Errorf(people.Invalid, "effective",
			"a material change needs %s of notice: it can take effect on %s at the earliest",
			humanDuration(minNotice), now.Add(minNotice).UTC().Format("2006-01-02 15:04 MST"))
	}
	return Policy{Version: in.Version, Effective: effective, Material: *in.Material, Summary: summary, URL: in.URL,
		PublishedAt: now.UTC(), PublishedBy: by}, nil
}

func parseEffective(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		days := int(d / (24 * time.Hour))
		if days == 1 {
			return "1 day"
		}
		return strconv.Itoa(days) + " days"
	}
	return d.String()
}

// Same reports whether q publishes exactly what p does: publishing the same
// version twice is a no-op, publishing a different one under its name is not.
func (p Policy) Same(q Policy) bool {
	return p.Version == q.Version && p.Effective.Equal(q.Effective) && p.Material == q.Material && p.Summary == q.Summary && p.URL == q.URL
}

// InitialState is the state a freshly published version starts in.
func (p Policy) InitialState() State {
	if p.Material {
		return Pending
	}
	return NotRequired
}

// RecordsClock is when the per-recipient records of p's notice go: kept
// after p takes effect (people.Retention.NoticeRecords), as proof that each
// person was told; none for a version that is not material (no notice, no
// records) or when nothing is configured.
func (p Policy) RecordsClock(kept time.Duration) people.Clock {
	if !p.Material || kept <= 0 {
		return people.Clock{}
	}
	return people.Clock{Rule: people.RuleNoticeRecords, Due: p.Effective.Add(kept)}
}
