package people

import "time"

// Correct is the ledger action of a correction of the person's details
// (policy section 11: "you may request ... correction, updating ... of your
// personal information"). Its entry names what was corrected in Purpose
// (CorrectedName or CorrectedAddress), never the old or the new value: the
// ledger proves that and when the person asked, the profile holds the value.
const Correct Action = "correct"

// What a correction entry says was corrected. Neither is a purpose a
// person consents to: they are not in Purposes.
const (
	CorrectedName    Purpose = "name"
	CorrectedAddress Purpose = "address"
)

// correctionSource is the Context.Source of correction entries.
const correctionSource = "privacy-request"

// Rename is the decision of a verified name correction at now: the name,
// cleaned as at sign-up (CleanName), replaces the person's, with one ledger
// entry; nothing else changes. Nothing at all when the name is already
// theirs. Errors: CleanName's (Invalid on field "name"), ErrNotFound when
// pledge holds nobody at the address.
func Rename(raw, requestID string, now time.Time, newID func() string) Decide {
	return func(p Person) (Change, error) {
		name, err := CleanName(raw)
		if err != nil {
			return Change{}, err
		}
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		if name == p.Name {
			return Change{}, nil
		}
		q := changed(p)
		q.Name, q.UpdatedAt = name, stampAfter(now, p)
		return Change{After: q, Events: []ConsentEvent{CorrectionEvent(p.ID, CorrectedName, requestID, q.UpdatedAt, newID())}}, nil
	}
}

// CorrectionEvent is the ledger entry of a correction of what (CorrectedName
// or CorrectedAddress) by privacy request requestID, at.
func CorrectionEvent(personID string, what Purpose, requestID string, at time.Time, id string) ConsentEvent {
	return ConsentEvent{PersonID: personID, ID: id, At: at.UTC(), Purpose: what, Action: Correct,
		Context: Context{Source: correctionSource + ":" + requestID}}
}

// Readdressed is p as it is kept under the key newID of its corrected
// address email at: the same person (name, consents, account, clock,
// history) with what belonged to the old mailbox left behind — its
// confirm links (issued for the old key) and what SES said of it.
func Readdressed(p Person, newID, email string, at time.Time) Person {
	q := changed(p)
	q.ID, q.Email, q.Links, q.Deliverability = newID, email, nil, Deliverability{}
	q.UpdatedAt = stampAfter(at, p)
	return *q
}
