// Package e2e drives the running local stack over HTTP exactly as a browser
// and a script would, and checks the outcome in DynamoDB and the captured mail.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
)

var (
	stack *localstack.Stack
	// What the sign-up function loads: the keys that sign links, the
	// pepper that keys people, the company every mail names.
	keys    *token.Keys
	pepper  []byte
	company config.CompanyInfo
	db      *dynamodb.Client
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := loadContract(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var err error
		// Part 1's requests: no downstream systems to wait for; staff_test.go
		// runs a stack of its own with the template's two.
		stack, err = startStack(ctx, localstack.Options{Name: "e2e", Parameters: map[string]string{"DownstreamSystems": ""}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stack.Close()
		env := stack.Env("SignupFunction")
		keys, pepper, company = config.TokenKeys(ctx, env, nil), config.AddressPepper(ctx, env, nil), config.Company(env)
		if err := env.Err(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		db = stack.DynamoDB.DynamoDBClient()
		code := m.Run()
		return checkContract(checkLogs(checkGrants(code)))
	}())
}

// stacks are every local stack the tests started, whose IAM records what
// each function was granted and used.
var stacks struct {
	sync.Mutex
	all []*localstack.Stack
}

// startStack starts a local stack and keeps it for checkGrants. Its abuse
// limits are out of reach (localstack.LooseLimits) unless opt sets them:
// the tests sign up from one address, and one address again and again;
// limits_test.go holds the limits. Every answer of its routes is held to
// api/openapi.yaml (contract_test.go).
func startStack(ctx context.Context, opt localstack.Options) (*localstack.Stack, error) {
	opt.Parameters = localstack.WithDefaults(opt.Parameters, localstack.LooseLimits)
	opt.Observe = observeContract
	s, err := localstack.Start(ctx, opt)
	if err == nil {
		stacks.Lock()
		stacks.all = append(stacks.all, s)
		stacks.Unlock()
	}
	return s, err
}

// checkGrants holds template.yaml's grants equal to what the functions
// use: any call a function made that its IAM statements do not allow fails
// the run (the function got AccessDeniedException, as in AWS, even if it
// shrugged it off); and after the whole package passed, any DynamoDB, SES
// or Lambda grant (action, resource, LeadingKeys pattern) that no call of
// any test needed fails it too. It returns the exit code.
func checkGrants(code int) int {
	stacks.Lock()
	defer stacks.Unlock()
	var runs []*localstack.IAM
	for _, s := range stacks.all {
		runs = append(runs, s.IAM)
		for _, d := range s.IAM.Denied() {
			fmt.Fprintf(os.Stderr, "FAIL: IAM refused a call template.yaml does not grant: %s\n", d)
			code = 1
		}
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" || flag.Lookup("test.skip") != nil && flag.Lookup("test.skip").Value.String() != "" {
		fmt.Fprintln(os.Stderr, "grants: not checking for unused grants: only the whole e2e package shows what the functions use (this run was filtered by -run or -skip)")
		return code
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "grants: not checking for unused grants: the run failed")
		return code
	}
	unused := localstack.Unused(runs...)
	for _, u := range unused {
		fmt.Fprintf(os.Stderr, "FAIL: unused grant in template.yaml: %s\n", u)
	}
	if len(unused) > 0 {
		return 1
	}
	fmt.Fprintf(os.Stderr, "grants: every DynamoDB, SES and Lambda grant of template.yaml was used by the suite, and no call was refused (%d stacks)\n", len(runs))
	return code
}

// client never follows redirects: the tests check them.
var client = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

const (
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	browserUA     = "Mozilla/5.0 (e2e browser)"
	policy        = "2015-03-22"
)

type answer struct {
	Status int
	Header http.Header
	Body   string
}

func do(t *testing.T, method, path, contentType, accept string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, stack.GatewayURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", browserUA)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func postForm(t *testing.T, path string, form url.Values) answer {
	return do(t, http.MethodPost, path, "application/x-www-form-urlencoded", browserAccept, strings.NewReader(form.Encode()))
}

// afterForm follows a browser's form answer: a 303 to a page (POST-
// redirect-GET), which it gets as the browser would.
func afterForm(t *testing.T, got answer) answer {
	t.Helper()
	if got.Status != http.StatusSeeOther || got.Header.Get("Location") == "" {
		t.Fatalf("a form's answer = %d %v; want 303 to a page", got.Status, got.Header)
	}
	return do(t, http.MethodGet, got.Header.Get("Location"), "", browserAccept, nil)
}

func postJSON(t *testing.T, path, body string) answer {
	return do(t, http.MethodPost, path, "application/json", "application/json", strings.NewReader(body))
}

func signupForm(email string, purposes ...string) url.Values {
	return url.Values{"email": {email}, "name": {"Jo Tester"}, "purposes": purposes,
		"policy_version": {policy}, "form_id": {"signup-form"}, "website": {""}}
}

func personOf(t *testing.T, email string) (people.Person, error) {
	t.Helper()
	return personOn(t, stack, email)
}

// personOn reads a person from s's table, keyed with s's own pepper.
func personOn(t *testing.T, s *localstack.Stack, email string) (people.Person, error) {
	t.Helper()
	env := s.Env("SignupFunction")
	pepper := config.AddressPepper(context.Background(), env, nil)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
	return st.Person(context.Background(), people.KeyedID(pepper)(people.NormaliseEmail(email)))
}

func ledgerOf(t *testing.T, email string) []people.ConsentEvent {
	t.Helper()
	evs, err := store.New(db, stack.Table).Consents(context.Background(), people.KeyedID(pepper)(people.NormaliseEmail(email)))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func mailsTo(t *testing.T, addr string) []localstack.Mail {
	t.Helper()
	m, err := stack.Mailbox.To(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+/confirm\?t=[A-Za-z0-9_.%-]+`)

func confirmLink(t *testing.T, m localstack.Mail) string {
	t.Helper()
	link := linkPattern.FindString(m.Body.Text)
	if link == "" || !strings.Contains(m.Body.HTML, `href="`+link+`"`) {
		t.Fatalf("no confirm link in both parts of the mail:\n%s\n%s", m.Body.Text, m.Body.HTML)
	}
	return link
}

func pathOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func tokenOf(t *testing.T, link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("t")
}

func TestABrowserSignsUpAndConfirms(t *testing.T) {
	const email = "browser@example.com"

	page := do(t, http.MethodGet, "/signup", "", browserAccept, nil)
	if page.Status != 200 || !strings.Contains(page.Body, `value="`+policy+`"`) || strings.Contains(page.Body, "checked") ||
		strings.Count(page.Body, `type="checkbox" name="purposes"`) != 4 {
		t.Fatalf("sign-up page: %d\n%s", page.Status, page.Body)
	}

	got := postForm(t, "/signup", signupForm(email, "newsletter", "surveys"))
	if got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/signup/thanks" {
		t.Fatalf("form post = %d %v, want 303 to /signup/thanks", got.Status, got.Header)
	}
	if thanks := do(t, http.MethodGet, "/signup/thanks", "", browserAccept, nil); thanks.Status != 200 || !strings.Contains(thanks.Body, "Check your inbox") {
		t.Fatalf("thank-you page = %d", thanks.Status)
	}

	mails := mailsTo(t, email)
	if len(mails) != 1 {
		t.Fatalf("%d mails to %s, want 1", len(mails), email)
	}
	m := mails[0]
	for _, want := range []string{company.Name, company.PostalAddress} {
		if !strings.Contains(m.Body.Text, want) || !strings.Contains(m.Body.HTML, want) {
			t.Errorf("the mail lacks %q in a part", want)
		}
	}
	link := confirmLink(t, m)

	// Mail scanners fetch links: GET shows the button and changes nothing.
	for range 2 {
		if confirmPage := do(t, http.MethodGet, pathOf(t, link), "", browserAccept, nil); confirmPage.Status != 200 || !strings.Contains(confirmPage.Body, `type="submit">Yes, confirm</button>`) {
			t.Fatalf("confirm page = %d\n%s", confirmPage.Status, confirmPage.Body)
		}
	}
	p, err := personOf(t, email)
	if err != nil || p.Status != people.Unconfirmed || len(p.Active) != 0 || p.Version != 1 {
		t.Fatalf("after GET of the link the person is %+v, %v; want unconfirmed and unchanged", p, err)
	}

	done := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, link)}})
	if done.Status != 200 || !strings.Contains(done.Body, "You are signed up") {
		t.Fatalf("confirm = %d\n%s", done.Status, done.Body)
	}
	p, _ = personOf(t, email)
	want := []people.Purpose{people.Newsletter, people.Surveys}
	if p.Status != people.Confirmed || !slices.Equal(p.Active, want) || len(p.Pending) != 0 || p.Email != email || p.Name != "Jo Tester" {
		t.Fatalf("after confirming the person is %+v", p)
	}

	// A double click changes nothing: the link works once.
	again := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, link)}})
	if again.Status != 200 || !strings.Contains(again.Body, "already used") {
		t.Fatalf("second confirm = %d\n%s", again.Status, again.Body)
	}

	ledger := ledgerOf(t, email)
	var actions []string
	for _, e := range ledger {
		actions = append(actions, string(e.Action)+":"+string(e.Purpose))
		if e.IP != keyedIP("127.0.0.1") || e.UserAgent != browserUA || e.PolicyVersion != policy || e.TextHash != e.Purpose.ConsentTextHash() || e.At.IsZero() {
			t.Errorf("ledger entry lacks its proof: %+v", e)
		}
	}
	slices.Sort(actions)
	if strings.Join(actions, " ") != "confirm:newsletter confirm:surveys grant:newsletter grant:surveys" {
		t.Fatalf("ledger = %v, want a grant and a confirm per purpose, nothing for the double click", actions)
	}
	if ledger[0].Source != "signup-form" || ledger[len(ledger)-1].Source != "confirm-link" {
		t.Fatalf("ledger sources = %q .. %q", ledger[0].Source, ledger[len(ledger)-1].Source)
	}
}

func TestAScriptSignsUpWithJSONOrMultipart(t *testing.T) {
	got := postJSON(t, "/signup", `{"email":"script@example.com","name":"Script","purposes":["offers"],"policy_version":"`+policy+`","form_id":"partner-site"}`)
	var body struct{ Status string }
	if got.Status != http.StatusAccepted || json.Unmarshal([]byte(got.Body), &body) != nil || body.Status != "pending_confirmation" ||
		got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON sign-up = %d %s", got.Status, got.Body)
	}
	if evs := ledgerOf(t, "script@example.com"); len(evs) != 1 || evs[0].Source != "partner-site" || evs[0].Purpose != people.Offers {
		t.Fatalf("ledger = %+v", evs)
	}

	var buf strings.Builder
	w := multipart.NewWriter(&buf)
	for k, vs := range signupForm("multipart@example.com", "testimonials") {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	w.Close()
	got = do(t, http.MethodPost, "/signup", w.FormDataContentType(), "application/json", strings.NewReader(buf.String()))
	if got.Status != http.StatusAccepted {
		t.Fatalf("multipart sign-up = %d %s", got.Status, got.Body)
	}
	if p, err := personOf(t, "multipart@example.com"); err != nil || !slices.Equal(p.Pending, []people.Purpose{people.Testimonials}) {
		t.Fatalf("multipart person = %+v, %v", p, err)
	}
	if len(mailsTo(t, "multipart@example.com")) != 1 {
		t.Fatal("no confirmation mail for the multipart sign-up")
	}
}

func TestSigningUpAgainUpdatesTheSamePersonAndMailsOncePerNewPurpose(t *testing.T) {
	for _, typed := range []string{"Again@Example.COM", "  again@example.com ", "AGAIN@EXAMPLE.COM"} {
		if got := postForm(t, "/signup", signupForm(typed, "newsletter")); got.Status != http.StatusSeeOther {
			t.Fatalf("sign-up as %q = %d %s", typed, got.Status, got.Body)
		}
	}
	got := postJSON(t, "/signup", `{"email":"again@example.com","purposes":["offers"],"policy_version":"`+policy+`"}`)
	if got.Status != http.StatusAccepted {
		t.Fatalf("JSON sign-up = %d %s", got.Status, got.Body)
	}
	// The newsletter is mailed once (its link is live); offers, asked for
	// later and covered by no live link, get their own mail.
	if n := len(mailsTo(t, "again@example.com")); n != 2 {
		t.Fatalf("%d confirmation mails within 10 minutes, want 2", n)
	}
	p, err := personOf(t, "again@example.com")
	if err != nil || !slices.Equal(p.Pending, []people.Purpose{people.Newsletter, people.Offers}) || p.Version != 4 {
		t.Fatalf("person = %+v, %v; want one person updated four times", p, err)
	}
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(stack.Table)})
	if err != nil {
		t.Fatal(err)
	}
	profiles := 0
	for _, it := range out.Items {
		if strings.Contains(fmt.Sprint(it["email"]), "again@example.com") {
			profiles++
		}
	}
	if profiles != 1 {
		t.Fatalf("%d profiles hold the address, want 1", profiles)
	}
}

func TestExpiredAndTamperedLinksShowAClearPageAndChangeNothing(t *testing.T) {
	const email = "expired@example.com"
	postForm(t, "/signup", signupForm(email, "newsletter"))
	link := confirmLink(t, mailsTo(t, email)[0])
	id := people.KeyedID(pepper)(email)
	expired := keys.Issue(token.Confirm, id, []string{"newsletter"}, time.Now().Add(-49*time.Hour), 48*time.Hour)
	wrongPurpose := keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, time.Now(), 0)
	tok := tokenOf(t, link)
	tampered := strings.Replace(tok, tok[10:12], "AA", 1)

	tests := []struct {
		name, token string
		status      int
		says        string
	}{
		{"an expired link", expired, http.StatusGone, "expired"},
		{"a tampered link", tampered, http.StatusBadRequest, "not valid"},
		{"a token minted for unsubscribing", wrongPurpose, http.StatusBadRequest, "not valid"},
		{"an empty token", "", http.StatusBadRequest, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := do(t, http.MethodGet, "/confirm?t="+url.QueryEscape(tt.token), "", browserAccept, nil)
			if page.Status != tt.status || !strings.Contains(page.Body, tt.says) || !strings.Contains(page.Body, `href="/signup"`) {
				t.Fatalf("GET = %d\n%s", page.Status, page.Body)
			}
			post := postForm(t, "/confirm", url.Values{"t": {tt.token}})
			if post.Status != tt.status {
				t.Fatalf("POST = %d\n%s", post.Status, post.Body)
			}
			if p, _ := personOf(t, email); p.Status != people.Unconfirmed || len(p.Active) != 0 {
				t.Fatalf("the person changed: %+v", p)
			}
		})
	}
	// The person asks for a new mail from the sign-up form: same person.
	p, _ := personOf(t, email)
	if got := postForm(t, "/signup", signupForm(email, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("signing up again = %d", got.Status)
	}
	if again, _ := personOf(t, email); again.CreatedAt != p.CreatedAt || again.ID != p.ID {
		t.Fatalf("signing up again made another person: %+v vs %+v", again, p)
	}
}

func countItems(t *testing.T) int {
	t.Helper()
	settle(t, stack)
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(stack.Table), Select: "COUNT"})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

// settle waits until s's functions have handled the SES events of every
// mail sent so far: the mail-events function counts each mail in the
// table after SES answered, while a test may be comparing the table.
func settle(t *testing.T, s *localstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.SESEventsSettled(ctx); err != nil {
		t.Fatalf("SES events still in flight: %v", err)
	}
}

func countMails(t *testing.T) int {
	t.Helper()
	m, err := stack.Mailbox.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func TestBadInputGetsAClear4xxAndChangesNothing(t *testing.T) {
	form := func(over map[string][]string) string {
		v := signupForm("bad@example.com", "newsletter")
		for k, vs := range over {
			if vs == nil {
				v.Del(k)
			} else {
				v[k] = vs
			}
		}
		return v.Encode()
	}
	const urlenc = "application/x-www-form-urlencoded"
	tests := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"a missing email", urlenc, form(map[string][]string{"email": nil}), 400, "email"},
		{"a malformed email", urlenc, form(map[string][]string{"email": {"not-an-address"}}), 400, "email"},
		{"an email with a display name", urlenc, form(map[string][]string{"email": {"Jo <jo@example.com>"}}), 400, "email"},
		{"an email on a dotless domain", urlenc, form(map[string][]string{"email": {"jo@localhost"}}), 400, "email"},
		{"an email with a non-ASCII local part", urlenc, form(map[string][]string{"email": {"jö@example.com"}}), 400, "email"},
		{"an email over 254 characters", urlenc, form(map[string][]string{"email": {strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".com"}}), 400, "email"},
		{"an unknown purpose", urlenc, form(map[string][]string{"purposes": {"newsletter", "resale"}}), 400, "purposes"},
		{"no purpose", urlenc, form(map[string][]string{"purposes": nil}), 400, "purposes"},
		{"CR/LF in the name", urlenc, form(map[string][]string{"name": {"Jo\r\nBcc: victim@example.com"}}), 400, "name"},
		{"a stale policy version", urlenc, form(map[string][]string{"policy_version": {"2001-01-01"}}), 409, "policy_version"},
		{"a body over 16 KiB", urlenc, form(map[string][]string{"name": {strings.Repeat("x", 17<<10)}}), 413, ""},
		{"invalid UTF-8", "application/json", "{\"email\":\"bad@example.com\",\"name\":\"\xff\xfe\",\"purposes\":[\"newsletter\"],\"policy_version\":\"" + policy + "\"}", 400, ""},
		{"invalid UTF-8 percent-encoded", urlenc, form(map[string][]string{"name": nil}) + "&name=%C3%28", 400, "name"},
		{"the wrong content type", "text/plain", form(nil), 415, ""},
		{"JSON with an unknown field", "application/json", `{"email":"bad@example.com","purposes":["newsletter"],"policy_version":"` + policy + `","admin":true}`, 400, "admin"},
		{"JSON that is not an object", "application/json", `["bad@example.com"]`, 400, ""},
	}
	items, mails := countItems(t), countMails(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, http.MethodPost, "/signup", tt.contentType, "application/json", strings.NewReader(tt.body))
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			if got.Status != tt.status || json.Unmarshal([]byte(got.Body), &e) != nil || e.Error.Message == "" || e.Error.Field != tt.field {
				t.Fatalf("= %d %s; want %d with field %q", got.Status, got.Body, tt.status, tt.field)
			}
			// A browser gets the form again, as it was filled in, with the
			// problem in words for people beside its field.
			page := do(t, http.MethodPost, "/signup", tt.contentType, browserAccept, strings.NewReader(tt.body))
			if page.Status != tt.status || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(page.Body, `role="alert"`) ||
				!strings.Contains(page.Body, `<form method="post" action="/signup">`) || strings.Contains(page.Body, "<title>"+http.StatusText(tt.status)) {
				t.Fatalf("as a browser = %d %s", page.Status, page.Body)
			}
			if f := tt.field; (f == "email" || f == "name" || f == "purposes") && !strings.Contains(page.Body, `aria-describedby="`+f+`-problem"`) {
				t.Fatalf("as a browser the problem is not beside the %s field:\n%s", f, page.Body)
			}
			// (A body over the limit is not read: nothing of it can be kept.)
			if typed, _ := url.ParseQuery(tt.body); tt.contentType == urlenc && tt.status != http.StatusRequestEntityTooLarge && typed.Get("email") != "" && !strings.Contains(page.Body, `value="`+html.EscapeString(typed.Get("email"))+`"`) {
				t.Fatalf("as a browser the address typed is not kept:\n%s", page.Body)
			}
		})
	}
	if n := countItems(t); n != items {
		t.Errorf("bad input wrote %d items", n-items)
	}
	if n := countMails(t); n != mails {
		t.Errorf("bad input sent %d mails", n-mails)
	}
}

// asyncMailEvents is the function that handles SES's events for every
// mail (it counts each in the daily mail counters): it runs after SES
// answered, while later requests go on, so the tests that count what one
// request costs leave its calls out (they are the event's cost).
const asyncMailEvents = "MailEventsFunction"

func sum(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

func TestASignUpCostsItsCountersOneReadOneTransactionAndAtMostOneSend(t *testing.T) {
	stack.DynamoDBCalls.Reset()
	stack.SESCalls.Reset()
	if got := postForm(t, "/signup", signupForm("calls@example.com", "newsletter", "offers")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d", got.Status)
	}
	// The three limit counters (source, mailbox, overall) come first.
	if db, ses := stack.DynamoDBCalls.CountsExcept(asyncMailEvents), stack.SESCalls.Counts(); !maps.Equal(db, map[string]int{"UpdateItem": 3, "GetItem": 1, "TransactWriteItems": 1}) || !maps.Equal(ses, map[string]int{"SendEmail": 1}) {
		t.Fatalf("a new sign-up made DynamoDB calls %v and SES calls %v; want three counters, one consistent read, one transaction and one send", db, ses)
	}

	stack.DynamoDBCalls.Reset()
	stack.SESCalls.Reset()
	postForm(t, "/signup", signupForm("calls@example.com", "offers"))
	// Mailed a moment ago, and its live link covers offers: the decision
	// records the sign-up without a mail, and the mail the limits allowed is
	// given back (mailbox, overall).
	if db, ses := stack.DynamoDBCalls.CountsExcept(asyncMailEvents), stack.SESCalls.Total(); !maps.Equal(db, map[string]int{"UpdateItem": 3 + 2, "GetItem": 1, "TransactWriteItems": 1}) || ses != 0 {
		t.Fatalf("a repeated sign-up made DynamoDB calls %v and %d SES calls; want three counters taken and two given back, one read, one transaction and no send", db, ses)
	}

	stack.DynamoDBCalls.Reset()
	stack.SESCalls.Reset()
	postForm(t, "/signup", signupForm("calls@example.com", "surveys"))
	// A purpose no live link covers: its own mail, after the three counters,
	// in the same one read and one transaction.
	if db, ses := stack.DynamoDBCalls.CountsExcept(asyncMailEvents), stack.SESCalls.Counts(); !maps.Equal(db, map[string]int{"UpdateItem": 3, "GetItem": 1, "TransactWriteItems": 1}) || !maps.Equal(ses, map[string]int{"SendEmail": 1}) {
		t.Fatalf("a sign-up for a new purpose made DynamoDB calls %v and SES calls %v; want three counters, one read, one transaction and one send", db, ses)
	}

	stack.DynamoDBCalls.Reset()
	stack.SESCalls.Reset()
	postJSON(t, "/signup", `{"email":"calls@example.com"}`)
	if n := sum(stack.DynamoDBCalls.CountsExcept(asyncMailEvents)) + stack.SESCalls.Total(); n != 0 {
		t.Fatalf("a refused sign-up made %d calls", n)
	}
}

// keyedIP is how the ledger records a client IP: a keyed hash, never the address.
func keyedIP(ip string) string { return people.KeyedID(pepper)("ip:" + ip) }
