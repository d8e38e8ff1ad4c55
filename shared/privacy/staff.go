package privacy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Part 2 of privacy requests: what staff do (intake of requests made by
// mail or phone, completion, refusal, extension) and the downstream
// systems (the product's billing, support, ...) that hold what pledge
// does not. Every decision here is pure, like decide.go's: the request as
// read in, the request as it is to be written out (nil: no change), so a
// retry changes nothing twice.

// Channel is how a request came in: "web" (the /privacy form), or, entered
// by staff, "email" or "phone" (policy §11: "by emailing ... or by phone").
type Channel string

// The channels.
const (
	Web   Channel = "web"
	Email Channel = "email"
	Phone Channel = "phone"
)

// ParseChannel reads a staff entry's channel; anything but email or phone
// is an Invalid *people.Error on field "channel".
func ParseChannel(s string) (Channel, error) {
	if c := Channel(s); c == Email || c == Phone {
		return c, nil
	}
	return "", people.Errorf(people.Invalid, "channel", "the channel is email or phone")
}

// More outcomes of completed requests.
const (
	ContentRemoved Outcome = "content-removed" // a remove-content request: staff took the content down
	DoneByStaff    Outcome = "done-by-staff"   // an access request staff answered themselves
)

// ParseReason reads a refusal's reason; text is required for Other. Errors:
// Invalid *people.Error on field "reason" or "text".
func ParseReason(s, text string) (Reason, error) {
	r := Reason(s)
	if !slices.Contains([]Reason{IdentityNotVerified, NoData, LegalHold, TooManyRequests, Other}, r) {
		return "", people.Errorf(people.Invalid, "reason", "the reason is one of identity-not-verified, no-data, legal-hold, too-many-requests, other")
	}
	if r == Other && strings.TrimSpace(text) == "" {
		return "", people.Errorf(people.Invalid, "text", "say why in text when the reason is other")
	}
	return r, nil
}

// StaffRecord is what part 2 adds to a request.
type StaffRecord struct {
	VerifiedBy  string // a staff entry's: who checked the identity (a name or staff id)
	VerifiedHow string // a staff entry's: how they checked it
	Details     string // a staff entry's: which content, what exactly; dropped when the request closes
	Note        string // staff's note on completion

	// An extension (GDPR Art. 12(3)): once, before the due date, by one
	// or two months; OriginalDue is the due date before it.
	ExtendedMonths  int
	ExtensionReason string
	ExtendedAt      time.Time
	OriginalDue     time.Time

	// Systems are the downstream systems that must act on the request,
	// fixed when it is made (Timing.Systems); Notified is when its event
	// was published to them (zero: not yet; the clock publishes what is
	// left). ErasedAt is when a deletion erased pledge's own data.
	Systems  []SystemAck
	Notified time.Time
	ErasedAt time.Time
}

// SystemAck is one downstream system's answer to a request.
type SystemAck struct {
	Name   string
	At     time.Time // zero: it has not answered
	Acted  bool      // it acted; false with At set: it did not, for Reason
	Reason string
}

// systemName is what a downstream system may be called (the
// DownstreamSystems parameter).
var systemName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidSystemName reports whether s can name a downstream system: lower
// case letters, digits and hyphens, at most 32, starting with a letter.
func ValidSystemName(s string) bool { return systemName.MatchString(s) }

// SystemsDone reports whether every downstream system of r has answered.
func (r Request) SystemsDone() bool {
	return len(r.Waiting()) == 0
}

// Waiting names the systems of r that have not answered yet; none for a
// request closed before it was announced (a deletion cancelled in its
// cool-off, a request refused or lapsed): no system was told of it.
func (r Request) Waiting() []string {
	if !r.Status.Open() && r.Staff.Notified.IsZero() {
		return nil
	}
	var names []string
	for _, s := range r.Staff.Systems {
		if s.At.IsZero() {
			names = append(names, s.Name)
		}
	}
	return names
}

func pledged(systems []string) []SystemAck {
	var acks []SystemAck
	for _, s := range systems {
		acks = append(acks, SystemAck{Name: s})
	}
	return acks
}

// Intake is a request staff took by mail or phone, as decoded.
type Intake struct {
	Channel     Channel
	Kind        Kind
	Email       string    // normalised, valid
	Received    time.Time // when the person asked: the clock runs from it
	VerifiedBy  string
	VerifiedHow string
	Details     string
}

// Limits of the free text staff write (bytes).
const (
	maxStaffText   = 1000
	maxDetailsText = 4000
)

// CheckText is an Invalid *people.Error on field when s is required and
// blank, or longer than max bytes.
func CheckText(field, s string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return people.Errorf(people.Invalid, field, "%s is required", field)
	case len(s) > max:
		return people.Errorf(people.Invalid, field, "%s is longer than %d bytes", field, max)
	}
	return nil
}

// CheckIntake checks a staff entry against the clock at now: the kind is
// not a correction (the person makes it on the web); who verified and how
// are required; received is not in the future (a minute of clock
// skew aside) and not so old that the request would be past its due date
// on entry (such a request is answered outside pledge and recorded there:
// pledge's clock cannot promise what is already late). Errors: Invalid
// *people.Error naming the field.
func (t Timing) CheckIntake(in Intake, now time.Time) error {
	switch {
	case in.Kind == Correct:
		// Nothing carries a staff-entered correction's new name or address,
		// and its new mailbox must confirm: the person asks on the web.
		return people.Errorf(people.Invalid, "kind", "a correction is made by the person on the privacy page (a new address must be confirmed from its mailbox); staff enter access, delete or remove-content")
	case in.Received.IsZero():
		return people.Errorf(people.Invalid, "received", "received is required (RFC 3339)")
	case in.Received.After(now.Add(time.Minute)):
		return people.Errorf(people.Invalid, "received", "received is in the future")
	case !in.Received.Add(t.Deadline).After(now):
		return people.Errorf(people.Invalid, "received", "received is more than %s ago: the request is already past its due date", t.Deadline)
	}
	if err := CheckText("verifiedBy", in.VerifiedBy, true, 200); err != nil {
		return err
	}
	if err := CheckText("verifiedHow", in.VerifiedHow, true, maxStaffText); err != nil {
		return err
	}
	return CheckText("details", in.Details, false, maxDetailsText)
}

// Enter is the request staff entered at now for the person keyed
// personID: verified (staff checked the identity), due Deadline after it
// was received, pledged to t.Systems. A deletion gets the same cool-off
// as one verified on the web, counted from entry, in which staff can
// still refuse it. Check it with CheckIntake first.
func (t Timing) Enter(id, personID string, in Intake, now time.Time) Request {
	now, received := now.UTC(), in.Received.UTC()
	r := Request{ID: id, PersonID: personID, Kind: in.Kind, Status: Verified, Email: in.Email, Channel: string(in.Channel),
		Received: received, Due: received.Add(t.Deadline), Expires: received.Add(t.VerifyWindow), VerifiedAt: now, UpdatedAt: now,
		Staff: StaffRecord{VerifiedBy: in.VerifiedBy, VerifiedHow: in.VerifiedHow, Details: in.Details, Systems: pledged(t.Systems)}}
	if in.Kind == Delete {
		r.CoolOffEnds = now.Add(t.CoolOff)
	}
	return r
}

// NeedsNotice reports whether r's event is still to be published to the
// downstream systems: it waits for some, is verified (by its mailbox or by
// staff) and not refused, lapsed or cancelled, has not been published,
// and is not a web deletion in its cool-off (InCoolOff).
func (r Request) NeedsNotice() bool {
	return len(r.Staff.Systems) > 0 && r.Staff.Notified.IsZero() && !r.VerifiedAt.IsZero() && !r.InCoolOff() &&
		(r.Status == Verified || r.Status == InProgress || r.Status == Completed)
}

// InCoolOff reports whether r is a deletion verified on the web whose
// cool-off has not ended: the person can still cancel it on the status
// page, so the systems are not told of it until the clock starts its
// erasure (status in progress; Advance). Told earlier, a system might
// delete what a cancelled request leaves in place, and no event takes a
// deletion back. A deletion staff entered is announced at entry, as the
// other kinds are at verification (issue 14: downstream systems).
func (r Request) InCoolOff() bool {
	return r.Kind == Delete && r.Channel == string(Web) && r.Status == Verified
}

// Notified records that r's event was published at now; nil if it was.
func Notified(r Request, now time.Time) *Request {
	if !r.Staff.Notified.IsZero() {
		return nil
	}
	q := r.touch(now)
	q.Staff.Notified = now.UTC()
	return &q
}

// conflict is a Conflict *people.Error (409) with no field.
func conflict(format string, args ...any) error {
	return people.Errorf(people.Conflict, "", format, args...)
}

// StaffComplete is staff completing r at now with an optional note: an
// access or content removal that is verified or in progress is closed
// completed. A completed request changes nothing (a retry). A deletion
// completes itself (Complete), an unverified request must be verified
// first, and a closed one stays as it is: each a Conflict.
func StaffComplete(r Request, note string, now time.Time) (*Request, error) {
	switch {
	case r.Status == Completed:
		return nil, nil
	case !r.Status.Open():
		return nil, conflict("the request is %s; it cannot be completed", r.Status)
	case r.Status == Unverified:
		return nil, conflict("the request is not verified yet; verify it or refuse it (identity-not-verified)")
	case r.Kind == Delete:
		return nil, conflict("a deletion completes itself once pledge has erased the data and every downstream system has answered (waiting for: %s)", waitingWords(r))
	}
	q := r.close(Completed, now)
	q.Staff.Note = note
	q.Outcome = DoneByStaff
	if r.Kind == RemoveContent {
		q.Outcome = ContentRemoved
	}
	return &q, nil
}

func waitingWords(r Request) string {
	if w := r.Waiting(); len(w) > 0 {
		return strings.Join(w, ", ")
	}
	return "pledge's erasure after the cool-off"
}

// Refuse is staff refusing r at now for reason (text: the words mailed
// with it; required for Other). A request refused already for the same
// reason and text changes nothing (a retry); any other closed request,
// or a deletion whose erasure has begun, is a Conflict.
func Refuse(r Request, reason Reason, text string, now time.Time) (*Request, error) {
	switch {
	case r.Status == Refused && r.Reason == reason && r.ReasonText == text:
		return nil, nil
	case !r.Status.Open():
		return nil, conflict("the request is already %s", r.Status)
	case r.Kind == Delete && r.Status == InProgress:
		return nil, conflict("the erasure has begun; the deletion can no longer be refused")
	}
	q := r.close(Refused, now)
	q.Reason, q.ReasonText = reason, text
	return &q, nil
}

// Extend is staff extending r at now by months (1 or 2) for reason (GDPR
// Art. 12(3): "may be extended by two further months where necessary",
// once, and the person told within the first month, i.e. before the
// original due date). The same extension again changes nothing (a retry);
// a second, different one, one on or after the due date, or one of a
// closed or unverified request is a Conflict; months other than 1 or 2 or
// a blank reason are Invalid.
func Extend(r Request, months int, reason string, now time.Time) (*Request, error) {
	if err := CheckExtension(months, reason); err != nil {
		return nil, err
	}
	switch {
	case r.Staff.ExtendedMonths > 0 && r.Staff.ExtendedMonths == months && r.Staff.ExtensionReason == reason:
		return nil, nil
	case r.Staff.ExtendedMonths > 0:
		return nil, conflict("the request was extended once already, to %s; it cannot be extended again", r.Due.UTC().Format("2006-01-02"))
	case !r.Status.Open():
		return nil, conflict("the request is %s; it cannot be extended", r.Status)
	case r.Status == Unverified:
		return nil, conflict("the request is not verified yet; it cannot be extended")
	case !now.Before(r.Due):
		return nil, conflict("the due date %s has passed; an extension must be given before it", r.Due.UTC().Format(time.RFC3339))
	}
	q := r.touch(now)
	q.Staff.ExtendedMonths, q.Staff.ExtensionReason, q.Staff.ExtendedAt, q.Staff.OriginalDue = months, reason, now.UTC(), r.Due
	q.Due = addMonths(r.Due, months)
	q.Reminded = nil // the reminders count down to the new due date
	return &q, nil
}

// addMonths is t moved by n calendar months, on the same day, or on the
// last day of the month it lands in when that month is shorter (31
// December plus two months is 28 or 29 February: time.AddDate would carry
// it into March, past the two further months of GDPR Art. 12(3)).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// CheckExtension checks an extension's words before any request is read:
// months is 1 or 2 and a reason is given. Errors: Invalid *people.Error on
// field "months" or "reason".
func CheckExtension(months int, reason string) error {
	if months != 1 && months != 2 {
		return people.Errorf(people.Invalid, "months", "months is 1 or 2 (GDPR Art. 12(3): up to two further months)")
	}
	return CheckText("reason", reason, true, maxStaffText)
}

// Acknowledge records downstream system name's answer to r at now: it
// acted, or it did not, for reason. The same answer again changes nothing
// (a retry); a different second answer is a Conflict; a system r was not
// pledged to is a NotFound on field "name". The answer that is the last
// one a deletion erased by pledge waited for closes it (completed,
// erased). An answer to a closed request is recorded too.
func Acknowledge(r Request, name string, acted bool, reason string, now time.Time) (*Request, error) {
	i := slices.IndexFunc(r.Staff.Systems, func(s SystemAck) bool { return s.Name == name })
	if i < 0 {
		return nil, people.Errorf(people.NotFound, "name", "request %s was not sent to system %s", r.ID, name)
	}
	if s := r.Staff.Systems[i]; !s.At.IsZero() {
		if s.Acted == acted && s.Reason == reason {
			return nil, nil
		}
		return nil, conflict("system %s answered this request already (%s)", name, ackWords(s))
	}
	if r.Status == Unverified {
		return nil, conflict("the request is not verified yet; nothing was sent to system %s", name)
	}
	q := r.touch(now)
	q.Staff.Systems[i] = SystemAck{Name: name, At: now.UTC(), Acted: acted, Reason: reason}
	if q.Kind == Delete && q.Status == InProgress && !q.Staff.ErasedAt.IsZero() && q.SystemsDone() {
		q = q.close(Completed, now)
		q.Outcome = Erased
	}
	return &q, nil
}

func ackWords(s SystemAck) string {
	if s.Acted {
		return "acted"
	}
	return fmt.Sprintf("did not act: %s", truncate(s.Reason, 60))
}

// refusalWords say each reason to the person.
var refusalWords = map[Reason]string{
	IdentityNotVerified: "We could not verify that the request came from the person this address belongs to.",
	NoData:              "We hold no personal data of this kind about this address, so there is nothing to do.",
	LegalHold:           "The law requires us to keep this data for now.",
	TooManyRequests:     "You made this request many times recently; the law lets us refuse requests that are manifestly excessive.",
}

// RefusalWords is why r was refused, as the person's mail says it: the
// reason's sentence, then staff's text.
func (r Request) RefusalWords() string {
	return strings.TrimSpace(refusalWords[r.Reason] + " " + strings.TrimSpace(r.ReasonText))
}
