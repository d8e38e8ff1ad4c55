package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// exportFigures measures an access export (issue 13, item 3) on moto
// alone: a person with entries ledger entries, written through the store's
// one write path 99 to a transaction, a notice record of each of notices
// policy versions, then runs exports of them. It prints the DynamoDB
// requests of one export by kind, the bytes of the JSON document and of the
// HTML page, and the median time to read, to build the JSON and to render
// the page.
func exportFigures(ctx context.Context, entries, notices, runs int) error {
	root, err := localstack.Root()
	if err != nil {
		return err
	}
	moto, err := localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/bench-export"))
	if err != nil {
		return err
	}
	defer moto.Stop()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	const table = "pledge-bench-export"
	db := moto.DynamoDBClient()
	if err := localstack.CreateTable(ctx, db, tmpl, "Table", table); err != nil {
		return err
	}
	st := store.New(db, table)
	start := time.Now().UTC().Add(-30 * 24 * time.Hour)
	id := people.RandomID()
	if err := seedExport(ctx, st, id, start, entries, notices); err != nil {
		return err
	}
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103", "privacy@smartprotectusa.com")
	if err != nil {
		return err
	}
	x := export.Exporter{Store: st, Facts: export.Facts{Controller: export.Controller{Name: site.Company, PostalAddress: site.PostalAddress},
		Retention: withNoticeRecords(people.DefaultRetention)}}

	var read, build, render, busy []time.Duration
	var calls map[string]int
	var doc export.Document
	var body []byte
	var html string
	for range runs {
		moto.Calls.Reset()
		t := time.Now()
		doc, err = x.Export(ctx, id, time.Now())
		if err != nil {
			return err
		}
		read = append(read, time.Since(t))
		busy = append(busy, moto.Calls.Busy())
		calls = moto.Calls.Counts()
		t = time.Now()
		if body, err = export.JSON(doc); err != nil {
			return err
		}
		build = append(build, time.Since(t))
		t = time.Now()
		html = site.Page(200, "Your data", page.Export(doc)).Body
		render = append(render, time.Since(t))
	}
	if len(doc.Consents) != entries+2 || len(doc.Notices) != notices {
		return fmt.Errorf("the export holds %d ledger entries and %d notices; %d and %d were written", len(doc.Consents), len(doc.Notices), entries+2, notices)
	}
	fmt.Printf("## Access export of one person (%d ledger entries, %d notice records; median of %d runs, moto alone)\n\n", len(doc.Consents), notices, runs)
	fmt.Println("| figure | value |")
	fmt.Println("| --- | ---: |")
	fmt.Printf("| DynamoDB requests per export | %d %v |\n", total(calls), calls)
	fmt.Printf("| bytes of the JSON document | %d |\n", len(body))
	fmt.Printf("| bytes of the HTML page | %d |\n", len(html))
	fmt.Printf("| time to read (Exporter.Export: requests + decoding) | %s |\n", ms(median(read)))
	fmt.Printf("| of which time in moto | %s |\n", ms(median(busy)))
	fmt.Printf("| time to build the JSON (export.JSON) | %s |\n", ms(median(build)))
	fmt.Printf("| time to render the page (page.Export in the layout) | %s |\n", ms(median(render)))
	fmt.Printf("| time in all, less moto | %s |\n", ms(median(read)-median(busy)+median(build)+median(render)))
	return nil
}

// withNoticeRecords is r with the notice records' period that
// config.NoticeRecordsKept defaults to.
func withNoticeRecords(r people.Retention) people.Retention {
	r.NoticeRecords = people.DefaultRetention.NoticeRecords
	return r
}

// seedExport writes a confirmed person id with a newsletter, entries more
// ledger entries (alternate withdrawals and grants, as the sign-up form
// and the preferences page write them), and a sent notice record of each
// of notices published versions.
func seedExport(ctx context.Context, st *store.Store, id string, at time.Time, entries, notices int) error {
	c := people.Context{Source: "signup-form", PolicyVersion: "2015-03-22", IP: "keyed-3f5a9c0d2e7b4a61", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
	_, err := st.UpdatePerson(ctx, id, func(p people.Person) (people.Change, error) {
		q := people.Person{ID: id, Email: "bench-export@example.com", Name: "Bench Reader", Status: people.Confirmed, Active: []people.Purpose{people.Newsletter},
			PolicyVersion: "2015-03-22", CreatedAt: at, UpdatedAt: at, ConfirmedAt: at, Version: p.Version}
		events := people.NewEvents(id, people.Grant, q.Active, at, c, people.RandomID)
		events = append(events, people.NewEvents(id, people.Confirm, q.Active, at.Add(time.Second), c, people.RandomID)...)
		return people.Change{After: &q, Events: events, Joined: q.Active}, nil
	})
	if err != nil {
		return err
	}
	for written := 0; written < entries; {
		batch := min(99, entries-written)
		at = at.Add(time.Minute)
		_, err := st.UpdatePerson(ctx, id, func(p people.Person) (people.Change, error) {
			q := p
			q.UpdatedAt = at.Add(time.Duration(batch) * time.Millisecond)
			var events []people.ConsentEvent
			for i := range batch {
				action, src := people.Grant, "signup-form"
				if (written+i)%2 == 0 {
					action, src = people.Withdraw, "preferences"
				}
				cc := c
				cc.Source = src
				events = append(events, people.NewEvents(id, action, []people.Purpose{people.Surveys}, at.Add(time.Duration(i)*time.Millisecond), cc, people.RandomID)...)
			}
			return people.Change{After: &q, Events: people.DefaultRetention.WithProofClocks(events)}, nil
		})
		if err != nil {
			return err
		}
		written += batch
	}
	for i := range notices {
		pol := notice.Policy{Version: fmt.Sprintf("2027-%02d", i+1), Effective: at.Add(time.Duration(40+i) * 24 * time.Hour), Material: true,
			Summary: "We now keep survey answers for 12 months.", URL: fmt.Sprintf("https://smartprotect.example/privacy/2027-%02d", i+1), PublishedAt: at}
		if _, _, err := st.Publish(ctx, pol, pol.RecordsClock(people.DefaultRetention.NoticeRecords)); err != nil {
			return err
		}
		rc := notice.Recipient{ID: id, Email: "bench-export@example.com"}
		if _, err := st.Claim(ctx, pol.Version, rc, "bench", at.Add(time.Minute), at); err != nil {
			return err
		}
		if err := st.Settle(ctx, pol.Version, "bench", []notice.Outcome{{PersonID: id, Sent: true, MessageID: strings.Repeat("0", 60), Attempts: 1}}, at); err != nil {
			return err
		}
	}
	return nil
}
