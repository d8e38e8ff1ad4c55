package people

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var fb0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

func subscriber(id string) Person {
	return Person{ID: id, Email: id + "@example.com", Status: Confirmed, Active: []Purpose{Newsletter, Offers}, Version: 1,
		CreatedAt: fb0.Add(-time.Hour), UpdatedAt: fb0.Add(-time.Hour)}
}

func feedbacks(st Store) *Feedbacks {
	n := 0
	return &Feedbacks{Store: st, Rule: DefaultBounceRule, NewID: func() string { n++; return fmt.Sprint("e", n) },
		Now: func() time.Time { return fb0.Add(time.Hour) }}
}

func bounceAt(typ string, d time.Duration) Feedback {
	return Feedback{Kind: FeedbackBounce, MessageID: "m" + d.String(), At: fb0.Add(d), MailKind: "newsletter", BounceType: typ}
}

func TestAPermanentBounceMakesThePersonUndeliverableOnceAndAConfirmClearsIt(t *testing.T) {
	st := newMemStore(subscriber("p"))
	st.people["p"] = func() Person {
		p := st.people["p"]
		p.Pending = []Purpose{Surveys}
		p.Links = []Link{{Nonce: "n1", Purposes: []Purpose{Surveys}, Issued: fb0, Expires: fb0.Add(48 * time.Hour)}}
		return p
	}()
	f := feedbacks(st)
	ctx := context.Background()
	if ok, err := f.Apply(ctx, "p", bounceAt("Permanent", time.Minute)); !ok || err != nil {
		t.Fatalf("permanent bounce = %v, %v", ok, err)
	}
	p := st.people["p"]
	if p.Deliverability.State != Undeliverable || !p.Deliverability.Since.Equal(fb0.Add(time.Minute)) || p.Deliverability.Reachable(fb0.Add(1000*time.Hour)) {
		t.Fatalf("after a permanent bounce: %+v", p.Deliverability)
	}
	if !reflect.DeepEqual(p.Active, []Purpose{Newsletter, Offers}) || len(st.events()) != 0 {
		t.Fatalf("a bounce changed consents: %+v, %+v", p.Active, st.events())
	}
	writes := len(st.changes)
	for _, dup := range []Feedback{bounceAt("Permanent", time.Minute), bounceAt("Transient", 0)} {
		if ok, err := f.Apply(ctx, "p", dup); ok || err != nil {
			t.Fatalf("a duplicate or older bounce %+v wrote (%v, %v)", dup, ok, err)
		}
	}
	if len(st.changes) != writes {
		t.Fatalf("%d writes after duplicates; want %d", len(st.changes), writes)
	}
	// A permanent bounce counts even after a later transient one.
	late := newMemStore(subscriber("l"))
	fl := feedbacks(late)
	fl.Apply(ctx, "l", bounceAt("Transient", time.Hour))
	if ok, err := fl.Apply(ctx, "l", bounceAt("Permanent", time.Minute)); !ok || err != nil || late.people["l"].Deliverability.State != Undeliverable {
		t.Fatalf("a permanent bounce that arrived late was lost: %v, %v, %+v", ok, err, late.people["l"].Deliverability)
	}
	svc := &Service{Store: st, Now: func() time.Time { return fb0.Add(2 * time.Hour) }, NewID: func() string { return "c" }, PersonID: func(s string) string { return s }}
	if out, err := svc.Confirm(ctx, "p", "n1", Context{Source: "confirm-link"}); err != nil || out != Activated {
		t.Fatalf("confirm = %v, %v", out, err)
	}
	if d := st.people["p"].Deliverability; d.State != Deliverable || !d.Reachable(fb0.Add(2*time.Hour)) {
		t.Fatalf("a confirm did not clear: %+v", d)
	}
	// A late bounce of a mail sent before the confirm changes nothing.
	if ok, _ := f.Apply(ctx, "p", bounceAt("Permanent", 90*time.Minute)); ok || st.people["p"].Deliverability.State != Deliverable {
		t.Fatalf("a bounce of a mail sent before the new sign-up counted: %+v", st.people["p"].Deliverability)
	}
}

func TestAComplaintStopsAllMarketingAsAComplaintWithdrawalButNotSpamAndNoticeComplaintsOnlyRecord(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(subscriber("p"), subscriber("q"), subscriber("r"))
	f := feedbacks(st)
	complaint := func(kind, typ string, d time.Duration) Feedback {
		return Feedback{Kind: FeedbackComplaint, MessageID: "c", At: fb0.Add(d), MailKind: kind, FeedbackType: typ}
	}
	if ok, err := f.Apply(ctx, "p", complaint("newsletter", "abuse", time.Minute)); !ok || err != nil {
		t.Fatalf("complaint = %v, %v", ok, err)
	}
	p := st.people["p"]
	if len(p.Active) != 0 || p.Status != Unsubscribed {
		t.Fatalf("after a complaint: %+v %s", p.Active, p.Status)
	}
	ev := st.events()
	if len(ev) != 1 || ev[0].Action != Withdraw || ev[0].Purpose != AllMarketing || ev[0].Source != ComplaintSource {
		t.Fatalf("ledger = %+v; want one all-marketing withdrawal from the complaint", ev)
	}
	if !reflect.DeepEqual(st.changes[0].Left, []Purpose{Newsletter, Offers}) {
		t.Fatalf("left %v", st.changes[0].Left)
	}
	if ok, _ := f.Apply(ctx, "p", complaint("newsletter", "abuse", time.Minute)); ok || len(st.changes) != 1 {
		t.Fatalf("a duplicate complaint wrote")
	}
	for id, c := range map[string]Feedback{"q": complaint("newsletter", "not-spam", time.Minute), "r": complaint("notice", "abuse", time.Minute)} {
		if ok, err := f.Apply(ctx, id, c); !ok || err != nil {
			t.Fatalf("%+v not recorded: %v, %v", c, ok, err)
		}
		got := st.people[id]
		// not-spam changes nothing; a complaint about a notice stops
		// marketing as any complaint does (the notices go on).
		if kept := reflect.DeepEqual(got.Active, []Purpose{Newsletter, Offers}); kept != (c.FeedbackType == "not-spam") {
			t.Fatalf("%+v left the person %+v", c, got)
		}
		// A complaint about a notice is recorded as a complaint; a
		// "not-spam" report is recorded apart: it is no complaint, and an
		// access export must not call it one.
		if d := got.Deliverability; c.FeedbackType == "not-spam" && (!d.LastNotSpam.Equal(c.At) || !d.LastComplaint.IsZero()) ||
			c.FeedbackType != "not-spam" && (!d.LastComplaint.Equal(c.At) || !d.LastNotSpam.IsZero()) {
			t.Fatalf("%+v recorded as %+v", c, d)
		}
	}
	if ev := st.events(); len(ev) != 2 || ev[1].Source != ComplaintSource || ev[1].Purpose != AllMarketing {
		t.Fatalf("ledger %+v; want p's withdrawal and r's (the complaint about a notice), none for q's not-spam", ev)
	}
}

func TestTransientBouncesRestTheAddressPastTheThresholdUnlessADeliveryResetsTheCount(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	delivery := func(d time.Duration) Feedback {
		return Feedback{Kind: FeedbackDelivery, At: fb0.Add(d), MailKind: "newsletter"}
	}

	st := newMemStore(subscriber("p"))
	f := feedbacks(st)
	for _, e := range []Feedback{bounceAt("Transient", 0), bounceAt("Transient", day), delivery(2 * day), bounceAt("Transient", 3*day), bounceAt("Transient", 4*day)} {
		if _, err := f.Apply(ctx, "p", e); err != nil {
			t.Fatal(err)
		}
	}
	if d := st.people["p"].Deliverability; d.State != Deliverable || len(d.Transient) != 2 {
		t.Fatalf("a delivery did not reset the count: %+v", d)
	}
	// The latest delivery is written once, even with nothing to reset (a
	// transient bounce older than it may still arrive and must not count);
	// its duplicate and an older delivery write nothing.
	fresh := newMemStore(subscriber("p"))
	ff := feedbacks(fresh)
	if ok, err := ff.Apply(ctx, "p", delivery(day)); !ok || err != nil || len(fresh.changes) != 1 {
		t.Fatalf("the latest delivery was not written: %v, %v, %d changes", ok, err, len(fresh.changes))
	}
	for _, e := range []Feedback{delivery(day), delivery(day - time.Hour)} {
		if ok, err := ff.Apply(ctx, "p", e); ok || err != nil || len(fresh.changes) != 1 {
			t.Fatalf("a duplicate or older delivery wrote: %v, %v, %d changes", ok, err, len(fresh.changes))
		}
	}
	if _, err := ff.Apply(ctx, "p", bounceAt("Transient", day-time.Minute)); err != nil || len(fresh.people["p"].Deliverability.Transient) != 0 {
		t.Fatalf("a transient bounce older than the delivery counted: %+v", fresh.people["p"].Deliverability)
	}
	// Out of the window: the first of three is 31 days before the third.
	st2 := newMemStore(subscriber("p"))
	f2 := feedbacks(st2)
	for _, e := range []Feedback{bounceAt("Transient", 0), bounceAt("Transient", 30*day), bounceAt("Transient", 31*day)} {
		f2.Apply(ctx, "p", e)
	}
	if d := st2.people["p"].Deliverability; d.State != Deliverable {
		t.Fatalf("a bounce out of the window counted: %+v", d)
	}
	f2.Apply(ctx, "p", bounceAt("Transient", 32*day))
	d := st2.people["p"].Deliverability
	if d.State != Resting || !d.Until.Equal(fb0.Add(32*day+DefaultBounceRule.Rest)) {
		t.Fatalf("three in the window did not rest the address: %+v", d)
	}
	if d.Reachable(fb0.Add(33*day)) || !d.Reachable(d.Until) {
		t.Fatalf("reachable during the rest or not after it: %+v", d)
	}
}

// The same events, shuffled and a tenth of them doubled, end in the same
// deliverability (every mark and the list of transient bounces), consents
// and ledger as the deduplicated events in time order: the outcome is a
// function of the set of events (issue 12).
func TestFeedbackIsIdempotentAndOrderFree(t *testing.T) {
	ctx := context.Background()
	hour := time.Hour
	var events []Feedback
	for i := range 8 {
		events = append(events, bounceAt("Transient", time.Duration(i)*10*hour))
	}
	events = append(events, Feedback{Kind: FeedbackDelivery, At: fb0.Add(15 * hour)},
		bounceAt("Undetermined", 45*hour),
		Feedback{Kind: FeedbackComplaint, At: fb0.Add(50 * hour), MailKind: "notice", FeedbackType: "abuse"},
		Feedback{Kind: FeedbackComplaint, At: fb0.Add(60 * hour), MailKind: "newsletter", FeedbackType: "not-spam"})
	type outcome struct {
		d       Deliverability
		active  []Purpose
		entries int
	}
	state := func(order []Feedback) outcome {
		st := newMemStore(subscriber("p"))
		f := feedbacks(st)
		for _, e := range order {
			if _, err := f.Apply(ctx, "p", e); err != nil {
				t.Fatal(err)
			}
		}
		return outcome{st.people["p"].Deliverability, st.people["p"].Active, len(st.events())}
	}
	withComplaint := append(slices.Clone(events), Feedback{Kind: FeedbackComplaint, At: fb0.Add(5 * hour), MailKind: "newsletter", FeedbackType: "abuse"})
	withPermanent := append(slices.Clone(events), bounceAt("Permanent", 25*hour), bounceAt("Permanent", 65*hour))
	for name, set := range map[string][]Feedback{"transients": events, "a complaint": withComplaint, "permanent bounces": withPermanent} {
		inOrder := slices.Clone(set)
		slices.SortStableFunc(inOrder, func(a, b Feedback) int { return a.At.Compare(b.At) })
		want := state(inOrder)
		switch name {
		case "transients": // the latest three after the delivery (50h, 60h, 70h) rest the address from 70h
			if want.d.State != Resting || !want.d.Since.Equal(fb0.Add(70*hour)) || len(want.d.Transient) != 3 {
				t.Fatalf("in order: %+v", want.d)
			}
		case "a complaint":
			if len(want.active) != 0 || want.entries != 1 {
				t.Fatalf("in order, the complaint did not stop marketing: %+v", want)
			}
		case "permanent bounces": // undeliverable from the earliest permanent bounce
			if want.d.State != Undeliverable || !want.d.Since.Equal(fb0.Add(25*hour)) || len(want.d.Transient) != 0 {
				t.Fatalf("in order: %+v", want.d)
			}
		}
		for seed := range uint64(50) {
			r := rand.New(rand.NewPCG(seed, 1))
			shuffled := slices.Clone(set)
			for _, e := range set {
				if r.IntN(10) == 0 {
					shuffled = append(shuffled, e)
				}
			}
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := state(shuffled)
			if !got.d.Equal(want.d) || !reflect.DeepEqual(got.active, want.active) || got.entries != want.entries {
				t.Fatalf("%s, seed %d: %+v; want %+v", name, seed, got, want)
			}
		}
	}
}

func TestFeedbackForSomeoneGoneIsNotFound(t *testing.T) {
	_, err := feedbacks(newMemStore()).Apply(context.Background(), "gone", bounceAt("Permanent", 0))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v; want ErrNotFound", err)
	}
}

// Issue 12, item 1: events find their person by the tags AND the event's
// recipient list. A bounce or complaint whose recipient is not the address
// of the person its tags name (a mail tagged for B but sent to A) changes
// nothing of B; the same address in another case or with spaces is B's.
func TestAnEventWhoseRecipientIsNotThePersonsAddressChangesNothing(t *testing.T) {
	st := newMemStore(subscriber("b"))
	f := feedbacks(st)
	ctx := context.Background()
	for _, e := range []Feedback{bounceAt("Permanent", time.Minute), bounceAt("Transient", time.Minute),
		{Kind: FeedbackComplaint, MessageID: "c", At: fb0.Add(time.Minute), MailKind: "newsletter", FeedbackType: "abuse"}} {
		e.Recipient = "a@example.com"
		if ok, err := f.Apply(ctx, "b", e); ok || !errors.Is(err, ErrNotRecipient) {
			t.Fatalf("a %s for a@ tagged for b = %v, %v; want ErrNotRecipient", e.Kind, ok, err)
		}
	}
	if p := st.people["b"]; !p.Deliverability.IsZero() || !reflect.DeepEqual(p.Active, []Purpose{Newsletter, Offers}) || len(st.changes) != 0 {
		t.Fatalf("b after events for another address: %+v, active %v, %d writes", p.Deliverability, p.Active, len(st.changes))
	}
	e := bounceAt("Permanent", time.Minute)
	e.Recipient = " B@Example.COM"
	if ok, err := f.Apply(ctx, "b", e); !ok || err != nil {
		t.Fatalf("a bounce for b's own address = %v, %v", ok, err)
	}
	if st.people["b"].Deliverability.State != Undeliverable {
		t.Fatalf("b after their own bounce: %+v", st.people["b"].Deliverability)
	}
}

// A complaint stops marketing, never the policy notices owed by law
// (issue 12, item 2): whatever mail it was about, the person stays a
// notice recipient our mail reaches.
func TestAComplainerIsStillToldOfPolicyChanges(t *testing.T) {
	st := newMemStore(subscriber("n"), subscriber("m"))
	f := feedbacks(st)
	for id, kind := range map[string]string{"n": "notice", "m": "newsletter"} {
		e := Feedback{Kind: FeedbackComplaint, MessageID: "c-" + id, At: fb0.Add(time.Minute), MailKind: kind, FeedbackType: "abuse"}
		if _, err := f.Apply(context.Background(), id, e); err != nil {
			t.Fatal(err)
		}
		p := st.people[id]
		if p.Deliverability.LastComplaint.IsZero() || !p.NoticeRecipient() || !p.Deliverability.Reachable(fb0.Add(2*time.Hour)) || len(p.Active) != 0 {
			t.Fatalf("after a complaint about a %s: recipient %v, reachable %v, %+v", kind, p.NoticeRecipient(), p.Deliverability.Reachable(fb0.Add(2*time.Hour)), p)
		}
	}
}
