package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/infra/race"
	"github.com/smartprotect/pledge/shared/people"
)

// TestRacesOnOnePersonAnswerClearlyAndLoseNothing sends a burst of mixed
// requests on one person at once (sign-ups, confirms, one-clicks,
// preference saves, account events), twice: on moto as it is, and with the
// DynamoDB proxy answering a fifth of the writes as DynamoDB answers under
// contention (moto runs transactions one at a time, so a race on it alone
// never meets a TransactionConflict). No request may get a 5xx but a 503
// with Retry-After (the answer when the store's retries run out, counted in
// the table), and each time the person must agree with their ledger. A
// fixed sequence of the same requests, checked after each, comes first: a
// change without its entry shows there at the step that made it. It runs
// on a stack of its own, with several instances per function for real
// concurrency, and without the abuse limits (one address signs up again and
// again; limits_test.go holds the limits).
func TestRacesOnOnePersonAnswerClearlyAndLoseNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := localstack.Start(ctx, localstack.Options{Name: "e2e-races", PoolSize: 3, Parameters: localstack.NoLimits})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Run("in sequence, checked after every request", func(t *testing.T) {
		door, err := race.NewDoor(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		const email = "race-sequence@example.com"
		// Each step's request is made just before it is sent: a confirm
		// presses a link the person holds then, as its mail carries it.
		req := func(r race.Request) func() (race.Request, error) {
			return func() (race.Request, error) { return r, nil }
		}
		var first people.Link
		latest := func(keep bool) func() (race.Request, error) {
			return func() (race.Request, error) {
				l, err := door.LatestLink(ctx, email)
				if keep {
					first = l
				}
				return door.Confirm(email, l), err
			}
		}
		steps := []struct {
			name    string
			request func() (race.Request, error)
		}{
			{"a sign-up", req(door.SignUp(email, []people.Purpose{people.Newsletter, people.Surveys}))},
			{"a confirm of its link", latest(true)},
			{"a second sign-up", req(door.SignUp(email, []people.Purpose{people.Offers}))},
			{"a preference save that keeps one pending purpose, drops one and grants testimonials", req(door.SavePreferences(email, []people.Purpose{people.Newsletter, people.Offers, people.Testimonials}))},
			{"a sign-up for testimonials and surveys", req(door.SignUp(email, []people.Purpose{people.Testimonials, people.Surveys}))},
			{"a confirm of the latest link", latest(false)},
			{"the first link pressed again", func() (race.Request, error) { return door.Confirm(email, first), nil }},
			{"a confirm of the preference grant's link", latest(false)},
			{"a one-click", req(door.OneClick(email))},
			{"an account opened", req(door.Account(email, "opened", time.Now().Add(-time.Minute)))},
			{"stop all marketing", req(door.StopAll(email))},
			{"a preference save of nothing", req(door.SavePreferences(email, nil))},
		}
		for _, step := range steps {
			r, err := step.request()
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if a := door.Do(ctx, r); a.Status/100 != 2 {
				t.Fatalf("%s answered %d %s", step.name, a.Status, a.Body)
			}
			_, _, mismatch, err := race.ReadBack(ctx, s, door.PersonID(email))
			if err != nil {
				t.Fatal(err)
			}
			if mismatch != "" {
				t.Errorf("after %s: %s", step.name, mismatch)
			}
		}
	})
	const requests = 40
	for _, run := range []struct {
		name, email string
		faults      *localstack.Faults
	}{
		{"on plain moto", "race-plain@example.com", nil},
		{"with a fifth of writes answered as under contention", "race-faults@example.com", localstack.NewFaults(localstack.DefaultFaultRate, 10)},
	} {
		t.Run(run.name, func(t *testing.T) {
			r, err := race.Run(ctx, s, race.Options{Email: run.email, Requests: requests, Seed: 10, Faults: run.faults})
			if err != nil {
				t.Fatal(err)
			}
			var table strings.Builder
			race.Table(&table, []string{run.name}, []race.Result{r})
			t.Log("\n" + table.String())
			if run.faults != nil && run.faults.Total() == 0 {
				t.Fatal("no fault was injected: the run proves nothing about contention")
			}
			// A 503 with Retry-After is the designed answer when the retries
			// run out (its count is in the table); any other 5xx is not.
			if n := r.Class(5) - r.Busy + r.Class(0); n != 0 {
				t.Errorf("%d of %d requests got a 5xx other than 503 with Retry-After, or no answer; want a clear answer for every one", n, requests)
			}
			for _, m := range r.Mismatches {
				t.Error(m)
			}
		})
	}
}
