package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// Table is the name of the one DynamoDB table (TABLE_NAME).
func Table(e *Env) string { return e.need("TABLE_NAME") }

// MailConfigurationSet is pledge's one SES configuration set
// (MAIL_CONFIGURATION_SET, required), which every mail goes through: it
// publishes each mail's events (send, delivery, bounce, complaint, delivery
// delay, reject) to the mail-events function.
func MailConfigurationSet(e *Env) string { return e.need("MAIL_CONFIGURATION_SET") }

// CompanyInfo is who speaks in every page and mail.
type CompanyInfo struct {
	Name          string // COMPANY_NAME
	PostalAddress string // COMPANY_ADDRESS: the physical postal address every mail carries
	// Contact is CONTACT_ADDRESS: the mailbox people write to, a bare
	// address, shown in every page and mail footer and the Reply-To of
	// every mail (the From is a no-reply address).
	Contact string
}

// Company reads COMPANY_NAME, COMPANY_ADDRESS and CONTACT_ADDRESS, all
// required; a contact address that is not a bare address we could send to
// is refused.
func Company(e *Env) CompanyInfo {
	c := CompanyInfo{Name: e.need("COMPANY_NAME"), PostalAddress: e.need("COMPANY_ADDRESS"), Contact: e.need("CONTACT_ADDRESS")}
	if c.Contact != "" {
		if err := people.ValidateEmail(c.Contact); err != nil {
			e.fail(fmt.Errorf("CONTACT_ADDRESS=%q: %v", c.Contact, err))
		}
	}
	return c
}

// Sender is the From mailbox of every mail (FROM_ADDRESS, RFC 5322, display
// name allowed; ours, never a user's), in the form SES takes: a display name
// that is not ASCII ("Société Générale <no-reply@example.com>") is RFC 2047
// encoded (SES refuses it raw), and a Unicode domain is written in its xn--
// form. An address SES could not send from is refused.
func Sender(e *Env) string {
	from := e.need("FROM_ADDRESS")
	if from == "" {
		return ""
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		e.fail(fmt.Errorf("FROM_ADDRESS: %v", err))
		return from
	}
	a.Address = people.NormaliseEmail(a.Address)
	if err := people.ValidateEmail(a.Address); err != nil {
		e.fail(fmt.Errorf("FROM_ADDRESS: %v", err))
		return from
	}
	if !isASCII(from) {
		return a.String() // RFC 2047 encoded words for the name, the xn-- form of the domain
	}
	return from
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// PolicyInForce is the privacy policy version sign-up forms must show.
type PolicyInForce struct {
	Version string // POLICY_VERSION
	URL     string // POLICY_URL: https (http only on a loopback host, see publicURL)
}

// Policy reads POLICY_VERSION and POLICY_URL, both required.
func Policy(e *Env) PolicyInForce {
	p := PolicyInForce{Version: e.need("POLICY_VERSION"), URL: e.need("POLICY_URL")}
	if p.URL != "" {
		if _, err := publicURL(p.URL); err != nil {
			e.fail(fmt.Errorf("POLICY_URL=%q %v", p.URL, err))
		}
	}
	return p
}

// PolicyPage is the privacy policy's URL (POLICY_URL, required; https, http
// only on a loopback host), for the functions that link it from every page
// but do not show sign-up forms (which need the version too: Policy).
func PolicyPage(e *Env) string {
	raw := e.need("POLICY_URL")
	if raw != "" {
		if _, err := publicURL(raw); err != nil {
			e.fail(fmt.Errorf("POLICY_URL=%q %v", raw, err))
		}
	}
	return raw
}

// BaseURL is the base of links in mail (PUBLIC_BASE_URL: https, http only
// on a loopback host, see publicURL); nil when unset: links then use the
// domain each request came in on. (template.yaml requires it.)
func BaseURL(e *Env) *url.URL {
	raw := e.get("PUBLIC_BASE_URL")
	if raw == "" {
		return nil
	}
	u, err := publicURL(strings.TrimRight(raw, "/"))
	if err != nil {
		e.fail(fmt.Errorf("PUBLIC_BASE_URL=%q %v", raw, err))
		return nil
	}
	return u
}

// publicURL parses a URL that people open from a page or a mail: https, as
// RFC 8058 requires of a List-Unsubscribe URL and the policy's section 10
// promises. Plain http is allowed only on a loopback host (localhost,
// 127.0.0.0/8, ::1), which is how the local stack serves: it listens on
// 127.0.0.1 and nothing else, and no deployment can be reached there.
func publicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return nil, fmt.Errorf("is not an absolute https URL")
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return u, nil
	}
	return nil, fmt.Errorf("is not https (plain http is allowed only on a loopback host, for the local stack)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Confirmation is how the double opt-in link behaves.
type Confirmation struct {
	TTL            time.Duration // CONFIRM_TTL, default 48h: how long a link works
	ResendInterval time.Duration // CONFIRM_RESEND_INTERVAL, default 10m: at most one mail per address per interval
}

// ConfirmLinks reads CONFIRM_TTL and CONFIRM_RESEND_INTERVAL.
func ConfirmLinks(e *Env) Confirmation {
	return Confirmation{TTL: e.duration("CONFIRM_TTL", 48*time.Hour), ResendInterval: e.duration("CONFIRM_RESEND_INTERVAL", 10*time.Minute)}
}

// UnsubscribeTTL is how long unsubscribe links work (UNSUBSCRIBE_TTL); 0
// (unset or "0") means they never expire. Mail providers expect an
// unsubscribe link to work for at least 30 days, so a shorter one is refused.
func UnsubscribeTTL(e *Env) time.Duration {
	v := e.get("UNSUBSCRIBE_TTL")
	if v == "" || v == "0" {
		return 0
	}
	d := e.duration("UNSUBSCRIBE_TTL", 0)
	if d > 0 && d < 30*24*time.Hour {
		e.fail(fmt.Errorf("UNSUBSCRIBE_TTL=%q is shorter than 30 days (720h); use 0 for no expiry", v))
	}
	return d
}

var retentionVars = []string{"RETENTION_UNCONFIRMED", "RETENTION_NO_PURPOSE", "RETENTION_CLOSED_ACCOUNT",
	"RETENTION_INACTIVE", "RETENTION_LEDGER_PROOF"}

// Retention reads the retention periods of people and their ledger
// (RETENTION_UNCONFIRMED, _NO_PURPOSE, _CLOSED_ACCOUNT, _INACTIVE,
// _LEDGER_PROOF; positive Go durations, each defaulting to
// people.DefaultRetention). NoticeRecords is left zero: see
// NoticeRecordsKept.
func Retention(e *Env) people.Retention {
	d := people.DefaultRetention
	return people.Retention{
		Unconfirmed:   e.duration("RETENTION_UNCONFIRMED", d.Unconfirmed),
		NoPurpose:     e.duration("RETENTION_NO_PURPOSE", d.NoPurpose),
		ClosedAccount: e.duration("RETENTION_CLOSED_ACCOUNT", d.ClosedAccount),
		Inactive:      e.duration("RETENTION_INACTIVE", d.Inactive),
		LedgerProof:   e.duration("RETENTION_LEDGER_PROOF", d.LedgerProof),
	}
}

// Bounces reads when transient bounces rest an address
// (BOUNCE_TRANSIENTS, a count of at least 1; BOUNCE_WINDOW and
// BOUNCE_REST, positive Go durations), each defaulting to
// people.DefaultBounceRule (3 in 720h rest it 168h).
func Bounces(e *Env) people.BounceRule {
	d := people.DefaultBounceRule
	r := people.BounceRule{Transients: d.Transients, Window: e.duration("BOUNCE_WINDOW", d.Window), Rest: e.duration("BOUNCE_REST", d.Rest)}
	if v := e.get("BOUNCE_TRANSIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			e.fail(fmt.Errorf("BOUNCE_TRANSIENTS=%q is not a count of at least 1", v))
		}
		r.Transients = n
	}
	return r
}

// NoticeRecordsKept is how long per-recipient notice records are kept after
// their version took effect (RETENTION_NOTICE_RECORDS, default 1 year).
func NoticeRecordsKept(e *Env) time.Duration {
	return e.duration("RETENTION_NOTICE_RECORDS", people.DefaultRetention.NoticeRecords)
}

// SweepSettings shape the retention sweep.
type SweepSettings struct {
	Epoch  string // SWEEP_EPOCH, yyyy-mm-dd: the first day a sweep looks at before it has a cursor
	DryRun bool   // DRY_RUN=true: every run only reports what it would do
	// AllowClockOverride (CLOCK_OVERRIDE=allow, set by the local stack
	// only) lets an invocation sweep as of another day.
	AllowClockOverride bool
}

// Sweep reads SWEEP_EPOCH (default 2026-11-01), DRY_RUN and CLOCK_OVERRIDE.
func Sweep(e *Env) SweepSettings {
	s := SweepSettings{Epoch: e.get("SWEEP_EPOCH"), AllowClockOverride: e.get("CLOCK_OVERRIDE") == "allow"}
	if s.Epoch == "" {
		s.Epoch = "2026-11-01"
	} else if _, err := time.Parse("2006-01-02", s.Epoch); err != nil {
		e.fail(fmt.Errorf("SWEEP_EPOCH=%q is not a yyyy-mm-dd day", s.Epoch))
	}
	switch v := e.get("DRY_RUN"); v {
	case "", "false":
	case "true":
		s.DryRun = true
	default:
		e.fail(fmt.Errorf("DRY_RUN=%q is neither true nor false", v))
	}
	return s
}

// PrivacyRequests reads the clock of privacy requests: REQUEST_DEADLINE
// (default 720h, the policy's "within 30 days" of receipt) and
// REQUEST_COOL_OFF (default 72h: how long a verified deletion can still be
// cancelled), positive Go durations; the verification window (7 days) and
// the verification link's life (24 h) are privacy.DefaultTiming's.
func PrivacyRequests(e *Env) privacy.Timing {
	t := privacy.DefaultTiming
	t.Deadline = e.duration("REQUEST_DEADLINE", t.Deadline)
	t.CoolOff = e.duration("REQUEST_COOL_OFF", t.CoolOff)
	return t
}

// ClockOverride reports whether an invocation may run as of another time
// (CLOCK_OVERRIDE=allow, set by the local stack only, never by the
// template), as the retention sweep's settings do (Sweep).
func ClockOverride(e *Env) bool { return e.get("CLOCK_OVERRIDE") == "allow" }

// PublishSettings shape publishing a policy version.
type PublishSettings struct {
	Minimum         time.Duration // NOTICE_MINIMUM, default 30 days: how far ahead a material change must be published
	NoticesFunction string        // NOTICES_FUNCTION (required): the notices function, kicked on publish
}

// Publishing reads NOTICE_MINIMUM and NOTICES_FUNCTION.
func Publishing(e *Env) PublishSettings {
	return PublishSettings{Minimum: e.duration("NOTICE_MINIMUM", 30*24*time.Hour), NoticesFunction: e.need("NOTICES_FUNCTION")}
}

// NoticeSettings shape the policy-notice fan-out.
type NoticeSettings struct {
	MaxRate float64       // NOTICE_MAX_RATE: caps sends below the SES account's max send rate; 0: no cap
	Lease   time.Duration // NOTICE_LEASE, default 1m: how long a run holds the sender lease between renewals
	// SettleGrace (NOTICE_SETTLE_GRACE, default 2m) is how long after a
	// killed run's lease lapses the next run waits, so that SES's send
	// events mark what the killed run sent.
	SettleGrace time.Duration
	// CatchUpEvery (NOTICE_CATCH_UP_EVERY, default 24h) is how often, until
	// a version takes effect, a pass tells people who confirmed after its
	// notice walked past them.
	CatchUpEvery time.Duration
}

// NoticeSending reads the NOTICE_* settings of the notices function.
func NoticeSending(e *Env) NoticeSettings {
	n := NoticeSettings{
		Lease:        e.duration("NOTICE_LEASE", time.Minute),
		SettleGrace:  e.duration("NOTICE_SETTLE_GRACE", 2*time.Minute),
		CatchUpEvery: e.duration("NOTICE_CATCH_UP_EVERY", 24*time.Hour),
	}
	if v := e.get("NOTICE_MAX_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			e.fail(fmt.Errorf("NOTICE_MAX_RATE=%q is not a rate (messages per second, 0 for the account's)", v))
		}
		n.MaxRate = r
	}
	return n
}

// DefaultLimits are the abuse limits when the template sets none: 30
// sign-up attempts per source network and one confirmation mail per
// canonical mailbox per 10 minutes (the resend interval), and 60
// confirmation mails a minute in all (SES's lowest production send rate
// is 14 a second; this leaves the rest for notices and newsletters).
var DefaultLimits = people.Limits{
	PerSource:  people.Limit{Max: 30, Window: 10 * time.Minute},
	PerMailbox: people.Limit{Max: 1, Window: 10 * time.Minute},
	Overall:    people.Limit{Max: 60, Window: time.Minute},
}

// Limits reads the abuse limits of the routes that mail on a stranger's
// request: LIMIT_SIGNUPS_PER_SOURCE and LIMIT_MAILS_PER_MAILBOX, each
// "<count>/<Go duration>" (as "30/10m"), and LIMIT_MAILS_PER_MINUTE, a
// count; "0" turns a limit off. Unset, each is DefaultLimits'.
func Limits(e *Env) people.Limits {
	perMinute := e.limit("LIMIT_MAILS_PER_MINUTE", DefaultLimits.Overall, false)
	return people.Limits{
		PerSource:  e.limit("LIMIT_SIGNUPS_PER_SOURCE", DefaultLimits.PerSource, true),
		PerMailbox: e.limit("LIMIT_MAILS_PER_MAILBOX", DefaultLimits.PerMailbox, true),
		Overall:    perMinute,
	}
}

// limit reads "<count>/<duration>" (withWindow) or a count per minute; "0"
// is no limit.
func (e *Env) limit(key string, def people.Limit, withWindow bool) people.Limit {
	v := e.get(key)
	switch v {
	case "":
		return def
	case "0":
		return people.Limit{}
	}
	count, window := v, "1m"
	if withWindow {
		var ok bool
		if count, window, ok = strings.Cut(v, "/"); !ok {
			e.fail(fmt.Errorf("%s=%q is not <count>/<duration>, as 30/10m, or 0 for no limit", key, v))
			return def
		}
	}
	n, err := strconv.ParseInt(count, 10, 64)
	d, derr := time.ParseDuration(window)
	if err != nil || n < 1 || derr != nil || d < time.Second {
		if withWindow {
			e.fail(fmt.Errorf("%s=%q is not <count>/<duration>, as 30/10m (a positive count, a window of a second or more), or 0 for no limit", key, v))
		} else {
			e.fail(fmt.Errorf("%s=%q is not a positive count, or 0 for no limit", key, v))
		}
		return def
	}
	return people.Limit{Max: n, Window: d}
}
