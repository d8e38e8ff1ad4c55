package race

import (
	"slices"
	"testing"

	"github.com/smartprotect/pledge/shared/people"
)

func TestReplayAppliesTheLedgerInOrder(t *testing.T) {
	ev := func(a people.Action, q people.Purpose, source string) people.ConsentEvent {
		return people.ConsentEvent{Action: a, Purpose: q, Context: people.Context{Source: source}}
	}
	grant := func(q people.Purpose) people.ConsentEvent { return ev(people.Grant, q, "signup-form") }
	confirm := func(q people.Purpose) people.ConsentEvent { return ev(people.Confirm, q, "confirm-link") }
	tests := []struct {
		name            string
		ledger          []people.ConsentEvent
		active, pending []people.Purpose
	}{
		{"no ledger, no consent", nil, nil, nil},
		{"a sign-up makes its purposes pending", []people.ConsentEvent{grant(people.Surveys), grant(people.Newsletter)},
			nil, []people.Purpose{people.Newsletter, people.Surveys}},
		{"a confirm activates", []people.ConsentEvent{grant(people.Newsletter), grant(people.Offers), confirm(people.Newsletter)},
			[]people.Purpose{people.Newsletter}, []people.Purpose{people.Offers}},
		{"a preferences grant waits for the confirm button", []people.ConsentEvent{grant(people.Newsletter), confirm(people.Newsletter), ev(people.Grant, people.Offers, "preferences")},
			[]people.Purpose{people.Newsletter}, []people.Purpose{people.Offers}},
		{"a preferences grant confirmed is in force", []people.ConsentEvent{ev(people.Grant, people.Offers, "preferences"), confirm(people.Offers)},
			[]people.Purpose{people.Offers}, nil},
		{"a withdrawal ends a purpose, active or pending", []people.ConsentEvent{grant(people.Offers), grant(people.Surveys), confirm(people.Surveys),
			ev(people.Withdraw, people.Offers, "preferences"), ev(people.Withdraw, people.Surveys, "preferences")}, nil, nil},
		{"all-marketing ends every marketing purpose, not testimonials", []people.ConsentEvent{grant(people.Newsletter), grant(people.Offers),
			grant(people.Testimonials), grant(people.Surveys), confirm(people.Newsletter), confirm(people.Testimonials),
			ev(people.Withdraw, people.AllMarketing, "one-click")},
			[]people.Purpose{people.Testimonials}, nil},
		{"order matters: a grant after a withdrawal is pending again", []people.ConsentEvent{grant(people.Newsletter), confirm(people.Newsletter),
			ev(people.Withdraw, people.AllMarketing, "one-click"), grant(people.Newsletter)}, nil, []people.Purpose{people.Newsletter}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Replay(tt.ledger)
			if !slices.Equal(got.Active, tt.active) || !slices.Equal(got.Pending, tt.pending) {
				t.Fatalf("Replay = active %v, pending %v; want %v, %v", got.Active, got.Pending, tt.active, tt.pending)
			}
			if !got.Agrees(people.Person{Active: tt.active, Pending: tt.pending}) {
				t.Fatal("the replay disagrees with a person holding exactly its sets")
			}
			if got.Agrees(people.Person{Active: append(slices.Clone(tt.active), "extra"), Pending: tt.pending}) {
				t.Fatal("the replay agrees with a person holding one purpose more")
			}
		})
	}
}

func TestAPurposeBothInForceAndPendingNeverAgrees(t *testing.T) {
	both := []people.Purpose{people.Newsletter}
	if (Consents{Active: both, Pending: both}).Agrees(people.Person{Active: both, Pending: both}) {
		t.Fatal("a person holding the newsletter both in force and pending agrees with a ledger that says so")
	}
}
