package mail

import (
	"context"
	"math"
	"time"
)

// Clock tells the time and waits. Bulk senders take one so that tests can
// run them on virtual time; WallClock is the real one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error if ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the machine's clock.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits d, or returns ctx's error if ctx ends first.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pacer keeps a bulk sender at or under a send rate in every one-second
// window, the rate SES enforces (GetAccount's MaxSendRate, messages per
// second): each second holds at most PerSecond calls of at most Batch
// recipients, and a call starts no sooner than 1/PerSecond after the
// previous call returned, so calls also arrive at SES at least that far
// apart. After a throttled call it waits a backoff instead, doubling from a
// second up to MaxBackoff until a call goes through. Not safe for concurrent
// use: one sender, one pacer.
type Pacer struct {
	rate      float64
	batch     int
	perSecond int
	gap       time.Duration
	backoff   time.Duration // the next throttled call's wait; 0 after a call went through
	next      time.Time
	clock     Clock
}

// MaxBackoff is the longest a pacer waits after SES throttled a call.
const MaxBackoff = 30 * time.Second

// NewPacer paces calls of at most maxBatch recipients (1 for a sender that
// sends one mail a call) at rate messages a second; rate must be above 0
// (GetAccount answers 0 when sending is disabled: the caller stops then).
func NewPacer(rate float64, maxBatch int, clock Clock) *Pacer {
	maxBatch = max(maxBatch, 1)
	perSecond := max(int(math.Ceil(rate/float64(maxBatch))), 1)
	batch := max(int(math.Floor(rate/float64(perSecond))), 1)
	// Rounded up: three gaps of a truncated third of a second would put a
	// fourth call inside the first one's second.
	gap := time.Duration(math.Ceil(float64(time.Second) / float64(perSecond)))
	if rate < 1 { // fewer than one a second: one recipient per 1/rate seconds
		batch, gap = 1, time.Duration(float64(time.Second)/rate)
	}
	return &Pacer{rate: rate, batch: batch, perSecond: perSecond, gap: gap, clock: clock}
}

// Rate is the send rate the pacer keeps, in messages a second.
func (p *Pacer) Rate() float64 { return p.rate }

// Batch is the most recipients one call may carry.
func (p *Pacer) Batch() int { return p.batch }

// PerSecond is the most calls a second holds.
func (p *Pacer) PerSecond() int { return p.perSecond }

// Gap is the least time between a call's return and the next call's start.
func (p *Pacer) Gap() time.Duration { return p.gap }

// Wait returns when the next call may start, or ctx's error.
func (p *Pacer) Wait(ctx context.Context) error {
	if d := p.next.Sub(p.clock.Now()); d > 0 {
		return p.clock.Sleep(ctx, d)
	}
	return ctx.Err()
}

// Sent is called when a call has returned and SES did not throttle it. A
// short call (the last batch, retries) waits the whole gap too: sooner
// would let a full call land in the same second.
func (p *Pacer) Sent() {
	p.backoff = 0
	p.next = p.clock.Now().Add(p.gap)
}

// Throttled is called when SES throttled (some of) a call that has
// returned; the next Wait lasts the returned backoff: a second after the
// first throttled call, doubling up to MaxBackoff while they go on.
func (p *Pacer) Throttled() time.Duration {
	p.backoff = min(max(2*p.backoff, time.Second), MaxBackoff)
	wait := max(p.backoff, p.gap)
	p.next = p.clock.Now().Add(wait)
	return wait
}
