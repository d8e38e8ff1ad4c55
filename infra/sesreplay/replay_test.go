package sesreplay

import (
	"testing"
	"time"
)

// Delivered repeats about the share asked, marks the second copy of each
// repeated event, and loses none: deduplicated and ordered, it is the
// events in order again.
func TestDeliveredRepeatsAndShufflesWithoutLosingAnEvent(t *testing.T) {
	events := Generate(3, []string{"a", "b", "c", "d"}, 2000, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), 40*24*time.Hour)
	kinds := map[Kind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	for _, k := range Kinds {
		if kinds[k] == 0 {
			t.Fatalf("no %s event among %d", k, len(events))
		}
	}
	out, repeat := Delivered(3, events, 0.1)
	repeats := 0
	for _, r := range repeat {
		if r {
			repeats++
		}
	}
	if len(out) != len(events)+repeats || repeats < 150 || repeats > 250 {
		t.Fatalf("%d delivered with %d repeats of %d events; want about a tenth more", len(out), repeats, len(events))
	}
	want, got := InOrder(events), InOrder(out)
	if len(got) != len(want) {
		t.Fatalf("%d events in order after delivery, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].PersonID != want[i].PersonID || got[i].MessageID != want[i].MessageID || (i > 0 && got[i].At.Before(got[i-1].At)) {
			t.Fatalf("event %d: %+v; want %+v, in time order", i, got[i], want[i])
		}
	}
	if same := func() bool {
		for i := range events {
			if out[i].MessageID != events[i].MessageID {
				return false
			}
		}
		return true
	}(); same {
		t.Fatal("the delivery kept the order")
	}
}
