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
	// Subscribers who confirmed their only link: their one-click is the
	// usual one (no account, no testimonial, no link still live).
	subscribers := make([]string, n)
	for i := range subscribers {
		subscribers[i] = fmt.Sprintf("flow-%s-sub-%d@example.com", run, i)
	}
	// The first link mailed to each person, read before its step so that
	// the read is not counted.
	first := map[string]people.Link{}
	readLinks := func() error {
		for _, e := range append(slices.Clone(emails), subscribers...) {
			links, err := door.Links(ctx, e)
			if err != nil || len(links) == 0 {
				return fmt.Errorf("reading the links of %s: %v (%d links)", e, err, len(links))
			}
			first[e] = links[0]
		}
		return nil
	}
	steps := []struct {
		flow    string
		before  func() error // run before the step's counts start, if set
		request func(email string) race.Request
		want    int      // the status every request must get
		who     []string // the people of the step: emails unless set
	}{
		{"sign-up, a new address (JSON)", nil, func(e string) race.Request { return door.SignUp(e, signedUp) }, 202, nil},
		{"(a subscriber signs up)", nil, func(e string) race.Request { return door.SignUp(e, signedUp) }, 202, subscribers},
		{"sign-up again within the resend interval, covered by the live link", nil, func(e string) race.Request { return door.SignUp(e, []people.Purpose{people.Offers}) }, 202, nil},
		{"sign-up within the resend interval for a new purpose (mailed)", nil, func(e string) race.Request { return door.SignUp(e, []people.Purpose{people.Surveys}) }, 202, nil},
		{"confirm POST (activates)", readLinks, func(e string) race.Request { return door.Confirm(e, first[e]) }, 200, nil},
		{"(the subscriber confirms)", nil, func(e string) race.Request { return door.Confirm(e, first[e]) }, 200, subscribers},
		{"one-click unsubscribe, a subscriber (withdraws)", nil, door.OneClick, 200, subscribers},
		{"confirm POST again (already used)", nil, func(e string) race.Request { return door.Confirm(e, first[e]) }, 200, nil},
		{"preferences save (one grant mailed, one withdrawal)", nil, func(e string) race.Request {
			return door.SavePreferences(e, []people.Purpose{people.Newsletter, people.Testimonials})
		}, 200, nil},
		{"one-click unsubscribe, after a grant awaits its button (withdraws)", nil, door.OneClick, 200, nil},
		{"one-click again (nothing left)", nil, door.OneClick, 200, nil},
		{"account event, opened", nil, func(e string) race.Request { return door.Account(e, "opened", time.Now().Add(-time.Minute)) }, 200, nil},
	}
	fmt.Printf("## DynamoDB requests per request, by flow (%d people, one request at a time, through the gateway)\n\n", n)
	fmt.Println("| flow | DynamoDB requests each | by operation | SES calls each |")
	fmt.Println("| --- | ---: | --- | ---: |")
	for _, step := range steps {
		if step.before != nil {
			if err := step.before(); err != nil {
				return fmt.Errorf("%s: %w", step.flow, err)
			}
		}
		who := step.who
		if who == nil {
			who = emails
		}
		s.DynamoDBCalls.Reset()
		s.SESCalls.Reset()
		for _, e := range who {
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
