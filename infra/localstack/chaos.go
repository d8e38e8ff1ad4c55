package localstack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// KillAtRandom invokes a function n times, each time killing it at a random
// moment within the first maxDelay (unless it has already ended), restarting
// it, and waiting pause (for a lease the killed run held to lapse), as Lambda
// restarts a crashed sandbox for the next scheduled run. It returns how many
// kills cut off a running invocation.
func (s *Stack) KillAtRandom(ctx context.Context, logicalID string, n int, rng *rand.Rand, maxDelay, pause time.Duration) (int, error) {
	pool, ok := s.Pools[logicalID]
	if !ok {
		return 0, fmt.Errorf("localstack: no function %s", logicalID)
	}
	kills := 0
	for range n {
		done := make(chan struct{})
		go func() {
			s.Invoke(ctx, logicalID, []byte("{}")) // a killed run fails: that is the point
			close(done)
		}()
		time.Sleep(time.Duration(rng.Int64N(int64(maxDelay))))
		select {
		case <-done:
			continue // it ended before this kill point: nothing to cut off
		default:
		}
		kills++
		if err := pool.KillAll(ctx); err != nil {
			return kills, err
		}
		<-done
		time.Sleep(pause)
	}
	return kills, nil
}

// LostAndDoubled compares the addresses SES accepted with those that should
// have got one mail each.
func LostAndDoubled(sends []Send, recipients []string) (lost, doubled int) {
	got := map[string]int{}
	for _, s := range sends {
		for _, to := range s.To {
			got[to]++
		}
	}
	for _, r := range recipients {
		switch n := got[r]; {
		case n == 0:
			lost++
		case n > 1:
			doubled += n - 1
		}
	}
	return lost, doubled
}

// MaxPerSecond is the most recipients SES accepted within any one second,
// by when each call reached it.
func MaxPerSecond(sends []Send) int {
	sends = slices.SortedFunc(slices.Values(sends), func(a, b Send) int { return a.At.Compare(b.At) })
	most, n, first := 0, 0, 0
	for _, s := range sends { // in time order: a sliding window
		n += len(s.To)
		for s.At.Sub(sends[first].At) >= time.Second {
			n -= len(sends[first].To)
			first++
		}
		most = max(most, n)
	}
	return most
}
