// Package mailtest helps test paced bulk senders: a virtual clock, so that
// pacing is checked exactly and at once, and the measure of a send rate
// that SES enforces.
package mailtest

import (
	"context"
	"sync"
	"time"
)

// Clock is virtual time: Sleep moves it at once. It satisfies mail.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts virtual time at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the virtual time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Sleep moves the clock d on, or returns ctx's error (leaving it) if ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// Call is one send call: when it started and how many recipients it carried.
type Call struct {
	At         time.Time
	Recipients int
}

// MostInAnySecond is the most recipients sent in any one-second window
// (from one call's start, that second included, the next excluded): what
// SES's max send rate bounds. calls are in the order they were made.
func MostInAnySecond(calls []Call) int {
	most := 0
	for i, a := range calls {
		n := 0
		for _, b := range calls[i:] {
			if b.At.Sub(a.At) < time.Second {
				n += b.Recipients
			}
		}
		most = max(most, n)
	}
	return most
}
