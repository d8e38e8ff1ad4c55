package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// correctFigures measures the move of an address correction (issue 14,
// item 1) on moto alone: runs people, each with entries ledger entries
// (besides their sign-up's two), a notice record of each of three policy
// versions, a list membership and an open correction request, each moved
// to the key of a new address by store.MovePerson. It prints the DynamoDB
// requests of one move by kind and the median time, in all and in moto.
func correctFigures(ctx context.Context, entries, runs int) error {
	root, err := localstack.Root()
	if err != nil {
		return err
	}
	moto, err := localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/bench-correct"))
	if err != nil {
		return err
	}
	defer moto.Stop()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	const table = "pledge-bench-correct"
	db := moto.DynamoDBClient()
	if err := localstack.CreateTable(ctx, db, tmpl, "Table", table); err != nil {
		return err
	}
	st := store.New(db, table)
	const notices = 3
	var took, busy []time.Duration
	var calls map[string]int
	start := time.Now().UTC().Add(-30 * 24 * time.Hour) // the same for every run: the same policy versions, published once
	for run := range runs {
		from, to := people.RandomID(), people.RandomID()
		if err := seedExport(ctx, st, from, start, entries, notices); err != nil {
			return err
		}
		r := privacy.DefaultTiming.New(people.RandomID(), from, privacy.Correct, "bench-export@example.com", time.Now(), "n")
		r.Correction = privacy.Correction{Email: fmt.Sprintf("bench-moved-%d@example.com", run), PersonID: to, From: from}
		if _, _, err := st.OpenRequest(ctx, r); err != nil {
			return err
		}
		moto.Calls.Reset()
		t := time.Now()
		if err := st.MovePerson(ctx, store.Move{From: from, To: to, Email: r.Correction.Email, RequestID: r.ID, At: time.Now(), EntryID: r.ID}); err != nil {
			return err
		}
		took = append(took, time.Since(t))
		busy = append(busy, moto.Calls.Busy())
		calls = moto.Calls.Counts()
		h, err := st.Holdings(ctx, to)
		if err != nil {
			return err
		}
		if len(h.Consents) != entries+3 || len(h.Notices) != notices || len(h.Listed) != 1 {
			return fmt.Errorf("moved %d ledger entries, %d notices, %d lists; want %d, %d, 1", len(h.Consents), len(h.Notices), len(h.Listed), entries+3, notices)
		}
	}
	items := entries + 2 + notices + 1 + 2 // ledger, notice records, membership, open marker and history entry
	fmt.Printf("## Address correction: moving one person (%d ledger entries, %d items besides the profile; median of %d runs, moto alone)\n\n", entries+2, items, runs)
	fmt.Println("| figure | value |")
	fmt.Println("| --- | ---: |")
	fmt.Printf("| DynamoDB requests per move | %d %v |\n", total(calls), calls)
	fmt.Printf("| time to move (store.MovePerson) | %s |\n", ms(median(took)))
	fmt.Printf("| of which time in moto | %s |\n", ms(median(busy)))
	return nil
}
