// Package apifuzz runs schemathesis, an API fuzzer that none of us wrote,
// against the local stack with api/openapi.yaml: every operation, public
// and admin (signed with the local stack's credentials), checked for
// server errors and for statuses, content types, headers and bodies the
// spec does not declare. `make test` runs it briefly; `make fuzz-api` runs
// it longer and statefully (the spec's links).
package apifuzz

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/infra/localstack"
)

var (
	examples = flag.Int("examples", 8, "the most test cases schemathesis generates per operation in each phase (--max-examples)")
	phases   = flag.String("phases", "examples,coverage,fuzzing", "schemathesis phases: examples, coverage, fuzzing, stateful")
	seed     = flag.Int64("seed", 1, "schemathesis --seed, so that a run can be repeated; 0: a fresh one each run")
	maxTime  = flag.Duration("max-time", 0, "if set, schemathesis repeats fuzzing and stateful testing until this is spent (--max-time)")
)

// checks are what schemathesis holds every answer to.
const checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"

var (
	stack *localstack.Stack
	// seen tallies the answers the gateway gave, and holds each to the
	// spec with our own checker, a second opinion on schemathesis's.
	seen = tally{answers: map[string]int{}, failures: map[string]int{}}
)

type tally struct {
	sync.Mutex
	contract *api.Contract
	answers  map[string]int // "POST /confirm 200 application/json" -> count
	failures map[string]int
}

func (s *tally) observe(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	err := s.contract.CheckEvent(req, resp)
	ct, _, _ := mime.ParseMediaType(resp.Headers["Content-Type"])
	s.Lock()
	defer s.Unlock()
	s.answers[fmt.Sprintf("%s %d %s", req.RouteKey, resp.StatusCode, ct)]++
	if err != nil {
		s.failures[err.Error()]++
	}
}

// report is the tally as lines, and the contract failures.
func (s *tally) report() (lines, failures []string) {
	s.Lock()
	defer s.Unlock()
	for k, n := range s.answers {
		lines = append(lines, fmt.Sprintf("%6d  %s", n, k))
	}
	for f, n := range s.failures {
		failures = append(failures, fmt.Sprintf("%s (%d answers)", f, n))
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][8:] < lines[j][8:] })
	sort.Strings(failures)
	return lines, failures
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var err error
		if seen.contract, err = api.Load(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Loose limits: the fuzzer signs up from one address, many times.
		stack, err = localstack.Start(ctx, localstack.Options{Name: "apifuzz", Parameters: localstack.LooseLimits, Observe: seen.observe})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stack.Close()
		return m.Run()
	}())
}

// TestSchemathesisFindsNothingTheSpecDoesNotDeclare runs schemathesis
// twice, as a script (no Accept header: JSON answers) and as a browser
// (Accept: text/html: pages, redirects), over every operation.
func TestSchemathesisFindsNothingTheSpecDoesNotDeclare(t *testing.T) {
	bin := filepath.Join(stack.Root, ".tools/venv/bin/schemathesis")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("schemathesis is not installed in .tools/venv (make tools installs infra/requirements.txt): %v", err)
	}
	seedPeople(t)
	for _, client := range []struct{ name, accept string }{
		{"as a script", ""},
		{"as a browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
	} {
		t.Run(client.name, func(t *testing.T) { runSchemathesis(t, bin, client.accept) })
	}
	lines, failures := seen.report()
	t.Logf("answers the routes gave (count, route, status, content type):\n%s", strings.Join(lines, "\n"))
	for _, f := range failures {
		t.Errorf("an answer that api/openapi.yaml does not declare: %s", f)
	}
}

func runSchemathesis(t *testing.T, bin, accept string) {
	auth := adminHeaders(t)
	args := []string{"run", filepath.Join(stack.Root, "api/openapi.yaml"),
		"--url", stack.GatewayURL,
		"--checks", checks,
		"--phases", *phases,
		"--max-examples", strconv.Itoa(*examples),
		"--workers", "1",
		"--request-timeout", "30",
		"--max-redirects", "0",
		"--suppress-health-check", "all",
		"--report", "junit", "--report-dir", t.TempDir(),
		"-H", "Authorization: " + auth.Get("Authorization"),
		"-H", "X-Amz-Date: " + auth.Get("X-Amz-Date"),
	}
	if accept != "" {
		args = append(args, "-H", "Accept: "+accept)
	}
	if *seed != 0 {
		args = append(args, "--seed", strconv.FormatInt(*seed, 10))
	}
	if *maxTime > 0 {
		args = append(args, "--max-time", strconv.Itoa(int(maxTime.Seconds())))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = stack.Root
	cmd.Env = append(os.Environ(),
		"SCHEMATHESIS_HOOKS=hooks", "PYTHONPATH="+filepath.Join(stack.Root, "infra/apifuzz"),
		"PLEDGE_MAILBOX_URL="+stack.SES.URL,
		"NO_COLOR=1", "COLUMNS=160", "SCHEMATHESIS_TELEMETRY=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("schemathesis, %d examples per operation and phase, phases %s (%s):\n%s", *examples, *phases, time.Since(start).Round(time.Second), summary(out.String()))
	if err != nil {
		t.Fatalf("schemathesis failed (%v); its report:\n%s", err, out.String())
	}
}

// summary is the tail of schemathesis's report: what it ran and found.
func summary(out string) string {
	if i := strings.LastIndex(out, "SUMMARY"); i >= 0 {
		return out[i:]
	}
	return out
}

// seedPeople signs up people the way a script does, confirms one, and asks
// for a preferences link for each, so that the captured mail holds live
// confirm and unsubscribe links from the start (hooks.py uses them).
func seedPeople(t *testing.T) {
	for i, email := range []string{"fuzz-pending@example.com", "fuzz-confirmed@example.com"} {
		post(t, "/signup", fmt.Sprintf(`{"email":%q,"name":"Fuzz %d","purposes":["newsletter","surveys"],"policy_version":"2015-03-22"}`, email, i), http.StatusAccepted)
		post(t, "/unsubscribe/link", fmt.Sprintf(`{"email":%q}`, email), http.StatusAccepted)
	}
	mails, err := stack.Mailbox.To(context.Background(), "fuzz-confirmed@example.com")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`/confirm\?t=([A-Za-z0-9_.%-]+)`)
	for _, m := range mails {
		if sub := link.FindStringSubmatch(m.Body.Text); sub != nil {
			tok, _ := url.QueryUnescape(sub[1])
			post(t, "/confirm", fmt.Sprintf(`{"t":%q}`, tok), http.StatusOK)
			return
		}
	}
	t.Fatal("no confirmation mail reached fuzz-confirmed@example.com")
}

func post(t *testing.T, path, body string, want int) {
	t.Helper()
	resp, err := http.Post(stack.GatewayURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s = %d %s; want %d", path, resp.StatusCode, b, want)
	}
}

// adminHeaders are a SigV4 signature of the local stack's operator: the
// local gateway, like API Gateway's AWS_IAM authorizer, lets through what
// they sign (it checks the key, not the signature, whose secret is not
// secret locally), so one signature serves every admin call of the run.
func adminHeaders(t *testing.T) http.Header {
	req, err := http.NewRequest(http.MethodGet, stack.GatewayURL+"/admin/policies/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := localstack.SignAdmin(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	return req.Header
}
