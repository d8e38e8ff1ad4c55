package people

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Store is what the sign-up and confirm flows need from persistence.
type Store interface {
	// SignUp upserts the person and appends the events in one atomic write.
	// It claims the confirmation-mail slot (sets ConfirmMailAt to Now) only when
	// the previous claim is older than MailAfter, and reports whether it did.
	SignUp(ctx context.Context, s SignUpRecord) (mailClaimed bool, err error)
	// ReleaseConfirmMail undoes a claim made at claimedAt, so a failed send
	// does not lock the person out of a new mail.
	ReleaseConfirmMail(ctx context.Context, personID string, claimedAt time.Time) error
	// Person reads one person; ErrNotFound if there is none.
	Person(ctx context.Context, personID string) (Person, error)
	// ChangeConsent applies ch if p is still at p.Version; ErrConflict otherwise.
	ChangeConsent(ctx context.Context, p Person, ch ConsentChange) error
}

// SignUpRecord is one sign-up as the store writes it.
type SignUpRecord struct {
	PersonID      string
	Email, Name   string
	Purposes      []Purpose
	PolicyVersion string
	Events        []ConsentEvent
	Now           time.Time
	MailAfter     time.Time // claim the mail slot only if the last claim is before this
	Clock         Clock     // the unconfirmed clock, started only if no clock runs yet
}

// ConfirmationMail is the double opt-in mail.
type ConfirmationMail struct {
	PersonID string // for logs; the address is never logged
	To, Name string
	Purposes []Purpose
	Link     string
	Expires  time.Time
}

// Mailer sends the mails of the sign-up flow.
type Mailer interface {
	SendConfirmation(ctx context.Context, m ConfirmationMail) error
}

// Linker makes the signed confirm link for a person and purposes.
type Linker interface {
	ConfirmLink(personID string, purposes []Purpose, now time.Time) (link string, expires time.Time)
}

// Service runs sign-up and confirmation.
type Service struct {
	Store          Store
	Mailer         Mailer
	Links          Linker
	PersonID       func(normalisedEmail string) string // keyed hash of the address
	NewID          func() string                       // unique ids for ledger entries
	Now            func() time.Time
	ResendInterval time.Duration // at most one confirmation mail per address per interval
	PolicyVersion  string        // the version in force, which forms must show
	Retention      Retention     // the clocks every write starts or moves
}

// SignUpInput is what a sign-up form or script sends.
type SignUpInput struct {
	Email         string
	Name          string
	Purposes      []string
	PolicyVersion string
	Context
}

// SignUpResult says what happened, without revealing whether the address
// was known (the response to the client is the same either way).
type SignUpResult struct {
	PersonID   string
	MailSent   bool
	Purposes   []Purpose
	Normalised string
}

var sourcePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// ValidateSignUp checks and normalises a sign-up without touching any state.
func (s *Service) ValidateSignUp(in SignUpInput) (email, name string, purposes []Purpose, err error) {
	email = NormaliseEmail(in.Email)
	if err = ValidateEmail(email); err != nil {
		return
	}
	if name, err = CleanName(in.Name); err != nil {
		return
	}
	if purposes, err = ParsePurposes(in.Purposes); err != nil {
		return
	}
	if len(purposes) == 0 {
		err = Errorf(Invalid, "purposes", "choose at least one purpose to sign up for")
		return
	}
	if in.PolicyVersion == "" {
		err = Errorf(Invalid, "policy_version", "the policy version shown is required")
		return
	}
	if in.PolicyVersion != s.PolicyVersion {
		err = Errorf(Conflict, "policy_version", "the privacy policy has changed since this form was loaded; reload it and read the current version")
		return
	}
	if !sourcePattern.MatchString(in.Source) {
		err = Errorf(Invalid, "form_id", "the form id must be 1 to 40 lower-case letters, digits or hyphens")
		return
	}
	return
}

// SignUp records the consents asked for and sends the confirmation mail,
// at most once per address per ResendInterval.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (SignUpResult, error) {
	email, name, purposes, err := s.ValidateSignUp(in)
	if err != nil {
		return SignUpResult{}, err
	}
	now := s.Now().UTC()
	id := s.PersonID(email)
	rec := SignUpRecord{
		PersonID: id, Email: email, Name: name, Purposes: purposes,
		PolicyVersion: in.PolicyVersion,
		Events:        NewEvents(id, Grant, purposes, now, in.Context.Pseudonymised(s.PersonID), s.NewID),
		Now:           now, MailAfter: now.Add(-s.ResendInterval),
		// Written without a read, so without the account: the store keeps a
		// running clock, and the sweep re-checks an account before erasing.
		Clock: s.Retention.PersonClock(Unconfirmed, nil, Account{}, now),
	}
	claimed, err := s.Store.SignUp(ctx, rec)
	if err != nil {
		return SignUpResult{}, fmt.Errorf("people.SignUp: %w", err)
	}
	res := SignUpResult{PersonID: id, Purposes: purposes, Normalised: email}
	if !claimed {
		return res, nil
	}
	link, expires := s.Links.ConfirmLink(id, purposes, now)
	mail := ConfirmationMail{PersonID: id, To: email, Name: name, Purposes: purposes, Link: link, Expires: expires}
	if err := s.Mailer.SendConfirmation(ctx, mail); err != nil {
		// Give the slot back so that a retry can send; the sign-up itself stays.
		if rerr := s.Store.ReleaseConfirmMail(ctx, id, now); rerr != nil {
			return res, fmt.Errorf("people.SignUp: send failed (%w), and releasing the mail slot failed: %v", err, rerr)
		}
		return res, fmt.Errorf("people.SignUp: %w", err)
	}
	res.MailSent = true
	return res, nil
}

// ConfirmOutcome tells the confirm page what to say.
type ConfirmOutcome int

// The outcomes of pressing the confirm button.
const (
	Activated        ConfirmOutcome = iota // purposes were activated now
	AlreadyConfirmed                       // nothing left to do: a double click or an old link
	NothingPending                         // the purposes were withdrawn or never asked for
)

// Confirm activates the purposes named by a verified confirm link. It is
// idempotent: a second press changes nothing and says so.
func (s *Service) Confirm(ctx context.Context, personID string, purposes []Purpose, c Context) (ConfirmOutcome, error) {
	const attempts = 3
	for range attempts {
		p, err := s.Store.Person(ctx, personID)
		if err != nil {
			return 0, err
		}
		var todo []Purpose
		already := true
		for _, want := range purposes {
			if slices.Contains(p.Pending, want) && !p.Has(want) {
				todo = append(todo, want)
			}
			already = already && p.Has(want)
		}
		if len(todo) == 0 {
			if already {
				return AlreadyConfirmed, nil
			}
			return NothingPending, nil
		}
		if c.PolicyVersion == "" {
			c.PolicyVersion = p.PolicyVersion
		}
		now := s.Now().UTC()
		active := append(slices.Clone(p.Active), todo...)
		err = s.Store.ChangeConsent(ctx, p, ConsentChange{
			Active:  active,
			Pending: slices.DeleteFunc(slices.Clone(p.Pending), func(q Purpose) bool { return slices.Contains(todo, q) }),
			Status:  Confirmed, Joined: todo, Now: now,
			Events: NewEvents(personID, Confirm, todo, now, c.Pseudonymised(s.PersonID), s.NewID),
			Clock:  s.Retention.PersonClock(Confirmed, active, p.Account, now),
		})
		if err == ErrConflict {
			continue // someone wrote in between: read again and decide again
		}
		if err != nil {
			return 0, fmt.Errorf("people.Confirm: %w", err)
		}
		return Activated, nil
	}
	return 0, ErrConflict
}
