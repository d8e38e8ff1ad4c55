package privacy

import (
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

var twoSystems = Timing{Deadline: 720 * time.Hour, CoolOff: 72 * time.Hour, VerifyWindow: 7 * 24 * time.Hour, LinkTTL: 24 * time.Hour,
	Systems: []string{"billing", "support"}}

func entered(kind Kind, received time.Time) Request {
	r := twoSystems.Enter("s1", "pid", Intake{Channel: Phone, Kind: kind, Email: "jo@example.com", Received: received,
		VerifiedBy: "amy", VerifiedHow: "called back the number on file", Details: "the forum post of 3 May"}, t0)
	r.Version = 1
	return r
}

func code(err error) people.Code {
	if e, ok := people.AsError(err); ok {
		return e.Code
	}
	return ""
}

func field(err error) string {
	if e, ok := people.AsError(err); ok {
		return e.Field
	}
	return ""
}

func TestAStaffEntryStartsVerifiedWithItsClockFromReceipt(t *testing.T) {
	received := t0.Add(-5 * 24 * time.Hour)
	r := entered(Delete, received)
	if r.Status != Verified || r.Channel != "phone" || !r.Due.Equal(received.Add(720*time.Hour)) || !r.VerifiedAt.Equal(t0) ||
		!r.CoolOffEnds.Equal(t0.Add(72*time.Hour)) || len(r.Staff.Systems) != 2 || r.SystemsDone() || !r.NeedsNotice() {
		t.Fatalf("entered = %+v", r)
	}
}

func TestStaffEntriesWithBadTimesOrMissingWordsAreRefusedNamingTheField(t *testing.T) {
	ok := Intake{Channel: Email, Kind: Access, Email: "jo@example.com", Received: t0.Add(-time.Hour), VerifiedBy: "amy", VerifiedHow: "replied from the address on file"}
	if err := twoSystems.CheckIntake(ok, t0); err != nil {
		t.Fatalf("a good entry: %v", err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*Intake)
		field string
	}{
		{"a future time", func(in *Intake) { in.Received = t0.Add(time.Hour) }, "received"},
		{"no time", func(in *Intake) { in.Received = time.Time{} }, "received"},
		{"a time past the deadline", func(in *Intake) { in.Received = t0.Add(-721 * time.Hour) }, "received"},
		{"nobody who verified", func(in *Intake) { in.VerifiedBy = " " }, "verifiedBy"},
		{"no way it was verified", func(in *Intake) { in.VerifiedHow = "" }, "verifiedHow"},
		{"details too long", func(in *Intake) { in.Details = string(make([]byte, 4001)) }, "details"},
		// A correction entered by staff has no new name or address and
		// nothing applies it: the clock would lapse it unverified-by-mail.
		{"a correction", func(in *Intake) { in.Kind = Correct }, "kind"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.edit(&in)
			if err := twoSystems.CheckIntake(in, t0); code(err) != people.Invalid || field(err) != tt.field {
				t.Fatalf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
	if _, err := ParseChannel("fax"); field(err) != "channel" {
		t.Fatalf("fax: %v", err)
	}
	if _, err := ParseKind("forget-me"); field(err) != "kind" {
		t.Fatalf("kind: %v", err)
	}
}

func TestContentRemovalWaitsForStaffAfterVerificationEvenWithoutAProfile(t *testing.T) {
	r := DefaultTiming.New("r1", "pid", RemoveContent, "jo@example.com", t0, "n1")
	q, v := DefaultTiming.Verify(r, "n1", false, t0.Add(time.Hour))
	if v != JustVerified || q.Status != InProgress || q.Email == "" || q.CanCancel(t0.Add(time.Hour)) {
		t.Fatalf("verified = %v %+v", v, q)
	}
	if _, step := Advance(*q, t0.Add(100*24*time.Hour)); step != Wait {
		t.Fatalf("the clock did %v with a content removal", step)
	}
}

func TestStaffCompleteAContentRemovalOnceAndNeverADeletion(t *testing.T) {
	r := entered(RemoveContent, t0)
	q, err := StaffComplete(r, "post 1234 taken down", t0.Add(time.Hour))
	if err != nil || q.Status != Completed || q.Outcome != ContentRemoved || q.Email != "" || q.Staff.Details != "" || q.Staff.Note != "post 1234 taken down" {
		t.Fatalf("complete = %+v %v", q, err)
	}
	if again, err := StaffComplete(*q, "again", t0.Add(2*time.Hour)); again != nil || err != nil {
		t.Fatalf("a second completion changed %+v %v", again, err)
	}
	if _, err := StaffComplete(entered(Delete, t0), "", t0); code(err) != people.Conflict {
		t.Fatalf("completing a deletion: %v", err)
	}
	if _, err := StaffComplete(newRequest(Access), "", t0); code(err) != people.Conflict {
		t.Fatalf("completing an unverified request: %v", err)
	}
}

func TestRefusingKeepsTheReasonOnceAndNotAfterTheErasureBegan(t *testing.T) {
	r := entered(RemoveContent, t0)
	q, err := Refuse(r, LegalHold, "the post is evidence in a court case", t0.Add(time.Hour))
	if err != nil || q.Status != Refused || q.Reason != LegalHold || q.ReasonText == "" || q.Email != "" {
		t.Fatalf("refuse = %+v %v", q, err)
	}
	if again, err := Refuse(*q, LegalHold, "the post is evidence in a court case", t0.Add(2*time.Hour)); again != nil || err != nil {
		t.Fatalf("a retry changed %+v %v", again, err)
	}
	if _, err := Refuse(*q, NoData, "", t0.Add(2*time.Hour)); code(err) != people.Conflict {
		t.Fatalf("refusing again differently: %v", err)
	}
	d := entered(Delete, t0)
	d.Status = InProgress
	if _, err := Refuse(d, LegalHold, "", t0); code(err) != people.Conflict {
		t.Fatalf("refusing an erasure under way: %v", err)
	}
	if _, err := ParseReason("other", " "); field(err) != "text" {
		t.Fatalf("other without text: %v", err)
	}
	if _, err := ParseReason("bored", ""); field(err) != "reason" {
		t.Fatalf("unknown reason: %v", err)
	}
}

func TestAnExtensionIsOnceBeforeTheDueDateByAtMostTwoMonths(t *testing.T) {
	r := entered(Access, t0)
	r.Reminded = []Reminder{DueIn7Days}
	q, err := Extend(r, 2, "the export spans three archives", t0.Add(24*time.Hour))
	if err != nil || !q.Due.Equal(r.Due.AddDate(0, 2, 0)) || !q.Staff.OriginalDue.Equal(r.Due) || q.Staff.ExtendedMonths != 2 || len(q.Reminded) != 0 {
		t.Fatalf("extend = %+v %v", q, err)
	}
	if again, err := Extend(*q, 2, "the export spans three archives", t0.Add(25*time.Hour)); again != nil || err != nil {
		t.Fatalf("a retry changed %+v %v", again, err)
	}
	if _, err := Extend(*q, 1, "more", t0.Add(25*time.Hour)); code(err) != people.Conflict {
		t.Fatalf("a second extension: %v", err)
	}
	if _, err := Extend(r, 1, "late", r.Due); code(err) != people.Conflict {
		t.Fatalf("an extension on the due date: %v", err)
	}
	for _, m := range []int{0, 3, -1} {
		if _, err := Extend(r, m, "x", t0); field(err) != "months" {
			t.Fatalf("%d months: %v", m, err)
		}
	}
	if _, err := Extend(r, 1, "", t0); field(err) != "reason" {
		t.Fatalf("no reason: %v", err)
	}
}

func TestADeletionErasesAfterItsCoolOffAndCompletesWhenTheLastSystemAnswers(t *testing.T) {
	r := entered(Delete, t0)
	after := t0.Add(73 * time.Hour)
	q, step := Advance(r, after)
	if step != StartErasure {
		t.Fatalf("step %v", step)
	}
	erased := Complete(*q, after)
	if erased == nil || erased.Status != InProgress || erased.Staff.ErasedAt.IsZero() || erased.Email == "" {
		t.Fatalf("erased = %+v", erased)
	}
	if _, step := Advance(*erased, after.Add(time.Hour)); step != Wait {
		t.Fatalf("the clock erases again while waiting: %v", step)
	}
	if Complete(*erased, after.Add(time.Hour)) != nil {
		t.Fatal("completing again while waiting changed the request")
	}
	one, err := Acknowledge(*erased, "billing", true, "", after.Add(2*time.Hour))
	if err != nil || one.Status != InProgress || one.SystemsDone() {
		t.Fatalf("one answer = %+v %v", one, err)
	}
	if _, err := Acknowledge(*one, "billing", false, "no account", after); code(err) != people.Conflict {
		t.Fatalf("a different second answer: %v", err)
	}
	if _, err := Acknowledge(*one, "crm", true, "", after); code(err) != people.NotFound || field(err) != "name" {
		t.Fatalf("an unknown system: %v", err)
	}
	done, err := Acknowledge(*one, "support", false, "no tickets for this person", after.Add(3*time.Hour))
	if err != nil || done.Status != Completed || done.Outcome != Erased || done.Email != "" {
		t.Fatalf("last answer = %+v %v", done, err)
	}
	if again, err := Acknowledge(*done, "support", false, "no tickets for this person", after); again != nil || err != nil {
		t.Fatalf("a retried answer changed %+v %v", again, err)
	}
}

func TestSystemsThatAnswerBeforeTheErasureLetItComplete(t *testing.T) {
	r := entered(Delete, t0)
	for _, s := range []string{"billing", "support"} {
		q, err := Acknowledge(r, s, true, "", t0)
		if err != nil || q.Status != Verified {
			t.Fatalf("%s: %+v %v", s, q, err)
		}
		r = *q
	}
	q, _ := Advance(r, t0.Add(73*time.Hour))
	if c := Complete(*q, t0.Add(73*time.Hour)); c == nil || c.Status != Completed || c.Staff.ErasedAt.IsZero() {
		t.Fatalf("complete = %+v", c)
	}
}

func TestANoticeIsPublishedOnceForVerifiedRequests(t *testing.T) {
	r := newRequest(Delete)
	if r.NeedsNotice() {
		t.Fatal("an unverified request needs a notice")
	}
	r = entered(Access, t0)
	n := Notified(r, t0)
	if n == nil || n.NeedsNotice() || Notified(*n, t0.Add(time.Hour)) != nil {
		t.Fatalf("notified = %+v", n)
	}
}

func TestARefusalIsMailedInWordsWithStaffsText(t *testing.T) {
	q, _ := Refuse(entered(RemoveContent, t0), LegalHold, "A court ordered us to keep the post.", t0)
	if w := q.RefusalWords(); w != "The law requires us to keep this data for now. A court ordered us to keep the post." {
		t.Fatal(w)
	}
	q, _ = Refuse(entered(RemoveContent, t0), Other, "The post was written by someone else.", t0)
	if w := q.RefusalWords(); w != "The post was written by someone else." {
		t.Fatal(w)
	}
}

func TestWithoutDownstreamSystemsThereIsNothingToPublishOrWaitFor(t *testing.T) {
	r := DefaultTiming.Enter("s1", "pid", Intake{Channel: Email, Kind: Delete, Email: "jo@example.com", Received: t0, VerifiedBy: "amy", VerifiedHow: "x"}, t0)
	if r.NeedsNotice() || !r.SystemsDone() {
		t.Fatalf("%+v", r)
	}
	q, _ := Advance(r, t0.Add(73*time.Hour))
	if c := Complete(*q, t0.Add(73*time.Hour)); c == nil || c.Status != Completed {
		t.Fatalf("complete = %+v", c)
	}
}

// Two further months from 31 December end on the last day of February,
// not in March (time.AddDate would carry 29 February to 2 March): an
// extension never goes beyond what Art. 12(3) allows.
func TestAnExtensionFromTheEndOfAMonthEndsInTheMonthItNames(t *testing.T) {
	for _, c := range []struct {
		due    time.Time
		months int
		want   time.Time
	}{
		{time.Date(2026, 12, 31, 9, 30, 0, 0, time.UTC), 2, time.Date(2027, 2, 28, 9, 30, 0, 0, time.UTC)},
		{time.Date(2027, 12, 31, 9, 30, 0, 0, time.UTC), 2, time.Date(2028, 2, 29, 9, 30, 0, 0, time.UTC)},
		{time.Date(2027, 1, 31, 9, 30, 0, 0, time.UTC), 1, time.Date(2027, 2, 28, 9, 30, 0, 0, time.UTC)},
		{time.Date(2027, 3, 31, 9, 30, 0, 0, time.UTC), 1, time.Date(2027, 4, 30, 9, 30, 0, 0, time.UTC)},
		{time.Date(2027, 1, 15, 9, 30, 0, 0, time.UTC), 2, time.Date(2027, 3, 15, 9, 30, 0, 0, time.UTC)},
	} {
		r := entered(Access, t0)
		r.Due = c.due
		q, err := Extend(r, c.months, "the export spans three archives", c.due.Add(-time.Hour))
		if err != nil || !q.Due.Equal(c.want) {
			t.Fatalf("%d months from %s = %v, %v; want %s", c.months, c.due, q, err, c.want)
		}
	}
}

// A deletion verified on the web is not announced in its cool-off (the
// person can still cancel it), nor once cancelled; it is announced when
// the clock starts its erasure. Other kinds from the web, and a deletion
// staff entered, are announced at verification.
func TestAWebDeletionIsAnnouncedWhenItsErasureStartsNeverInItsCoolOff(t *testing.T) {
	r := twoSystems.New("w1", "pid", Delete, "jo@example.com", t0, "n1")
	v, how := twoSystems.Verify(r, "n1", true, t0)
	if v == nil || v.Status != Verified || !v.InCoolOff() || v.NeedsNotice() {
		t.Fatalf("verified web deletion = %+v, %v", v, how)
	}
	if c, err := Cancel(*v, t0.Add(time.Hour)); err != nil || c == nil || c.NeedsNotice() || c.Waiting() != nil || !c.SystemsDone() {
		t.Fatalf("cancelled = %+v, %v", c, err)
	}
	q, step := Advance(*v, v.CoolOffEnds)
	if step != StartErasure || q.InCoolOff() || !q.NeedsNotice() {
		t.Fatalf("erasure started = %v %+v", step, q)
	}
	a, _ := twoSystems.Verify(twoSystems.New("w2", "pid", Access, "jo@example.com", t0, "n2"), "n2", true, t0)
	if a == nil || a.InCoolOff() || !a.NeedsNotice() {
		t.Fatalf("verified access = %+v", a)
	}
	if s := entered(Delete, t0); s.InCoolOff() || !s.NeedsNotice() {
		t.Fatalf("staff deletion = %+v", s)
	}
}
