package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
)

// fromAddress is an HTTP client whose connections come from ip, one of
// the loopback addresses (127.0.0.0/8 is all loopback on Linux): the
// gateway takes the source IP from the connection, as API Gateway does.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signUpFrom posts a sign-up for email to s from c, as a script (JSON) or
// as a browser's form.
func signUpFrom(t *testing.T, s *localstack.Stack, c *http.Client, email string, browser bool) answer {
	t.Helper()
	var req *http.Request
	if browser {
		req, _ = http.NewRequest(http.MethodPost, s.GatewayURL+"/signup", strings.NewReader(signupForm(email, "newsletter").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", browserAccept)
	} else {
		body := fmt.Sprintf(`{"email":%q,"purposes":["newsletter"],"policy_version":%q,"form_id":"limits"}`, email, policy)
		req, _ = http.NewRequest(http.MethodPost, s.GatewayURL+"/signup", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// awayFromWindowEdge waits, when less than margin is left of the current
// fixed window, for the next one: a burst that straddles two windows may
// rightly get twice a window's allowance.
func awayFromWindowEdge(window, margin time.Duration) {
	left := time.Until(time.Now().Truncate(window).Add(window))
	if left < margin {
		time.Sleep(left + 100*time.Millisecond)
	}
}

// refusedCalmly checks a 429: Retry-After within (0, max] seconds, and the
// calm page or the JSON error.
func refusedCalmly(a answer, browser bool, max time.Duration) error {
	ra, err := strconv.Atoi(a.Header.Get("Retry-After"))
	switch {
	case a.Status != http.StatusTooManyRequests:
		return fmt.Errorf("answered %d %s, want 429", a.Status, a.Body)
	case err != nil || ra < 1 || time.Duration(ra)*time.Second > max:
		return fmt.Errorf("Retry-After %q, want 1 to %.0f seconds", a.Header.Get("Retry-After"), max.Seconds())
	case browser && (!strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") || !strings.Contains(a.Body, "Please try again a little later")):
		return fmt.Errorf("a browser got %s %s, want the calm page", a.Header.Get("Content-Type"), a.Body)
	case !browser && !strings.Contains(a.Body, `"code":"rate_limited"`):
		return fmt.Errorf("a script got %s, want the JSON error rate_limited", a.Body)
	}
	return nil
}

// TestTheLimitsHoldPerMailboxAndOverall runs the template's per-source and
// per-mailbox limits (30 and 1 in 10 minutes) and an overall ceiling of 10
// mails a minute on a stack of its own, with requests from several
// loopback addresses.
func TestTheLimitsHoldPerMailboxAndOverall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const ceiling = 10
	s, err := startStack(ctx, localstack.Options{Name: "e2e-limits", PoolSize: 2,
		Parameters: map[string]string{"LimitSignupsPerSource": "30/10m", "LimitMailsPerMailbox": "1/10m", "LimitMailsPerMinute": strconv.Itoa(ceiling)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	notWritten := func(t *testing.T, email string) {
		t.Helper()
		if _, err := personOn(t, s, email); !errors.Is(err, people.ErrNotFound) {
			t.Errorf("a refused sign-up for %s wrote the person (%v)", email, err)
		}
	}
	mailsTo := func(t *testing.T, addrs map[string]bool) int {
		t.Helper()
		all, err := s.Mailbox.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range all {
			for _, to := range m.Destination.To {
				if addrs[to] {
					n++
				}
			}
		}
		return n
	}

	t.Run("variants of one mailbox from many addresses get one mail, then 429s that write nothing", func(t *testing.T) {
		awayFromWindowEdge(10*time.Minute, 30*time.Second)
		var variants []string
		for i := range 36 {
			variants = append(variants, fmt.Sprintf("victim+%d@gmail.com", i))
		}
		variants = append(variants, "v.ictim@gmail.com", "VICTIM@gmail.com", "vic.tim@googlemail.com", "v.i.c.t.i.m+x@gmail.com")
		answers := make([]answer, len(variants))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, v := range variants {
			c := fromAddress(fmt.Sprintf("127.0.0.%d", 11+i%10)) // 4 each from 10 addresses: under the per-source limit
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				answers[i] = signUpFrom(t, s, c, v, false)
			})
		}
		wg.Wait()
		accepted := 0
		for i, a := range answers {
			if a.Status == http.StatusAccepted {
				accepted++
				continue
			}
			if err := refusedCalmly(a, false, 10*time.Minute); err != nil {
				t.Errorf("sign-up for %s: %v", variants[i], err)
			}
			notWritten(t, variants[i])
		}
		addrs := map[string]bool{}
		for _, v := range variants {
			addrs[people.NormaliseEmail(v)] = true
		}
		if n := mailsTo(t, addrs); accepted != 1 || n != 1 {
			t.Fatalf("%d sign-ups accepted and %d mails delivered to one mailbox from %d sign-ups, want 1 and 1", accepted, n, len(variants))
		}
		// A browser is refused with the calm page, and nothing is written.
		a := signUpFrom(t, s, fromAddress("127.0.0.11"), "victim+browser@gmail.com", true)
		if err := refusedCalmly(a, true, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		notWritten(t, "victim+browser@gmail.com")
	})

	t.Run("the overall ceiling holds for distinct mailboxes from distinct addresses", func(t *testing.T) {
		awayFromWindowEdge(time.Minute, 20*time.Second)
		const n = 30
		answers := make([]answer, n)
		addrs := map[string]bool{}
		var wg sync.WaitGroup
		for i := range n {
			email := fmt.Sprintf("ceiling-%d@example.com", i)
			addrs[email] = true
			c := fromAddress(fmt.Sprintf("127.0.1.%d", i+1))
			wg.Go(func() { answers[i] = signUpFrom(t, s, c, email, false) })
		}
		wg.Wait()
		accepted := 0
		for i, a := range answers {
			if a.Status == http.StatusAccepted {
				accepted++
				continue
			}
			if err := refusedCalmly(a, false, time.Minute); err != nil {
				t.Errorf("sign-up %d: %v", i, err)
			}
			notWritten(t, fmt.Sprintf("ceiling-%d@example.com", i))
		}
		// The mailbox flood's one mail may share this minute.
		if mails := mailsTo(t, addrs); accepted != mails || mails < ceiling-1 || mails > ceiling {
			t.Fatalf("%d of %d distinct sign-ups accepted, %d mails; want the ceiling, %d (or %d if the mailbox flood's mail fell in this minute), each mailed",
				accepted, n, mails, ceiling, ceiling-1)
		}
	})
}

// TestOneSourceIsRefusedPastItsAttempts runs the template's per-source
// limit (30 attempts in 10 minutes) on a stack of its own, whose other
// limits are out of reach: a full counter is refused without a request,
// so a full overall ceiling would hide the source's count.
func TestOneSourceIsRefusedPastItsAttempts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := startStack(ctx, localstack.Options{Name: "e2e-limits-source", Parameters: map[string]string{"LimitSignupsPerSource": "30/10m"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := s.Env("SignupFunction")
	keyed := people.KeyedID(config.AddressPepper(ctx, env, nil))
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	const ip = "127.0.0.40"
	c := fromAddress(ip)
	var window string
	for i := range 35 {
		if i == 0 {
			awayFromWindowEdge(10*time.Minute, 30*time.Second)
			window = time.Now().UTC().Truncate(10 * time.Minute).Format("2006-01-02T15:04:05Z")
		}
		email := fmt.Sprintf("source-%d@example.com", i)
		a := signUpFrom(t, s, c, email, false)
		if i >= 30 {
			if err := refusedCalmly(a, false, 10*time.Minute); err != nil {
				t.Errorf("attempt %d from one address: %v", i+1, err)
			}
			if _, err := personOn(t, s, email); !errors.Is(err, people.ErrNotFound) {
				t.Errorf("a refused sign-up for %s wrote the person (%v)", email, err)
			}
		}
	}
	out, err := s.DynamoDB.DynamoDBClient().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "LIMIT#source#" + keyed("limit-source:"+ip)},
			"sk": &types.AttributeValueMemberS{Value: window},
		}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := out.Item["n"].(*types.AttributeValueMemberN)
	if n == nil || n.Value != "30" {
		t.Fatalf("the address's counter = %v, want 30 (its limit): keyed by a hash, counting attempts, not refusals", out.Item)
	}
	if strings.Contains(fmt.Sprint(out.Item), ip) {
		t.Fatal("the counter carries the IP address")
	}
}
