// Command bench prints pledge's figures (`make bench`): each function's
// bootstrap size as deployed, its cold start under the Runtime Interface
// Emulator, sign-up throughput through the local stack under a loopback load,
// and the DynamoDB and SES calls per sign-up.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/infra/localstack"
)

func main() {
	requests := flag.Int("n", 500, "sign-ups in the load test")
	concurrency := flag.Int("c", 8, "concurrent clients in the load test")
	pool := flag.Int("pool", 2, "emulator instances per function (Lambda sandboxes)")
	coldRuns := flag.Int("cold", 7, "cold starts per function")
	flag.Parse()
	if err := run(*requests, *concurrency, *pool, *coldRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(requests, concurrency, pool, coldRuns int) error {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench", PoolSize: pool})
	if err != nil {
		return err
	}
	defer s.Close()

	fmt.Println("## Bootstrap size (linux/arm64, `make build-<LogicalId>` as `sam build` runs it; target < 10 MB)")
	fmt.Println()
	fmt.Println("| function | bytes | MB |")
	fmt.Println("| --- | ---: | ---: |")
	for _, f := range s.Functions {
		size, err := deploySize(s.Root, f.LogicalID)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %d | %.2f |\n", f.LogicalID, size, float64(size)/1e6)
	}

	fmt.Println()
	fmt.Printf("## Cold start under the RIE (process start to first response, %d runs, host build)\n\n", coldRuns)
	fmt.Println("| function | median | min | max | of which RIE listening (median) |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	for _, f := range s.Functions {
		total, listen, err := coldStarts(ctx, s, f, coldRuns)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", f.LogicalID, ms(median(total)), ms(slices.Min(total)), ms(slices.Max(total)), ms(median(listen)))
	}

	fmt.Println()
	fmt.Printf("## Sign-up load through the local stack (%d JSON sign-ups, %d clients, %d instances per function)\n\n", requests, concurrency, pool)
	return load(ctx, s, requests, concurrency)
}

// deploySize builds the function with the Makefile's deploy recipe.
func deploySize(root, logicalID string) (int64, error) {
	dir, err := os.MkdirTemp("", "pledge-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("make", "-s", "build-"+logicalID, "ARTIFACTS_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("make build-%s: %v\n%s", logicalID, err, out)
	}
	st, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// probe is a request every function answers without touching the table.
func probe(f localstack.Function) []byte {
	route := f.Routes[0]
	for _, r := range f.Routes {
		if r.Method == http.MethodGet {
			route = r
			break
		}
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: route.Method + " " + route.Path, RawPath: route.Path,
		Headers: map[string]string{"accept": "text/html"}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = route.Method, route.Path
	ev.RequestContext.DomainName = "127.0.0.1"
	b, _ := json.Marshal(ev)
	return b
}

func coldStarts(ctx context.Context, s *localstack.Stack, f localstack.Function, runs int) (total, listen []time.Duration, err error) {
	bootstrap := filepath.Join(s.Root, ".build/local", f.LogicalID, "bootstrap")
	event := probe(f)
	for i := range runs {
		start := time.Now()
		in, err := localstack.StartInstance(ctx, s.Root, filepath.Join(s.LogDir, "cold"), fmt.Sprintf("%s-cold-%d", f.LogicalID, i), bootstrap, s.FunctionEnv(f))
		if err != nil {
			return nil, nil, err
		}
		listening := time.Since(start)
		_, err = in.Invoke(ctx, event)
		elapsed := time.Since(start)
		in.Stop()
		if err != nil {
			return nil, nil, fmt.Errorf("cold start of %s: %w", f.LogicalID, err)
		}
		total, listen = append(total, elapsed), append(listen, listening)
	}
	return total, listen, nil
}

func load(ctx context.Context, s *localstack.Stack, requests, concurrency int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	s.DynamoDBCalls.Reset()
	s.SESCalls.Reset()
	var next, failed atomic.Int64
	latencies := make([]time.Duration, requests)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(requests) {
					return
				}
				body := fmt.Sprintf(`{"email":"load-%s-%d@example.com","name":"Load","purposes":["newsletter"],"policy_version":"2015-03-22","form_id":"bench"}`, run, i)
				t0 := time.Now()
				resp, err := client.Post(s.GatewayURL+"/signup", "application/json", strings.NewReader(body))
				latencies[i] = time.Since(t0)
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
	wall := time.Since(start)
	db, ses := s.DynamoDBCalls.Counts(), s.SESCalls.Counts()
	slices.Sort(latencies)
	n := float64(requests)
	fmt.Println("| figure | value |")
	fmt.Println("| --- | ---: |")
	fmt.Printf("| sign-ups per second | %.0f |\n", n/wall.Seconds())
	fmt.Printf("| latency p50 / p99 | %s / %s |\n", ms(latencies[requests/2]), ms(latencies[requests*99/100]))
	fmt.Printf("| failed requests | %d |\n", failed.Load())
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
