package people

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	clockNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day      = 24 * time.Hour
)

func TestThePersonClockFollowsTheAccount(t *testing.T) {
	r := DefaultRetention
	closedAgo := func(d time.Duration) Account { return Account{AccountClosed, clockNow.Add(-d)} }
	short := r
	short.Inactive = 200 * day // shorter than a closed account is kept
	cases := []struct {
		name   string
		r      Retention
		status Status
		active []Purpose
		acct   Account
		want   Clock
	}{
		{"no account, unconfirmed: gone after a week", r, Unconfirmed, nil, Account{}, Clock{RuleUnconfirmed, clockNow.Add(7 * day)}},
		{"no account, no purpose: gone after 90 days", r, Unsubscribed, nil, Account{}, Clock{RuleNoPurpose, clockNow.Add(90 * day)}},
		{"no account, a purpose: gone after 3 years without activity", r, Confirmed, []Purpose{Newsletter}, Account{}, Clock{RuleInactive, clockNow.Add(3 * 365 * day)}},
		{"an open account keeps an unconfirmed person", r, Unconfirmed, nil, Account{AccountOpen, clockNow}, Clock{}},
		{"an open account keeps a person with no purpose", r, Unsubscribed, nil, Account{AccountOpen, clockNow}, Clock{}},
		{"an open account keeps a subscriber", r, Confirmed, []Purpose{Offers}, Account{AccountOpen, clockNow}, Clock{}},
		{"a closed account goes a year after closing, not 90 days after the change", r, Unsubscribed, nil, closedAgo(30 * day), Clock{RuleClosedAccount, clockNow.Add(335 * day)}},
		{"an account closed over a year ago is due now, not on a day already swept", r, Unsubscribed, nil, closedAgo(400 * day), Clock{RuleClosedAccount, clockNow}},
		{"a closed account of an unconfirmed sign-up goes a year after closing", r, Unconfirmed, nil, closedAgo(0), Clock{RuleClosedAccount, clockNow.Add(365 * day)}},
		{"a closed account with a newsletter kept goes when the newsletter would", r, Confirmed, []Purpose{Newsletter}, closedAgo(day), Clock{RuleInactive, clockNow.Add(3 * 365 * day)}},
		{"a closed account outlasts a shorter inactivity period", short, Confirmed, []Purpose{Newsletter}, closedAgo(day), Clock{RuleClosedAccount, clockNow.Add(364 * day)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.PersonClock(c.status, c.active, c.acct, clockNow); got != c.want {
				t.Fatalf("PersonClock = %+v, want %+v", got, c.want)
			}
		})
	}
}

func accounts(s *memStore) *Accounts {
	return &Accounts{Store: s, PersonID: func(e string) string { return "id:" + e }, Now: func() time.Time { return clockNow },
		Retention: DefaultRetention, MaxSkew: 5 * time.Minute}
}

func TestAccountEventsMoveTheClockOnceAndInOrder(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(Person{ID: "id:sub@example.com", Email: "sub@example.com", Status: Confirmed, Active: []Purpose{Newsletter}, Version: 3})
	a := accounts(s)
	at := func(d time.Duration) string { return clockNow.Add(-d).Format(time.RFC3339) }

	t.Run("closing the account of an unknown address writes nothing", func(t *testing.T) {
		res, err := a.Record(ctx, AccountInput{Email: "nobody@example.com", Event: "closed", At: at(day)})
		if err != nil || res.Changed || res.Held || len(s.changes) != 0 {
			t.Fatalf("Record = %+v, %v; changes %d", res, err, len(s.changes))
		}
	})
	t.Run("opening an account adds the person, with no clock running", func(t *testing.T) {
		res, err := a.Record(ctx, AccountInput{Email: " New@Example.com ", Name: "Nia New", Event: "opened", At: at(10 * day)})
		if err != nil || !res.Changed || res.State != AccountOpen || !res.Clock.IsZero() {
			t.Fatalf("Record = %+v, %v", res, err)
		}
		p := s.people["id:new@example.com"]
		if p.Email != "new@example.com" || p.Name != "Nia New" || p.Account.State != AccountOpen || !p.Account.At.Equal(clockNow.Add(-10*day)) {
			t.Fatalf("the person = %+v", p)
		}
	})
	t.Run("closing it starts the closed-account clock from the closing", func(t *testing.T) {
		res, err := a.Record(ctx, AccountInput{Email: "new@example.com", Event: "closed", At: at(2 * day)})
		want := Clock{RuleClosedAccount, clockNow.Add(-2 * day).Add(365 * day)}
		if err != nil || !res.Changed || res.State != AccountClosed || res.Clock != want {
			t.Fatalf("Record = %+v, %v; want clock %+v", res, err, want)
		}
	})
	t.Run("the same event again, or an older one, changes nothing", func(t *testing.T) {
		before := len(s.changes)
		for _, in := range []AccountInput{
			{Email: "new@example.com", Event: "closed", At: at(2 * day)},
			{Email: "new@example.com", Event: "opened", At: at(5 * day)}, // delivered late
		} {
			res, err := a.Record(ctx, in)
			if err != nil || res.Changed || res.State != AccountClosed {
				t.Fatalf("Record(%+v) = %+v, %v", in, res, err)
			}
		}
		if len(s.changes) != before || s.people["id:new@example.com"].Account.State != AccountClosed {
			t.Fatal("a duplicate or stale event was written")
		}
	})
	t.Run("reopening stops the clock", func(t *testing.T) {
		res, err := a.Record(ctx, AccountInput{Email: "new@example.com", Event: "opened", At: at(time.Hour)})
		if err != nil || !res.Changed || res.State != AccountOpen || !s.changes[len(s.changes)-1].After.Clock.IsZero() {
			t.Fatalf("Record = %+v, %v", res, err)
		}
	})
	t.Run("a subscriber's account closing keeps their newsletter running", func(t *testing.T) {
		res, err := a.Record(ctx, AccountInput{Email: "sub@example.com", Name: "Ignored", Event: "closed", At: at(0)})
		if err != nil || res.Clock.Rule != RuleInactive {
			t.Fatalf("Record = %+v, %v", res, err)
		}
		if p := s.people["id:sub@example.com"]; p.Name != "" || p.Active[0] != Newsletter {
			t.Fatalf("an account event changed what the person gave: %+v", p)
		}
	})
	t.Run("a write in between is read again, not lost", func(t *testing.T) {
		s.conflicts = 2
		res, err := a.Record(ctx, AccountInput{Email: "new@example.com", Event: "closed", At: at(0)})
		if err != nil || !res.Changed || s.people["id:new@example.com"].Account.State != AccountClosed {
			t.Fatalf("Record = %+v, %v", res, err)
		}
		s.conflicts = 3
		if _, err := a.Record(ctx, AccountInput{Email: "sub@example.com", Event: "opened", At: at(-time.Minute)}); !errors.Is(err, ErrBusy) {
			t.Fatalf("three conflicts in a row = %v, want ErrBusy", err)
		}
	})
}

func TestBadAccountEventsAreRefusedAndWriteNothing(t *testing.T) {
	s := newMemStore()
	a := accounts(s)
	ok := AccountInput{Email: "a@example.com", Event: "opened", At: clockNow.Format(time.RFC3339)}
	cases := []struct {
		name  string
		edit  func(*AccountInput)
		field string
	}{
		{"a malformed address", func(in *AccountInput) { in.Email = "not-an-address" }, "email"},
		{"a header injection in the name", func(in *AccountInput) { in.Name = "Eve\r\nBcc: all@example.com" }, "name"},
		{"an unknown event", func(in *AccountInput) { in.Event = "suspended" }, "event"},
		{"no time", func(in *AccountInput) { in.At = "" }, "at"},
		{"a time that is not RFC 3339", func(in *AccountInput) { in.At = "25/11/2026" }, "at"},
		{"a time in the future", func(in *AccountInput) { in.At = clockNow.Add(time.Hour).Format(time.RFC3339) }, "at"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			_, err := a.Record(context.Background(), in)
			e, isDomain := AsError(err)
			if !isDomain || e.Code != Invalid || e.Field != c.field {
				t.Fatalf("Record = %v; want an invalid %s", err, c.field)
			}
			if len(s.changes) != 0 || len(s.people) != 0 {
				t.Fatal("a refused event wrote something")
			}
		})
	}
	// A clock a little ahead of ours is not a mistake.
	in := ok
	in.At = clockNow.Add(time.Minute).Format(time.RFC3339)
	if res, err := a.Record(context.Background(), in); err != nil || !res.Changed {
		t.Fatalf("an event a minute ahead = %+v, %v", res, err)
	}
	if !strings.HasPrefix(s.changes[0].After.Email, "a@") {
		t.Fatalf("change = %+v", s.changes[0])
	}
}
