package localstack

import (
	"context"
	"testing"
)

// A start that fails part way (here: its context has ended before the
// first emulator answered) returns the error and stops what it started,
// rather than panicking on the nil stack it returns.
func TestAStartThatFailsReturnsItsErrorAndStopsWhatItStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Start(ctx, Options{Name: "failed-start"})
	if err == nil || s != nil {
		t.Fatalf("Start with an ended context = %v, %v; want an error and no stack", s, err)
	}
}
