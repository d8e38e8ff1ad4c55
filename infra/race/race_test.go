package race

import (
	"net/http"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

func TestWhatWasAnsweredMustBeRecorded(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	grant := func(s int) people.ConsentEvent {
		return people.ConsentEvent{At: at(s), Action: people.Grant, Purpose: people.Newsletter, Context: people.Context{Source: signUpSource}}
	}
	confirm := func(s int) people.ConsentEvent {
		return people.ConsentEvent{At: at(s), Action: people.Confirm, Purpose: people.Newsletter}
	}
	// The set-up's sign-up (0), confirm (1) and second sign-up (1.5) come first in every ledger.
	setUp := []people.ConsentEvent{grant(0), {At: at(0), Action: people.Grant, Purpose: people.Offers, Context: people.Context{Source: signUpSource}}, confirm(1),
		{At: t0.Add(1500 * time.Millisecond), Action: people.Grant, Purpose: people.Surveys, Context: people.Context{Source: signUpSource}}}
	offers := []people.Purpose{people.Offers} // never confirmed: a sign-up for it always writes
	burst := []Request{{Kind: SignUp, Purposes: offers}, {Kind: SignUp, Purposes: offers}, {Kind: Confirm}, {Kind: Account, At: at(10)}, {Kind: Account, At: at(20)}}
	tests := []struct {
		name     string
		answers  []Answer
		ledger   []people.ConsentEvent
		account  time.Time
		problems int
	}{
		{"every accepted write recorded", []Answer{{Status: 202}, {Status: 202}, {Status: 200, Body: `{"status":"confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), grant(3), confirm(4)), at(20), 0},
		{"an accepted sign-up missing", []Answer{{Status: 202}, {Status: 202}, {Status: 200, Body: `{"status":"confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), confirm(4)), at(20), 1},
		{"a sign-up answered 500 may be there or not", []Answer{{Status: 202}, {Status: 500}, {Status: 200, Body: `{"status":"already_confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), grant(3)), at(20), 0},
		{"a sign-up answered 409 must not be there", []Answer{{Status: 202}, {Status: 409}, {Status: 200, Body: `{"status":"already_confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), grant(3)), at(20), 1},
		{"a confirm recorded but answered already confirmed", []Answer{{Status: 202}, {Status: 202}, {Status: 200, Body: `{"status":"already_confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), grant(3), confirm(4)), at(20), 1},
		{"the account lost its latest event", []Answer{{Status: 202}, {Status: 202}, {Status: 200, Body: `{"status":"confirmed"}`}, {Status: 200}, {Status: 200}},
			append(setUp, grant(2), grant(3), confirm(4)), at(10), 1},
		{"the account holds a later event whose answer was lost", []Answer{{Status: 202}, {Status: 202}, {Status: 200, Body: `{"status":"confirmed"}`}, {Status: 200}, {Status: http.StatusInternalServerError}},
			append(setUp, grant(2), grant(3), confirm(4)), at(20), 0},
	}
	// A sign-up for the newsletter, confirmed by the set-up, may have asked
	// for nothing new and written nothing; one for offers may not.
	noNews := []Request{{Kind: SignUp, Purposes: []people.Purpose{people.Newsletter}}, {Kind: SignUp, Purposes: offers}}
	accepted := []Answer{{Status: 202}, {Status: 202}}
	if got := answeredButNotRecorded(noNews, accepted, append(setUp, grant(3)), people.Person{}); len(got) != 0 {
		t.Fatalf("a sign-up for a consent in force, not in the ledger: problems = %q; want none", got)
	}
	if got := answeredButNotRecorded(noNews, accepted, setUp, people.Person{}); len(got) != 1 {
		t.Fatalf("a sign-up for a consent never in force, not in the ledger: problems = %q; want 1", got)
	}
	// A link works once: two presses of one link both answered "confirmed" is a problem.
	twice := []Request{{Kind: Confirm, Nonce: "n1"}, {Kind: Confirm, Nonce: "n1"}, {Kind: Confirm, Nonce: "n2"}}
	yes := Answer{Status: 200, Body: `{"status":"confirmed"}`}
	if got := answeredButNotRecorded(twice, []Answer{yes, yes, {Status: 200, Body: `{"status":"already_used"}`}}, append(setUp, confirm(4), confirm(5)), people.Person{}); len(got) != 1 {
		t.Fatalf("one link confirmed twice: problems = %q; want 1", got)
	}
	if got := answeredButNotRecorded(twice, []Answer{yes, {Status: 200, Body: `{"status":"already_used"}`}, yes}, append(setUp, confirm(4), confirm(5)), people.Person{}); len(got) != 0 {
		t.Fatalf("two links confirmed once each: problems = %q; want none", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := answeredButNotRecorded(burst, tt.answers, tt.ledger, people.Person{Account: people.Account{State: people.AccountOpen, At: tt.account}})
			if len(got) != tt.problems {
				t.Fatalf("problems = %q; want %d", got, tt.problems)
			}
		})
	}
}
