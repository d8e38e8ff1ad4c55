package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// privacyFigures prints what privacy requests cost (`-only privacy`): the
// DynamoDB requests of an access request's whole life and of a deletion's,
// through the local stack as deployed; then listing the open requests (the
// admin route, and a clock run with nothing due) in tables of each size with
// the same open set.
func privacyFigures(ctx context.Context, sizes []int, open int) error {
	fmt.Println("## Privacy requests: DynamoDB requests per life (through the local stack)")
	fmt.Println()
	if err := privacyLives(ctx); err != nil {
		return err
	}
	fmt.Printf("\n## Listing %d open privacy requests as the table grows\n\n", open)
	return privacyListing(ctx, sizes, open)
}

var linkTo = func(path string) *regexp.Regexp {
	return regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_.%-]+`)
}

// benchClient never follows redirects.
var benchClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func send(ctx context.Context, s *localstack.Stack, method, path string, form url.Values, sign bool) (int, string, error) {
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, method, s.GatewayURL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	if sign {
		if err := localstack.SignAdmin(ctx, req, []byte(body)); err != nil {
			return 0, "", err
		}
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return resp.StatusCode, string(b), fmt.Errorf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, string(b), nil
}

// newestLink is the newest link to path in mail to addr.
func newestLink(ctx context.Context, s *localstack.Stack, addr, path string) (string, error) {
	mails, err := s.Mailbox.To(ctx, addr)
	if err != nil {
		return "", err
	}
	for i := len(mails) - 1; i >= 0; i-- {
		if l := linkTo(path).FindString(mails[i].Body.Text); l != "" {
			u, _ := url.Parse(l)
			return u.RequestURI(), nil
		}
	}
	return "", fmt.Errorf("no %s link in the mail to %s", path, addr)
}

// step is one step of a life and the DynamoDB requests it made.
type step struct {
	name  string
	calls map[string]int
}

func privacyLives(ctx context.Context) error {
	// Part 1's lives: no downstream systems (systems.go counts them).
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench-privacy", Parameters: localstack.WithDefaults(map[string]string{"DownstreamSystems": ""}, localstack.LooseLimits)})
	if err != nil {
		return err
	}
	defer s.Close()
	const mailEvents = "MailEventsFunction" // its requests follow SES's events, not the request
	for _, kind := range []privacy.Kind{privacy.Access, privacy.Delete} {
		addr := "life-" + string(kind) + "@example.com"
		if _, _, err := send(ctx, s, http.MethodPost, "/signup", url.Values{"email": {addr}, "purposes": {"newsletter"}, "policy_version": {"2015-03-22"}}, false); err != nil {
			return err
		}
		confirm, err := newestLink(ctx, s, addr, "/confirm")
		if err != nil {
			return err
		}
		u, _ := url.Parse(confirm)
		if _, _, err := send(ctx, s, http.MethodPost, "/confirm", url.Values{"t": {u.Query().Get("t")}}, false); err != nil {
			return err
		}
		var steps []step
		measure := func(name string, f func() error) error {
			if err := s.SESEventsSettled(ctx); err != nil {
				return err
			}
			s.DynamoDBCalls.Reset()
			if err := f(); err != nil {
				return err
			}
			steps = append(steps, step{name, s.DynamoDBCalls.CountsExcept(mailEvents)})
			return nil
		}
		err = measure("ask (POST /privacy)", func() error {
			_, _, err := send(ctx, s, http.MethodPost, "/privacy", url.Values{"kind": {string(kind)}, "email": {addr}}, false)
			return err
		})
		if err != nil {
			return err
		}
		verify, err := newestLink(ctx, s, addr, "/privacy/verify")
		if err != nil {
			return err
		}
		vu, _ := url.Parse(verify)
		err = measure("verification page (GET)", func() error { _, _, err := send(ctx, s, http.MethodGet, verify, nil, false); return err })
		if err == nil {
			err = measure("verify (POST)", func() error {
				_, _, err := send(ctx, s, http.MethodPost, "/privacy/verify", url.Values{"t": {vu.Query().Get("t")}}, false)
				return err
			})
		}
		if err != nil {
			return err
		}
		status, err := newestLink(ctx, s, addr, "/privacy/status")
		if err != nil {
			return err
		}
		if err := measure("status page (GET)", func() error { _, _, err := send(ctx, s, http.MethodGet, status, nil, false); return err }); err != nil {
			return err
		}
		if kind == privacy.Access {
			export, err := newestLink(ctx, s, addr, "/privacy/export")
			if err == nil {
				err = measure("export (GET)", func() error { _, _, err := send(ctx, s, http.MethodGet, export, nil, false); return err })
			}
			if err != nil {
				return err
			}
		} else {
			at := time.Now().Add(73 * time.Hour).UTC().Format(time.RFC3339)
			err := measure("clock run after the cool-off (erasure, completion, last mail)", func() error {
				_, err := s.Invoke(ctx, "PrivacyClockFunction", []byte(fmt.Sprintf(`{"now":%q}`, at)))
				return err
			})
			if err != nil {
				return err
			}
		}
		fmt.Printf("### %s request (one open request in the table)\n\n| step | DynamoDB requests | by call |\n| --- | ---: | --- |\n", kind)
		all := 0
		for _, st := range steps {
			fmt.Printf("| %s | %d | %v |\n", st.name, total(st.calls), st.calls)
			all += total(st.calls)
		}
		fmt.Printf("| **whole life** | **%d** | |\n\n", all)
	}
	return nil
}

func privacyListing(ctx context.Context, sizes []int, open int) error {
	fmt.Println("The same open requests (unverified, nothing due) in each table; the people are imported with BatchWriteItem.")
	fmt.Println()
	fmt.Println("| people in the table | open requests | what | DynamoDB requests | by call | wall time (median of 5) | wall time less time in moto |")
	fmt.Println("| ---: | ---: | --- | ---: | --- | ---: | ---: |")
	type cost struct {
		calls     int
		wall, own time.Duration
	}
	base := map[string]cost{}
	ratios := []string{}
	for i, size := range sizes {
		s, err := localstack.Start(ctx, localstack.Options{Name: fmt.Sprintf("bench-privacy-%d", size)})
		if err != nil {
			return err
		}
		st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
		now := time.Now().UTC()
		batch := make([]store.Imported, 0, size)
		for j := range size {
			batch = append(batch, store.Imported{Person: people.Person{ID: fmt.Sprintf("bench-%07d", j), Email: fmt.Sprintf("bench-%07d@example.com", j),
				Status: people.Confirmed, Active: []people.Purpose{people.Newsletter}, CreatedAt: now, UpdatedAt: now}})
		}
		if err := st.Import(ctx, batch); err != nil {
			s.Close()
			return err
		}
		for j := range open {
			id := fmt.Sprintf("bench-%07d", j)
			if _, _, err := st.OpenRequest(ctx, privacy.DefaultTiming.New(fmt.Sprintf("req-%04d", j), id, privacy.Kinds[j%2], id+"@example.com", now, "n")); err != nil {
				s.Close()
				return err
			}
		}
		// Warm: the first call of each function is a cold start.
		if _, _, err := send(ctx, s, http.MethodGet, "/admin/requests", nil, true); err != nil {
			s.Close()
			return err
		}
		if _, err := s.Invoke(ctx, "PrivacyClockFunction", []byte(fmt.Sprintf(`{"now":%q}`, now.Format(time.RFC3339)))); err != nil {
			s.Close()
			return err
		}
		// Each is measured 5 times; the table shows the median wall time.
		measure := func(what string, f func() error) error {
			var walls, owns []time.Duration
			var calls map[string]int
			for range 5 {
				s.DynamoDBCalls.Reset()
				start := time.Now()
				if err := f(); err != nil {
					return err
				}
				wall := time.Since(start)
				calls = s.DynamoDBCalls.Counts()
				walls, owns = append(walls, wall), append(owns, wall-s.DynamoDBCalls.Busy())
			}
			wall, own := median(walls), median(owns)
			fmt.Printf("| %d | %d | %s | %d | %v | %s | %s |\n", size, open, what, total(calls), calls, wall.Round(time.Millisecond), own.Round(time.Millisecond))
			c := cost{total(calls), wall, own}
			if i == 0 {
				base[what] = c
			} else {
				b := base[what]
				ratios = append(ratios, fmt.Sprintf("%s, %d : %d people: requests %.2f, wall time %.2f, wall time less moto %.2f", what, size, sizes[0],
					float64(c.calls)/float64(max(b.calls, 1)), c.wall.Seconds()/b.wall.Seconds(), c.own.Seconds()/b.own.Seconds()))
			}
			return nil
		}
		err = measure("GET /admin/requests", func() error {
			_, body, err := send(ctx, s, http.MethodGet, "/admin/requests", nil, true)
			if err == nil && strings.Count(body, `"kind"`) != open {
				err = fmt.Errorf("the listing shows %d requests, not %d", strings.Count(body, `"kind"`), open)
			}
			return err
		})
		if err == nil {
			err = measure("clock run, nothing due", func() error {
				_, err := s.Invoke(ctx, "PrivacyClockFunction", []byte(fmt.Sprintf(`{"now":%q}`, now.Add(time.Minute).Format(time.RFC3339))))
				return err
			})
		}
		s.Close()
		if err != nil {
			return err
		}
	}
	fmt.Println()
	for _, r := range ratios {
		fmt.Println("ratio " + r)
	}
	return nil
}
