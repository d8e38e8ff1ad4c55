package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// accountsOn records account events in s as the accounts function does; an
// address's id is its local part, as in the other store tests.
func accountsOn(s *store.Store, now *time.Time) *people.Accounts {
	return &people.Accounts{Store: s, Retention: r, MaxSkew: time.Minute, Now: func() time.Time { return *now },
		PersonID: func(email string) string { return strings.TrimSuffix(email, "@example.com") }}
}

func record(t *testing.T, a *people.Accounts, email, event string, at time.Time) people.AccountResult {
	t.Helper()
	res, err := a.Record(context.Background(), people.AccountInput{Email: email, Event: event, At: at.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAnAccountKeepsAPersonWhileOpenAndAYearAfterItCloses(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	now := t0
	a := accountsOn(s, &now)
	day := 24 * time.Hour

	// Signed up, never confirmed, then the product opens an account for the
	// address: the unconfirmed clock stops.
	person(t, s, "ann", t0, false, people.Newsletter)
	now = t0.Add(time.Hour)
	if res := record(t, a, "ann@example.com", "opened", now); !res.Changed || !res.Clock.IsZero() {
		t.Fatalf("opening = %+v", res)
	}
	if p, _ := s.Person(ctx, "ann"); p.Account.State != people.AccountOpen || !p.Account.At.Equal(now) {
		t.Fatalf("the person's account = %+v", p.Account)
	}
	if due, _, _ := s.DueEntries(ctx, t0.Add(7*day).Format("2006-01-02"), ""); len(due) != 0 {
		t.Fatalf("an open account left a clock running: %+v", due)
	}
	// Every write reads the person, so a second sign-up and a one-click
	// unsubscribe start no clock while the account is open.
	person(t, s, "ann", t0.Add(2*time.Hour), false, people.Offers)
	if !stopMarketing(t, s, "ann", t0.Add(3*time.Hour)) {
		t.Fatal("the one-click unsubscribe changed nothing")
	}
	if p, _ := s.Person(ctx, "ann"); !p.Clock.IsZero() {
		t.Fatalf("a write started a clock while the account is open: %+v", p.Clock)
	}
	sum, err := sweep(s).Run(ctx, t0.Add(100*day), false)
	if err != nil || len(sum.Erased) != 0 {
		t.Fatalf("a sweep over an open account = %+v, %v", sum, err)
	}
	if _, err := s.Person(ctx, "ann"); err != nil {
		t.Fatalf("a person with an open account was erased: %v", err)
	}

	// The account closes: the person goes a year after the closing, not before.
	closed := t0.Add(120 * day)
	now = closed.Add(time.Hour)
	res := record(t, a, "ann@example.com", "closed", closed)
	if want := (people.Clock{Rule: people.RuleClosedAccount, Due: closed.Add(r.ClosedAccount)}); res.Clock != want {
		t.Fatalf("closing = %+v, want clock %+v", res, want)
	}
	if sum, err := sweep(s).Run(ctx, closed.Add(r.ClosedAccount-day), false); err != nil || len(sum.Erased) != 0 {
		t.Fatalf("a day before the year is up: %+v, %v", sum, err)
	}
	sum, err = sweep(s).Run(ctx, closed.Add(r.ClosedAccount+day), false)
	if err != nil || sum.Erased[people.RuleClosedAccount] != 1 || sum.Failed != 0 {
		t.Fatalf("a year after closing = %+v, %v", sum, err)
	}
	if _, err := s.Person(ctx, "ann"); err != people.ErrNotFound {
		t.Fatalf("the closed account's person is still there: %v", err)
	}
	dump := scanText(t, table)
	if strings.Contains(dump, "ann@example.com") || strings.Contains(dump, "name=Jo") || strings.Contains(dump, "sk=P#ann") {
		t.Fatalf("after erasure the table still holds the person:\n%s", dump)
	}
	if !strings.Contains(dump, "#erased#closed-account") {
		t.Fatalf("no aggregate counter for the closed-account rule:\n%s", dump)
	}
}

func TestAnAccountReopenedBeforeTheSweepIsKept(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	now := t0.Add(3 * time.Hour)
	a := accountsOn(s, &now)
	record(t, a, "bo@example.com", "opened", t0)
	record(t, a, "bo@example.com", "closed", t0.Add(time.Hour))
	dueDay := t0.Add(time.Hour + r.ClosedAccount).Format("2006-01-02")
	stale, _, err := s.DueEntries(ctx, dueDay, "")
	if err != nil || len(stale) != 1 || stale[0].Rule != people.RuleClosedAccount {
		t.Fatalf("due entries = %+v, %v", stale, err)
	}
	// Reopened after the sweep read the index: the person read consistently
	// has no clock due, so nothing is erased.
	record(t, a, "bo@example.com", "opened", t0.Add(2*time.Hour))
	sw := sweep(s)
	sw.Store = staleIndex{s, dueDay, stale}
	if sum, err := sw.Run(ctx, t0.Add(r.ClosedAccount+48*time.Hour), false); err != nil || sum.Moved != 1 || len(sum.Erased) != 0 {
		t.Fatalf("a sweep after reopening = %+v, %v", sum, err)
	}
	if p, err := s.Person(ctx, "bo"); err != nil || p.Account.State != people.AccountOpen {
		t.Fatalf("the reopened account's person = %+v, %v", p, err)
	}
}

func TestAccountEventsAreIdempotentAndAClosedUnknownAddressWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	now := t0
	a := accountsOn(s, &now)
	before := scanText(t, table)
	if res := record(t, a, "stranger@example.com", "closed", t0); res.Changed || res.Held {
		t.Fatalf("closing an unknown address = %+v", res)
	}
	if scanText(t, table) != before {
		t.Fatal("closing the account of an unknown address wrote to the table")
	}
	// Opening creates the person, without a status of double opt-in, and
	// makes them a recipient of policy notices.
	calls := moto.Calls
	calls.Reset()
	record(t, a, "cy@example.com", "opened", t0)
	if got := calls.Counts(); got["GetItem"] != 1 || got["PutItem"] != 1 || len(got) != 2 {
		t.Fatalf("an account event made %v; want one read and one write", got)
	}
	after := scanText(t, table)
	calls.Reset()
	if res := record(t, a, "cy@example.com", "opened", t0); res.Changed {
		t.Fatalf("the same event again = %+v", res)
	}
	if got := calls.Counts(); got["GetItem"] != 1 || len(got) != 1 {
		t.Fatalf("a repeated account event made %v; want the read alone", got)
	}
	if res := record(t, a, "cy@example.com", "closed", t0.Add(-time.Hour)); res.Changed || res.State != people.AccountOpen {
		t.Fatalf("an older event = %+v", res)
	}
	if scanText(t, table) != after {
		t.Fatal("a repeated or older event changed the table")
	}
	p, err := s.Person(ctx, "cy")
	if err != nil || p.Email != "cy@example.com" || p.Status != "" || p.Version != 1 {
		t.Fatalf("the person = %+v, %v", p, err)
	}
	rs, _, err := s.Recipients(ctx, "", 10)
	if err != nil || len(rs) != 1 || rs[0].Email != "cy@example.com" {
		t.Fatalf("recipients = %+v, %v; want the account holder", rs, err)
	}
}

func TestAClosedAccountsClockRunsAgainWhenTheLastPurposeEnds(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	day := 24 * time.Hour
	now := t0.Add(time.Hour)
	a := accountsOn(s, &now)
	// A subscriber closes their account but keeps the newsletter: the
	// inactivity clock runs, as it is later than the closed account's.
	person(t, s, "dan", t0, true, people.Newsletter)
	if res := record(t, a, "dan@example.com", "closed", now); res.Clock.Rule != people.RuleInactive {
		t.Fatalf("closing with a newsletter kept = %+v", res)
	}
	// Ten months on they unsubscribe with one click; by then the closed
	// account's year is nearly over, and its clock runs again.
	stop := t0.Add(300 * day)
	if !stopMarketing(t, s, "dan", stop) {
		t.Fatal("the one-click unsubscribe changed nothing")
	}
	want := people.Clock{Rule: people.RuleClosedAccount, Due: now.Add(r.ClosedAccount)}
	if p, _ := s.Person(ctx, "dan"); p.Clock != want {
		t.Fatalf("after unsubscribing the clock = %+v; want the closed account's, %+v", p.Clock, want)
	}
	sum, err := sweep(s).Run(ctx, want.Due.Add(day), false)
	if err != nil || sum.Erased[people.RuleClosedAccount] != 1 {
		t.Fatalf("summary = %+v, %v; want the person erased a year after the closing", sum, err)
	}
	if _, err := s.Person(ctx, "dan"); err != people.ErrNotFound {
		t.Fatalf("the person is still there: %v", err)
	}
}

func TestImportKeepsAPersonsAccount(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	closed := t0.Add(-400 * 24 * time.Hour)
	acct := people.Account{State: people.AccountClosed, At: closed}
	p := people.Person{ID: "imp", Email: "imp@example.com", Status: people.Unsubscribed, Account: acct, CreatedAt: closed, UpdatedAt: closed}
	if err := s.Import(ctx, []store.Imported{{Person: p, Clock: r.PersonClock(p.Status, nil, acct, t0)}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Person(ctx, "imp")
	if err != nil || got.Account != acct {
		t.Fatalf("imported = %+v, %v", got, err)
	}
	sum, err := sweep(s).Run(ctx, t0, false)
	if err != nil || sum.Erased[people.RuleClosedAccount] != 1 {
		t.Fatalf("an account closed over a year before the import = %+v, %v; want it erased on the first sweep", sum, err)
	}
}
