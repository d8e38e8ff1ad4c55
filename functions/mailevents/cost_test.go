package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/infra/sesreplay"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// Issue 12's figure: each SES event costs the function at most one
// DynamoDB write, and a duplicate none beyond a read or a write refused on
// its condition; the daily metrics cost no request (they are log lines).
// Each kind of event goes, twice, through the handler built as main builds
// it (the store on a table in moto, people.Feedbacks), to a person of its
// own; a Counting client counts what reached DynamoDB.
func TestAnEventCostsAtMostOneWriteAndItsDuplicateNone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	moto, err := localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/mailevents-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const table = "pledge-mailevents-test"
	if err := localstack.CreateTable(ctx, moto.DynamoDBClient(), tmpl, "Table", table); err != nil {
		t.Fatal(err)
	}
	c := &sesreplay.Counting{API: moto.DynamoDBClient()}
	st := store.New(c, table)
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) // sesEvent's mails were sent on 2026-12-01
	var metrics bytes.Buffer
	h := &handler{store: st, counts: emf(&metrics, "pledge-test-mailevents"), now: func() time.Time { return now },
		log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)),
		feedback: &people.Feedbacks{Store: st, Rule: people.DefaultBounceRule, Retention: people.DefaultRetention, NewID: people.RandomID,
			Now: func() time.Time { return now }}}

	news := func(id string) map[string][]string {
		return map[string][]string{"pledge-person": {id}, "pledge-mail": {"newsletter"}}
	}
	cases := []struct {
		kind    string
		ev      func(tags map[string][]string) Event
		notice  bool
		changes bool // the first copy changes its person: one write
	}{
		{"send (newsletter)", func(tags map[string][]string) Event { return sesEvent("Send", tags, nil) }, false, false},
		{"send (notice, no record to mark)", func(tags map[string][]string) Event { return sesEvent("Send", tags, nil) }, true, false},
		{"delivery", func(tags map[string][]string) Event {
			return sesEvent("Delivery", tags, map[string]any{"delivery": map[string]any{}})
		}, false, false},
		{"bounce (permanent)", func(tags map[string][]string) Event {
			return sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}})
		}, false, true},
		{"bounce (transient)", func(tags map[string][]string) Event {
			return sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Transient"}})
		}, false, true},
		{"bounce (undetermined)", func(tags map[string][]string) Event {
			return sesEvent("Bounce", tags, map[string]any{"bounce": map[string]any{"bounceType": "Undetermined"}})
		}, false, false},
		{"complaint (abuse)", func(tags map[string][]string) Event {
			return sesEvent("Complaint", tags, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}})
		}, false, true},
		{"complaint (not-spam)", func(tags map[string][]string) Event {
			return sesEvent("Complaint", tags, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "not-spam"}})
		}, false, false},
		{"delivery delay", func(tags map[string][]string) Event { return sesEvent("DeliveryDelay", tags, nil) }, false, false},
	}
	var imported []store.Imported
	signedUp := now.Add(-30 * 24 * time.Hour)
	for i := range cases {
		id := fmt.Sprintf("cost-%d", i)
		imported = append(imported, store.Imported{Person: people.Person{ID: id, Email: id + "@example.com", Status: people.Confirmed,
			Active: []people.Purpose{people.Newsletter}, CreatedAt: signedUp, UpdatedAt: signedUp, ConfirmedAt: signedUp, Version: 1}})
	}
	if err := st.Import(ctx, imported); err != nil {
		t.Fatal(err)
	}

	lines := 0
	for i, cs := range cases {
		id := imported[i].Person.ID
		tags := news(id)
		if cs.notice {
			tags = map[string][]string{"pledge-person": {id}, "pledge-mail": {"notice"}, "pledge-notice": {"2027_d02"}}
		}
		ev := cs.ev(tags)
		ev.Detail = json.RawMessage(strings.ReplaceAll(string(ev.Detail), "jo@example.com", id+"@example.com"))
		var cost [2]sesreplay.Requests
		var res [2]Result
		for copy := range 2 {
			before := c.Requests()
			if res[copy], err = h.handle(ctx, ev); err != nil || res[copy].Dropped != "" {
				t.Fatalf("%s, copy %d = %+v, %v", cs.kind, copy+1, res[copy], err)
			}
			cost[copy] = c.Requests().Sub(before)
			if res[copy].Counted != "" {
				lines++
			}
		}
		t.Logf("%-40s first: %d reads, %d writes (%d refused on their condition); duplicate: %d reads, %d writes (%d refused)",
			cs.kind, cost[0].Reads, cost[0].Writes, cost[0].FailedConditions, cost[1].Reads, cost[1].Writes, cost[1].FailedConditions)
		if cost[0].Writes > 1 {
			t.Errorf("%s: the first copy made %d writes; want at most one", cs.kind, cost[0].Writes)
		}
		if cs.changes && (cost[0].Writes != 1 || cost[0].FailedConditions != 0 || !res[0].Applied) {
			t.Errorf("%s: the first copy = %+v with %+v; want it applied in one write", cs.kind, res[0], cost[0])
		}
		if cost[1].Writes != cost[1].FailedConditions || cost[1].Writes > 1 || res[1].Applied || res[1].Marked {
			t.Errorf("%s: the duplicate = %+v with %+v; want no write beyond one refused on its condition", cs.kind, res[1], cost[1])
		}
		if cost[0].Reads > 1 || cost[1].Reads > 1 {
			t.Errorf("%s: %+v then %+v; want at most one read a copy", cs.kind, cost[0], cost[1])
		}
	}
	// Both copies of every counted kind were counted, as lines, not writes.
	if got := strings.Count(metrics.String(), "\n"); got != lines || lines != 14 {
		t.Fatalf("%d metric lines for %d counted events; want 14 (seven counted kinds, twice)", got, lines)
	}
}
