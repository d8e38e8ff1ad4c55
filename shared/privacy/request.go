// Package privacy is the domain of privacy requests (data subject requests,
// policy section 11: "you may request access to, correction, updating or
// deletion of your personal information ... we will respond to your request
// to access within 30 days"): their kinds, statuses and clock, and the pure
// decisions of every transition. It imports no AWS package; the store
// persists what these decisions say, each as one conditional write.
package privacy

import (
	"fmt"
	"slices"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Kind is what a person asks for.
type Kind string

// The kinds of request of part 1.
const (
	Access Kind = "access" // a copy of everything pledge holds about the person (GDPR Art. 15)
	Delete Kind = "delete" // erasure (GDPR Art. 17), through the retention sweep's erasure
	// RemoveContent: a testimonial or forum posts taken down (policy §12);
	// staff complete or refuse it (staff.go).
	RemoveContent Kind = "remove-content"
)

// Kinds lists the kinds a person may ask for, in the order a form shows them.
var Kinds = []Kind{Access, Delete, Correct, RemoveContent}

// ParseKind reads a kind as typed; an unknown kind is an Invalid *people.Error
// on field "kind".
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds, k) {
		return "", people.Errorf(people.Invalid, "kind", "choose what you ask for: access, delete, correct or remove-content")
	}
	return k, nil
}

// Label is the kind as a page names it.
func (k Kind) Label() string {
	switch k {
	case Access:
		return "A copy of your data"
	case Delete:
		return "Deletion of your data"
	case Correct:
		return "Correction of your name or address"
	case RemoveContent:
		return "Removal of your testimonial or forum posts"
	}
	return string(k)
}

// Status is where a request stands.
type Status string

// The statuses, in the field's words.
const (
	Unverified Status = "unverified"  // received; the mailbox has not yet proved it asked
	Verified   Status = "verified"    // the mailbox pressed the link's button
	InProgress Status = "in-progress" // being carried out (a deletion past its cool-off)
	Completed  Status = "completed"
	Refused    Status = "refused" // with a Reason
	Expired    Status = "expired" // never verified within VerifyWindow
	Cancelled  Status = "cancelled"
)

// Statuses lists every status, open ones first.
var Statuses = []Status{Unverified, Verified, InProgress, Completed, Refused, Expired, Cancelled}

// Open reports whether a request in status s still runs against its due date.
func (s Status) Open() bool { return s == Unverified || s == Verified || s == InProgress }

// ParseStatus reads a status as typed; unknown: an Invalid *people.Error on
// field "status".
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !slices.Contains(Statuses, st) {
		return "", people.Errorf(people.Invalid, "status", "unknown status %q", truncate(s, 20))
	}
	return st, nil
}

// Reason is why a request was refused: the fixed list of the issue.
type Reason string

// The reasons of a refusal.
const (
	IdentityNotVerified Reason = "identity-not-verified"
	NoData              Reason = "no-data" // pledge holds no profile for the address: what an unknown address's verified request ends in
	LegalHold           Reason = "legal-hold"
	TooManyRequests     Reason = "too-many-requests"
	Other               Reason = "other" // with a text
)

// Outcome is what a completed request did, in a word the record keeps.
type Outcome string

// The outcomes of completed requests.
const (
	ExportSent Outcome = "export-sent" // an access request: the export link was mailed
	Erased     Outcome = "erased"      // a deletion: the person was erased (or was already gone)
)

// Reminder is a stage of the clock that is announced once per request.
type Reminder string

// The reminders: 7 and 2 days before the due date, and once overdue.
const (
	DueIn7Days Reminder = "due-in-7-days"
	DueIn2Days Reminder = "due-in-2-days"
	Overdue    Reminder = "overdue"
)

// Request is one privacy request. It names the person by their keyed id
// (never the address); it holds the address only while it is open, to
// mail the person, and drops it when it closes: the record then keeps what
// proves the request was honoured (kind, times, outcome) and nothing else.
type Request struct {
	ID       string // random, URL-safe; the handle of links and the admin routes
	PersonID string // keyed id of the normalised address (people.KeyedID)
	Kind     Kind
	Status   Status
	Email    string // the normalised address, while open; "" once closed
	Channel  string // how it came in: "web" (part 1)

	Received time.Time
	Due      time.Time // Received + Timing.Deadline
	// Expires is when an unverified request lapses (Received + VerifyWindow).
	Expires time.Time
	// Nonce is what the live verification link carries; "" once used.
	Nonce       string
	VerifiedAt  time.Time
	CoolOffEnds time.Time // a verified deletion is carried out from then on
	ClosedAt    time.Time

	Reason     Reason     // a refusal's
	ReasonText string     // a refusal's, for Other
	Outcome    Outcome    // a completion's
	Correction Correction // a correction's (kind Correct): what it changes
	Reminded   []Reminder
	UpdatedAt  time.Time
	Version    int64 // bumped by every write; 0: not stored

	// Staff is part 2's record: staff intake, extension, downstream systems (staff.go).
	Staff StaffRecord
}

// Timing is the clock's parameters.
type Timing struct {
	Deadline     time.Duration // REQUEST_DEADLINE, 720h: the policy's 30 days from receipt
	CoolOff      time.Duration // REQUEST_COOL_OFF, 72h: a deletion can be cancelled this long after verification
	VerifyWindow time.Duration // unverified requests expire after this (7 days)
	LinkTTL      time.Duration // a verification link works this long (24 h)
	Systems      []string      // DOWNSTREAM_SYSTEMS: the systems each new request must hear back from (staff.go)
}

// DefaultTiming is the issue's: 30 days, 72 h, 7 days, 24 h.
var DefaultTiming = Timing{Deadline: 720 * time.Hour, CoolOff: 72 * time.Hour, VerifyWindow: 7 * 24 * time.Hour, LinkTTL: 24 * time.Hour}

// The lifetimes of the links a request mails (besides the verification link).
const (
	StatusLinkTTL = 60 * 24 * time.Hour // past the due date, so the person can see the outcome
	ExportLinkTTL = 7 * 24 * time.Hour  // the issue's: an export link expires after 7 days
)

// New is a request received at now for the person keyed personID at the
// normalised address email: unverified, due at now + Deadline, with a
// fresh verification nonce.
func (t Timing) New(id, personID string, kind Kind, email string, now time.Time, nonce string) Request {
	now = now.UTC()
	return Request{ID: id, PersonID: personID, Kind: kind, Status: Unverified, Email: email, Channel: "web",
		Received: now, Due: now.Add(t.Deadline), Expires: now.Add(t.VerifyWindow), Nonce: nonce, UpdatedAt: now,
		Staff: StaffRecord{Systems: pledged(t.Systems)}}
}

// Summary is what a request's record says without the address: what the
// person's export lists, and what admin listings show.
type Summary struct {
	ID       string    `json:"id"`
	Kind     Kind      `json:"kind"`
	Status   Status    `json:"status"`
	Received time.Time `json:"received"`
	Due      time.Time `json:"due"`
	Closed   time.Time `json:"closed,omitzero"`
	Reason   Reason    `json:"reason,omitempty"`
	Outcome  Outcome   `json:"outcome,omitempty"`
}

// Summary returns r without the address or the nonce.
func (r Request) Summary() Summary {
	return Summary{ID: r.ID, Kind: r.Kind, Status: r.Status, Received: r.Received, Due: r.Due, Closed: r.ClosedAt, Reason: r.Reason, Outcome: r.Outcome}
}

// close returns a copy of r closed at now in status s: the address and
// any live link go.
func (r Request) close(s Status, now time.Time) Request {
	q := r.touch(now)
	q.Status, q.ClosedAt, q.Email, q.Nonce = s, now.UTC(), "", ""
	q.Correction = Correction{PersonID: r.Correction.PersonID, From: r.Correction.From, Confirmed: r.Correction.Confirmed} // the new name and address go
	q.Staff.Details = ""                                                                                                   // what staff noted of the content goes with the address
	return q
}

func (r Request) touch(now time.Time) Request {
	q := r
	q.Reminded = slices.Clone(r.Reminded)
	q.Staff.Systems = slices.Clone(r.Staff.Systems)
	q.UpdatedAt = now.UTC()
	return q
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%.*s…", n, s)
}
