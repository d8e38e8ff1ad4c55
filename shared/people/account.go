package people

import (
	"context"
	"fmt"
	"time"
)

// AccountState is what the product last said of a person's account.
type AccountState string

// The account states. pledge does not run accounts: the product tells it
// when one opens or closes, and the retention clocks follow (section 11:
// kept while the account is active or as needed, then gone).
const (
	NoAccount     AccountState = ""       // pledge has heard of no account for the address
	AccountOpen   AccountState = "open"   // kept while it stays open
	AccountClosed AccountState = "closed" // erased ClosedAccount after closing
)

// Account is a person's account as the product last reported it.
type Account struct {
	State AccountState
	At    time.Time // when the product says the account entered State
}

// AccountInput is an account event as the product sends it.
type AccountInput struct {
	Email string
	Name  string // optional: used only when pledge does not know the address yet
	Event string // "opened" or "closed"
	At    string // RFC 3339: when the account opened or closed
}

// AccountResult says what recording an account event did.
type AccountResult struct {
	PersonID string
	State    AccountState // the state recorded after the event
	Changed  bool
	Held     bool  // pledge holds data about the address
	Clock    Clock // when changed: the retention clock now running (zero while open)
	Reason   string
}

// Accounts records what the product says of accounts.
type Accounts struct {
	Store     Store
	PersonID  func(normalisedEmail string) string
	Now       func() time.Time
	Retention Retention
	// MaxSkew is how far in the future an event's time may be (the
	// product's clock may run a little ahead of ours).
	MaxSkew time.Duration
}

var accountEvents = map[string]AccountState{"opened": AccountOpen, "closed": AccountClosed}

// Record applies an account event. It is idempotent and tolerates events
// out of order: an event no later than the one recorded changes nothing. An
// account opened for an address pledge does not know adds the person (the
// product vouches for the address: they are told of policy changes); a
// closed account of an address pledge does not know holds nothing to erase
// and writes nothing.
func (a *Accounts) Record(ctx context.Context, in AccountInput) (AccountResult, error) {
	email := NormaliseEmail(in.Email)
	if err := ValidateEmail(email); err != nil {
		return AccountResult{}, err
	}
	name, err := CleanName(in.Name)
	if err != nil {
		return AccountResult{}, err
	}
	state, ok := accountEvents[in.Event]
	if !ok {
		return AccountResult{}, Errorf(Invalid, "event", `the event must be "opened" or "closed"`)
	}
	if in.At == "" {
		return AccountResult{}, Errorf(Invalid, "at", "the time of the event is required (RFC 3339)")
	}
	at, err := time.Parse(time.RFC3339Nano, in.At)
	if err != nil {
		return AccountResult{}, Errorf(Invalid, "at", "the time of the event must be an RFC 3339 time such as 2026-11-25T10:00:00Z")
	}
	at = at.UTC()
	if at.After(a.Now().Add(a.MaxSkew)) {
		return AccountResult{}, Errorf(Invalid, "at", "the time of the event is in the future")
	}
	id := a.PersonID(email)
	res := AccountResult{PersonID: id}
	_, err = a.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		res = AccountResult{PersonID: id, Held: p.Exists()}
		switch {
		case !p.Exists() && state == AccountClosed:
			res.Reason = "no data is held for this address"
			return Change{}, nil
		case !p.Account.At.IsZero() && !at.After(p.Account.At):
			res.State, res.Reason = p.Account.State, "an event at the same time or later is already recorded"
			return Change{}, nil
		}
		now := stampAfter(a.Now(), p)
		q := changed(p)
		if !p.Exists() {
			// The product vouches for the address: the person is told of
			// policy changes from now on.
			q.ID, q.Email, q.Name, q.CreatedAt = id, email, name, now
		}
		q.Account, q.UpdatedAt = Account{State: state, At: at}, now
		q.Clock = a.Retention.PersonClock(q.Status, q.Active, q.Account, now)
		res.State, res.Changed, res.Held, res.Clock = state, true, true, q.Clock
		return Change{After: q}, nil
	})
	if err != nil {
		return AccountResult{}, fmt.Errorf("people.Accounts.Record: %w", err)
	}
	return res, nil
}
