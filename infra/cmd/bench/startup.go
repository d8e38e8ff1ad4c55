package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/infra/localstack"
)

// helloDir is the hello-world function every bootstrap is measured against:
// the smallest aws-lambda-go handler, built and started exactly as the
// functions are, so that the ratios say what pledge adds to what any Go
// Lambda function pays.
const (
	helloDir  = "infra/cmd/bench/hello"
	helloName = "hello-world"
)

// bootstrapSizes prints each function's bootstrap size as deployed and as a
// ratio to the hello-world's.
func bootstrapSizes(s *localstack.Stack) error {
	hello, err := deploySize(s.Root, "HelloWorld", "./"+helloDir)
	if err != nil {
		return err
	}
	fmt.Println("## Bootstrap size (linux/arm64, `make build-<LogicalId>` as `sam build` runs it: -tags lambda.norpc -trimpath -ldflags='-s -w'; target < 10 MB)")
	fmt.Println()
	fmt.Println("| function | bytes | MB | × hello-world |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	fmt.Printf("| %s | %d | %.2f | 1.00 |\n", helloName, hello, float64(hello)/1e6)
	var ratios []float64
	for _, f := range s.Functions {
		size, err := deploySize(s.Root, f.LogicalID, "")
		if err != nil {
			return err
		}
		r := float64(size) / float64(hello)
		ratios = append(ratios, r)
		fmt.Printf("| %s | %d | %.2f | %.2f |\n", f.LogicalID, size, float64(size)/1e6, r)
	}
	fmt.Printf("\nFunctions: %.2f–%.2f× the hello-world.\n", slices.Min(ratios), slices.Max(ratios))
	return nil
}

// deploySize builds with the Makefile's deploy rule, as `sam build` does
// (pkg "" for the function of logicalID, else that main package), and
// returns the bootstrap's size in bytes.
func deploySize(root, logicalID, pkg string) (int64, error) {
	dir, err := os.MkdirTemp("", "pledge-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-s", "build-" + logicalID, "ARTIFACTS_DIR=" + dir}
	if pkg != "" {
		args = append(args, "BUILD_PACKAGE="+pkg)
	}
	cmd := exec.Command("make", args...)
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

// coldSubject is one bootstrap whose cold start is measured.
type coldSubject struct {
	name      string
	bootstrap string
	env       map[string]string
	event     []byte
	total     []time.Duration // process start to first response, per run
	listen    []time.Duration // of which the RIE's start, until it listens
}

// coldStartTimes prints each function's cold start under the RIE as a
// ratio to the hello-world's. The runs are interleaved (round after round,
// each round in a rotated order), so that whatever else the machine does
// slows every bootstrap alike. Then it shows where the slowest one's time
// goes (coldPhases).
func coldStartTimes(ctx context.Context, s *localstack.Stack, runs int) error {
	hello, err := localstack.BuildBootstrap(ctx, s.Root, helloDir, filepath.Join(s.Root, ".build/local/hello-world"))
	if err != nil {
		return err
	}
	subjects := []*coldSubject{{name: helloName, bootstrap: hello, event: []byte(`{}`)}}
	for _, f := range s.Functions {
		subjects = append(subjects, &coldSubject{name: f.LogicalID, bootstrap: filepath.Join(s.Root, ".build/local", f.LogicalID, "bootstrap"),
			env: s.FunctionEnv(f), event: probe(f)})
	}
	logDir := filepath.Join(s.LogDir, "cold")
	for run := range runs {
		for i := range subjects {
			c := subjects[(i+run)%len(subjects)]
			total, listen, err := coldStart(ctx, s.Root, logDir, fmt.Sprintf("%s-cold-%d", c.name, run), c)
			if err != nil {
				return err
			}
			c.total, c.listen = append(c.total, total), append(c.listen, listen)
		}
	}
	fmt.Println()
	fmt.Printf("## Cold start under the RIE (process start to first response, median of %d, interleaved with the hello-world; host build)\n\n", runs)
	fmt.Println("| function | median | × hello-world | min | max | of which RIE listening (median) |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	base := median(subjects[0].total)
	slowest := subjects[0]
	var ratios []float64
	for _, c := range subjects {
		r := float64(median(c.total)) / float64(base)
		fmt.Printf("| %s | %s | %.2f | %s | %s | %s |\n", c.name, ms(median(c.total)), r, ms(slices.Min(c.total)), ms(slices.Max(c.total)), ms(median(c.listen)))
		if c != subjects[0] {
			ratios = append(ratios, r)
			if median(c.total) > median(slowest.total) {
				slowest = c
			}
		}
	}
	fmt.Printf("\nFunctions: %.2f–%.2f× the hello-world.\n", slices.Min(ratios), slices.Max(ratios))
	return coldPhases(ctx, subjects, slowest, runs)
}

// coldStart starts c's bootstrap under a fresh RIE and sends it its event.
func coldStart(ctx context.Context, root, logDir, name string, c *coldSubject) (total, listen time.Duration, err error) {
	start := time.Now()
	in, err := localstack.StartInstance(ctx, root, logDir, name, c.bootstrap, c.env)
	if err != nil {
		return 0, 0, err
	}
	listen = time.Since(start)
	_, err = in.Invoke(ctx, c.event)
	total = time.Since(start)
	in.Stop()
	var refused *localstack.FunctionError
	if err != nil && !errors.As(err, &refused) { // a refusal is a response too
		return 0, 0, fmt.Errorf("cold start of %s: %w", c.name, err)
	}
	return total, listen, nil
}

// probe is a request every function answers without sending mail: a GET
// page for HTTP functions, an input for the others (refused at once by the
// newsletter and the retention sweep; the notices function runs, which
// reads the policy partition once).
func probe(f localstack.Function) []byte {
	if len(f.Routes) == 0 {
		return []byte(`{"list":"not-a-list","now":"not-a-time"}`)
	}
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
