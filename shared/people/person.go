package people

import (
	"slices"
	"time"
)

// Status is where a person stands in double opt-in.
type Status string

// The statuses, in the words of the trade.
const (
	Unconfirmed  Status = "unconfirmed"  // signed up, has not pressed the confirm button
	Confirmed    Status = "confirmed"    // confirmed at least one purpose
	Unsubscribed Status = "unsubscribed" // withdrew every marketing purpose
)

// Person is someone we hold an address for. ID is a keyed hash of the
// normalised address, so keys and logs never carry the address itself.
type Person struct {
	ID             string
	Email          string
	Name           string // set by the confirm button (Link.Name) or, for an address we did not know, the product's account event; never by a sign-up alone
	Status         Status
	Active         []Purpose // confirmed consents in force
	Pending        []Purpose // asked for, awaiting the confirm button
	PolicyVersion  string    // the policy version shown at the last sign-up
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ConfirmedAt    time.Time      // zero until the first confirmation
	ConfirmMailAt  time.Time      // when the last confirmation mail was claimed
	LinkMailAt     time.Time      // when the last fresh preferences link was claimed
	Links          []Link         // confirm links mailed and not yet used, oldest first
	Account        Account        // the product's account for this address, if any
	Clock          Clock          // the retention clock that runs (zero: none, an open account)
	Deliverability Deliverability // what SES's feedback says of the address
	Version        int64          // optimistic-lock counter, bumped by every write; 0: nobody
	// MovedFrom are the keys the person lived under before corrections of
	// their address, each holding a forward pointer (see FollowMoves) that
	// an erasure of the person deletes too. Never shown in an export.
	MovedFrom []string
}

// Has reports whether the consent for p is in force.
func (p Person) Has(purpose Purpose) bool { return slices.Contains(p.Active, purpose) }

// Action is what a consent event did.
type Action string

// The ledger actions.
const (
	Grant    Action = "grant"    // consent given on a form, pending confirmation
	Confirm  Action = "confirm"  // consent confirmed by the double opt-in button
	Withdraw Action = "withdraw" // consent withdrawn
)

// Context is where a consent act came from: it goes into every ledger entry.
type Context struct {
	Source        string // form id or channel, e.g. "signup-form", "confirm-link"
	PolicyVersion string
	IP            string // a keyed hash of the client's IP once Pseudonymised
	UserAgent     string
}

// Pseudonymised replaces the client IP by its keyed hash: the ledger can
// still prove "this act came from that address" to whoever holds the IP and
// the key, but a dump of the table (or what an erasure leaves for the proof
// period) holds no IP address.
func (c Context) Pseudonymised(keyed func(string) string) Context {
	if c.IP != "" {
		c.IP = keyed("ip:" + c.IP)
	}
	return c
}

// ConsentEvent is one append-only ledger entry.
type ConsentEvent struct {
	PersonID string
	ID       string // unique within the person, orders with At
	At       time.Time
	Purpose  Purpose
	Action   Action
	TextHash string // SHA-256 of the consent text shown
	Context
	// ProofClock, on a withdrawal, is when it and the entries it ended stop
	// being needed as proof (zero on other entries).
	ProofClock Clock
}

// NewEvents builds one ledger entry per purpose for an action at now.
func NewEvents(personID string, action Action, purposes []Purpose, now time.Time, c Context, newID func() string) []ConsentEvent {
	events := make([]ConsentEvent, 0, len(purposes))
	for _, p := range purposes {
		events = append(events, ConsentEvent{
			PersonID: personID, ID: newID(), At: now, Purpose: p, Action: action,
			TextHash: p.ConsentTextHash(), Context: c,
		})
	}
	return events
}
