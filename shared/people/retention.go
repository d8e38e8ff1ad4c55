package people

import (
	"fmt"
	"time"
)

// Rule is a retention rule: what is done with an item once its clock runs out.
type Rule string

// The retention rules (policy section 11: kept while the account is active or
// as needed, then gone; sections 2 and 5: only aggregate counts stay).
const (
	RuleUnconfirmed   Rule = "unconfirmed"    // signed up, never confirmed
	RuleNoPurpose     Rule = "no-purpose"     // no active purpose and no account
	RuleClosedAccount Rule = "closed-account" // an account was closed
	RuleInactive      Rule = "inactive"       // no confirmed activity, no open account
	RuleLedgerProof   Rule = "ledger-proof"   // the consent ledger's proof period ended
	RuleNoticeRecords Rule = "notice-records" // per-recipient notice records of an old policy version
)

// Retention is how long each clock runs.
type Retention struct {
	Unconfirmed   time.Duration
	NoPurpose     time.Duration
	ClosedAccount time.Duration
	Inactive      time.Duration
	LedgerProof   time.Duration
	NoticeRecords time.Duration
}

// DefaultRetention is what the policy lets us keep when nothing is configured.
var DefaultRetention = Retention{
	Unconfirmed:   7 * 24 * time.Hour,
	NoPurpose:     90 * 24 * time.Hour,
	ClosedAccount: 365 * 24 * time.Hour,
	Inactive:      3 * 365 * 24 * time.Hour,
	LedgerProof:   6 * 365 * 24 * time.Hour,
	NoticeRecords: 365 * 24 * time.Hour,
}

// Clock is when an item becomes due under a rule.
type Clock struct {
	Rule Rule
	Due  time.Time
}

// IsZero reports whether no clock runs.
func (c Clock) IsZero() bool { return c.Rule == "" }

// PersonClock is the clock of a person after a change at now. While their
// account is open no clock runs (policy section 11: kept while the account
// is active). Otherwise unconfirmed people go after Unconfirmed, people with
// an active purpose after Inactive without confirmed activity, people with
// none after NoPurpose; once an account was closed, the person goes
// ClosedAccount after the closing, or later if an active purpose still asks
// for their address (a newsletter they kept). A rule with no period
// configured starts no clock (never "due at once").
func (r Retention) PersonClock(status Status, active []Purpose, acct Account, now time.Time) Clock {
	if acct.State == AccountOpen {
		return Clock{}
	}
	rule, d := RuleNoPurpose, r.NoPurpose
	switch {
	case len(active) > 0:
		rule, d = RuleInactive, r.Inactive
	case status == Unconfirmed:
		rule, d = RuleUnconfirmed, r.Unconfirmed
	}
	var c Clock
	if d > 0 {
		c = Clock{rule, now.Add(d)}
	}
	if acct.State == AccountClosed && r.ClosedAccount > 0 {
		// An account closed longer ago than that (reported late, or a clock
		// refiled by the sweep) is due now: a day already swept is never
		// looked at again.
		closed := Clock{RuleClosedAccount, later(acct.At.Add(r.ClosedAccount), now)}
		if len(active) == 0 || c.IsZero() || closed.Due.After(c.Due) {
			return closed
		}
	}
	return c
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Expire decides what becomes of p, whose clock due has run out, at now:
// erased under due's rule while that rule still applies; when it does not
// (a clock filed by an older write that did not know all of the person),
// the clock that does apply runs from now on, or none while an account is
// open; nothing at all when p's clock is no longer due (they came back, or
// are gone).
func (r Retention) Expire(p Person, due Clock, now time.Time) Change {
	if !p.Exists() || p.Clock.Rule != due.Rule || !p.Clock.Due.Equal(due.Due) || p.Clock.Due.After(now) {
		return Change{}
	}
	if want := r.PersonClock(p.Status, p.Active, p.Account, now); want.Rule != due.Rule {
		q := changed(p)
		q.Clock = want
		return Change{After: q}
	}
	return Change{Erase: &Erasure{Rule: due.Rule, At: now, ProofClock: Clock{RuleLedgerProof, now.Add(r.LedgerProof)}}}
}

// EndedBy is the purposes whose ledger entries a withdrawal of w ends: w
// itself, and every marketing purpose for AllMarketing.
func EndedBy(w Purpose) []Purpose {
	if w == AllMarketing {
		return append([]Purpose{AllMarketing}, MarketingPurposes...)
	}
	return []Purpose{w}
}

// WithProofClocks starts the proof clock of each withdrawal among events:
// the entries of a consent that ended are proof for LedgerProof after its
// withdrawal, then they go (policy section 11).
func (r Retention) WithProofClocks(events []ConsentEvent) []ConsentEvent {
	for i, e := range events {
		if e.Action == Withdraw && r.LedgerProof > 0 {
			events[i].ProofClock = Clock{RuleLedgerProof, e.At.Add(r.LedgerProof)}
		}
	}
	return events
}

// Validate refuses retention periods that are not positive.
func (r Retention) Validate() error {
	for name, d := range map[string]time.Duration{
		"unconfirmed": r.Unconfirmed, "no-purpose": r.NoPurpose, "closed-account": r.ClosedAccount,
		"inactive": r.Inactive, "ledger-proof": r.LedgerProof, "notice-records": r.NoticeRecords,
	} {
		if d <= 0 {
			return fmt.Errorf("retention %s must be positive, not %v", name, d)
		}
	}
	return nil
}
