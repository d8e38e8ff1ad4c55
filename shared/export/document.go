package export

import (
	"slices"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Document is a person's access export. Its JSON form is described by
// schema.json; every time is UTC, every optional time is left out when it
// never happened.
type Document struct {
	SchemaVersion int        `json:"schemaVersion"`
	Generated     time.Time  `json:"generated"`
	Controller    Controller `json:"controller"`
	Profile       *Profile   `json:"profile"` // null once erased
	Erasure       *Erasure   `json:"erasure"` // null unless erased
	Purposes      []Purpose  `json:"purposes"`
	Consents      []Consent  `json:"consents"`
	Notices       []Notice   `json:"notices"`
	Account       *Account   `json:"account"`  // null when the product reported none
	Requests      []Request  `json:"requests"` // the caller fills these
	Processing    Processing `json:"processing"`
}

// Profile is the person's profile.
type Profile struct {
	Email          string         `json:"email"`
	Name           string         `json:"name"`
	Status         string         `json:"status"` // unconfirmed, confirmed, unsubscribed; none: never signed up (an account holder)
	PolicyVersion  string         `json:"policyVersion"`
	Created        time.Time      `json:"created"`
	Updated        time.Time      `json:"updated"`
	Confirmed      *time.Time     `json:"confirmed,omitempty"`
	ConfirmMail    *time.Time     `json:"confirmMail,omitempty"` // the last confirmation mail
	LinkMail       *time.Time     `json:"linkMail,omitempty"`    // the last "fresh link" mail
	ConfirmLinks   []ConfirmLink  `json:"confirmLinks"`
	KeptUntil      *Clock         `json:"keptUntil"` // null while an account is open
	Deliverability Deliverability `json:"deliverability"`
}

// ConfirmLink is a confirmation link mailed and not yet used; its secret is
// left out.
type ConfirmLink struct {
	Purposes      []string  `json:"purposes"`
	Name          string    `json:"name,omitempty"` // the name given with the sign-up, set when the button is pressed
	PolicyVersion string    `json:"policyVersion,omitempty"`
	Source        string    `json:"source,omitempty"`
	Issued        time.Time `json:"issued"`
	Expires       time.Time `json:"expires"`
}

// Clock is when something goes, and under which retention rule.
type Clock struct {
	Rule string    `json:"rule"`
	Due  time.Time `json:"due"`
}

// Deliverability is what SES's feedback says of the address.
type Deliverability struct {
	State            string      `json:"state"` // deliverable, undeliverable, resting
	Since            *time.Time  `json:"since,omitempty"`
	Until            *time.Time  `json:"until,omitempty"`
	TransientBounces []time.Time `json:"transientBounces"`
	Cleared          *time.Time  `json:"cleared,omitempty"`
	LastBounce       *time.Time  `json:"lastBounce,omitempty"`
	LastComplaint    *time.Time  `json:"lastComplaint,omitempty"`
	LastDelivery     *time.Time  `json:"lastDelivery,omitempty"`
	LastNotSpam      *time.Time  `json:"lastNotSpam,omitempty"` // the latest "not spam" report: no complaint
}

// Erasure is what an erasure left.
type Erasure struct {
	Erased          time.Time `json:"erased"`
	LedgerKeptUntil *Clock    `json:"ledgerKeptUntil"`
}

// Purpose is one purpose a person can consent to, and its state for them.
type Purpose struct {
	ID              string     `json:"id"`
	Label           string     `json:"label"`
	State           string     `json:"state"`            // active, pending, withdrawn, erased, none
	Since           *time.Time `json:"since,omitempty"`  // the last ledger entry for it
	Listed          *time.Time `json:"listed,omitempty"` // on its mailing list since
	ConsentText     string     `json:"consentText"`
	ConsentTextHash string     `json:"consentTextHash"`
}

// The states of a purpose.
const (
	StateActive    = "active"
	StatePending   = "pending"
	StateWithdrawn = "withdrawn"
	StateErased    = "erased"
	StateNone      = "none"
)

// Consent is one consent-ledger entry.
type Consent struct {
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	Purpose       string    `json:"purpose"` // a purpose's id, or all-marketing; for a correction, what was corrected (name, address)
	Action        string    `json:"action"`  // grant, confirm, withdraw, or correct
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policyVersion,omitempty"`
	TextHash      string    `json:"textHash,omitempty"`
	IPHash        string    `json:"ipHash,omitempty"` // a keyed hash of the client's IP, never the IP
	UserAgent     string    `json:"userAgent,omitempty"`
	KeptUntil     *Clock    `json:"keptUntil,omitempty"` // a withdrawal's proof clock
}

// Notice is the record of a policy-change notice to the person.
type Notice struct {
	Version   string    `json:"version"`
	Summary   string    `json:"summary"`
	URL       string    `json:"url"`
	Effective time.Time `json:"effective"`
	State     string    `json:"state"` // sending, sent, failed, released
	At        time.Time `json:"at"`
	Attempts  int       `json:"attempts"`
	MessageID string    `json:"messageId,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	KeptUntil *Clock    `json:"keptUntil,omitempty"`
}

// Account is the last account event the product reported.
type Account struct {
	State string    `json:"state"` // open, closed
	At    time.Time `json:"at"`
}

// Request is one of the person's privacy requests, as the privacy-request
// code records it. Status is one of unverified, verified, in-progress,
// completed, refused, expired, cancelled (schema.json lists them).
type Request struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // access, delete, ...
	Status    string     `json:"status"`
	Received  time.Time  `json:"received"`
	Due       time.Time  `json:"due"`
	Completed *time.Time `json:"completed,omitempty"`
	Outcome   string     `json:"outcome,omitempty"` // what was done, or why it was refused
}

// Build is the export of h at now, stated with f. Requests are left empty.
func Build(h Held, f Facts, now time.Time) Document {
	d := Document{
		SchemaVersion: SchemaVersion, Generated: now.UTC(), Controller: f.Controller,
		Purposes: purposes(h), Consents: []Consent{}, Notices: []Notice{}, Requests: []Request{},
		Processing: processing(f),
	}
	if p := h.Person; p != nil {
		d.Profile = profile(*p)
		if p.Account.State != people.NoAccount {
			d.Account = &Account{State: string(p.Account.State), At: p.Account.At.UTC()}
		}
	}
	if e := h.Erased; e != nil {
		d.Erasure = &Erasure{Erased: e.At.UTC(), LedgerKeptUntil: clock(e.ProofClock)}
	}
	for _, e := range h.Consents {
		c := Consent{ID: e.ID, At: e.At.UTC(), Purpose: string(e.Purpose), Action: string(e.Action), Source: e.Source,
			PolicyVersion: e.PolicyVersion, TextHash: e.TextHash, IPHash: e.IP, UserAgent: e.UserAgent, KeptUntil: clock(e.ProofClock)}
		d.Consents = append(d.Consents, c)
	}
	for _, n := range h.Notices {
		d.Notices = append(d.Notices, Notice{Version: n.Policy.Version, Summary: n.Policy.Summary, URL: n.Policy.URL,
			Effective: n.Policy.Effective.UTC(), State: string(n.State), At: n.At.UTC(), Attempts: n.Attempts,
			MessageID: n.MessageID, Reason: n.Reason, KeptUntil: clock(n.Clock)})
	}
	return d
}

func profile(p people.Person) *Profile {
	status := string(p.Status)
	if status == "" {
		status = "none" // the address never signed up: pledge holds it from the product's account events
	}
	pr := &Profile{Email: p.Email, Name: p.Name, Status: status, PolicyVersion: p.PolicyVersion,
		Created: p.CreatedAt.UTC(), Updated: p.UpdatedAt.UTC(), Confirmed: optional(p.ConfirmedAt),
		ConfirmMail: optional(p.ConfirmMailAt), LinkMail: optional(p.LinkMailAt), ConfirmLinks: []ConfirmLink{},
		KeptUntil: clock(p.Clock), Deliverability: deliverability(p.Deliverability)}
	for _, l := range p.Links {
		pr.ConfirmLinks = append(pr.ConfirmLinks, ConfirmLink{Purposes: ids(l.Purposes), Name: l.Name, PolicyVersion: l.PolicyVersion,
			Source: l.Source, Issued: l.Issued.UTC(), Expires: l.Expires.UTC()})
	}
	return pr
}

func deliverability(d people.Deliverability) Deliverability {
	out := Deliverability{State: string(d.State), Since: optional(d.Since), Until: optional(d.Until), TransientBounces: []time.Time{},
		Cleared: optional(d.ClearedAt), LastBounce: optional(d.LastBounce), LastComplaint: optional(d.LastComplaint), LastDelivery: optional(d.LastDelivery),
		LastNotSpam: optional(d.LastNotSpam)}
	if d.State == people.Deliverable {
		out.State = "deliverable"
	}
	for _, t := range d.Transient {
		out.TransientBounces = append(out.TransientBounces, t.UTC())
	}
	return out
}

// purposes states each purpose a person can choose: active or pending as
// the profile says; otherwise erased when the person was and the ledger
// names it, withdrawn when its last ledger entry is a withdrawal, and none
// otherwise (never asked for, or asked for and never confirmed). Since is the time of
// the last ledger entry that concerns it (a withdrawal of all marketing
// concerns every marketing purpose).
func purposes(h Held) []Purpose {
	out := make([]Purpose, 0, len(people.Purposes))
	for _, q := range people.Purposes {
		pu := Purpose{ID: string(q), Label: q.Label(), State: StateNone, ConsentText: q.ConsentText(), ConsentTextHash: q.ConsentTextHash()}
		var last people.Action
		for _, e := range h.Consents {
			if e.Purpose == q || e.Purpose == people.AllMarketing && q.Marketing() {
				pu.Since, last = optional(e.At), e.Action
			}
		}
		if t, ok := h.Listed[q]; ok {
			pu.Listed = optional(t)
		}
		switch p := h.Person; {
		case p != nil && p.Has(q):
			pu.State = StateActive
		case p != nil && slices.Contains(p.Pending, q):
			pu.State = StatePending
		case pu.Since != nil && p == nil && h.Erased != nil:
			pu.State = StateErased
		case last == people.Withdraw:
			pu.State = StateWithdrawn
		}
		out = append(out, pu)
	}
	return out
}

func ids(ps []people.Purpose) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func optional(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func clock(c people.Clock) *Clock {
	if c.IsZero() {
		return nil
	}
	return &Clock{Rule: string(c.Rule), Due: c.Due.UTC()}
}
