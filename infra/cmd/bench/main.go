// Command bench prints pledge's figures (`make bench`): each function's
// bootstrap size as deployed, its cold start under the Runtime Interface
// Emulator, sign-up throughput through the local stack under a loopback load,
// the DynamoDB and SES calls per sign-up, confirm and one-click, and races:
// concurrent requests on one person.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

func main() {
	requests := flag.Int("n", 500, "sign-ups in the load test")
	oneClicks := flag.Int("unsub", 300, "one-click unsubscribes in the load test")
	sweepDue := flag.Int("sweep-due", 100, "people due for erasure in the sweep benchmark")
	sweepSizes := flag.String("sweep-sizes", "1000,10000", "table sizes (people) for the sweep benchmark")
	only := flag.String("only", "", "run one section: size, cold, signup, unsubscribe, requests, races, sweep, notices, abuse, export, correct, feedback, pages, privacy or systems")
	exportEntries := flag.Int("export-entries", 1000, "ledger entries of the person in the access-export benchmark (besides their sign-up's two)")
	exportNotices := flag.Int("export-notices", 3, "policy versions the person of the access-export benchmark was sent a notice of")
	exportRuns := flag.Int("export-runs", 5, "exports timed in the access-export benchmark (the median is printed)")
	correctEntries := flag.Int("correct-entries", 1000, "ledger entries of each person moved in the address-correction benchmark (besides their sign-up's two)")
	correctRuns := flag.Int("correct-runs", 5, "moves timed in the address-correction benchmark (the median is printed)")
	privacySizes := flag.String("privacy-sizes", "10000,200000", "table sizes (people) for listing open privacy requests")
	privacyOpen := flag.Int("privacy-open", 50, "open privacy requests in each table of the listing benchmark")
	raceRequests := flag.Int("race-n", 200, "concurrent requests on one person in the race benchmark")
	racePool := flag.Int("race-pool", 4, "emulator instances per function in the race benchmark")
	raceSeed := flag.Uint64("race-seed", 1, "seed of the race benchmark's mix and of its injected faults")
	flowPeople := flag.Int("flow-n", 20, "people through each flow when counting DynamoDB requests per flow")
	noticeSizes := flag.String("notice-sizes", "10000,100000", "people in the table for the policy-notice benchmark")
	noticeRate := flag.Float64("notice-rate", 50, "the SES account's max send rate in the policy-notice benchmark (a multiple of 50 keeps every call full)")
	noticeKillPeople := flag.Int("notice-kill-people", 2000, "people told while the notices function is killed at random")
	noticeKillCount := flag.Int("notice-kills", 20, "random kills of the notices function")
	abuseN := flag.Int("abuse-n", 1000, "sign-ups in each flood of the abuse benchmark")
	abuseOver := flag.Duration("abuse-over", 10*time.Second, "how long each mailbox flood of the abuse benchmark lasts")
	abuseLatencyN := flag.Int("abuse-latency-n", 300, "sign-ups in each latency run of the abuse benchmark (without and with the limits)")
	noticeLostAnswers := flag.Float64("notice-lost-answers", 0.1, "share of SES send calls whose answer the proxy loses during the kills (0..1)")
	feedbackEvents := flag.Int("feedback-n", 10000, "distinct SES events in the feedback replay (for a fifth as many people; a tenth repeated)")
	concurrency := flag.Int("c", 8, "concurrent clients in the load test")
	pool := flag.Int("pool", 2, "emulator instances per function (Lambda sandboxes)")
	coldRuns := flag.Int("cold", 7, "cold starts per function")
	flag.Parse()
	var sizes []int
	for _, f := range strings.Split(*sweepSizes, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < *sweepDue {
			fmt.Fprintf(os.Stderr, "bench: -sweep-sizes %q: each size must be a number of at least -sweep-due\n", *sweepSizes)
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	if *only == "notices" {
		var sizes []int
		for _, f := range strings.Split(*noticeSizes, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "bench: -notice-sizes %q: give numbers of people\n", *noticeSizes)
				os.Exit(2)
			}
			sizes = append(sizes, n)
		}
		fmt.Printf("## Policy-change notices as deployed (SES max send rate %.0f/s)\n\n", *noticeRate)
		err := noticeCost(context.Background(), sizes, *noticeRate)
		if err == nil {
			fmt.Printf("\n## The notices function killed at random %d times, %.0f%% of SES answers lost\n\n", *noticeKillCount, *noticeLostAnswers*100)
			err = noticeKills(context.Background(), *noticeKillPeople, *noticeKillCount, *noticeRate, *noticeLostAnswers)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "correct" {
		if err := correctFigures(context.Background(), *correctEntries, *correctRuns); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "export" {
		if err := exportFigures(context.Background(), *exportEntries, *exportNotices, *exportRuns); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "privacy" {
		var sizes []int
		for _, f := range strings.Split(*privacySizes, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n < *privacyOpen {
				fmt.Fprintf(os.Stderr, "bench: -privacy-sizes %q: each size must be a number of at least -privacy-open\n", *privacySizes)
				os.Exit(2)
			}
			sizes = append(sizes, n)
		}
		if err := privacyFigures(context.Background(), sizes, *privacyOpen); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "systems" {
		if err := systemsFigures(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "abuse" {
		if err := abuseFigures(context.Background(), *pool, *abuseN, *abuseOver, *abuseLatencyN, 4); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "feedback" {
		if err := feedbackFigures(context.Background(), *feedbackEvents); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "pages" {
		fmt.Print("## Bytes of every page and mail, rendered with sample values\n\n")
		if err := pageBytes(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "sweep" {
		fmt.Printf("## Retention sweep as deployed (%d due people; one daily run)\n\n", *sweepDue)
		if err := sweepCost(context.Background(), *pool, *sweepDue, sizes); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	want := func(section string) bool { return *only == "" || *only == section }
	if !want("size") && !want("cold") && !want("signup") && !want("unsubscribe") && !want("requests") && !want("races") {
		fmt.Fprintf(os.Stderr, "bench: -only %q: size, cold, signup, unsubscribe, requests, races, sweep, notices, abuse, export, correct, feedback, pages, privacy or systems\n", *only)
		os.Exit(2)
	}
	var err error
	if want("size") || want("cold") || want("signup") || want("unsubscribe") {
		err = run(want, *requests, *oneClicks, *concurrency, *pool, *coldRuns)
	}
	if err == nil && want("requests") {
		fmt.Println()
		err = requestCounts(context.Background(), *flowPeople)
	}
	if err == nil && want("races") {
		fmt.Println()
		err = raceFigures(context.Background(), *racePool, *raceRequests, *raceSeed)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures the sections want selects among size, cold, signup and
// unsubscribe.
func run(want func(section string) bool, requests, oneClicks, concurrency, pool, coldRuns int) error {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench", PoolSize: pool, Parameters: localstack.LooseLimits})
	if err != nil {
		return err
	}
	defer s.Close()
	if want("size") {
		if err := bootstrapSizes(s); err != nil {
			return err
		}
	}
	if want("cold") {
		if err := coldStartTimes(ctx, s, coldRuns); err != nil {
			return err
		}
	}
	if want("signup") {
		fmt.Println()
		fmt.Printf("## Sign-up load through the local stack (%d JSON sign-ups, %d clients, %d instances per function)\n\n", requests, concurrency, pool)
		if err := load(ctx, s, requests, concurrency); err != nil {
			return err
		}
	}
	s.Close()
	if !want("unsubscribe") {
		return nil
	}
	// A fresh stack, so that the table holds only the subscribers.
	s, err = localstack.Start(ctx, localstack.Options{Name: "bench-unsub", PoolSize: pool})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println()
	fmt.Printf("## One-click unsubscribe through the local stack (%d subscribers, RFC 8058 POSTs)\n\n", oneClicks)
	fmt.Println("| clients | one-clicks/s | p50 | p99 | failed | DynamoDB calls per one-click | time in moto per call | mean latency less moto time (1 client: gateway + RIE + function) |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
	for _, c := range []int{1, concurrency} {
		if err := unsubscribeLoad(ctx, s, oneClicks, c); err != nil {
			return err
		}
	}
	return nil
}

func load(ctx context.Context, s *localstack.Stack, requests, concurrency int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	s.DynamoDBCalls.Reset()
	s.SESCalls.Reset()
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	latencies, wall, failed := postSignUps(s, requests, concurrency, 30*time.Second, func(i int64) string {
		return fmt.Sprintf(`{"email":"load-%s-%d@example.com","name":"Load","purposes":["newsletter"],"policy_version":"2015-03-22","form_id":"bench"}`, run, i)
	})
	db, ses := s.DynamoDBCalls.Counts(), s.SESCalls.Counts()
	slices.Sort(latencies)
	n := float64(requests)
	fmt.Println("| figure | value |")
	fmt.Println("| --- | ---: |")
	fmt.Printf("| sign-ups per second | %.0f |\n", n/wall.Seconds())
	fmt.Printf("| latency p50 / p99 | %s / %s |\n", ms(latencies[requests/2]), ms(latencies[requests*99/100]))
	fmt.Printf("| failed requests | %d |\n", failed)
	fmt.Printf("| DynamoDB calls per sign-up (all kinds) | %.2f %v |\n", float64(total(db))/n, db)
	fmt.Printf("| SES calls per sign-up (all kinds) | %.2f %v |\n", float64(total(ses))/n, ses)
	fmt.Printf("| time in the DynamoDB emulator per sign-up (moto, one call at a time) | %s |\n", ms(s.DynamoDBCalls.Busy()/time.Duration(requests)))
	fmt.Printf("| time in the SES emulator per sign-up | %s |\n", ms(s.SESCalls.Busy()/time.Duration(requests)))

	// The same addresses again within the resend interval: no mail.
	s.DynamoDBCalls.Reset()
	s.SESCalls.Reset()
	const repeats = 100
	for i := range repeats {
		body := fmt.Sprintf(`{"email":"load-%s-%d@example.com","purposes":["offers"],"policy_version":"2015-03-22"}`, run, i)
		resp, err := client.Post(s.GatewayURL+"/signup", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	fmt.Printf("| repeated sign-up within 10 min: DynamoDB / SES calls each | %.2f / %.2f |\n",
		float64(s.DynamoDBCalls.Total())/repeats, float64(s.SESCalls.Total())/repeats)
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// unsubscribeLoad subscribes n people through the store, then sends each
// one's one-click POST through the gateway as a mail provider would.
func unsubscribeLoad(ctx context.Context, s *localstack.Stack, n, concurrency int) error {
	// What the sign-up function loads: its policy, retention, pepper and keys.
	env := s.Env("SignupFunction")
	policy, retention, pepper := config.Policy(env), config.Retention(env), config.AddressPepper(ctx, env, nil)
	keys := config.TokenKeys(ctx, env, nil)
	if err := env.Err(); err != nil {
		return err
	}
	st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	ids := make([]string, n)
	now := time.Now()
	subscribers := make([]store.Imported, n)
	for i := range ids {
		email := fmt.Sprintf("unsub-%s-%d@example.com", run, i)
		ids[i] = people.KeyedID(pepper)(email)
		purposes := []people.Purpose{people.Newsletter, people.Offers}
		subscribers[i] = store.Imported{
			Person: people.Person{ID: ids[i], Email: email, Status: people.Confirmed, Active: purposes, PolicyVersion: policy.Version,
				CreatedAt: now, UpdatedAt: now, ConfirmedAt: now},
			Clock: retention.PersonClock(people.Confirmed, purposes, people.Account{}, now),
		}
	}
	if err := st.Import(ctx, subscribers); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.DynamoDBCalls.Reset()
	var next, failed atomic.Int64
	latencies := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				tok := keys.Issue(token.Unsubscribe, ids[i], []string{"newsletter"}, now, 0)
				t0 := time.Now()
				resp, err := client.Post(web.TokenURL(s.GatewayURL, "/unsubscribe", tok), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
				latencies[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	calls := s.DynamoDBCalls.Counts()
	slices.Sort(latencies)
	var sum time.Duration
	for _, l := range latencies {
		sum += l
	}
	moto := s.DynamoDBCalls.Busy() / time.Duration(n)
	fmt.Printf("| %d | %.0f | %s | %s | %d | %.2f %v | %s | %s |\n", concurrency, float64(n)/wall.Seconds(), ms(latencies[n/2]), ms(latencies[n*99/100]),
		failed.Load(), float64(total(calls))/float64(n), calls, ms(moto), ms(sum/time.Duration(n)-moto))
	return nil
}

// sweepCost measures the retention sweep, as deployed, on fresh tables of
// each size holding the same number of due people.
func sweepCost(ctx context.Context, pool, due int, sizes []int) error {
	fmt.Println("Half the due people are unconfirmed sign-ups, half accounts closed a year ago.")
	fmt.Println("| people in the table | due | erased | Query | TransactWriteItems | other calls | reads / 1,000 erased | writes / 1,000 erased | wall time | wall time less time in moto |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
	var base struct {
		calls int
		wall  time.Duration
		own   time.Duration
	}
	for i, size := range sizes {
		s, err := localstack.Start(ctx, localstack.Options{Name: fmt.Sprintf("bench-sweep-%d", size), PoolSize: pool})
		if err != nil {
			return err
		}
		env := s.Env("SignupFunction")
		policy, retention := config.Policy(env), config.Retention(env)
		if err := env.Err(); err != nil {
			s.Close()
			return err
		}
		st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
		now := time.Now().UTC()
		var batch []store.Imported
		for j := range size {
			p := people.Person{ID: fmt.Sprintf("bench-%07d", j), Email: fmt.Sprintf("bench-%07d@example.com", j), Name: "Bench Person",
				PolicyVersion: policy.Version, CreatedAt: now, UpdatedAt: now}
			switch {
			case j < due/2: // signed up 8 days ago, never confirmed
				p.Status, p.Pending = people.Unconfirmed, []people.Purpose{people.Newsletter}
				batch = append(batch, store.Imported{Person: p, Clock: retention.PersonClock(people.Unconfirmed, nil, people.Account{}, now.Add(-8*24*time.Hour))})
			case j < due: // an account closed a year and an hour ago, the clock filed then
				closed := now.Add(-retention.ClosedAccount - time.Hour)
				p.Status, p.Account = people.Unsubscribed, people.Account{State: people.AccountClosed, At: closed}
				batch = append(batch, store.Imported{Person: p, Clock: retention.PersonClock(p.Status, nil, p.Account, closed)})
			default:
				p.Status, p.Active = people.Confirmed, []people.Purpose{people.Newsletter}
				batch = append(batch, store.Imported{Person: p, Clock: retention.PersonClock(people.Confirmed, p.Active, people.Account{}, now)})
			}
		}
		if err := st.Import(ctx, batch); err != nil {
			s.Close()
			return err
		}
		// The first run from the epoch queries each day since; settle that
		// yesterday, a minute before anyone fell due, so that the measured
		// run is a daily one: yesterday's leftovers and today.
		if _, err := s.Invoke(ctx, "RetentionFunction", []byte(fmt.Sprintf(`{"now":%q}`, now.Add(-24*time.Hour-time.Minute).Format(time.RFC3339)))); err != nil {
			s.Close()
			return err
		}
		s.DynamoDBCalls.Reset()
		start := time.Now()
		out, err := s.Invoke(ctx, "RetentionFunction", []byte(fmt.Sprintf(`{"now":%q}`, now.Format(time.RFC3339))))
		wall := time.Since(start)
		calls, moto := s.DynamoDBCalls.Counts(), s.DynamoDBCalls.Busy()
		s.Close()
		if err != nil {
			return err
		}
		var res struct{ Erased map[string]int }
		json.Unmarshal(out, &res)
		erased := res.Erased[string(people.RuleUnconfirmed)] + res.Erased[string(people.RuleClosedAccount)]
		reads := calls["Query"] + calls["GetItem"] + calls["Scan"]
		writes := calls["TransactWriteItems"] + calls["PutItem"] + calls["UpdateItem"] + calls["BatchWriteItem"] + calls["DeleteItem"]
		other := map[string]int{}
		for k, v := range calls {
			if k != "Query" && k != "TransactWriteItems" {
				other[k] = v
			}
		}
		per := func(n int) float64 { return float64(n) * 1000 / float64(max(erased, 1)) }
		fmt.Printf("| %d | %d | %d | %d | %d | %v | %.0f | %.0f | %s | %s |\n", size, due, erased, calls["Query"], calls["TransactWriteItems"], other,
			per(reads), per(writes), wall.Round(time.Millisecond), (wall - moto).Round(time.Millisecond))
		if i == 0 {
			base.calls, base.wall, base.own = total(calls), wall, wall-moto
		} else {
			fmt.Printf("\nratio %d : %d people: requests %.2f, wall time %.2f, wall time less moto %.2f\n", size, sizes[0],
				float64(total(calls))/float64(base.calls), wall.Seconds()/base.wall.Seconds(), (wall-moto).Seconds()/base.own.Seconds())
		}
	}
	return nil
}
