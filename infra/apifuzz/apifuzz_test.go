// Package apifuzz runs schemathesis, an API fuzzer that none of us wrote,
// against local stacks with api/openapi.yaml: every operation, public and
// admin (signed with the local stack's credentials), checked for server
// errors and for statuses, content types, headers and bodies the spec does
// not declare. `make test` runs it briefly; `make fuzz-api` runs it longer
// and statefully (the spec's links).
package apifuzz

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/token"
)

var (
	examples = flag.Int("examples", 25, "the most test cases schemathesis generates per operation in each phase (--max-examples)")
	phases   = flag.String("phases", "examples,coverage,fuzzing", "schemathesis phases: examples, coverage, fuzzing, stateful")
	seed     = flag.Int64("seed", 1, "schemathesis --seed, so that a run can be repeated; 0: a fresh one each run")
	maxTime  = flag.Duration("max-time", 0, "if set, schemathesis repeats fuzzing and stateful testing until this is spent (--max-time)")
)

// conformance is what schemathesis holds every answer to; strict adds that
// no answer is a 5xx. On the busy stack a 503 with Retry-After is the
// declared answer to a write DynamoDB kept refusing, and a 500 (undeclared)
// still fails status_code_conformance.
const (
	conformance = "status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
	strict      = "not_a_server_error," + conformance
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// faultRate is the share of DynamoDB writes the busy stack answers as the
// service does under contention (throttled, a transaction cancelled).
const faultRate = 0.3

var (
	// calm has the abuse limits out of reach: the fuzzer signs up from one
	// address, many times, and reaches what a sign-up does.
	calm *localstack.Stack
	// busy has the template's limits and faulted writes: the fuzzer meets
	// 429s and 503s, which must carry Retry-After and never become 500s.
	busy *localstack.Stack
	// seen tallies the answers the gateways gave, and holds each to the
	// spec with our own checker, a second opinion on schemathesis's.
	seen = tally{answers: map[string]int{}, failures: map[string]int{}}
)

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
		if calm, err = localstack.Start(ctx, localstack.Options{Name: "apifuzz", Parameters: localstack.LooseLimits, Observe: seen.observe}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer calm.Close()
		if busy, err = localstack.Start(ctx, localstack.Options{Name: "apifuzz-busy", Observe: seen.observe}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer busy.Close()
		return m.Run()
	}())
}

// TestSchemathesisFindsNothingTheSpecDoesNotDeclare runs schemathesis over
// every operation as a script (no Accept header: JSON answers) and as a
// browser (Accept: text/html: pages, redirects), on the calm stack and on
// the busy one.
func TestSchemathesisFindsNothingTheSpecDoesNotDeclare(t *testing.T) {
	bin := filepath.Join(calm.Root, ".tools/venv/bin/schemathesis")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("schemathesis is not installed in .tools/venv (make tools installs infra/requirements.txt): %v", err)
	}
	calmTokens, busyTokens := seedPeople(t, calm, true), seedPeople(t, busy, false)
	busy.DynamoDBCalls.InjectFaults(localstack.NewFaults(faultRate, 1))
	for _, run := range []struct {
		name   string
		stack  *localstack.Stack
		tokens []byte
		accept string
		checks string
	}{
		{"as a script", calm, calmTokens, "", strict},
		{"as a browser", calm, calmTokens, browserAccept, strict},
		{"as a script, over the limits, with faulted writes", busy, busyTokens, "", conformance},
		{"as a browser, over the limits, with faulted writes", busy, busyTokens, browserAccept, conformance},
	} {
		t.Run(run.name, func(t *testing.T) { runSchemathesis(t, bin, run.stack, run.tokens, run.accept, run.checks) })
	}
	lines, failures := seen.report()
	t.Logf("answers the routes gave (count, route, status, content type):\n%s", strings.Join(lines, "\n"))
	for _, f := range failures {
		t.Errorf("an answer that api/openapi.yaml does not declare: %s", f)
	}
}

func runSchemathesis(t *testing.T, bin string, s *localstack.Stack, tokens []byte, accept, checks string) {
	auth := adminHeaders(t, s)
	args := []string{"run", filepath.Join(s.Root, "api/openapi.yaml"),
		"--url", s.GatewayURL,
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
	// Its cache (.schemathesis/) goes with the run, not into the tree.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"SCHEMATHESIS_HOOKS=hooks", "PYTHONPATH="+filepath.Join(s.Root, "infra/apifuzz"),
		"PLEDGE_MAILBOX_URL="+s.SES.URL, "PLEDGE_TOKENS="+string(tokens),
		"NO_COLOR=1", "COLUMNS=160", "SCHEMATHESIS_TELEMETRY=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	report := out.String()
	if *phases == flag.Lookup("phases").DefValue && err == nil {
		report = summary(report)
	}
	t.Logf("schemathesis, %d examples per operation and phase, phases %s (%s):\n%s", *examples, *phases, time.Since(start).Round(time.Second), report)
	if err != nil {
		t.Fatalf("schemathesis found failures (%v): see its report above", err)
	}
}

// summary is the tail of schemathesis's report: what it ran and found.
func summary(out string) string {
	if i := strings.LastIndex(out, "SUMMARY"); i >= 0 {
		return out[i:]
	}
	return out
}

// seedPeople signs two people up on s the way a script does and confirms
// one, makes privacy requests (seedRequests), and returns, as hooks.py
// reads them from PLEDGE_TOKENS, live and expired confirm and unsubscribe
// tokens for both and expired privacy tokens of each purpose, signed with
// s's keys: the fuzzer puts them in place of the tokens it makes up (which
// are never valid), and reaches what a real link does, and an expired one.
// The privacy links the requests' mails carry it reads from the mailbox.
// loose: s has the abuse limits out of reach.
func seedPeople(t *testing.T, s *localstack.Stack, loose bool) []byte {
	emails := []string{"fuzz-pending@example.com", "fuzz-confirmed@example.com"}
	for i, email := range emails {
		post(t, s, "/signup", fmt.Sprintf(`{"email":%q,"name":"Fuzz %d","purposes":["newsletter","surveys"],"policy_version":"2015-03-22"}`, email, i), http.StatusAccepted)
	}
	mails, err := s.Mailbox.To(context.Background(), emails[1])
	if err != nil || len(mails) == 0 {
		t.Fatalf("no confirmation mail reached %s: %v", emails[1], err)
	}
	sub := regexp.MustCompile(`/confirm\?t=([A-Za-z0-9_.%-]+)`).FindStringSubmatch(mails[0].Body.Text)
	if sub == nil {
		t.Fatalf("no confirm link in the mail to %s:\n%s", emails[1], mails[0].Body.Text)
	}
	tok, _ := url.QueryUnescape(sub[1])
	post(t, s, "/confirm", fmt.Sprintf(`{"t":%q}`, tok), http.StatusOK)

	env := s.Env("SignupFunction")
	keys, pepper := config.TokenKeys(context.Background(), env, nil), config.AddressPepper(context.Background(), env, nil)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	tokens := map[string][]string{}
	long, expired := time.Now(), time.Now().AddDate(0, -3, 0)
	for _, email := range emails {
		id := people.KeyedID(pepper)(people.NormaliseEmail(email))
		tokens["confirm"] = append(tokens["confirm"],
			keys.Issue(token.Confirm, id, []string{"newsletter"}, expired, 7*24*time.Hour))
		tokens["unsubscribe"] = append(tokens["unsubscribe"],
			keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, long, 0),
			keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, expired, 31*24*time.Hour))
	}
	// Links of requests that never were: refused as expired before any
	// request is read.
	for _, p := range []struct {
		purpose token.Purpose
		ttl     time.Duration
	}{{token.PrivacyVerify, privacy.DefaultTiming.LinkTTL}, {token.PrivacyStatus, privacy.StatusLinkTTL}, {token.PrivacyExport, privacy.ExportLinkTTL},
		{token.PrivacyMove, privacy.DefaultTiming.LinkTTL}} {
		tokens[string(p.purpose)] = append(tokens[string(p.purpose)],
			keys.IssueOnce(p.purpose, "fuzz", "n", nil, time.Now().Add(-p.ttl-time.Hour), p.ttl))
	}
	seedRequests(t, s, loose)
	b, _ := json.Marshal(tokens)
	return b
}

// seedRequests makes privacy requests on s as a script does, so that the
// mailbox holds live links of each purpose for hooks.py: with loose
// limits, the confirmed person's access request verified (its export and
// status links), their deletion verified (a status link that can cancel)
// the pending person's access request left unverified (its verify
// link), and a third person's correction to a new address verified (the
// link mailed to the new address, /privacy/correct); with the template's limits, which allow one mail per mailbox and
// were spent by the sign-ups, two addresses pledge holds nothing about:
// one verified (refused, no data: its status link), one not.
func seedRequests(t *testing.T, s *localstack.Stack, loose bool) {
	type ask struct {
		email, kind string
		verify      bool
		newEmail    string // a correction's
	}
	asks := []ask{{"fuzz-nobody-1@example.com", "access", true, ""}, {"fuzz-nobody-2@example.com", "delete", false, ""}}
	if loose {
		post(t, s, "/signup", `{"email":"fuzz-mover@example.com","purposes":["newsletter"],"policy_version":"2015-03-22"}`, http.StatusAccepted)
		asks = append(asks, ask{"fuzz-confirmed@example.com", "access", true, ""}, ask{"fuzz-confirmed@example.com", "delete", true, ""},
			ask{"fuzz-pending@example.com", "access", false, ""}, ask{"fuzz-mover@example.com", "correct", true, "fuzz-moved@example.com"})
	}
	link := regexp.MustCompile(`/privacy/verify\?t=([A-Za-z0-9_.%-]+)`)
	for _, a := range asks {
		body := fmt.Sprintf(`{"kind":%q,"email":%q}`, a.kind, a.email)
		if a.newEmail != "" {
			body = fmt.Sprintf(`{"kind":%q,"email":%q,"new_email":%q}`, a.kind, a.email, a.newEmail)
		}
		post(t, s, "/privacy", body, http.StatusAccepted)
		if !a.verify {
			continue
		}
		mails, err := s.Mailbox.To(context.Background(), a.email)
		if err != nil || len(mails) == 0 {
			t.Fatalf("no mail reached %s: %v", a.email, err)
		}
		sub := link.FindStringSubmatch(mails[len(mails)-1].Body.Text)
		if sub == nil {
			t.Fatalf("no verify link in the last mail to %s:\n%s", a.email, mails[len(mails)-1].Body.Text)
		}
		tok, _ := url.QueryUnescape(sub[1])
		post(t, s, "/privacy/verify", fmt.Sprintf(`{"t":%q}`, tok), http.StatusOK)
	}
}

func post(t *testing.T, s *localstack.Stack, path, body string, want int) {
	t.Helper()
	resp, err := http.Post(s.GatewayURL+path, "application/json", strings.NewReader(body))
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
// secret locally), so one signature serves every admin call of a run.
func adminHeaders(t *testing.T, s *localstack.Stack) http.Header {
	req, err := http.NewRequest(http.MethodGet, s.GatewayURL+"/admin/policies/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := localstack.SignAdmin(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	return req.Header
}

// tally counts the answers the gateways gave and checks each against the
// spec.
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
