package privacy

import (
	"slices"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func newRequest(kind Kind) Request {
	r := DefaultTiming.New("r1", "pid", kind, "jo@example.com", t0, "n1")
	r.Version = 1
	return r
}

func TestANewRequestIsUnverifiedAndDueThirtyDaysAfterReceipt(t *testing.T) {
	r := newRequest(Access)
	if r.Status != Unverified || !r.Due.Equal(t0.Add(720*time.Hour)) || !r.Expires.Equal(t0.Add(7*24*time.Hour)) || r.Nonce != "n1" || !r.Status.Open() {
		t.Fatalf("new request = %+v", r)
	}
}

func TestVerifyingMovesEachKindOnOnceAndDropsTheAddressWhenItCloses(t *testing.T) {
	at := t0.Add(time.Hour)
	for _, tt := range []struct {
		name    string
		kind    Kind
		held    bool
		status  Status
		reason  Reason
		outcome Outcome
		email   string
	}{
		{"an access request of a known address is completed", Access, true, Completed, "", ExportSent, ""},
		{"a deletion of a known address starts its cool-off", Delete, true, Verified, "", "", "jo@example.com"},
		{"an access request of an unknown address is refused no-data", Access, false, Refused, NoData, "", ""},
		{"a deletion of an unknown address is refused no-data", Delete, false, Refused, NoData, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(tt.kind)
			q, v := DefaultTiming.Verify(r, "n1", tt.held, at)
			if v != JustVerified || q == nil || q.Status != tt.status || q.Reason != tt.reason || q.Outcome != tt.outcome ||
				q.Email != tt.email || q.Nonce != "" || !q.VerifiedAt.Equal(at) {
				t.Fatalf("Verify = %+v, %v", q, v)
			}
			if tt.status == Verified && !q.CoolOffEnds.Equal(at.Add(72*time.Hour)) {
				t.Fatalf("cool-off ends %v", q.CoolOffEnds)
			}
			if !tt.status.Open() && !q.ClosedAt.Equal(at) {
				t.Fatalf("closed at %v", q.ClosedAt)
			}
			again, v := DefaultTiming.Verify(*q, "n1", tt.held, at.Add(time.Second))
			if again != nil || v != AlreadyVerified {
				t.Fatalf("a second press = %+v, %v; want nothing changed", again, v)
			}
		})
	}
}

func TestAWrongOrLateLinkChangesNothingOrExpiresTheRequest(t *testing.T) {
	r := newRequest(Delete)
	if q, v := DefaultTiming.Verify(r, "other", true, t0.Add(time.Hour)); q != nil || v != LinkUsed {
		t.Fatalf("a foreign nonce = %+v, %v", q, v)
	}
	if q, v := DefaultTiming.Verify(r, "", true, t0.Add(time.Hour)); q != nil || v != LinkUsed {
		t.Fatalf("no nonce = %+v, %v", q, v)
	}
	q, v := DefaultTiming.Verify(r, "n1", true, t0.Add(7*24*time.Hour))
	if v != Lapsed || q == nil || q.Status != Expired || q.Email != "" {
		t.Fatalf("a press after seven days = %+v, %v", q, v)
	}
}

func TestCancelWorksOnlyDuringADeletionsCoolOffAndOnce(t *testing.T) {
	r := newRequest(Delete)
	if _, err := Cancel(r, t0); err != ErrTooLate {
		t.Fatalf("cancelling an unverified request: %v", err)
	}
	v, _ := DefaultTiming.Verify(r, "n1", true, t0)
	if !v.CanCancel(t0.Add(71 * time.Hour)) {
		t.Fatal("the status page would not offer cancel in the cool-off")
	}
	q, err := Cancel(*v, t0.Add(71*time.Hour))
	if err != nil || q == nil || q.Status != Cancelled || q.Email != "" {
		t.Fatalf("Cancel in the cool-off = %+v, %v", q, err)
	}
	if again, err := Cancel(*q, t0.Add(71*time.Hour)); again != nil || err != nil {
		t.Fatalf("a second cancel = %+v, %v; want nothing, no error", again, err)
	}
	if _, err := Cancel(*v, t0.Add(72*time.Hour)); err != ErrTooLate || v.CanCancel(t0.Add(72*time.Hour)) {
		t.Fatalf("cancel after the cool-off: %v", err)
	}
	a, _ := DefaultTiming.Verify(newRequest(Access), "n1", true, t0)
	if _, err := Cancel(*a, t0); err != ErrTooLate {
		t.Fatalf("cancelling a completed access request: %v", err)
	}
}

func TestTheClockExpiresUnverifiedRequestsAndCarriesOutDeletionsAfterTheCoolOff(t *testing.T) {
	r := newRequest(Access)
	if q, s := Advance(r, t0.Add(7*24*time.Hour-time.Second)); q != nil || s != Wait {
		t.Fatalf("before expiry = %+v, %v", q, s)
	}
	if q, s := Advance(r, t0.Add(7*24*time.Hour)); s != Expire || q.Status != Expired || q.Email != "" || q.Status.Open() {
		t.Fatalf("at expiry = %+v, %v", q, s)
	}
	d, _ := DefaultTiming.Verify(newRequest(Delete), "n1", true, t0)
	if q, s := Advance(*d, t0.Add(71*time.Hour)); q != nil || s != Wait {
		t.Fatalf("in the cool-off = %+v, %v", q, s)
	}
	q, s := Advance(*d, t0.Add(72*time.Hour))
	if s != StartErasure || q.Status != InProgress || q.Email == "" {
		t.Fatalf("after the cool-off = %+v, %v; want in progress, the address kept for the last mail", q, s)
	}
	if again, s := Advance(*q, t0.Add(73*time.Hour)); again != nil || s != Erase {
		t.Fatalf("in progress = %+v, %v", again, s)
	}
	done := Complete(*q, t0.Add(73*time.Hour))
	if done == nil || done.Status != Completed || done.Outcome != Erased || done.Email != "" || !done.ClosedAt.Equal(t0.Add(73*time.Hour)) {
		t.Fatalf("Complete = %+v", done)
	}
	if Complete(*done, t0.Add(74*time.Hour)) != nil {
		t.Fatal("completing twice changed something")
	}
}

func TestRemindersGoOutOnceAtSevenAndTwoDaysAndWhenOverdue(t *testing.T) {
	r, _ := DefaultTiming.Verify(newRequest(Delete), "n1", true, t0)
	due := r.Due
	if q, s := Remind(*r, due.Add(-7*24*time.Hour-time.Second)); q != nil || s != "" {
		t.Fatalf("before 7 days = %v", s)
	}
	q, s := Remind(*r, due.Add(-7*24*time.Hour))
	if s != DueIn7Days || !slices.Equal(q.Reminded, []Reminder{DueIn7Days}) {
		t.Fatalf("7 days before = %v %v", s, q.Reminded)
	}
	if again, s := Remind(*q, due.Add(-3*24*time.Hour)); again != nil || s != "" {
		t.Fatal("the 7-day reminder went twice")
	}
	q2, s := Remind(*q, due.Add(-2*24*time.Hour))
	if s != DueIn2Days {
		t.Fatalf("2 days before = %v", s)
	}
	if q2.IsOverdue(due.Add(-time.Second)) || !q2.IsOverdue(due) {
		t.Fatal("overdue is not the due date")
	}
	q3, s := Remind(*q2, due)
	if s != Overdue || len(q3.Reminded) != 3 {
		t.Fatalf("at the due date = %v %v", s, q3.Reminded)
	}
	if again, _ := Remind(*q3, due.Add(48*time.Hour)); again != nil {
		t.Fatal("overdue was announced twice")
	}
	late, s := Remind(*r, due.Add(time.Hour))
	if s != Overdue || len(late.Reminded) != 3 {
		t.Fatalf("a late first tick = %v %v; want overdue only, the earlier stages marked", s, late.Reminded)
	}
	closed, _ := Cancel(*r, t0)
	if q, s := Remind(*closed, due); q != nil || s != "" || closed.IsOverdue(due) {
		t.Fatal("a closed request was reminded")
	}
	if q, s := Remind(newRequest(Delete), due); q != nil || s != "" || newRequest(Delete).IsOverdue(due) {
		t.Fatal("an unverified request was reminded")
	}
}

func TestTheErasureIsTheSweepsAndStampedAfterTheLastWrite(t *testing.T) {
	ret := people.DefaultRetention
	if ch := Erasure(people.Person{ID: "pid"}, ret, t0); !ch.IsZero() {
		t.Fatalf("erasing nobody = %+v", ch)
	}
	p := people.Person{ID: "pid", Version: 3, UpdatedAt: t0.Add(time.Second)}
	ch := Erasure(p, ret, t0)
	if ch.Erase == nil || ch.Erase.Rule != ErasureRule || !ch.Erase.At.After(p.UpdatedAt) ||
		ch.Erase.ProofClock != (people.Clock{Rule: people.RuleLedgerProof, Due: ch.Erase.At.Add(ret.LedgerProof)}) {
		t.Fatalf("Erasure = %+v", ch.Erase)
	}
}

func TestKindsAndStatusesAreParsedStrictly(t *testing.T) {
	if k, err := ParseKind("delete"); err != nil || k != Delete {
		t.Fatal(k, err)
	}
	for _, bad := range []string{"", "Access", "correction", "delete "} {
		if _, err := ParseKind(bad); err == nil {
			t.Errorf("kind %q accepted", bad)
		}
	}
	if _, err := ParseStatus("in-progress"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseStatus("open"); err == nil {
		t.Fatal("status open accepted")
	}
}

func TestAReminderNotAnnouncedAfterAllIsDueAgain(t *testing.T) {
	r := DefaultTiming.New("r1", "p1", Delete, "jo@example.com", t0, "n1")
	v, _ := DefaultTiming.Verify(r, "n1", true, t0)
	at := v.Due.Add(-2 * 24 * time.Hour)
	reminded, stage := Remind(*v, at)
	back := Unremind(*reminded, stage, at)
	if back == nil || slices.Contains(back.Reminded, DueIn2Days) || !slices.Contains(back.Reminded, DueIn7Days) {
		t.Fatalf("unremind %s = %+v", stage, back)
	}
	if again, s := Remind(*back, at); again == nil || s != DueIn2Days {
		t.Fatalf("after unremind the clock reminds %q", s)
	}
	if Unremind(*back, DueIn2Days, at) != nil {
		t.Fatal("unremind of a stage not recorded changed the request")
	}
}
