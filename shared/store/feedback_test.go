package store_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// Each SES event is one consistent read and at most one write; a
// duplicate, an older event and an event for someone gone are a read.
func TestAMailEventIsOneReadAndAtMostOneWrite(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	earlier := t0.Add(-time.Hour)
	for _, id := range []string{"fb-bounce", "fb-complaint", "fb-transient"} {
		p := people.Person{ID: id, Email: id + "@example.com", Status: people.Confirmed, Active: []people.Purpose{people.Newsletter, people.Offers},
			CreatedAt: earlier, UpdatedAt: earlier}
		if err := s.Import(ctx, []store.Imported{{Person: p}}); err != nil {
			t.Fatal(err)
		}
	}
	f := &people.Feedbacks{Store: s, Rule: people.DefaultBounceRule, NewID: func() string { return "fb-" + time.Now().Format(time.RFC3339Nano) },
		Now: func() time.Time { return t0 }}
	sent := t0.Add(-30 * time.Minute)
	bounce := people.Feedback{Kind: people.FeedbackBounce, MessageID: "m1", At: sent, MailKind: "newsletter", BounceType: "Permanent"}
	complaint := people.Feedback{Kind: people.FeedbackComplaint, MessageID: "m2", At: sent, MailKind: "newsletter", FeedbackType: "abuse"}
	transient := people.Feedback{Kind: people.FeedbackBounce, MessageID: "m3", At: sent, MailKind: "newsletter", BounceType: "Transient"}
	delivery := people.Feedback{Kind: people.FeedbackDelivery, MessageID: "m4", At: sent.Add(time.Second), MailKind: "newsletter"}
	for _, c := range []struct {
		name, id string
		e        people.Feedback
		wrote    bool
		calls    map[string]int
	}{
		{"permanent bounce", "fb-bounce", bounce, true, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"its duplicate", "fb-bounce", bounce, false, map[string]int{"GetItem": 1}},
		{"complaint", "fb-complaint", complaint, true, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"its duplicate", "fb-complaint", complaint, false, map[string]int{"GetItem": 1}},
		{"transient bounce", "fb-transient", transient, true, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"delivery", "fb-transient", delivery, true, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"an older transient bounce", "fb-transient", transient, false, map[string]int{"GetItem": 1}},
		{"a later delivery with nothing to reset", "fb-transient", people.Feedback{Kind: people.FeedbackDelivery, MessageID: "m5", At: sent.Add(time.Minute)}, true, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"an older delivery", "fb-transient", delivery, false, map[string]int{"GetItem": 1}},
		{"a duplicate delivery", "fb-transient", people.Feedback{Kind: people.FeedbackDelivery, MessageID: "m5", At: sent.Add(time.Minute)}, false, map[string]int{"GetItem": 1}},
	} {
		moto.Calls.Reset()
		wrote, err := f.Apply(ctx, c.id, c.e)
		if err != nil || wrote != c.wrote {
			t.Fatalf("%s: wrote %v, %v; want %v", c.name, wrote, err, c.wrote)
		}
		if got := moto.Calls.Counts(); !maps.Equal(got, c.calls) {
			t.Errorf("%s made %v; want %v", c.name, got, c.calls)
		}
	}
	moto.Calls.Reset()
	if _, err := f.Apply(ctx, "fb-nobody", bounce); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("someone gone: %v", err)
	}
	if got := moto.Calls.Counts(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
		t.Errorf("someone gone made %v; want one read", got)
	}

	p, _ := s.Person(ctx, "fb-bounce")
	if d := p.Deliverability; d.State != people.Undeliverable || !d.Since.Equal(sent) || !d.LastBounce.Equal(sent) {
		t.Fatalf("stored deliverability = %+v", d)
	}
	if p, _ := s.Person(ctx, "fb-transient"); !p.Deliverability.LastDelivery.Equal(sent.Add(time.Minute)) || len(p.Deliverability.Transient) != 0 {
		t.Fatalf("stored after a delivery = %+v", p.Deliverability)
	}
	p, _ = s.Person(ctx, "fb-complaint")
	evs, _ := s.Consents(ctx, "fb-complaint")
	if p.Status != people.Unsubscribed || len(p.Active) != 0 || len(evs) != 1 || evs[0].Source != people.ComplaintSource || evs[0].Purpose != people.AllMarketing {
		t.Fatalf("after a complaint: %+v, ledger %+v", p, evs)
	}
	if ids, _, _ := s.Members(ctx, people.Newsletter, "", 1000); slices.Contains(ids, "fb-complaint") {
		t.Fatal("a complainant is still on the newsletter list")
	}
}
