package privacy

import (
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Correct is a correction of the person's name or address (policy section
// 11: "you may request ... correction, updating ... of your personal
// information"; GDPR Art. 16).
const Correct Kind = "correct"

// Corrected is the outcome of a correction carried out.
const Corrected Outcome = "corrected"

// Correction is what a correction request asks for. A new name is applied
// once the request is verified; a new address only once its own mailbox
// confirmed it too, with a link of its own (token.PrivacyMove, Nonce),
// and then the person moves to the key of the new address.
type Correction struct {
	Name     string // the new name, cleaned (people.CleanName); "" keeps the name
	Email    string // the new normalised address; "" keeps the address
	PersonID string // the keyed id of Email: where the person moves
	// From is the keyed id of the address in force when the person asked,
	// for a new address: where the person moves from (the request itself
	// names the new key once the move has re-pointed it).
	From string
	// Nonce is what the live link to the new mailbox carries, from
	// verification until that link is pressed; "" otherwise.
	Nonce     string
	Confirmed time.Time // when the new mailbox confirmed
}

// MovesAddress reports whether the correction changes the address.
func (c Correction) MovesAddress() bool { return c.Email != "" }

// ErrAddressTaken answers a correction to an address that belongs to
// someone else pledge holds.
var ErrAddressTaken = people.Errorf(people.Conflict, "new_email", "The new address belongs to another person we hold: we cannot move your data there. Write to us if both addresses are yours.")

// AddressTakenText is the ReasonText of a correction refused because its
// new address belongs to someone else.
const AddressTakenText = "the new address belongs to another person"

// NewCorrection reads what a person asks to correct, as typed: a name
// (cleaned as at sign-up) and/or an address (validated as at sign-up, and
// not the current one, current being normalised). keyed is people.KeyedID.
// Errors, each an Invalid *people.Error naming its field: "name" (what
// CleanName refuses), "new_email" (invalid, or the current address), and
// "new_name" when neither is given.
func NewCorrection(name, email, current string, keyed func(string) string) (Correction, error) {
	var c Correction
	if name != "" {
		n, err := people.CleanName(name)
		if err != nil {
			e, _ := people.AsError(err)
			return Correction{}, people.Errorf(people.Invalid, "new_name", "%s", e.Message)
		}
		c.Name = n
	}
	if email != "" {
		addr := people.NormaliseEmail(email)
		if err := people.ValidateEmail(addr); err != nil {
			e, _ := people.AsError(err)
			return Correction{}, people.Errorf(people.Invalid, "new_email", "%s", e.Message)
		}
		if addr == current {
			return Correction{}, people.Errorf(people.Invalid, "new_email", "the new address is the one you have now")
		}
		c.Email, c.PersonID, c.From = addr, keyed(addr), keyed(current)
	}
	if c.Name == "" && c.Email == "" {
		return Correction{}, people.Errorf(people.Invalid, "new_name", "give the corrected name, the new address, or both")
	}
	return c, nil
}

// VerifyCorrection decides a press of a correction's verification button
// carrying nonce at now, as Verify does for the other kinds. held says
// whether pledge holds a profile for the current address, taken whether
// the new address (if any) belongs to someone else. A live link moves r
// on: no data held, refused no-data; a new address taken, refused other
// (nothing changes); a name alone, completed (the caller applied the name
// first: people.Rename); a new address, verified, waiting for its mailbox
// with a fresh link nonce moveNonce.
func (t Timing) VerifyCorrection(r Request, nonce string, held, taken bool, moveNonce string, now time.Time) (*Request, Verification) {
	switch {
	case r.Status != Unverified:
		return nil, AlreadyVerified
	case !now.Before(r.Expires):
		q := r.close(Expired, now)
		return &q, Lapsed
	case nonce == "" || nonce != r.Nonce:
		return nil, LinkUsed
	}
	var q Request
	switch {
	case !held:
		q = r.close(Refused, now)
		q.Reason = NoData
	case taken:
		q = r.close(Refused, now)
		q.Reason, q.ReasonText = Other, AddressTakenText
	case !r.Correction.MovesAddress():
		q = r.close(Completed, now)
		q.Outcome = Corrected
	default:
		q = r.touch(now)
		q.Status, q.Nonce = Verified, ""
		q.Correction.Nonce = moveNonce
	}
	q.VerifiedAt = now.UTC()
	return &q, JustVerified
}

// MoveStep is what pressing the new mailbox's link comes to.
type MoveStep int

// The steps of a move.
const (
	// StartMove: the link was live; the request is in progress and the
	// move starts (it is written first, so the link works once).
	StartMove MoveStep = iota + 1
	// ResumeMove: the request is in progress already (a move that was
	// interrupted, or a double click): the move is finished.
	ResumeMove
	// MoveDone: the correction is completed; nothing changes.
	MoveDone
	// MoveLinkUsed: the link is not the request's live one.
	MoveLinkUsed
)

// ConfirmMove decides a press of the new mailbox's button carrying nonce
// at now (the link's token bounds it to LinkTTL).
func ConfirmMove(r Request, nonce string, now time.Time) (*Request, MoveStep) {
	switch {
	case r.Kind != Correct || !r.Correction.MovesAddress() && r.Status != Completed:
		return nil, MoveLinkUsed
	case r.Status == InProgress:
		return nil, ResumeMove
	case r.Status == Completed:
		return nil, MoveDone
	case r.Status != Verified || nonce == "" || nonce != r.Correction.Nonce:
		return nil, MoveLinkUsed
	}
	q := r.touch(now)
	q.Status, q.Correction.Nonce, q.Correction.Confirmed = InProgress, "", now.UTC()
	return &q, StartMove
}

// CompleteCorrection closes a correction in progress once the person has
// moved; anything else changes nothing.
func CompleteCorrection(r Request, now time.Time) *Request {
	if r.Kind != Correct || r.Status != InProgress {
		return nil
	}
	q := r.close(Completed, now)
	q.Outcome = Corrected
	return &q
}

// RefuseTaken refuses an open correction whose new address came to belong
// to someone else after verification (the move found it taken and moved
// nothing); anything else changes nothing.
func RefuseTaken(r Request, now time.Time) *Request {
	if r.Kind != Correct || !r.Status.Open() {
		return nil
	}
	q := r.close(Refused, now)
	q.Reason, q.ReasonText = Other, AddressTakenText
	return &q
}

// LapseMove closes as expired, at now, a correction whose new mailbox did
// not confirm within ttl of verification (the life of its link: after it
// nothing can move the person); nil for anything else. A new name given
// with the address was applied at verification and stays.
func LapseMove(r Request, ttl time.Duration, now time.Time) *Request {
	if r.Kind != Correct || r.Status != Verified || now.Before(r.VerifiedAt.Add(ttl)) {
		return nil
	}
	q := r.close(Expired, now)
	return &q
}
