package race

import (
	"slices"

	"github.com/smartprotect/pledge/shared/people"
)

// Consents is a person's consent sets: what is in force, what awaits the
// confirm button.
type Consents struct {
	Active, Pending []people.Purpose
}

// Replay computes what a person's consents must be after their ledger, by
// applying its entries in ledger order (the order store.Consents returns:
// by time, then id) to a person who had none. The rules, one per kind of
// entry, are those of the code today; adjust them here when the domain's
// rules change:
//
//   - a grant, from a sign-up or from the preferences page alike, makes the
//     purpose pending: every grant waits for the confirm button (double
//     opt-in); the domain writes no grant for a purpose in force, so a
//     grant never leaves a purpose both active and pending (Agrees refuses
//     a person who holds one so);
//   - a confirm activates the purpose and it stops being pending;
//   - a withdrawal of a purpose removes it from both sets; a withdrawal of
//     all-marketing (one-click, "stop all marketing") does so for every
//     marketing purpose, leaving testimonials alone.
//
// Account events write no ledger entry and change no consent, so they do
// not appear here. A change of the sets that has no entry (a lost update, or
// an unrecorded change) makes the replay disagree with the person.
func Replay(ledger []people.ConsentEvent) Consents {
	active, pending := map[people.Purpose]bool{}, map[people.Purpose]bool{}
	for _, e := range ledger {
		switch {
		case e.Action == people.Grant:
			pending[e.Purpose] = true
		case e.Action == people.Confirm:
			active[e.Purpose], pending[e.Purpose] = true, false
		case e.Action == people.Withdraw && e.Purpose == people.AllMarketing:
			for _, q := range people.MarketingPurposes {
				active[q], pending[q] = false, false
			}
		case e.Action == people.Withdraw:
			active[e.Purpose], pending[e.Purpose] = false, false
		}
	}
	var c Consents
	for _, q := range people.Purposes { // display order, as people.Person keeps them
		if active[q] {
			c.Active = append(c.Active, q)
		}
		if pending[q] {
			c.Pending = append(c.Pending, q)
		}
	}
	return c
}

// Agrees reports whether p's consent sets are those c holds, and no purpose
// is both in force and pending in either.
func (c Consents) Agrees(p people.Person) bool {
	both := func(active, pending []people.Purpose) bool {
		return slices.ContainsFunc(pending, func(q people.Purpose) bool { return slices.Contains(active, q) })
	}
	return slices.Equal(c.Active, p.Active) && slices.Equal(c.Pending, p.Pending) && !both(c.Active, c.Pending) && !both(p.Active, p.Pending)
}
