package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/infra/race"
	"github.com/smartprotect/pledge/shared/people"
)

// requestCounts prints the DynamoDB requests (by operation) and SES calls
// each flow makes, as deployed, through the gateway of a stack of its own:
// n people go through each step in turn, one request at a time, and each
// row is the calls of its step divided by n.
func requestCounts(ctx context.Context, n int) error {
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench-requests", Parameters: localstack.LooseLimits})
	if err != nil {
		return err
	}
	defer s.Close()
	door, err := race.NewDoor(ctx, s)
	if err != nil {
		return err
	}
	run := fmt.Sprint(time.Now().UnixNano())
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("flow-%s-%d@example.com", run, i)
	}
	signedUp := []people.Purpose{people.Newsletter, people.Offers}
	steps := []struct {
		flow    string
		request func(email string) race.Request
		want    int // the status every request must get
	}{
		{"sign-up, a new address (JSON)", func(e string) race.Request { return door.SignUp(e, signedUp) }, 202},
		{"sign-up again within the resend interval", func(e string) race.Request { return door.SignUp(e, []people.Purpose{people.Surveys}) }, 202},
		{"confirm POST (activates)", func(e string) race.Request { return door.Confirm(e, signedUp) }, 200},
		{"confirm POST again (already confirmed)", func(e string) race.Request { return door.Confirm(e, signedUp) }, 200},
		{"preferences save (one grant, one withdrawal)", func(e string) race.Request {
			return door.SavePreferences(e, []people.Purpose{people.Newsletter, people.Testimonials})
		}, 200},
		{"one-click unsubscribe (withdraws)", door.OneClick, 200},
		{"one-click again (nothing left)", door.OneClick, 200},
		{"account event, opened", func(e string) race.Request { return door.Account(e, "opened", time.Now().Add(-time.Minute)) }, 200},
	}
	fmt.Printf("## DynamoDB requests per request, by flow (%d people, one request at a time, through the gateway)\n\n", n)
	fmt.Println("| flow | DynamoDB requests each | by operation | SES calls each |")
	fmt.Println("| --- | ---: | --- | ---: |")
	for _, step := range steps {
		s.DynamoDBCalls.Reset()
		s.SESCalls.Reset()
		for _, e := range emails {
			if a := door.Do(ctx, step.request(e)); a.Status != step.want {
				return fmt.Errorf("%s: answered %d %s, want %d", step.flow, a.Status, a.Body, step.want)
			}
		}
		db := s.DynamoDBCalls.Counts()
		var ops []string
		for _, op := range slices.Sorted(maps.Keys(db)) {
			ops = append(ops, fmt.Sprintf("%s %.2f", op, float64(db[op])/float64(n)))
		}
		fmt.Printf("| %s | %.2f | %s | %.2f |\n", step.flow, float64(total(db))/float64(n), strings.Join(ops, ", "),
			float64(s.SESCalls.Total())/float64(n))
	}
	return nil
}
