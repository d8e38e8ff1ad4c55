package privacy

import (
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

func keyed(s string) string { return "k(" + s + ")" }

func TestNewCorrectionValidatesEachFieldAsAtSignUp(t *testing.T) {
	c, err := NewCorrection("  Jo Smith ", "Jo.New@Example.com", "jo@example.com", keyed)
	if err != nil || c.Name != "Jo Smith" || c.Email != "jo.new@example.com" || c.PersonID != "k(jo.new@example.com)" || c.From != "k(jo@example.com)" || !c.MovesAddress() {
		t.Fatalf("NewCorrection = %+v, %v", c, err)
	}
	if c, err := NewCorrection("Jo", "", "jo@example.com", keyed); err != nil || c.MovesAddress() || c.PersonID != "" {
		t.Fatalf("a name alone = %+v, %v", c, err)
	}
	for _, tt := range []struct{ name, email, field string }{
		{"", "", "new_name"},
		{"Jo\r\nBcc: x", "", "new_name"},
		{strings.Repeat("a", 101), "", "new_name"},
		{"", "jo@", "new_email"},
		{"Jo", "JO@example.com", "new_email"},
	} {
		_, err := NewCorrection(tt.name, tt.email, "jo@example.com", keyed)
		if e, ok := people.AsError(err); !ok || e.Code != people.Invalid || e.Field != tt.field {
			t.Errorf("NewCorrection(%q, %q) = %v; want invalid %s", tt.name, tt.email, err, tt.field)
		}
	}
}

func correction(c Correction) Request {
	r := DefaultTiming.New("r1", "k(jo@example.com)", Correct, "jo@example.com", t0, "n1")
	r.Correction = c
	return r
}

func TestVerifyingACorrection(t *testing.T) {
	now := t0.Add(time.Hour)
	name := correction(Correction{Name: "Jo"})
	if q, v := DefaultTiming.VerifyCorrection(name, "n1", true, false, "m1", now); v != JustVerified || q.Status != Completed || q.Outcome != Corrected ||
		q.Email != "" || q.Correction.Name != "" || q.Correction.Nonce != "" {
		t.Fatalf("a name = %+v, %v", q, v)
	}
	addr := correction(Correction{Email: "new@example.com", PersonID: "k(new)"})
	q, v := DefaultTiming.VerifyCorrection(addr, "n1", true, false, "m1", now)
	if v != JustVerified || q.Status != Verified || q.Nonce != "" || q.Correction.Nonce != "m1" || q.Email != "jo@example.com" {
		t.Fatalf("an address = %+v, %v", q, v)
	}
	if again, v := DefaultTiming.VerifyCorrection(*q, "n1", true, false, "m2", now); again != nil || v != AlreadyVerified {
		t.Fatalf("a second press = %+v, %v", again, v)
	}
	if q, v := DefaultTiming.VerifyCorrection(addr, "n1", true, true, "m1", now); v != JustVerified || q.Status != Refused || q.Reason != Other ||
		q.ReasonText != AddressTakenText || q.Correction.Email != "" || q.Correction.PersonID != "k(new)" {
		t.Fatalf("a taken address = %+v, %v", q, v)
	}
	if q, _ := DefaultTiming.VerifyCorrection(addr, "n1", false, false, "m1", now); q.Status != Refused || q.Reason != NoData {
		t.Fatalf("nobody held = %+v", q)
	}
	if q, v := DefaultTiming.VerifyCorrection(addr, "other", true, false, "m1", now); q != nil || v != LinkUsed {
		t.Fatalf("a wrong nonce = %+v, %v", q, v)
	}
	if q, v := DefaultTiming.VerifyCorrection(addr, "n1", true, false, "m1", addr.Expires); v != Lapsed || q.Status != Expired {
		t.Fatalf("a lapsed request = %+v, %v", q, v)
	}
}

func TestTheNewMailboxsLinkMovesOnceThenResumesThenIsDone(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	r, _ := DefaultTiming.VerifyCorrection(correction(Correction{Email: "new@example.com", PersonID: "k(new)"}), "n1", true, false, "m1", t0.Add(time.Hour))
	if q, s := ConfirmMove(*r, "wrong", now); q != nil || s != MoveLinkUsed {
		t.Fatalf("a wrong nonce = %+v, %v", q, s)
	}
	moving, s := ConfirmMove(*r, "m1", now)
	if s != StartMove || moving.Status != InProgress || moving.Correction.Nonce != "" || !moving.Correction.Confirmed.Equal(now) {
		t.Fatalf("the first press = %+v, %v", moving, s)
	}
	if q, s := ConfirmMove(*moving, "m1", now); q != nil || s != ResumeMove {
		t.Fatalf("a press during the move = %+v, %v", q, s)
	}
	done := CompleteCorrection(*moving, now)
	if done == nil || done.Status != Completed || done.Outcome != Corrected || done.Correction.Email != "" || done.Email != "" || done.Correction.PersonID != "k(new)" {
		t.Fatalf("completed = %+v", done)
	}
	if q, s := ConfirmMove(*done, "m1", now); q != nil || s != MoveDone {
		t.Fatalf("a press after = %+v, %v", q, s)
	}
	if CompleteCorrection(*done, now) != nil || RefuseTaken(*done, now) != nil {
		t.Fatal("a completed correction changed again")
	}
	if q := RefuseTaken(*moving, now); q == nil || q.Status != Refused || q.ReasonText != AddressTakenText {
		t.Fatalf("taken during the move = %+v", q)
	}
	access := DefaultTiming.New("r2", "p", Access, "jo@example.com", t0, "n")
	if q, s := ConfirmMove(access, "", now); q != nil || s != MoveLinkUsed {
		t.Fatalf("another kind = %+v, %v", q, s)
	}
}

func TestACorrectionLapsesOnlyWhenItsNewMailboxLinkHas(t *testing.T) {
	r, _ := DefaultTiming.VerifyCorrection(correction(Correction{Email: "new@example.com", PersonID: "k(new)"}), "n1", true, false, "m1", t0)
	if LapseMove(*r, DefaultTiming.LinkTTL, t0.Add(23*time.Hour)) != nil {
		t.Fatal("lapsed while its link works")
	}
	q := LapseMove(*r, DefaultTiming.LinkTTL, t0.Add(24*time.Hour))
	if q == nil || q.Status != Expired || q.Correction.Email != "" || q.Email != "" {
		t.Fatalf("LapseMove = %+v", q)
	}
	moving, _ := ConfirmMove(*r, "m1", t0.Add(time.Hour))
	if LapseMove(*moving, DefaultTiming.LinkTTL, t0.Add(48*time.Hour)) != nil || LapseMove(correction(Correction{Name: "Jo"}), DefaultTiming.LinkTTL, t0.Add(48*time.Hour)) != nil {
		t.Fatal("a move in progress, or an unverified request, lapsed as a new mailbox's")
	}
}
