package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
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

func signUp(id string, now time.Time, ps ...people.Purpose) people.SignUpRecord {
	c := people.Context{Source: "signup-form", PolicyVersion: "2015-03-22", IP: "192.0.2.1", UserAgent: "test"}
	return people.SignUpRecord{
		PersonID: id, Email: id + "@example.com", Name: "Jo", Purposes: ps, PolicyVersion: "2015-03-22",
		Events: people.NewEvents(id, people.Grant, ps, now, c, people.RandomID),
		Now:    now, MailAfter: now.Add(-10 * time.Minute),
	}
}

func TestSignUpCreatesThePersonAndLedgerTogether(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	claimed, err := s.SignUp(ctx, signUp("p1", t0, people.Newsletter, people.Surveys))
	if err != nil || !claimed {
		t.Fatalf("SignUp = %v, %v; want the mail slot claimed", claimed, err)
	}
	p, err := s.Person(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "p1@example.com" || p.Status != people.Unconfirmed || len(p.Active) != 0 ||
		!slices.Equal(p.Pending, []people.Purpose{people.Newsletter, people.Surveys}) || !p.ConfirmMailAt.Equal(t0) || p.Version != 1 {
		t.Fatalf("person = %+v", p)
	}
	evs, err := s.Consents(ctx, "p1")
	if err != nil || len(evs) != 2 {
		t.Fatalf("ledger = %+v, %v", evs, err)
	}
	e := evs[0]
	if e.Action != people.Grant || e.Source != "signup-form" || e.IP != "192.0.2.1" || e.UserAgent != "test" ||
		e.PolicyVersion != "2015-03-22" || e.TextHash != e.Purpose.ConsentTextHash() || !e.At.Equal(t0) {
		t.Fatalf("ledger entry = %+v", e)
	}
}

func TestASecondSignUpWithinTheIntervalClaimsNoMailButIsRecorded(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	if claimed, err := s.SignUp(ctx, signUp("p2", t0, people.Newsletter)); err != nil || !claimed {
		t.Fatalf("first SignUp = %v, %v", claimed, err)
	}
	if claimed, err := s.SignUp(ctx, signUp("p2", t0.Add(9*time.Minute), people.Offers)); err != nil || claimed {
		t.Fatalf("second SignUp within 10 minutes = %v, %v; want recorded, not claimed", claimed, err)
	}
	p, _ := s.Person(ctx, "p2")
	if !slices.Equal(p.Pending, []people.Purpose{people.Newsletter, people.Offers}) || !p.ConfirmMailAt.Equal(t0) || !p.CreatedAt.Equal(t0) {
		t.Fatalf("person after the second sign-up = %+v", p)
	}
	if evs, _ := s.Consents(ctx, "p2"); len(evs) != 2 {
		t.Fatalf("ledger has %d entries, want 2", len(evs))
	}
	if claimed, err := s.SignUp(ctx, signUp("p2", t0.Add(11*time.Minute), people.Offers)); err != nil || !claimed {
		t.Fatalf("SignUp after 11 minutes = %v, %v; want the slot claimed again", claimed, err)
	}
}

func TestReleaseConfirmMailFreesOnlyItsOwnClaim(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	s.SignUp(ctx, signUp("p3", t0, people.Newsletter))
	if err := s.ReleaseConfirmMail(ctx, "p3", t0.Add(time.Second)); err != nil {
		t.Fatalf("releasing someone else's claim: %v", err)
	}
	if p, _ := s.Person(ctx, "p3"); !p.ConfirmMailAt.Equal(t0) {
		t.Fatalf("a stale release cleared the claim: %+v", p)
	}
	if err := s.ReleaseConfirmMail(ctx, "p3", t0); err != nil {
		t.Fatal(err)
	}
	if claimed, _ := s.SignUp(ctx, signUp("p3", t0.Add(time.Minute), people.Newsletter)); !claimed {
		t.Fatal("after a release the next sign-up could not claim the mail slot")
	}
}

func confirmAll(t *testing.T, s *store.Store, id string, at time.Time) people.Person {
	t.Helper()
	p, err := s.Person(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ChangeConsent(context.Background(), p, people.ConsentChange{
		Active: p.Pending, Status: people.Confirmed, Joined: p.Pending, Now: at,
		Events: people.NewEvents(id, people.Confirm, p.Pending, at, people.Context{Source: "confirm-link"}, people.RandomID),
		Clock:  people.DefaultRetention.PersonClock(people.Confirmed, p.Pending, p.Account, at),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, _ = s.Person(context.Background(), id)
	return p
}

func TestChangeConsentAppliesOnceAndRefusesAStaleVersion(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	s.SignUp(ctx, signUp("p4", t0, people.Newsletter, people.Testimonials))
	before, _ := s.Person(ctx, "p4")
	got := confirmAll(t, s, "p4", t0.Add(time.Hour))
	if got.Status != people.Confirmed || !slices.Equal(got.Active, []people.Purpose{people.Newsletter, people.Testimonials}) ||
		len(got.Pending) != 0 || !got.ConfirmedAt.Equal(t0.Add(time.Hour)) || got.Version != before.Version+1 {
		t.Fatalf("after confirming = %+v", got)
	}
	err := s.ChangeConsent(ctx, before, people.ConsentChange{Status: people.Unsubscribed, Now: t0.Add(2 * time.Hour)})
	if !errors.Is(err, people.ErrConflict) {
		t.Fatalf("ChangeConsent at a stale version = %v, want ErrConflict", err)
	}
	if ledger, _ := s.Consents(ctx, "p4"); len(ledger) != 4 {
		t.Fatalf("ledger has %d entries, want 2 grants and 2 confirms", len(ledger))
	}
	if ids, _, _ := s.Members(ctx, people.Newsletter, "", 100); !slices.Contains(ids, "p4") {
		t.Fatalf("newsletter members = %v, want p4 among them", ids)
	}
}

func TestStopMarketingIsOneWriteThatHappensOnce(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	s.SignUp(ctx, signUp("p6", t0, people.Newsletter, people.Offers, people.Testimonials))
	confirmAll(t, s, "p6", t0)
	s.SignUp(ctx, signUp("p6", t0.Add(time.Hour), people.Surveys)) // pending
	e := people.NewEvents("p6", people.Withdraw, []people.Purpose{people.AllMarketing}, t0.Add(2*time.Hour), people.Context{Source: "one-click"}, people.RandomID)[0]

	clock := people.DefaultRetention.PersonClock(people.Unsubscribed, nil, people.Account{}, t0)
	changed, err := s.StopMarketing(ctx, "p6", e, clock)
	if err != nil || !changed {
		t.Fatalf("StopMarketing = %v, %v", changed, err)
	}
	p, _ := s.Person(ctx, "p6")
	if p.Status != people.Unsubscribed || !slices.Equal(p.Active, []people.Purpose{people.Testimonials}) || len(p.Pending) != 0 {
		t.Fatalf("after StopMarketing = %+v; want only the testimonial consent left", p)
	}
	for _, q := range people.MarketingPurposes {
		if ids, _, _ := s.Members(ctx, q, "", 100); slices.Contains(ids, "p6") {
			t.Errorf("p6 is still on the %s list", q)
		}
	}
	e.ID = people.RandomID()
	if changed, err := s.StopMarketing(ctx, "p6", e, clock); err != nil || changed {
		t.Fatalf("a second StopMarketing = %v, %v; want no change", changed, err)
	}
	if changed, err := s.StopMarketing(ctx, "nobody", e, clock); err != nil || changed {
		t.Fatalf("StopMarketing for nobody = %v, %v; want no change", changed, err)
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
		id := fmt.Sprintf("m%d", i)
		s.SignUp(ctx, signUp(id, t0, people.Offers))
		confirmAll(t, s, id, t0)
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

func TestConcurrentSignUpsClaimTheMailSlotOnce(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	id := "p5-" + people.RandomID() // a fresh person on every run
	var wg sync.WaitGroup
	var mu sync.Mutex
	claims, failures := 0, 0
	for i := range 8 {
		wg.Go(func() {
			claimed, err := s.SignUp(ctx, signUp(id, t0.Add(time.Duration(i)*time.Millisecond), people.Newsletter))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures++
			} else if claimed {
				claims++
			}
		})
	}
	wg.Wait()
	if claims != 1 {
		t.Fatalf("%d concurrent sign-ups claimed the mail slot %d times (%d failed), want once", 8, claims, failures)
	}
}
