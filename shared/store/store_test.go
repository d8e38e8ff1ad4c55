package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

var (
	db    *dynamodb.Client
	moto  *localstack.Emulator
	table = "pledge-store-test"
)

// TestMain runs the tests against moto_server with the table template.yaml
// declares.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		root, err := localstack.Root()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		moto, err = localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/store-test"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer moto.Stop()
		db = moto.DynamoDBClient()
		tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
		if err == nil {
			err = localstack.CreateTable(ctx, db, tmpl, "Table", table)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestSignUpCreatesThePersonAndLedgerTogether(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	if res := w.signUp(t, "p1", people.Newsletter, people.Surveys); !res.MailSent {
		t.Fatalf("SignUp = %+v; want the confirmation mail sent", res)
	}
	p, err := s.Person(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "p1@example.com" || p.Status != people.Unconfirmed || len(p.Active) != 0 ||
		!slices.Equal(p.Pending, []people.Purpose{people.Newsletter, people.Surveys}) || !p.ConfirmMailAt.Equal(t0) || p.Version != 1 ||
		p.Clock != (people.Clock{Rule: people.RuleUnconfirmed, Due: t0.Add(r.Unconfirmed)}) {
		t.Fatalf("person = %+v", p)
	}
	evs, err := s.Consents(ctx, "p1")
	if err != nil || len(evs) != 2 {
		t.Fatalf("ledger = %+v, %v", evs, err)
	}
	e := evs[0]
	if e.Action != people.Grant || e.Source != "signup-form" || e.IP != keyed("ip:192.0.2.1") || e.UserAgent != "test" ||
		e.PolicyVersion != "2015-03-22" || e.TextHash != e.Purpose.ConsentTextHash() || !e.At.Equal(t0) {
		t.Fatalf("ledger entry = %+v", e)
	}
}

func TestASecondSignUpWithinTheIntervalIsMailedOnlyForWhatNoLiveLinkCovers(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	if res := w.signUp(t, "p2", people.Newsletter); !res.MailSent {
		t.Fatalf("first SignUp = %+v", res)
	}
	w.now = t0.Add(5 * time.Minute)
	if res := w.signUp(t, "p2", people.Surveys); !res.MailSent {
		t.Fatalf("a sign-up for a new purpose within 10 minutes = %+v; want its own mail", res)
	}
	w.now = t0.Add(9 * time.Minute)
	if res := w.signUp(t, "p2", people.Surveys, people.Newsletter); res.MailSent {
		t.Fatalf("a sign-up covered by live links within 10 minutes = %+v; want recorded, not mailed", res)
	}
	p, _ := s.Person(ctx, "p2")
	if !slices.Equal(p.Pending, []people.Purpose{people.Newsletter, people.Surveys}) || !p.ConfirmMailAt.Equal(t0.Add(5*time.Minute)) || !p.CreatedAt.Equal(t0) ||
		p.Clock.Due != t0.Add(r.Unconfirmed) || len(p.Links) != 2 || p.Links[0].Nonce == p.Links[1].Nonce ||
		!slices.Equal(p.Links[1].Purposes, []people.Purpose{people.Surveys}) || p.Links[1].Name != "Jo" || !p.Links[1].Expires.Equal(t0.Add(5*time.Minute+48*time.Hour)) {
		t.Fatalf("person after three sign-ups = %+v; want both pending, two live links, the last mail's time and the first clock", p)
	}
	if p.Name != "" {
		t.Fatalf("an unconfirmed sign-up's name %q is the person's before the button", p.Name)
	}
	if evs, _ := s.Consents(ctx, "p2"); len(evs) != 4 {
		t.Fatalf("ledger has %d entries, want 4", len(evs))
	}
	w.now = t0.Add(16 * time.Minute)
	if res := w.signUp(t, "p2", people.Surveys); !res.MailSent {
		t.Fatalf("SignUp after the interval = %+v; want a mail again", res)
	}
	if w.confirm(t, "p2", people.Surveys) != people.Activated || w.confirm(t, "p2", people.Newsletter) != people.Activated {
		t.Fatal("the live links did not confirm")
	}
	if p, _ := s.Person(ctx, "p2"); p.Name != "Jo" || !slices.Equal(p.Active, []people.Purpose{people.Newsletter, people.Surveys}) || len(p.Links) != 1 {
		t.Fatalf("after pressing two links = %+v; want the name and both purposes confirmed, one unused link left", p)
	}
}

// failingMailer fails every send.
type failingMailer struct{}

func (failingMailer) SendConfirmation(context.Context, people.ConfirmationMail) error {
	return errors.New("ses: throttled")
}

func TestAFailedSendReleasesTheMailSlotAndKeepsTheSignUp(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	svc := w.service()
	svc.Mailer = failingMailer{}
	if _, err := svc.SignUp(ctx, people.SignUpInput{Email: "p3@example.com", Purposes: []string{"newsletter"}, PolicyVersion: "2015-03-22",
		Context: people.Context{Source: "signup-form"}}); err == nil {
		t.Fatal("a failed send was not reported")
	}
	if p, err := s.Person(ctx, "p3"); err != nil || !p.ConfirmMailAt.IsZero() || !slices.Equal(p.Pending, []people.Purpose{people.Newsletter}) {
		t.Fatalf("after a failed send = %+v, %v; want the sign-up kept and the mail slot free", p, err)
	}
	w.now = t0.Add(time.Minute)
	if res := w.signUp(t, "p3", people.Newsletter); !res.MailSent {
		t.Fatal("after a release the next sign-up could not send the mail")
	}
}

func TestConfirmAppliesOnceAndJoinsTheList(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	w.signUp(t, "p4", people.Newsletter, people.Testimonials)
	before, _ := s.Person(ctx, "p4")
	w.now = t0.Add(time.Hour)
	if out := w.confirm(t, "p4", people.Newsletter, people.Testimonials); out != people.Activated {
		t.Fatalf("confirm = %v", out)
	}
	got, _ := s.Person(ctx, "p4")
	if got.Status != people.Confirmed || !slices.Equal(got.Active, []people.Purpose{people.Newsletter, people.Testimonials}) ||
		len(got.Pending) != 0 || !got.ConfirmedAt.Equal(t0.Add(time.Hour)) || got.Version != before.Version+1 || got.Clock.Rule != people.RuleInactive {
		t.Fatalf("after confirming = %+v", got)
	}
	if out := w.confirm(t, "p4", people.Newsletter); out != people.AlreadyUsed {
		t.Fatalf("a second press = %v, want AlreadyUsed", out)
	}
	if after, _ := s.Person(ctx, "p4"); after.Version != got.Version {
		t.Fatal("a second press wrote the person again")
	}
	if ledger, _ := s.Consents(ctx, "p4"); len(ledger) != 4 {
		t.Fatalf("ledger has %d entries, want 2 grants and 2 confirms", len(ledger))
	}
	if ids, _, _ := s.Members(ctx, people.Newsletter, "", 100); !slices.Contains(ids, "p4") {
		t.Fatalf("newsletter members = %v, want p4 among them", ids)
	}
}

func TestAWriteInBetweenIsReadAgainAndDecidedAgainNotLost(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	w.signUp(t, "race", people.Newsletter)
	decided := 0
	_, err := s.UpdatePerson(ctx, "race", func(p people.Person) (people.Change, error) {
		decided++
		if decided == 1 {
			// Another request confirms the newsletter between our read and our write.
			w.confirm(t, "race", people.Newsletter)
		}
		q := p
		q.Name, q.UpdatedAt = fmt.Sprintf("decided on version %d", p.Version), p.UpdatedAt.Add(time.Second)
		return people.Change{After: &q}, nil
	})
	if err != nil || decided != 2 {
		t.Fatalf("UpdatePerson = %v after %d decisions; want the lost race decided again once", err, decided)
	}
	p, _ := s.Person(ctx, "race")
	if p.Name != "decided on version 2" || !p.Has(people.Newsletter) || p.Version != 3 {
		t.Fatalf("person = %+v; want both writes, the second decided on what the first wrote", p)
	}
}

func TestStopMarketingHappensOnceAndLeavesTestimonials(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	w.signUp(t, "p6", people.Newsletter, people.Offers, people.Testimonials)
	w.confirm(t, "p6", people.Newsletter, people.Offers, people.Testimonials)
	w.now = t0.Add(time.Hour)
	w.signUp(t, "p6", people.Surveys) // pending
	w.now = t0.Add(2 * time.Hour)
	if !w.stopMarketing(t, "p6") {
		t.Fatal("StopMarketing changed nothing")
	}
	p, _ := s.Person(ctx, "p6")
	if p.Status != people.Unsubscribed || !slices.Equal(p.Active, []people.Purpose{people.Testimonials}) || len(p.Pending) != 0 ||
		p.Clock.Rule != people.RuleInactive {
		t.Fatalf("after StopMarketing = %+v; want only the testimonial consent left, and its clock", p)
	}
	for _, q := range people.MarketingPurposes {
		if ids, _, _ := s.Members(ctx, q, "", 100); slices.Contains(ids, "p6") {
			t.Errorf("p6 is still on the %s list", q)
		}
	}
	if w.stopMarketing(t, "p6") {
		t.Fatal("a second StopMarketing changed something")
	}
	if w.stopMarketing(t, "nobody") {
		t.Fatal("StopMarketing for nobody changed something")
	}
	if _, err := s.Person(ctx, "nobody"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("StopMarketing for nobody created them: %v", err)
	}
	ledger, _ := s.Consents(ctx, "p6")
	withdrawals := 0
	for _, le := range ledger {
		if le.Action == people.Withdraw {
			withdrawals++
		}
	}
	if withdrawals != 1 {
		t.Fatalf("%d withdrawals in the ledger, want 1", withdrawals)
	}
}

func TestMembersPagesThroughAList(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	for i := range 7 {
		person(t, s, fmt.Sprintf("m%d", i), t0, true, people.Offers)
	}
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		ids, next, err := s.Members(ctx, people.Offers, cursor, 3)
		if err != nil || pages > 5 {
			t.Fatalf("Members: %v after %d pages", err, pages)
		}
		all = append(all, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(all)
	if strings.Join(all, ",") != "m0,m1,m2,m3,m4,m5,m6" {
		t.Fatalf("members = %v", all)
	}
}

func TestPersonNotFound(t *testing.T) {
	if _, err := store.New(db, table).Person(context.Background(), "nobody"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("Person(nobody) = %v", err)
	}
}

func TestConcurrentSignUpsAreAllRecordedAndMailOnce(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	w := newWorld(s, t0)
	id := "p5-" + strings.ToLower(people.RandomID()) // a fresh person on every run
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 8 {
		wg.Go(func() {
			_, err := w.service().SignUp(ctx, people.SignUpInput{Email: id + "@example.com", Purposes: []string{string(people.Purposes[i%3])},
				PolicyVersion: "2015-03-22", Context: people.Context{Source: "signup-form"}})
			if err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	p, _ := s.Person(ctx, id)
	// Each purpose is mailed once, in the first link that names it; a
	// sign-up whose purpose a live link covers is recorded without a mail.
	mailed := map[people.Purpose]int{}
	for _, m := range w.mails {
		for _, q := range m.Purposes {
			mailed[q]++
		}
	}
	if len(w.mails) != 3 || failures.Load() != 0 || len(p.Pending) != 3 || len(p.Links) != 3 || mailed[people.Newsletter] != 1 || mailed[people.Offers] != 1 || mailed[people.Surveys] != 1 {
		t.Fatalf("8 concurrent sign-ups for 3 purposes: %d mails (%v), %d failed, pending %v; want one mail per purpose, none failed, every purpose recorded",
			len(w.mails), mailed, failures.Load(), p.Pending)
	}
}

func TestLostRacesAndThrottlingAreRetriedAndPastTheBoundTheAnswerIsBusy(t *testing.T) {
	ctx := context.Background()
	// A client that gives throttling up at once, as the SDK does after its
	// own retries (which take seconds), and a short retry bound.
	impatient := dynamodb.NewFromConfig(localstack.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts = aws.String(moto.URL), 1
	})
	s := store.New(impatient, table).WithRetry(store.Retry{Attempts: 4, Base: time.Millisecond, Cap: 5 * time.Millisecond})
	w := newWorld(s, t0)
	w.signUp(t, "busy", people.Newsletter)
	before, _ := s.Person(ctx, "busy")

	// Every write answered as DynamoDB answers under contention: a
	// transaction cancelled by a conflict, a put throttled past the SDK's retries.
	always := localstack.NewFaults(1, 1)
	moto.Calls.InjectFaults(always)
	_, confirmErr := w.service().Confirm(ctx, "busy", w.nonce(t, "busy"), people.Context{Source: "confirm-link"})
	_, accountErr := (&people.Accounts{Store: s, PersonID: keyed, Now: w.clock, Retention: r, MaxSkew: time.Minute}).
		Record(ctx, people.AccountInput{Email: "busy@example.com", Event: "opened", At: t0.Format(time.RFC3339)})
	moto.Calls.InjectFaults(nil)
	if !errors.Is(confirmErr, people.ErrBusy) || !errors.Is(accountErr, people.ErrBusy) {
		t.Fatalf("confirm = %v, account event = %v; want both busy past the bound", confirmErr, accountErr)
	}
	if c := always.Counts(); c[localstack.FaultTransactionConflict] != 4 || c[localstack.FaultThrottling]+c[localstack.FaultThroughputExceeded] != 4 {
		t.Fatalf("faults answered %v; want one per round of each change, 4 conflicts and 4 throttles", c)
	}
	if after, _ := s.Person(ctx, "busy"); after.Version != before.Version || after.Has(people.Newsletter) || after.Account.State != people.NoAccount {
		t.Fatalf("a change that stayed busy wrote %+v", after)
	}

	// Half of the writes faulted: the rounds get past them.
	half := localstack.NewFaults(0.5, 7)
	moto.Calls.InjectFaults(half)
	out, err := w.service().Confirm(ctx, "busy", w.nonce(t, "busy"), people.Context{Source: "confirm-link"})
	moto.Calls.InjectFaults(nil)
	if err != nil || out != people.Activated {
		t.Fatalf("confirm with half the writes faulted = %v, %v (faults %v)", out, err, half.Counts())
	}
	if ledger, _ := s.Consents(ctx, "busy"); len(ledger) != 2 {
		t.Fatalf("ledger has %d entries; want the grant and one confirm, written once", len(ledger))
	}

	// Every answer lost after the write was done (a 500): the next round
	// reads the change there, and finds nothing left to do.
	lost := localstack.NewFaults(0, 3).LoseAnswers(1)
	moto.Calls.InjectFaults(lost)
	w.now = t0.Add(time.Hour)
	stopped, err := w.subscriptions().StopMarketing(ctx, "busy", people.Context{Source: "one-click"})
	moto.Calls.InjectFaults(nil)
	if err != nil || lost.Counts()[localstack.FaultLostAnswer] == 0 {
		t.Fatalf("one-click with its answer lost = %v, %v (faults %v); want it done, no error", stopped, err, lost.Counts())
	}
	p, _ := s.Person(ctx, "busy")
	withdrawals := 0
	ledger, _ := s.Consents(ctx, "busy")
	for _, e := range ledger {
		if e.Action == people.Withdraw {
			withdrawals++
		}
	}
	if p.Status != people.Unsubscribed || withdrawals != 1 {
		t.Fatalf("after a lost answer: %+v, %d withdrawals; want unsubscribed once", p, withdrawals)
	}
}

func TestAOneClickIsOneWriteForASubscriberAndReadsForAnyoneElse(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	earlier := t0.Add(-time.Hour)
	cases := []struct {
		id    string
		p     people.Person
		calls map[string]int
		want  people.Person // status, active, pending, clock rule afterwards
	}{
		{"oc-subscriber", people.Person{Status: people.Confirmed, Active: []people.Purpose{people.Newsletter, people.Offers}, Pending: []people.Purpose{people.Testimonials}},
			map[string]int{"TransactWriteItems": 1},
			people.Person{Status: people.Unsubscribed, Pending: []people.Purpose{people.Testimonials}, Clock: people.Clock{Rule: people.RuleNoPurpose}}},
		{"oc-testimonial", people.Person{Status: people.Confirmed, Active: []people.Purpose{people.Newsletter, people.Testimonials}},
			map[string]int{"TransactWriteItems": 2, "GetItem": 1},
			people.Person{Status: people.Unsubscribed, Active: []people.Purpose{people.Testimonials}, Clock: people.Clock{Rule: people.RuleInactive}}},
		{"oc-account", people.Person{Status: people.Confirmed, Active: []people.Purpose{people.Surveys}, Account: people.Account{State: people.AccountOpen, At: earlier}},
			map[string]int{"TransactWriteItems": 2, "GetItem": 1},
			people.Person{Status: people.Unsubscribed}},
		{"oc-unsubscribed", people.Person{Status: people.Unsubscribed},
			map[string]int{"TransactWriteItems": 1, "GetItem": 1},
			people.Person{Status: people.Unsubscribed}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			c.p.ID, c.p.Email, c.p.CreatedAt, c.p.UpdatedAt = c.id, c.id+"@example.com", earlier, earlier
			if err := s.Import(ctx, []store.Imported{{Person: c.p}}); err != nil {
				t.Fatal(err)
			}
			moto.Calls.Reset()
			stopMarketing(t, s, c.id, t0)
			if got := moto.Calls.Counts(); !maps.Equal(got, c.calls) {
				t.Errorf("one-click made %v; want %v", got, c.calls)
			}
			p, _ := s.Person(ctx, c.id)
			if p.Status != c.want.Status || !slices.Equal(p.Active, c.want.Active) || !slices.Equal(p.Pending, c.want.Pending) || p.Clock.Rule != c.want.Clock.Rule {
				t.Fatalf("after one-click = %+v; want status %s, active %v, pending %v, clock %q", p, c.want.Status, c.want.Active, c.want.Pending, c.want.Clock.Rule)
			}
			if ids, _, _ := s.Members(ctx, people.Newsletter, "", 1000); slices.Contains(ids, c.id) {
				t.Fatal("still on the newsletter list")
			}
		})
	}
	rs, _, _ := s.Recipients(ctx, "", 1000)
	if !slices.ContainsFunc(rs, func(r notice.Recipient) bool { return r.ID == "oc-subscriber" }) {
		t.Fatal("an unsubscribed subscriber is no longer told of policy changes")
	}
}
