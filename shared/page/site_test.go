package page

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

func TestFailNegotiatesAndKeepsFaultsAsErrors(t *testing.T) {
	site, err := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bad := people.Errorf(people.Invalid, "email", "an email address is required")
	browser := web.Request{Headers: map[string]string{"accept": "text/html,application/xhtml+xml"}}

	resp, err := site.Fail(browser, bad)
	if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "An email address is required.") ||
		!strings.Contains(resp.Body, "514 S. Stratford Road") || resp.Headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Fatalf("browser error page = %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	resp, err = site.Fail(web.Request{}, bad)
	if err != nil || resp.StatusCode != 400 || resp.Body != `{"error":{"code":"invalid","message":"an email address is required","field":"email"}}` {
		t.Fatalf("script error = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	fault := errors.New("dynamodb: connection reset")
	if _, err := site.Fail(web.Request{}, fault); err != fault {
		t.Fatalf("a fault came back as %v, want it returned for Lambda to report", err)
	}
}

func TestPagesEscapeWhatTheyShow(t *testing.T) {
	site, _ := NewSite("A & B <Inc>", "street", "privacy@example.com")
	resp := site.Page(200, "x", ErrorPage("<script>alert(1)</script>"))
	if strings.Contains(resp.Body, "<script>") || !strings.Contains(resp.Body, "A &amp; B &lt;Inc&gt;") {
		t.Fatalf("page not escaped: %s", resp.Body)
	}
}

func TestABusyStoreIsA503WithRetryAfterForBrowsersScriptsAndAdminCalls(t *testing.T) {
	site, err := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	busy := fmt.Errorf("people.Confirm: %w", people.ErrBusy) // as the domain wraps it
	browser := web.Request{Headers: map[string]string{"accept": "text/html"}}
	for name, answer := range map[string]func() (web.Response, error){
		"a browser":     func() (web.Response, error) { return site.Fail(browser, busy) },
		"a script":      func() (web.Response, error) { return site.Fail(web.Request{}, busy) },
		"an admin call": func() (web.Response, error) { return web.FailAPI(busy) },
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := answer()
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] != "1" || !strings.Contains(resp.Body, "try again") {
				t.Fatalf("busy = %d %v %q, %v; want 503 with Retry-After and a message", resp.StatusCode, resp.Headers, resp.Body, err)
			}
		})
	}
	if resp, _ := site.Fail(web.Request{}, people.Errorf(people.Invalid, "", "no")); resp.Headers["Retry-After"] != "" {
		t.Fatal("a 400 carries Retry-After")
	}
}

func TestALimitedRequestIsA429WithRetryAfterAndACalmPage(t *testing.T) {
	site, err := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	limited := fmt.Errorf("people.SignUp: %w", &people.Error{Code: people.RateLimited, Message: people.LimitedMessage, RetryAfter: 6*time.Minute + 200*time.Millisecond})
	resp, err := site.Fail(web.Request{Headers: map[string]string{"accept": "text/html"}}, limited)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "361" ||
		!strings.Contains(resp.Body, "Please try again a little later") || !strings.Contains(resp.Body, "about 7 minutes") ||
		!strings.Contains(resp.Body, "Nothing was recorded") || !strings.Contains(resp.Body, `href="/signup"`) {
		t.Fatalf("browser = %d %v\n%s\n%v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	resp, err = site.Fail(web.Request{}, limited)
	var body web.ErrorBody
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "361" ||
		json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error.Code != people.RateLimited || body.Error.Message != people.LimitedMessage {
		t.Fatalf("script = %d %v %s, %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
}

func TestWaitsAreSaidInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "a few seconds", 45 * time.Second: "about a minute", 9*time.Minute + time.Second: "about 10 minutes",
		10 * time.Minute: "about 10 minutes", 3 * time.Hour: "about 3 hours",
	} {
		if got := waitInWords(d); got != want {
			t.Errorf("waitInWords(%s) = %q, want %q", d, got, want)
		}
	}
}
