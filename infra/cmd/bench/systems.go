package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
)

// systemsFigures prints the DynamoDB requests of a deletion's whole life
// with two downstream systems (`-only systems`), through the local stack
// as deployed with the template's DownstreamSystems (billing, support):
// asked on the web and verified, or entered by staff; erased by the clock
// after the cool-off; completed by the second system's answer. Events
// published on pledge's own bus are counted beside.
func systemsFigures(ctx context.Context) error {
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench-systems", Parameters: localstack.LooseLimits})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("## A deletion's life with two downstream systems (billing, support): DynamoDB requests through the local stack")
	fmt.Println()
	for _, path := range []string{"web", "staff"} {
		addr := "systems-" + path + "@example.com"
		if _, _, err := send(ctx, s, http.MethodPost, "/signup", url.Values{"email": {addr}, "purposes": {"newsletter"}, "policy_version": {"2015-03-22"}}, false); err != nil {
			return err
		}
		var steps []step
		var events []int
		measure := func(name string, f func() error) error {
			if err := s.SESEventsSettled(ctx); err != nil {
				return err
			}
			s.DynamoDBCalls.Reset()
			before := len(s.BusEvents())
			if err := f(); err != nil {
				return err
			}
			steps = append(steps, step{name, s.DynamoDBCalls.CountsExcept("MailEventsFunction")})
			events = append(events, len(s.BusEvents())-before)
			return nil
		}
		var id string
		if path == "web" {
			err = measure("ask (POST /privacy)", func() error {
				_, _, err := send(ctx, s, http.MethodPost, "/privacy", url.Values{"kind": {"delete"}, "email": {addr}}, false)
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
			err = measure("verify (POST): verified, announced to the systems", func() error {
				_, _, err := send(ctx, s, http.MethodPost, "/privacy/verify", url.Values{"t": {vu.Query().Get("t")}}, false)
				return err
			})
			if err != nil {
				return err
			}
			id, err = openDeletion(ctx, s)
		} else {
			body := fmt.Sprintf(`{"channel":"phone","kind":"delete","email":%q,"received":%q,"verifiedBy":"amy","verifiedHow":"called back"}`,
				addr, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
			err = measure("staff entry (POST /admin/requests): verified, announced", func() error {
				b, err := sendJSON(ctx, s, "/admin/requests", body)
				var r struct{ ID string }
				json.Unmarshal([]byte(b), &r)
				id = r.ID
				return err
			})
		}
		if err != nil {
			return err
		}
		at := time.Now().Add(73 * time.Hour).UTC().Format(time.RFC3339)
		err = measure("clock run after the cool-off (erasure; waits for the systems)", func() error {
			_, err := s.Invoke(ctx, "PrivacyClockFunction", []byte(fmt.Sprintf(`{"now":%q}`, at)))
			return err
		})
		if err == nil {
			err = measure("billing acknowledges (acted)", func() error {
				_, err := sendJSON(ctx, s, "/admin/requests/"+id+"/systems/billing", `{"acted":true}`)
				return err
			})
		}
		if err == nil {
			err = measure("support acknowledges (did not act): completed, last mail", func() error {
				b, err := sendJSON(ctx, s, "/admin/requests/"+id+"/systems/support", `{"acted":false,"reason":"no tickets"}`)
				if err == nil && !strings.Contains(b, `"status":"completed"`) {
					err = fmt.Errorf("the last answer did not complete the request: %s", b)
				}
				return err
			})
		}
		if err != nil {
			return err
		}
		title := map[string]string{"web": "asked on the web", "staff": "entered by staff (mail or phone)"}[path]
		fmt.Printf("### %s\n\n| step | DynamoDB requests | by call | events published |\n| --- | ---: | --- | ---: |\n", title)
		all, published := 0, 0
		for i, st := range steps {
			fmt.Printf("| %s | %d | %v | %d |\n", st.name, total(st.calls), st.calls, events[i])
			all, published = all+total(st.calls), published+events[i]
		}
		fmt.Printf("| **whole life** | **%d** | | **%d** |\n\n", all, published)
	}
	return nil
}

// openDeletion is the id of the one open deletion (GET /admin/requests).
func openDeletion(ctx context.Context, s *localstack.Stack) (string, error) {
	_, body, err := send(ctx, s, http.MethodGet, "/admin/requests", nil, true)
	if err != nil {
		return "", err
	}
	var list struct{ Requests []struct{ ID, Kind string } }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		return "", err
	}
	for _, r := range list.Requests {
		if r.Kind == "delete" {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("no open deletion: %s", body)
}

// sendJSON POSTs body to an admin route, signed; a 4xx or 5xx is an error.
func sendJSON(ctx context.Context, s *localstack.Stack, path, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.GatewayURL+path, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := localstack.SignAdmin(ctx, req, []byte(body)); err != nil {
		return "", err
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return string(b), fmt.Errorf("POST %s = %d %s", path, resp.StatusCode, b)
	}
	return string(b), nil
}
