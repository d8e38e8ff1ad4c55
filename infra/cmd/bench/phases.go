package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// phases is where one cold start of a bootstrap went, run alone against a
// stub of Lambda's runtime API (no RIE), with GODEBUG=inittrace=1.
type phases struct {
	poll    time.Duration            // process start to the first GET of the next invocation: the init phase
	inits   time.Duration            // of which package initialisers (inittrace's clock times, summed)
	handler time.Duration            // the first event handed over to its response (or error) posted
	byInit  map[string]time.Duration // inittrace's clock time per package
}

// coldPhases prints where each bootstrap's cold start goes, run alone
// against a stub runtime API (interleaved, as the RIE runs were): init (of
// which package initialisers; the rest is exec, the Go runtime's start and
// main's wiring, which the hello-world all but lacks) and the first
// invocation; then the package initialisers that cost the slowest most.
func coldPhases(ctx context.Context, subjects []*coldSubject, slowest *coldSubject, runs int) error {
	all := make([][]phases, len(subjects))
	for run := range runs {
		for i := range subjects {
			k := (i + run) % len(subjects)
			p, err := runAlone(ctx, subjects[k])
			if err != nil {
				return fmt.Errorf("%s alone: %w", subjects[k].name, err)
			}
			all[k] = append(all[k], p)
		}
	}
	med := func(ps []phases, f func(phases) time.Duration) time.Duration {
		var ds []time.Duration
		for _, p := range ps {
			ds = append(ds, f(p))
		}
		return median(ds)
	}
	fmt.Println()
	fmt.Printf("## Where the cold start goes: each bootstrap alone against a stub runtime API (no RIE), GODEBUG=inittrace=1, median of %d, interleaved\n\n", runs)
	fmt.Println("| function | start → first poll (init) | of which package initialisers | of which exec, runtime start, main() | first event → response (handler) | total alone | under the RIE less alone |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	var slowestPhases []phases
	for i, c := range subjects {
		ps := all[i]
		alone := med(ps, func(p phases) time.Duration { return p.poll + p.handler })
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", c.name, ms(med(ps, func(p phases) time.Duration { return p.poll })),
			ms(med(ps, func(p phases) time.Duration { return p.inits })), ms(med(ps, func(p phases) time.Duration { return p.poll - p.inits })),
			ms(med(ps, func(p phases) time.Duration { return p.handler })), ms(alone), ms(median(c.total)-alone))
		if c == slowest {
			slowestPhases = ps
		}
	}

	// The package initialisers that cost the slowest most, by median clock time.
	per := map[string][]time.Duration{}
	for _, p := range slowestPhases {
		for pkg, d := range p.byInit {
			per[pkg] = append(per[pkg], d)
		}
	}
	type cost struct {
		pkg string
		d   time.Duration
	}
	var costs []cost
	for pkg, ds := range per {
		for len(ds) < len(slowestPhases) {
			ds = append(ds, 0) // not traced in every run: took no time there
		}
		costs = append(costs, cost{pkg, median(ds)})
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].d > costs[j].d })
	var parts []string
	for _, c := range costs[:min(8, len(costs))] {
		parts = append(parts, fmt.Sprintf("%s %s", c.pkg, ms(c.d)))
	}
	fmt.Printf("\nHeaviest package initialisers of %s, the slowest under the RIE (median clock time): %s.\n", slowest.name, strings.Join(parts, ", "))
	return nil
}

// initLine is one line of GODEBUG=inittrace=1:
// "init net/http @1.2 ms, 0.31 ms clock, 12345 bytes, 67 allocs".
var initLine = regexp.MustCompile(`^init (\S+) @[\d.]+ ms, ([\d.]+) ms clock`)

// runAlone starts c's bootstrap as Lambda would, but against a stub of the
// runtime API that hands it c's event once, and times the phases.
func runAlone(ctx context.Context, c *coldSubject) (phases, error) {
	polled, answered := make(chan time.Time, 1), make(chan time.Time, 1)
	var handed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if !handed.CompareAndSwap(false, true) {
			<-r.Context().Done() // the next invocation never comes: the process is killed
			return
		}
		polled <- time.Now()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "bench-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:"+c.name)
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.Write(c.event)
	})
	done := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case answered <- time.Now():
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{outcome}", done)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", done)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return phases{}, err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	cmd := exec.CommandContext(ctx, c.bootstrap)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+l.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME="+c.name, "GODEBUG=inittrace=1")
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return phases{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var p phases
	timeout := time.After(30 * time.Second)
	select {
	case t := <-polled:
		p.poll = t.Sub(start)
	case t := <-answered:
		return phases{}, fmt.Errorf("init failed after %s", ms(t.Sub(start)))
	case <-timeout:
		return phases{}, fmt.Errorf("no poll of the runtime API in 30 s")
	}
	select {
	case t := <-answered:
		p.handler = t.Sub(start) - p.poll
	case <-timeout:
		return phases{}, fmt.Errorf("no response in 30 s")
	}
	cmd.Process.Kill()
	cmd.Wait()
	p.byInit = map[string]time.Duration{}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		msClock, _ := strconv.ParseFloat(m[2], 64)
		d := time.Duration(msClock * float64(time.Millisecond))
		p.inits += d
		p.byInit[m[1]] += d
	}
	if len(p.byInit) == 0 {
		return phases{}, fmt.Errorf("no inittrace lines on stderr")
	}
	return p, nil
}
