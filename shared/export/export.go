// Package export builds a person's access export: one document holding
// everything pledge holds about a data subject, with the facts GDPR Article
// 15(1) says must come with it, answering the access request of the
// policy's section 11 ("we will respond to your request to access within 30
// days").
//
// # What the document holds
//
// The data (Art. 15(1) and (3): a copy of the personal data undergoing
// processing):
//
//   - profile: the address, the name, where the person stands in double
//     opt-in, the policy version shown at the last sign-up, when the profile
//     was created, changed and confirmed, when the last confirmation mail and
//     fresh-link mail were claimed, the confirmation links still live (their
//     purposes, the name typed with them, issue and expiry; never their
//     secret), the retention clock that runs, and what SES's feedback says of
//     the address (deliverability). null once the person was erased.
//   - erasure: when the person was erased, and until when the ledger stays
//     as proof; null while they were not.
//   - purposes: every purpose a person can consent to and its state (active,
//     pending, withdrawn, erased or none), since when, the consent text and
//     its hash, and since when the person is on the purpose's mailing list.
//   - consents: every consent-ledger entry, oldest first: action, purpose,
//     time, source, policy version, hash of the text shown (today's texts and
//     their hashes are under purposes), the keyed hash of the client's IP, the user agent, and
//     for a withdrawal until when it is kept as proof.
//   - notices: the record of each policy-change notice sent (or being sent)
//     to them: the version, its summary, link and effective date, the
//     record's state and time, SES's message id, and until when it is kept.
//   - account: the last account event the product reported (opened or
//     closed, and when); pledge keeps no history of them.
//   - requests: their privacy requests. The caller (the privacy-request
//     code) fills Document.Requests: this package reads no request records.
//
// The facts (Art. 15(1)(a)-(h)), in processing: the purposes of the
// processing, each with the policy section it comes from; the categories of
// personal data and where each came from (the sign-up form, the confirm and
// preferences pages, the product's account events, SES feedback, pledge
// itself); the categories of recipients (Amazon SES delivers mail, AWS
// hosts the table and the functions, authorities only where the law
// requires, the public only for a testimonial given with consent); how long
// each part is kept, stated from the retention periods the running function
// is configured with (Facts.Retention, as config.Retention and
// config.NoticeRecordsKept read them), never from fixed text; the rights to
// correction, erasure, restriction, objection and to complain to a
// supervisory authority; and that no decision is automated.
//
// Every document carries SchemaVersion and Generated. Its JSON form
// (JSON) validates against the JSON Schema in schema.json (Schema), which
// forbids properties it does not name: a field added here without the
// schema fails the store's test that validates real exports.
//
// Left out on purpose: the secret of a live confirmation link (the export
// is reached by a link; a nonce in it would let its reader confirm), the
// optimistic-lock version and the notice fan-out's run and lease (they say
// nothing about the person), and the abuse counters of the public door
// (keyed hashes with a window of minutes, which pledge cannot link back
// without the address pepper).
//
// # How to call it
//
//	x := export.Exporter{Store: st, Facts: export.Facts{
//		Controller: export.Controller{Name: company.Name, PostalAddress: company.PostalAddress},
//		Retention:  retention, // config.Retention(env) with NoticeRecords = config.NoticeRecordsKept(env)
//	}}
//	doc, err := x.Export(ctx, personID, now) // people.ErrNotFound: pledge holds nothing about them
//	doc.Requests = append(doc.Requests, export.Request{...})
//	body, err := export.JSON(doc)              // application/json
//	site.Page(http.StatusOK, "Your data", page.Export(doc))
//
// Export reads with Queries and BatchGets on the person's own keys (see
// store.Store.Holdings), never a Scan: the function that calls it needs
// dynamodb:Query on the keys P#<id> and POLICY, and dynamodb:BatchGetItem
// on N#<version> and L#<purpose> (template.yaml's LeadingKeys). A
// 1,000-entry ledger is three requests and about 500 kB of JSON
// (go run ./infra/cmd/bench -only export).
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

// SchemaVersion is the version of the document's shape, bumped with every
// change to schema.json.
const SchemaVersion = 1

// Store reads what the table holds about a person (store.Store.Holdings).
type Store interface {
	// Holdings returns everything held under personID; people.ErrNotFound
	// when nothing is, or a wrapped fault.
	Holdings(ctx context.Context, personID string) (Held, error)
}

// Held is what the table holds about one person, as the store read it.
type Held struct {
	Person   *people.Person        // nil: no profile (erased, or never signed up)
	Erased   *Erased               // the suppression marker an erasure left; nil if none
	Consents []people.ConsentEvent // the ledger, oldest first, with each withdrawal's ProofClock
	Listed   map[people.Purpose]time.Time
	Notices  []HeldNotice // one per policy version with a record for the person
}

// Erased is the suppression marker of an erased person.
type Erased struct {
	At         time.Time
	ProofClock people.Clock // when the ledger written before At goes (zero: stopped)
}

// HeldNotice is a person's notice record of one policy version, with the
// version it announced.
type HeldNotice struct {
	Policy    notice.Policy
	State     notice.RecordState
	At        time.Time // when the record last changed
	Attempts  int
	MessageID string // SES's id of the mail, once sent
	Reason    string // why a send failed, without personal data
	Clock     people.Clock
}

// Empty reports whether nothing is held.
func (h Held) Empty() bool {
	return h.Person == nil && h.Erased == nil && len(h.Consents) == 0 && len(h.Listed) == 0 && len(h.Notices) == 0
}

// Controller is who holds the data: the company every page names.
type Controller struct {
	Name          string `json:"name"`
	PostalAddress string `json:"postalAddress"`
}

// Facts are the settings the Art. 15 facts are stated from: the company and
// the live retention configuration.
type Facts struct {
	Controller Controller
	// Retention is the running function's configuration: config.Retention
	// with NoticeRecords set from config.NoticeRecordsKept. Every period
	// must be positive.
	Retention people.Retention
	// RequestRecords is how long a privacy request's record is kept after
	// it is closed; zero states no period ("kept as proof that the request
	// was answered").
	RequestRecords time.Duration
}

// Validate refuses facts an export could not be stated from.
func (f Facts) Validate() error {
	if f.Controller.Name == "" || f.Controller.PostalAddress == "" {
		return errors.New("export: the controller's name and postal address are required")
	}
	if err := f.Retention.Validate(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if f.RequestRecords < 0 {
		return errors.New("export: the request records' period must not be negative")
	}
	return nil
}

// Exporter builds access exports from the table.
type Exporter struct {
	Store Store
	Facts Facts
}

// Export is the access export of personID at now, Requests left empty for
// the caller to fill. Errors: people.ErrNotFound when pledge holds nothing
// about the person (answer "we hold nothing"), an error naming invalid
// Facts, or a wrapped fault of the store.
func (x Exporter) Export(ctx context.Context, personID string, now time.Time) (Document, error) {
	if err := x.Facts.Validate(); err != nil {
		return Document{}, err
	}
	h, err := x.Store.Holdings(ctx, personID)
	if err != nil {
		return Document{}, fmt.Errorf("export.Export: %w", err)
	}
	if h.Empty() {
		return Document{}, people.ErrNotFound
	}
	return Build(h, x.Facts, now), nil
}

// JSON is d as the indented JSON document the schema describes (a nil
// list is written as an empty one, as the schema requires).
func JSON(d Document) ([]byte, error) {
	d.Purposes, d.Consents, d.Notices, d.Requests = orEmpty(d.Purposes), orEmpty(d.Consents), orEmpty(d.Notices), orEmpty(d.Requests)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("export.JSON: %w", err)
	}
	return b.Bytes(), nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
