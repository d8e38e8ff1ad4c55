package localstack

import (
	"testing"
	"time"
)

func TestSendFiguresCountWhatSESTook(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sends := []Send{
		{At: at(0), To: []string{"a", "b"}},
		{At: at(400), To: []string{"c"}},
		{At: at(999), To: []string{"a"}}, // a third in the first second
		{At: at(1000), To: []string{"d", "e", "f"}},
		{At: at(2500), To: []string{"g"}},
	}
	if got := MaxPerSecond(sends); got != 5 { // 400..1000 ms holds c, a, d, e, f
		t.Fatalf("max per second = %d, want 5", got)
	}
	lost, doubled := LostAndDoubled(sends, []string{"a", "b", "c", "d", "e", "f", "g", "h"})
	if lost != 1 || doubled != 1 {
		t.Fatalf("lost %d, doubled %d; want h lost and a doubled", lost, doubled)
	}
}
