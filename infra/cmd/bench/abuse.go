package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
)

// abuseFigures prints what issue 11 asks of the limits: a flood of
// sign-ups for variants of one mailbox, from one loopback address and from
// 20; the overall ceiling under distinct mailboxes signing up at once; and
// sign-up latency without and with the limits.
func abuseFigures(ctx context.Context, pool, flood int, over time.Duration, latencyN, concurrency int) error {
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench-abuse", PoolSize: pool})
	if err != nil {
		return err
	}
	defer s.Close()
	l := config.DefaultLimits
	fmt.Printf("## Abuse: the limits as the template sets them (%d/%s per source, %d/%s per mailbox, %d mails a minute), %d instances per function\n\n",
		l.PerSource.Max, l.PerSource.Window, l.PerMailbox.Max, l.PerMailbox.Window, l.Overall.Max, pool)
	fmt.Println("| flood | sign-ups sent | in | answered 202 / 429 / other | mails delivered to the mailbox(es) | target | DynamoDB requests per refused attempt (all requests / refused) | the same less an accepted sign-up's 5 (3 counters, the read, the write) | p50 / p99 |")
	fmt.Println("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	variants := func(name string) []string {
		var v []string
		for i := range 46 {
			v = append(v, fmt.Sprintf("%s+%d@gmail.com", name, i))
		}
		dotted := name[:1] + "." + name[1:]
		return append(v, dotted+"@gmail.com", strings.ToUpper(name)+"@gmail.com", dotted+"@googlemail.com", dotted+"+x@gmail.com")
	}
	runs := []struct {
		name    string
		emails  []string
		sources []string
		spread  time.Duration
		window  time.Duration // of the limit the target is about
		per     int64
	}{
		{fmt.Sprintf("50 variants of one mailbox, one address, %s", over), variants("victimone"), loopback("127.0.0.", 1, 1), over, l.PerMailbox.Window, l.PerMailbox.Max},
		{fmt.Sprintf("50 variants of one mailbox, 20 addresses, %s", over), variants("victimtwenty"), loopback("127.0.0.", 101, 20), over, l.PerMailbox.Window, l.PerMailbox.Max},
		{fmt.Sprintf("%d distinct mailboxes, 100 addresses, at once", flood), distinct(flood), loopback("127.0.2.", 1, 100), 0, l.Overall.Window, l.Overall.Max},
	}
	for i, r := range runs {
		if i == len(runs)-1 {
			// The ceiling's run starts a minute of its own: the mailbox
			// floods' mails are not in it.
			time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute + 100*time.Millisecond)))
		}
		if err := abuseRun(ctx, s, flood, r.name, r.emails, r.sources, r.spread, r.window, r.per); err != nil {
			return err
		}
	}

	fmt.Printf("\n## Sign-up latency through the local stack without and with the limits (%d JSON sign-ups of distinct addresses per row, %d instances per function; moto answers one call at a time)\n\n", latencyN, pool)
	fmt.Println("| clients | limits | sign-ups/s | p50 | p99 | DynamoDB requests per sign-up |")
	fmt.Println("| ---: | --- | ---: | ---: | ---: | ---: |")
	modes := []struct {
		name   string
		params map[string]string
	}{{"none (as before issue 11)", localstack.NoLimits}, {"on, out of reach (every counter taken)", localstack.LooseLimits}}
	var stacks [2]*localstack.Stack
	for i, m := range modes {
		if stacks[i], err = localstack.Start(ctx, localstack.Options{Name: fmt.Sprintf("bench-abuse-latency-%d", i), PoolSize: pool, Parameters: m.params}); err != nil {
			return err
		}
		defer stacks[i].Close()
	}
	for _, c := range []int{1, concurrency} {
		var p50, p99 [2]time.Duration
		for i, m := range modes {
			lat, rate, perSignUp, err := signUpLatencies(ctx, stacks[i], latencyN, c)
			if err != nil {
				return err
			}
			p50[i], p99[i] = lat[len(lat)/2], lat[len(lat)*99/100]
			fmt.Printf("| %d | %s | %.0f | %s | %s | %.2f |\n", c, m.name, rate, ms(p50[i]), ms(p99[i]), perSignUp)
		}
		fmt.Printf("| %d | ratio (with / without) | | %.2f | %.2f | |\n", c, float64(p50[1])/float64(p50[0]), float64(p99[1])/float64(p99[0]))
	}
	return nil
}

func loopback(prefix string, first, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, first+i))
	}
	return out
}

func distinct(n int) []string {
	run := time.Now().UnixNano()
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("ceiling-%d-%d@example.com", run, i))
	}
	return out
}

// clientsFrom returns one HTTP client per loopback source address.
func clientsFrom(sources []string) []*http.Client {
	var cs []*http.Client
	for _, ip := range sources {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
		cs = append(cs, &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}})
	}
	return cs
}

// acceptedCost is the DynamoDB requests of an accepted sign-up of a new
// address: three counters taken, the person read, the person and ledger
// written (bench -only requests).
const acceptedCost = 5

// abuseRun sends n sign-ups, spread evenly over spread (0: all at once, at
// most 64 in flight), cycling through emails and sources, and prints a row.
func abuseRun(ctx context.Context, s *localstack.Stack, n int, name string, emails, sources []string, spread, window time.Duration, per int64) error {
	clients := clientsFrom(sources)
	if err := s.Mailbox.Clear(ctx); err != nil {
		return err
	}
	s.DynamoDBCalls.Reset()
	var accepted, refused, other atomic.Int64
	lat := make([]time.Duration, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if spread > 0 {
			if d := time.Until(start.Add(spread * time.Duration(i) / time.Duration(n))); d > 0 {
				time.Sleep(d)
			}
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"email":%q,"purposes":["newsletter"],"policy_version":"2015-03-22","form_id":"bench"}`, emails[i%len(emails)])
			t0 := time.Now()
			resp, err := clients[i%len(clients)].Post(s.GatewayURL+"/signup", "application/json", strings.NewReader(body))
			lat[i] = time.Since(t0)
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusAccepted:
				accepted.Add(1)
			case http.StatusTooManyRequests:
				refused.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	end := time.Now()
	db := s.DynamoDBCalls.Counts()
	all, err := s.Mailbox.Messages(ctx)
	if err != nil {
		return err
	}
	to := map[string]bool{}
	for _, e := range emails {
		to[strings.ToLower(e)] = true
	}
	mails := 0
	for _, m := range all {
		for _, a := range m.Destination.To {
			if to[a] {
				mails++
			}
		}
	}
	windows := int64(end.Truncate(window).Sub(start.Truncate(window))/window) + 1
	slices.Sort(lat)
	perRefused := func(k int) string {
		if refused.Load() == 0 {
			return "–"
		}
		return fmt.Sprintf("%.3f", float64(k)/float64(refused.Load()))
	}
	var ops []string
	for _, op := range slices.Sorted(maps.Keys(db)) {
		ops = append(ops, fmt.Sprintf("%s %d", op, db[op]))
	}
	fmt.Printf("| %s | %d | %s | %d / %d / %d | %d | ≤ %d (%d window(s) of %s) | %s (%s) | %s | %s / %s |\n",
		name, n, end.Sub(start).Round(100*time.Millisecond), accepted.Load(), refused.Load(), other.Load(), mails, per*windows, windows, window,
		perRefused(total(db)), strings.Join(ops, ", "), perRefused(total(db)-acceptedCost*int(accepted.Load())), ms(lat[n/2]), ms(lat[n*99/100]))
	return nil
}

// postSignUps sends n JSON sign-ups, body(i) each, from c clients at once
// through the gateway, and returns each one's latency (in request order),
// the wall time and how many were not answered 202.
func postSignUps(s *localstack.Stack, n, c int, timeout time.Duration, body func(i int64) string) ([]time.Duration, time.Duration, int64) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(s.GatewayURL+"/signup", "application/json", strings.NewReader(body(i)))
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), failed.Load()
}

// signUpLatencies sends n sign-ups of distinct addresses from c clients and
// returns the sorted latencies, the rate, and DynamoDB requests per sign-up.
func signUpLatencies(ctx context.Context, s *localstack.Stack, n, c int) ([]time.Duration, float64, float64, error) {
	run := time.Now().UnixNano()
	s.DynamoDBCalls.Reset()
	lat, wall, f := postSignUps(s, n, c, 60*time.Second, func(i int64) string {
		return fmt.Sprintf(`{"email":"lat-%d-%d@example.com","purposes":["newsletter"],"policy_version":"2015-03-22","form_id":"bench"}`, run, i)
	})
	if f > 0 {
		return nil, 0, 0, fmt.Errorf("latency run: %d of %d sign-ups failed", f, n)
	}
	slices.Sort(lat)
	return lat, float64(n) / wall.Seconds(), float64(s.DynamoDBCalls.Total()) / float64(n), nil
}
