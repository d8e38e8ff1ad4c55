package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/export/exporttest"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// liveFacts are the facts an export is stated from, read as a function's
// main reads them from its environment: here with periods that are not the
// defaults, so that the test sees the configuration, not fixed text.
func liveFacts(t *testing.T) export.Facts {
	t.Helper()
	env := config.NewEnv(func(k string) string {
		return map[string]string{"RETENTION_UNCONFIRMED": "36h", "RETENTION_LEDGER_PROOF": "43800h", "RETENTION_NOTICE_RECORDS": "9600h"}[k]
	})
	ret := config.Retention(env)
	ret.NoticeRecords = config.NoticeRecordsKept(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	return export.Facts{Controller: export.Controller{Name: "SmartProtect, Inc.", PostalAddress: "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103"},
		Retention: ret}
}

// exportJSON exports personID at now and validates the JSON against the
// committed schema.
func exportJSON(t *testing.T, s *store.Store, personID string, now time.Time, requests ...export.Request) (export.Document, []byte) {
	t.Helper()
	doc, err := export.Exporter{Store: s, Facts: liveFacts(t)}.Export(context.Background(), personID, now)
	if err != nil {
		t.Fatal(err)
	}
	doc.Requests = append(doc.Requests, requests...)
	body, err := export.JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := exporttest.Validate(body); err != nil {
		t.Fatalf("the export does not validate against schema.json: %v\n%s", err, body)
	}
	return doc, body
}

func TestAnExportHoldsEverythingAboutAPersonAndValidatesAgainstItsSchema(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	facts := liveFacts(t)
	pol := policy("v2", true)
	if _, _, err := s.Publish(ctx, pol, pol.RecordsClock(facts.Retention.NoticeRecords)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Publish(ctx, policy("v1", true), people.Clock{}); err != nil { // a version never sent to ann
		t.Fatal(err)
	}

	// Ann signs up for the newsletter and surveys and confirms both; signs
	// up for offers and does not confirm; withdraws surveys; is told of v2;
	// a mail to her bounces once; the product opens her account.
	w := newWorld(s, t0)
	w.signUp(t, "ann", people.Newsletter, people.Surveys)
	w.confirm(t, "ann", people.Newsletter, people.Surveys)
	w.now = t0.Add(time.Hour)
	w.signUp(t, "ann", people.Offers)
	w.now = t0.Add(2 * time.Hour)
	if _, err := w.subscriptions().Withdraw(ctx, "ann", []people.Purpose{people.Newsletter, people.Offers}, people.Context{Source: "preferences"}); err != nil {
		t.Fatal(err)
	}
	rc := notice.Recipient{ID: "ann", Email: "ann@example.com"}
	if res, err := s.Claim(ctx, "v2", rc, "run-a", t0.Add(3*time.Hour), t0.Add(150*time.Minute)); err != nil || res != notice.Claimed {
		t.Fatalf("claim = %v, %v", res, err)
	}
	must(t, s.Settle(ctx, "v2", "run-a", []notice.Outcome{{PersonID: "ann", Sent: true, MessageID: "ses-message-1", Attempts: 1}}, t0.Add(150*time.Minute)))
	bounced := t0.Add(170 * time.Minute)
	fb := &people.Feedbacks{Store: s, Rule: people.DefaultBounceRule, Retention: r, NewID: people.RandomID, Now: func() time.Time { return t0.Add(3 * time.Hour) }}
	if _, err := fb.Apply(ctx, "ann", people.Feedback{Kind: people.FeedbackBounce, MessageID: "m1", At: bounced, MailKind: "newsletter", BounceType: "Transient"}); err != nil {
		t.Fatal(err)
	}
	// She tells her mailbox provider a mail was not spam: recorded, no complaint.
	notSpam := bounced.Add(time.Minute)
	if _, err := fb.Apply(ctx, "ann", people.Feedback{Kind: people.FeedbackComplaint, MessageID: "m2", At: notSpam, MailKind: "confirm", FeedbackType: "not-spam"}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(4 * time.Hour)
	record(t, accountsOn(s, &now), "ann@example.com", "opened", now)

	ledger, err := s.Consents(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Person(ctx, "ann")
	moto.Calls.Reset()
	at := t0.Add(5 * time.Hour)
	received := t0.Add(4*time.Hour + 30*time.Minute)
	doc, body := exportJSON(t, s, "ann", at, export.Request{ID: "req-1", Kind: "access", Status: "in-progress", Received: received, Due: received.Add(720 * time.Hour)})

	t.Run("it reads by key only: the person's partition, the policy versions, one batch of records", func(t *testing.T) {
		// Validation ran after the export; nothing else reached moto.
		if got := moto.Calls.Counts(); !maps.Equal(got, map[string]int{"Query": 2, "BatchGetItem": 1}) {
			t.Fatalf("calls = %v", got)
		}
	})
	t.Run("the profile is the stored person's", func(t *testing.T) {
		p := doc.Profile
		if p == nil || p.Email != "ann@example.com" || p.Name != "Jo" || p.Status != "confirmed" || p.PolicyVersion != "2015-03-22" ||
			!p.Created.Equal(t0) || !p.Updated.Equal(stored.UpdatedAt) || p.Confirmed == nil || !p.Confirmed.Equal(stored.ConfirmedAt) {
			t.Fatalf("profile = %+v; stored %+v", p, stored)
		}
		if p.KeptUntil != nil {
			t.Errorf("an open account's profile has a retention clock: %+v", p.KeptUntil)
		}
		if d := p.Deliverability; d.State != "deliverable" || len(d.TransientBounces) != 1 || !d.TransientBounces[0].Equal(bounced) || d.LastBounce == nil {
			t.Errorf("deliverability = %+v", d)
		}
		if d := p.Deliverability; d.LastNotSpam == nil || !d.LastNotSpam.Equal(notSpam) || d.LastComplaint != nil {
			t.Errorf("a not-spam report exported as %+v; want lastNotSpam %s and no complaint", d, notSpam)
		}
		if len(p.ConfirmLinks) != 1 || !slices.Equal(p.ConfirmLinks[0].Purposes, []string{"offers"}) || !p.ConfirmLinks[0].Issued.Equal(t0.Add(time.Hour)) {
			t.Errorf("confirm links = %+v; want the offers link", p.ConfirmLinks)
		}
		for _, l := range stored.Links {
			if strings.Contains(string(body), l.Nonce) {
				t.Errorf("the export carries a live link's secret %q", l.Nonce)
			}
		}
		if doc.Account == nil || doc.Account.State != "open" || !doc.Account.At.Equal(now) || doc.Erasure != nil {
			t.Errorf("account = %+v, erasure %+v", doc.Account, doc.Erasure)
		}
	})
	t.Run("each purpose says its state and since when", func(t *testing.T) {
		want := map[string]string{"newsletter": "active", "offers": "pending", "surveys": "withdrawn", "testimonials": "none"}
		got := map[string]string{}
		for _, p := range doc.Purposes {
			got[p.ID] = p.State
		}
		if !maps.Equal(got, want) {
			t.Fatalf("purpose states = %v; want %v", got, want)
		}
		if nl := doc.Purposes[0]; nl.Listed == nil || nl.Since == nil || !nl.Since.Equal(stored.ConfirmedAt) {
			t.Errorf("newsletter = %+v; want listed, and since its confirmation", nl)
		}
		if sv := doc.Purposes[2]; sv.Listed != nil || sv.Since == nil || !sv.Since.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("surveys = %+v; want unlisted since the withdrawal", sv)
		}
	})
	t.Run("every ledger entry is there, in order, a withdrawal with its proof clock", func(t *testing.T) {
		if len(doc.Consents) != len(ledger) || len(ledger) < 6 {
			t.Fatalf("%d entries exported; the ledger holds %d", len(doc.Consents), len(ledger))
		}
		for i, e := range ledger {
			c := doc.Consents[i]
			if c.ID != e.ID || !c.At.Equal(e.At) || c.Purpose != string(e.Purpose) || c.Action != string(e.Action) || c.Source != e.Source ||
				c.TextHash != e.TextHash || c.IPHash != e.IP || c.UserAgent != e.UserAgent {
				t.Fatalf("entry %d = %+v; ledger %+v", i, c, e)
			}
			if e.IP != "" && (strings.Contains(c.IPHash, "192.0.2.1") || !strings.HasPrefix(c.IPHash, "keyed-")) {
				t.Errorf("entry %d carries %q, not the keyed hash of the IP", i, c.IPHash)
			}
			if c.TextHash != people.Purpose(c.Purpose).ConsentTextHash() {
				t.Errorf("entry %d text hash = %q", i, c.TextHash)
			}
			withdrawal := e.Action == people.Withdraw
			if withdrawal != (c.KeptUntil != nil) || withdrawal && !c.KeptUntil.Due.Equal(e.At.Add(r.LedgerProof)) {
				t.Errorf("entry %d (%s) kept until %+v", i, e.Action, c.KeptUntil)
			}
		}
	})
	t.Run("the notice sent is there, not the version never sent", func(t *testing.T) {
		if len(doc.Notices) != 1 {
			t.Fatalf("notices = %+v", doc.Notices)
		}
		n := doc.Notices[0]
		if n.Version != "v2" || n.State != "sent" || n.MessageID != "ses-message-1" || n.URL != pol.URL || !n.Effective.Equal(pol.Effective) ||
			n.KeptUntil == nil || !n.KeptUntil.Due.Equal(pol.Effective.Add(400*24*time.Hour)) {
			t.Fatalf("notice = %+v", n)
		}
	})
	t.Run("the periods are the configuration's", func(t *testing.T) {
		periods := map[string]string{}
		for _, p := range doc.Processing.Retention {
			periods[p.Category+"/"+p.Rule] = p.Period
		}
		for k, want := range map[string]string{"identity/unconfirmed": "PT36H", "identity/no-purpose": "P90D", "consent-records/ledger-proof": "P1825D",
			"notice-records/notice-records": "P400D", "identity/open-account": ""} {
			if got, ok := periods[k]; !ok || got != want {
				t.Errorf("period of %s = %q (present %v); want %q", k, got, ok, want)
			}
		}
	})
	t.Run("the requests the caller fills are there", func(t *testing.T) {
		var raw struct {
			Requests []map[string]any `json:"requests"`
		}
		if err := json.Unmarshal(body, &raw); err != nil || len(raw.Requests) != 1 || raw.Requests[0]["status"] != "in-progress" {
			t.Fatalf("requests = %+v, %v", raw.Requests, err)
		}
	})
}

// The schema is strict: a property it does not name, a missing one or a
// malformed time fails, so that a field added to the document without the
// schema fails the test above.
func TestTheSchemaRefusesWhatItDoesNotDescribe(t *testing.T) {
	s, _ := freshTable(t)
	person(t, s, "bob", t0, true, people.Newsletter)
	_, body := exportJSON(t, s, "bob", t0.Add(time.Hour))
	for name, edit := range map[string]func(m map[string]any){
		"an unknown top-level property": func(m map[string]any) { m["extra"] = 1 },
		"an unknown profile property":   func(m map[string]any) { m["profile"].(map[string]any)["phone"] = "555" },
		"an unknown ledger property": func(m map[string]any) {
			m["consents"].([]any)[0].(map[string]any)["ip"] = "192.0.2.1"
		},
		"a missing purpose state": func(m map[string]any) { delete(m["purposes"].([]any)[0].(map[string]any), "state") },
		"a time that is not RFC 3339": func(m map[string]any) {
			m["generated"] = "4 January 2027"
		},
		"a period that is not ISO 8601": func(m map[string]any) {
			m["processing"].(map[string]any)["retention"].([]any)[1].(map[string]any)["period"] = "36h"
		},
		"another schema version": func(m map[string]any) { m["schemaVersion"] = 2 },
	} {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		bad, _ := json.Marshal(m)
		if err := exporttest.Validate(bad); err == nil {
			t.Errorf("%s validates", name)
		}
	}
}

func TestAnErasedPersonsExportHoldsTheLedgerKeptAsProofAndNoProfile(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "eve", t0, true, people.Newsletter, people.Testimonials)
	erased := t0.Add(time.Hour)
	if _, err := s.UpdatePerson(ctx, "eve", func(p people.Person) (people.Change, error) {
		return people.Change{Erase: &people.Erasure{Rule: people.RuleNoPurpose, At: erased, ProofClock: people.Clock{Rule: people.RuleLedgerProof, Due: erased.Add(r.LedgerProof)}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	doc, _ := exportJSON(t, s, "eve", t0.Add(2*time.Hour))
	if doc.Profile != nil || doc.Account != nil || doc.Erasure == nil || !doc.Erasure.Erased.Equal(erased) ||
		doc.Erasure.LedgerKeptUntil == nil || !doc.Erasure.LedgerKeptUntil.Due.Equal(erased.Add(r.LedgerProof)) {
		t.Fatalf("profile %+v, account %+v, erasure %+v", doc.Profile, doc.Account, doc.Erasure)
	}
	if len(doc.Consents) != 4 {
		t.Errorf("%d ledger entries; want the 2 grants and 2 confirmations kept as proof", len(doc.Consents))
	}
	states := map[string]string{}
	for _, p := range doc.Purposes {
		states[p.ID] = p.State
	}
	if want := map[string]string{"newsletter": "erased", "testimonials": "erased", "offers": "none", "surveys": "none"}; !maps.Equal(states, want) {
		t.Errorf("purpose states = %v; want %v", states, want)
	}
}

func TestAnAddressPledgeNeverHeardOfHasNoExportAndCostsOneQuery(t *testing.T) {
	s, _ := freshTable(t)
	moto.Calls.Reset()
	_, err := export.Exporter{Store: s, Facts: liveFacts(t)}.Export(context.Background(), "nobody", t0)
	if !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("err = %v; want people.ErrNotFound", err)
	}
	if got := moto.Calls.Counts(); !maps.Equal(got, map[string]int{"Query": 1}) {
		t.Fatalf("calls = %v", got)
	}
}

// addLedger appends n ledger entries to personID, 99 to a write (a
// transaction holds 100 items, the profile among them), alternating
// withdrawals and grants of the newsletter, through the store's one write
// path; it returns the time of the last.
func addLedger(t testing.TB, s *store.Store, personID string, n int, from time.Time) time.Time {
	t.Helper()
	at := from
	for written := 0; written < n; {
		batch := min(99, n-written)
		_, err := s.UpdatePerson(context.Background(), personID, func(p people.Person) (people.Change, error) {
			q := p
			at = later(at, p.UpdatedAt).Add(time.Second)
			q.UpdatedAt = at
			events := make([]people.ConsentEvent, 0, batch)
			for i := range batch {
				action := people.Grant
				if (written+i)%2 == 0 {
					action = people.Withdraw
				}
				events = append(events, people.NewEvents(personID, action, []people.Purpose{people.Newsletter}, at.Add(time.Duration(i)*time.Millisecond),
					people.Context{Source: "bench", PolicyVersion: "2015-03-22", IP: "keyed-0123", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}, people.RandomID)...)
			}
			return people.Change{After: &q, Events: r.WithProofClocks(events)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		written += batch
	}
	return at
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func TestAnExportOfAThousandLedgerEntriesHoldsThemAll(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "many", t0, true, people.Newsletter)
	addLedger(t, s, "many", 1000, t0.Add(time.Minute))
	ledger, err := s.Consents(ctx, "many")
	if err != nil || len(ledger) != 1002 {
		t.Fatalf("the ledger holds %d entries, %v; want 1,002", len(ledger), err)
	}
	moto.Calls.Reset()
	doc, body := exportJSON(t, s, "many", t0.Add(24*time.Hour))
	calls := moto.Calls.Counts()
	if len(doc.Consents) != len(ledger) {
		t.Fatalf("%d entries exported of %d", len(doc.Consents), len(ledger))
	}
	for i, e := range ledger {
		if doc.Consents[i].ID != e.ID {
			t.Fatalf("entry %d is %s; the ledger's is %s", i, doc.Consents[i].ID, e.ID)
		}
	}
	if calls["Scan"] != 0 || calls["Query"] < 2 || calls["BatchGetItem"] != 1 {
		t.Fatalf("calls = %v", calls)
	}
	t.Logf("1,002 entries: %d bytes of JSON, calls %v", len(body), calls)
}

// Holdings pages through a partition larger than one Query page (1 MB):
// nothing is lost between pages.
func TestHoldingsReadsEveryPageOfALargePartition(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 4,000 ledger entries")
	}
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "huge", t0, true, people.Newsletter)
	addLedger(t, s, "huge", 4000, t0.Add(time.Minute))
	moto.Calls.Reset()
	h, err := s.Holdings(ctx, "huge")
	if err != nil {
		t.Fatal(err)
	}
	calls := moto.Calls.Counts()
	ids := map[string]bool{}
	for _, e := range h.Consents {
		ids[e.ID] = true
	}
	if len(h.Consents) != 4002 || len(ids) != 4002 || h.Person == nil {
		t.Fatalf("%d entries (%d distinct), profile %v", len(h.Consents), len(ids), h.Person != nil)
	}
	if calls["Query"] < 3 {
		t.Fatalf("calls = %v; want the person's partition read in more than one page", calls)
	}
	t.Log(fmt.Sprint("4,002 entries: ", calls))
}

// An item under the person's partition that the export does not know is an
// error, not silently left out: everything held must be in the export.
func TestAnItemKindTheExportDoesNotKnowIsAnError(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	person(t, s, "kim", t0, false, people.Newsletter)
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "P#kim"}, "sk": &types.AttributeValueMemberS{Value: "NOTE#1"},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Holdings(ctx, "kim"); err == nil || !strings.Contains(err.Error(), `"NOTE"`) {
		t.Fatalf("err = %v; want one naming the unknown kind", err)
	}
}
