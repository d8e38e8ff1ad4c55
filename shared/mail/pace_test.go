package mail_test

import (
	"context"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/mail/mailtest"
)

func TestThePacerSplitsTheRateIntoEvenCalls(t *testing.T) {
	for _, c := range []struct {
		rate             float64
		maxBatch         int
		batch, perSecond int
		gapMillis        int64
	}{
		{14, 50, 14, 1, 1000}, {50, 50, 50, 1, 1000}, {51, 50, 25, 2, 500}, {120, 50, 40, 3, 333}, {1000, 50, 50, 20, 50}, {0.5, 50, 1, 1, 2000},
		// A sender of one mail a call (the newsletter): rate calls a second.
		{14, 1, 1, 14, 71}, {1, 1, 1, 1, 1000}, {0.5, 1, 1, 1, 2000},
	} {
		p := mail.NewPacer(c.rate, c.maxBatch, mailtest.NewClock(time.Now()))
		if p.Batch() != c.batch || p.PerSecond() != c.perSecond || p.Gap().Milliseconds() != c.gapMillis || p.Rate() != c.rate {
			t.Errorf("rate %v in calls of up to %d: batch %d, %d a second, gap %v", c.rate, c.maxBatch, p.Batch(), p.PerSecond(), p.Gap())
		}
	}
}

// pace makes calls full calls through p, each taking latency of virtual
// time, and returns when each started.
func pace(t *testing.T, p *mail.Pacer, c *mailtest.Clock, calls int, latency time.Duration) []mailtest.Call {
	t.Helper()
	var made []mailtest.Call
	for range calls {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		made = append(made, mailtest.Call{At: c.Now(), Recipients: p.Batch()})
		c.Sleep(context.Background(), latency)
		p.Sent()
	}
	return made
}

func TestNoSecondHoldsMoreThanTheRateWhateverTheCallsTake(t *testing.T) {
	for _, rate := range []float64{1, 14, 50, 51, 120, 1000} {
		for _, maxBatch := range []int{1, 50} {
			for _, latency := range []time.Duration{0, 30 * time.Millisecond, 400 * time.Millisecond} {
				c := mailtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
				p := mail.NewPacer(rate, maxBatch, c)
				calls := pace(t, p, c, 200, latency)
				if most := mailtest.MostInAnySecond(calls); float64(most) > rate {
					t.Errorf("rate %v, calls of up to %d taking %v: %d recipients in one second", rate, maxBatch, latency, most)
				}
				// Calls that return at once keep close to the rate: the
				// pacer does not waste the account's allowance.
				if latency == 0 {
					sent := 200 * p.Batch()
					elapsed := calls[len(calls)-1].At.Sub(calls[0].At) + p.Gap()
					if achieved := float64(sent) / elapsed.Seconds() / rate; achieved < 0.9 || achieved > 1 {
						t.Errorf("rate %v, calls of up to %d: achieved %.2f of the rate", rate, maxBatch, achieved)
					}
				}
			}
		}
	}
}

func TestASlowRateSendsOneRecipientPerInterval(t *testing.T) {
	c := mailtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	calls := pace(t, mail.NewPacer(0.5, 50, c), c, 5, 0)
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].At.Sub(calls[i-1].At); gap != 2*time.Second || calls[i].Recipients != 1 {
			t.Fatalf("call %d: %d recipients %v after the one before; want 1 every 2s", i, calls[i].Recipients, gap)
		}
	}
}

func TestAfterThrottlingThePacerBacksOffDoublingUntilACallGoesThrough(t *testing.T) {
	c := mailtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	p := mail.NewPacer(14, 1, c)
	var waits []time.Duration
	for range 7 {
		backoff := p.Throttled()
		before := c.Now()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if waited := c.Now().Sub(before); waited != backoff {
			t.Fatalf("Throttled said %v, Wait waited %v", backoff, waited)
		}
		waits = append(waits, backoff)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("backoffs %v; want %v seconds", waits, want)
		}
	}
	p.Sent() // a call went through: the next throttling starts again at a second
	if got := p.Throttled(); got != time.Second {
		t.Fatalf("after a call went through the backoff is %v; want 1s", got)
	}
	// Never shorter than the gap: at 0.2/s the gap is 5 s.
	slow := mail.NewPacer(0.2, 50, c)
	if got := slow.Throttled(); got != 5*time.Second {
		t.Fatalf("a throttled call at 0.2/s waits %v; want the 5 s gap", got)
	}
}

func TestWaitReturnsTheContextsErrorWhenItEnds(t *testing.T) {
	c := mailtest.NewClock(time.Now())
	p := mail.NewPacer(14, 50, c)
	p.Sent()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait on an ended context = %v", err)
	}
	if err := (mail.WallClock{}).Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("WallClock.Sleep on an ended context = %v", err)
	}
	start := time.Now()
	if err := (mail.WallClock{}).Sleep(context.Background(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("WallClock.Sleep(20ms) = %v after %v", err, time.Since(start))
	}
}
