package main

import (
	"context"
	"fmt"
	"os"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/infra/race"
)

// lostAnswers is the share of writes the race's third run does and then
// answers with a 500.
const lostAnswers = 0.05

// raceFigures sends the same burst of mixed requests on one person twice
// through a local stack of its own: on moto as it is, and with the DynamoDB
// proxy answering a fifth of the writes as DynamoDB does under contention.
// A third run also loses the answer of a share of the writes it lets
// through. It prints the answers, the faults injected and whether each
// person agrees with their ledger afterwards.
func raceFigures(ctx context.Context, pool, requests int, seed uint64) error {
	s, err := localstack.Start(ctx, localstack.Options{Name: "bench-races", PoolSize: pool, Parameters: localstack.NoLimits})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("## Races: %d concurrent requests on one person (%d instances per function, seed %d)\n\n", requests, pool, seed)
	fmt.Println("Sign-ups (JSON, random purposes), confirm POSTs (random purposes), one-click POSTs, preference saves")
	fmt.Println("(now and then stop-all), signed account events; all sent at once after a sign-up and a confirm.")
	fmt.Printf("The second run's proxy answers a random %.0f%% of writes, unforwarded, with a TransactionCanceledException\n", localstack.DefaultFaultRate*100)
	fmt.Println("(TransactionConflict) for transactions and a throttling error for single-item writes (the SDK retries those).")
	fmt.Println("The third run also lets a share of writes through and answers them with a 500, as when a connection fails after")
	fmt.Println("the commit (the SDK retries; the proxy honours a transaction's client request token as DynamoDB does).")
	fmt.Println()
	plain, err := race.Run(ctx, s, race.Options{Email: "race-plain@example.com", Requests: requests, Seed: seed})
	if err != nil {
		return err
	}
	faulty, err := race.Run(ctx, s, race.Options{Email: "race-faults@example.com", Requests: requests, Seed: seed,
		Faults: localstack.NewFaults(localstack.DefaultFaultRate, seed)})
	if err != nil {
		return err
	}
	lost, err := race.Run(ctx, s, race.Options{Email: "race-lost@example.com", Requests: requests, Seed: seed,
		Faults: localstack.NewFaults(localstack.DefaultFaultRate, seed).LoseAnswers(lostAnswers)})
	if err != nil {
		return err
	}
	race.Table(os.Stdout, []string{"moto", "moto, a fifth of writes faulted", fmt.Sprintf("the same, and %.0f%% of answers lost", lostAnswers*100)},
		[]race.Result{plain, faulty, lost})
	return nil
}
