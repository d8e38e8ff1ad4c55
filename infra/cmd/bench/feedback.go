package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/infra/sesreplay"
	"github.com/smartprotect/pledge/shared/store"
)

// feedbackFigures replays n distinct SES events for n/5 people, a tenth of
// them delivered twice and all shuffled, through people.Feedbacks on a
// table in moto, one at a time, and prints what each kind of event cost
// (for its first copy and for a repeat), the replay's total, and whether
// every person ended as the same events deduplicated and in time order
// leave them (issue 12's figure: 10,000 events for 2,000 people).
func feedbackFigures(ctx context.Context, n int) error {
	root, err := localstack.Root()
	if err != nil {
		return err
	}
	moto, err := localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/bench-feedback"))
	if err != nil {
		return err
	}
	defer moto.Stop()
	db := moto.DynamoDBClient()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	const table = "pledge-bench-feedback"
	if err := localstack.CreateTable(ctx, db, tmpl, "Table", table); err != nil {
		return err
	}
	c := &sesreplay.Counting{API: db}
	cfg := sesreplay.Config{People: n / 5, Events: n, Dup: 0.1, Seed: uint64(time.Now().UnixNano())}
	res, err := sesreplay.Replay(ctx, store.New(c, table), c, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("## SES feedback: %d distinct events for %d people, %d repeats, shuffled (seed %d), one at a time through the table in moto\n\n",
		n, cfg.People, res.Repeats, cfg.Seed)
	fmt.Println("DynamoDB requests per event (people.Feedbacks.Apply): all the mail-events function makes for a bounce, complaint or delivery. A send of other mail than a notice makes none, a notice's send one conditional UpdateItem; the daily counts are CloudWatch metrics written as log lines (no request).")
	fmt.Println()
	fmt.Println("| event | first copies | reads / event | writes / event | failed conditions | wrote | repeats | reads / repeat | writes / repeat | repeats that wrote |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	per := func(x, n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(x)/float64(n))
	}
	for _, k := range sesreplay.Kinds {
		cost := res.ByKind[k]
		fmt.Printf("| %s | %d | %s | %s | %d | %d | %d | %s | %s | %d |\n", k, cost.Firsts, per(cost.First.Reads, cost.Firsts), per(cost.First.Writes, cost.Firsts),
			cost.First.FailedConditions+cost.Repeat.FailedConditions, cost.FirstWrites, cost.Repeats, per(cost.Repeat.Reads, cost.Repeats),
			per(cost.Repeat.Writes, cost.Repeats), cost.RepeatWrites)
	}
	t := res.Total
	fmt.Printf("\n| replay | events delivered | reads | writes | failed conditions | requests / event | writes / event | time | events / s |\n")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Printf("| shuffled, %.0f%% repeated | %d | %d | %d | %d | %.2f | %.2f | %s | %.0f |\n", cfg.Dup*100, res.Delivered, t.Reads, t.Writes, t.FailedConditions,
		float64(t.Reads+t.Writes)/float64(res.Delivered), float64(t.Writes)/float64(res.Delivered), res.Elapsed.Round(time.Millisecond),
		float64(res.Delivered)/res.Elapsed.Seconds())
	fmt.Printf("\nPeople whose state differs from the same events deduplicated and in time order: %d of %d\n", len(res.Differ), cfg.People)
	if len(res.Differ) > 0 {
		fmt.Fprintln(os.Stderr, "bench: e.g.", res.Differ[0])
		return fmt.Errorf("%d people differ from the replay in order", len(res.Differ))
	}
	return nil
}
