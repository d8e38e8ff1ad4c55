package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/privacy"
)

// A staff entry's record (who verified, how, the details, the systems it
// waits for, an extension) is kept through every write, and the details
// go with the address when the request closes.
func TestAStaffEntryKeepsItsRecordThroughItsLife(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	timing := privacy.DefaultTiming
	timing.Systems = []string{"billing", "support"}
	in := privacy.Intake{Channel: privacy.Email, Kind: privacy.RemoveContent, Email: "jo@example.com", Received: t0.Add(-time.Hour),
		VerifiedBy: "amy", VerifiedHow: "replied from the address on file", Details: "the testimonial on the home page"}
	r, created, err := s.OpenRequest(ctx, timing.Enter("st-1", "pid-st", in, t0))
	if err != nil || !created {
		t.Fatal(r, created, err)
	}
	steps := []privacy.Decide{
		func(r privacy.Request) (*privacy.Request, error) { return privacy.Notified(r, t0), nil },
		func(r privacy.Request) (*privacy.Request, error) {
			return privacy.Acknowledge(r, "billing", true, "", t0.Add(time.Minute))
		},
		func(r privacy.Request) (*privacy.Request, error) {
			return privacy.Extend(r, 1, "the page is archived in three places", t0.Add(2*time.Minute))
		},
	}
	want := r
	for i, step := range steps {
		q, changed, err := s.UpdateRequest(ctx, "st-1", step)
		if err != nil || !changed {
			t.Fatalf("step %d: %v %v", i, changed, err)
		}
		want = q
	}
	got, err := s.Request(ctx, "st-1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v (%v)", got, want, err)
	}
	if got.Staff.VerifiedBy != "amy" || got.Staff.Details == "" || got.Staff.ExtendedMonths != 1 || got.Waiting()[0] != "support" ||
		!got.Due.Equal(t0.Add(-time.Hour).Add(720*time.Hour).AddDate(0, 1, 0)) || got.Staff.Notified.IsZero() {
		t.Fatalf("record = %+v", got.Staff)
	}
	closed, changed, err := s.UpdateRequest(ctx, "st-1", func(r privacy.Request) (*privacy.Request, error) {
		return privacy.StaffComplete(r, "taken down", t0.Add(time.Hour))
	})
	if err != nil || !changed || closed.Status != privacy.Completed {
		t.Fatal(closed, err)
	}
	got, err = s.Request(ctx, "st-1")
	if err != nil || got.Email != "" || got.Staff.Details != "" || got.Staff.VerifiedBy != "amy" || got.Staff.Note != "taken down" || len(got.Staff.Systems) != 2 {
		t.Fatalf("closed = %+v %v", got, err)
	}
	if open, err := s.OpenRequests(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open = %v %v", open, err)
	}
}
