package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The credentials and region the standard chain finds in the environment
// of these tests (no profile, no metadata service, no network).
const (
	testKeyID  = "AKIDPLEDGETEST"
	testSecret = "pledge-test-secret"
	testToken  = "pledge-test-session-token"
	testRegion = "eu-west-1"
	testStack  = "pledge-test"
)

var testCreds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}

// verifySigV4 checks r's signature as AWS does: its scope names the key,
// the day, the region and service, and signing the same request (its
// signed headers, its body's SHA-256) at its X-Amz-Date with the secret
// gives the same Authorization header.
func verifySigV4(r *http.Request, body []byte, service string, creds aws.Credentials) error {
	auth := r.Header.Get("Authorization")
	date := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", date, err)
	}
	scope := "AWS4-HMAC-SHA256 Credential=" + creds.AccessKeyID + "/" + date[:8] + "/" + testRegion + "/" + service + "/aws4_request, "
	if !strings.HasPrefix(auth, scope) {
		return fmt.Errorf("Authorization %q: want the scope %q", auth, scope)
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != creds.SessionToken {
		return fmt.Errorf("X-Amz-Security-Token %q", got)
	}
	_, rest, _ := strings.Cut(auth, "SignedHeaders=")
	signed, _, _ := strings.Cut(rest, ",")
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, testRegion, at); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, want)
	}
	return nil
}

// call is one request the fake AWS saw.
type call struct {
	Method, Path string
	Body         any
}

// fakeAWS stands in for CloudFormation (DescribeStacks of testStack), the
// HTTP API (AWS_IAM routes) and Lambda's Invoke API on one loopback server;
// it refuses any request whose SigV4 signature does not verify and records
// the others.
type fakeAWS struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []call
	invoked []string
	refused []string
	// answers are the API's answers by "METHOD path" (default 200 {}).
	answers map[string]struct {
		status int
		body   string
	}
}

func newFakeAWS(t *testing.T) *fakeAWS {
	f := &fakeAWS{answers: map[string]struct {
		status int
		body   string
	}{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAWS) answer(key string, status int, body string) {
	f.answers[key] = struct {
		status int
		body   string
	}{status, body}
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	service := "execute-api"
	switch {
	case r.URL.Path == "/":
		service = "cloudformation"
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/"):
		service = "lambda"
	}
	if err := verifySigV4(r, body, service, testCreds); err != nil {
		f.refused = append(f.refused, r.Method+" "+r.URL.Path+": "+err.Error())
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"The request signature we calculated does not match the signature you provided."}`)
		return
	}
	var decoded any
	json.Unmarshal(body, &decoded)
	switch service {
	case "cloudformation":
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") != "DescribeStacks" || form.Get("StackName") != testStack {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>%s</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>
<member><OutputKey>TableName</OutputKey><OutputValue>pledge-test-Table</OutputValue></member>
<member><OutputKey>ApiUrl</OutputKey><OutputValue>%s</OutputValue></member>
</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`, testStack, f.URL)
	case "lambda":
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/"), "/invocations")
		f.invoked = append(f.invoked, name)
		f.calls = append(f.calls, call{"INVOKE", name, decoded})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ran":"`+name+`"}`)
	default:
		f.calls = append(f.calls, call{r.Method, r.URL.RequestURI(), decoded})
		a, ok := f.answers[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			a.status, a.body = http.StatusOK, `{}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}
}

// awsEnv gives the standard credential chain static credentials and the
// region from the environment alone, and points CloudFormation and Lambda
// at f.
func awsEnv(t *testing.T, f *fakeAWS) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": testKeyID, "AWS_SECRET_ACCESS_KEY": testSecret, "AWS_SESSION_TOKEN": testToken,
		"AWS_REGION": testRegion, "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_CLOUDFORMATION": f.URL, "AWS_ENDPOINT_URL_LAMBDA": f.URL,
		"AWS_ENDPOINT_URL_EXECUTE_API": "",
	} {
		t.Setenv(k, v)
	}
}

func runAWS(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"-stack", "aws", "-stack-name", testStack}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTheVerifierRefusesAWrongSecretOrAChangedBody(t *testing.T) {
	body := []byte(`{"acted":true}`)
	sign := func(secret string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "http://api.example/admin/requests/r1/systems/billing", bytes.NewReader(body))
		sum := sha256.Sum256(body)
		creds := testCreds
		creds.SecretAccessKey = secret
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	if err := verifySigV4(sign(testSecret), body, "execute-api", testCreds); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	if err := verifySigV4(sign("another secret"), body, "execute-api", testCreds); err == nil {
		t.Fatal("a signature with another secret verified")
	}
	if err := verifySigV4(sign(testSecret), []byte(`{"acted":false}`), "execute-api", testCreds); err == nil {
		t.Fatal("a signature over another body verified")
	}
	if err := verifySigV4(sign(testSecret), body, "lambda", testCreds); err == nil {
		t.Fatal("a signature for execute-api verified for lambda")
	}
}

// TestOnAWSEveryAPICommandIsSignedAndSendsItsShape runs each API command
// against a deployed stack named by -stack-name (its ApiUrl read from
// CloudFormation), with credentials from the environment: every request
// must carry a valid SigV4 signature for execute-api in the region, and
// reach its route with exactly its body.
func TestOnAWSEveryAPICommandIsSignedAndSendsItsShape(t *testing.T) {
	f := newFakeAWS(t)
	awsEnv(t, f)
	cases := []struct {
		args []string
		want call
	}{
		{[]string{"publish", "-version", "v2", "-effective", "2027-01-31", "-summary", "Shorter.", "-url", "https://x.example/p", "-material=false"},
			call{"POST", "/admin/policies", map[string]any{"version": "v2", "effective": "2027-01-31", "summary": "Shorter.", "url": "https://x.example/p", "material": false}}},
		{[]string{"status", "-version", "v2"}, call{"GET", "/admin/policies/v2", nil}},
		{[]string{"account", "-email", "jo@example.com", "-event", "closed", "-at", "2026-11-25T10:00:00Z"},
			call{"POST", "/admin/accounts", map[string]any{"email": "jo@example.com", "event": "closed", "at": "2026-11-25T10:00:00Z"}}},
		{[]string{"requests", "list"}, call{"GET", "/admin/requests", nil}},
		{[]string{"requests", "list", "-status", "completed", "-month", "2026-11"}, call{"GET", "/admin/requests?month=2026-11&status=completed", nil}},
		{[]string{"requests", "show", "r1"}, call{"GET", "/admin/requests/r1", nil}},
		{[]string{"requests", "enter", "-channel", "phone", "-kind", "delete", "-email", "jo@example.com", "-received", "2026-11-29T09:30:00Z",
			"-verified-by", "Sam", "-verified-how", "call-back to the number on the account"},
			call{"POST", "/admin/requests", map[string]any{"channel": "phone", "kind": "delete", "email": "jo@example.com", "received": "2026-11-29T09:30:00Z",
				"verifiedBy": "Sam", "verifiedHow": "call-back to the number on the account"}}},
		{[]string{"requests", "enter", "-channel", "email", "-kind", "remove-content", "-email", "jo@example.com", "-received", "2026-11-29T09:30:00Z",
			"-verified-by", "Sam", "-verified-how", "reply from the address", "-details", "my forum posts"},
			call{"POST", "/admin/requests", map[string]any{"channel": "email", "kind": "remove-content", "email": "jo@example.com", "received": "2026-11-29T09:30:00Z",
				"verifiedBy": "Sam", "verifiedHow": "reply from the address", "details": "my forum posts"}}},
		{[]string{"requests", "complete", "r1"}, call{"POST", "/admin/requests/r1/complete", map[string]any{}}},
		{[]string{"requests", "complete", "r1", "-note", "posts removed"}, call{"POST", "/admin/requests/r1/complete", map[string]any{"note": "posts removed"}}},
		{[]string{"requests", "refuse", "-reason", "legal-hold", "-text", "We must keep the invoices.", "r1"},
			call{"POST", "/admin/requests/r1/refuse", map[string]any{"reason": "legal-hold", "text": "We must keep the invoices."}}},
		{[]string{"requests", "extend", "r1", "-months", "2", "-reason", "Many systems."},
			call{"POST", "/admin/requests/r1/extend", map[string]any{"months": float64(2), "reason": "Many systems."}}},
		{[]string{"requests", "ack", "r1", "billing"}, call{"POST", "/admin/requests/r1/systems/billing", map[string]any{"acted": true}}},
		{[]string{"requests", "ack", "r1", "support", "-not-acted", "no tickets of theirs"},
			call{"POST", "/admin/requests/r1/systems/support", map[string]any{"acted": false, "reason": "no tickets of theirs"}}},
	}
	for _, c := range cases {
		f.calls = nil
		if code, out, errOut := runAWS(c.args...); code != 0 {
			t.Fatalf("pledge %s: exit %d, stdout %q, stderr %q (refused: %v)", strings.Join(c.args, " "), code, out, errOut, f.refused)
		}
		if len(f.calls) != 1 || !reflect.DeepEqual(f.calls[0], c.want) {
			t.Errorf("pledge %s sent %+v, want %+v", strings.Join(c.args, " "), f.calls, c.want)
		}
	}
	if len(f.refused) != 0 {
		t.Fatalf("refused signatures: %v", f.refused)
	}
}

// TestOnAWSTheScheduledFunctionsAreInvokedByTheirStacksNames: the sweep,
// the notices and the privacy clock go to `<stack>-retention`,
// `<stack>-notices` and `<stack>-privacyclock` (template.yaml's
// FunctionName), signed for lambda; a clock override is refused before
// any call, and without -stack-name no function is guessed.
func TestOnAWSTheScheduledFunctionsAreInvokedByTheirStacksNames(t *testing.T) {
	f := newFakeAWS(t)
	awsEnv(t, f)
	for _, c := range []struct {
		args []string
		want call
	}{
		{[]string{"sweep", "-dry-run"}, call{"INVOKE", testStack + "-retention", map[string]any{"dryRun": true}}},
		{[]string{"sweep"}, call{"INVOKE", testStack + "-retention", map[string]any{"dryRun": false}}},
		{[]string{"notices"}, call{"INVOKE", testStack + "-notices", map[string]any{}}},
		{[]string{"privacy-clock"}, call{"INVOKE", testStack + "-privacyclock", map[string]any{}}},
	} {
		f.calls = nil
		code, out, errOut := runAWS(c.args...)
		if code != 0 || len(f.calls) != 1 || !reflect.DeepEqual(f.calls[0], c.want) {
			t.Fatalf("pledge %s: exit %d, stderr %q, sent %+v, want %+v (refused: %v)", strings.Join(c.args, " "), code, errOut, f.calls, c.want, f.refused)
		}
		if want := "ran: " + c.want.Path + "\n"; out != want {
			t.Errorf("pledge %s wrote %q, want %q", strings.Join(c.args, " "), out, want)
		}
	}
	f.calls = nil
	if code, _, errOut := runAWS("privacy-clock", "-now", "2027-01-08T12:00:00Z"); code != 1 || !strings.Contains(errOut, "dev stack only") || len(f.calls) != 0 {
		t.Fatalf("-now on AWS: exit %d, stderr %q, calls %v", code, errOut, f.calls)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-stack", "aws", "-api", f.URL, "sweep"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "-stack-name") || len(f.calls) != 0 {
		t.Fatalf("sweep without -stack-name: exit %d, stderr %q, calls %v", code, errOut.String(), f.calls)
	}
	if len(f.refused) != 0 {
		t.Fatalf("refused signatures: %v", f.refused)
	}
}

// TestRefusalsArePrintedPlainlyWithExit1: pledge's error body names the
// field and code; API Gateway's own refusal its message.
func TestRefusalsArePrintedPlainlyWithExit1(t *testing.T) {
	f := newFakeAWS(t)
	awsEnv(t, f)
	f.answer("POST /admin/requests/r1/extend", http.StatusConflict,
		`{"error":{"code":"conflict","message":"a request is extended once","field":"months"}}`)
	f.answer("GET /admin/requests/r2", http.StatusForbidden, `{"message":"Forbidden"}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"requests", "extend", "r1", "-months", "1", "-reason", "again"}, "pledge: months: a request is extended once (conflict, HTTP 409)\n"},
		{[]string{"-json", "requests", "extend", "r1", "-months", "1", "-reason", "again"}, "pledge: months: a request is extended once (conflict, HTTP 409)\n"},
		{[]string{"requests", "show", "r2"}, "pledge: Forbidden (HTTP 403)\n"},
	} {
		if code, out, errOut := runAWS(c.args...); code != 1 || out != "" || errOut != c.want {
			t.Errorf("pledge %s: exit %d, stdout %q, stderr %q, want %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}

func TestTheSigningRegionIsTheAPIsOwn(t *testing.T) {
	f := newFakeAWS(t)
	awsEnv(t, f)
	s, err := openStack(context.Background(), stackFlags{kind: "aws", api: "https://abc123.execute-api.ap-southeast-2.amazonaws.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if s.region != "ap-southeast-2" || s.api != "https://abc123.execute-api.ap-southeast-2.amazonaws.com" {
		t.Fatalf("region %q, api %q", s.region, s.api)
	}
	if _, err := openStack(context.Background(), stackFlags{kind: "aws", api: "http://api.example.com"}); err == nil {
		t.Fatal("a plain-http API was accepted")
	}
}
