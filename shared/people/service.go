package people

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

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
	// Limiter holds sign-ups to the abuse limits; nil: no limits (tests).
	Limiter *Limiter
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
// at most once per address per ResendInterval. Purposes already in force
// are not asked again; a sign-up that asks for nothing new changes nothing
// and sends nothing (the answer to the client is the same). A sign-up over
// one of the Limiter's limits is refused (RateLimited, with RetryAfter)
// before anything is read or written.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (res SignUpResult, err error) {
	email, name, purposes, err := s.ValidateSignUp(in)
	if err != nil {
		return SignUpResult{}, err
	}
	permit, err := s.Limiter.Admit(ctx, email, in.Context.IP)
	if err != nil {
		return SignUpResult{}, fmt.Errorf("people.SignUp: %w", err)
	}
	defer func() {
		// The mail the limits allowed counts only if it went. Should giving
		// it back fail, it stays counted: fewer mails, never more, and the
		// sign-up's own outcome stands.
		if !res.MailSent {
			_ = permit.Release(ctx)
		}
	}()
	id := s.PersonID(email)
	c := in.Context.Pseudonymised(s.PersonID)
	var asked []Purpose
	claimed := false
	ch, err := s.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		asked = slices.DeleteFunc(slices.Clone(purposes), p.Has)
		if len(asked) == 0 {
			return Change{}, nil
		}
		now := stampAfter(s.Now(), p)
		q := changed(p)
		if !p.Exists() {
			q.ID, q.Status, q.CreatedAt = id, Unconfirmed, now
		}
		q.Email, q.Name, q.PolicyVersion, q.UpdatedAt = email, name, in.PolicyVersion, now
		for _, a := range asked {
			if !slices.Contains(q.Pending, a) {
				q.Pending = append(q.Pending, a)
			}
		}
		// A sign-up is no confirmed activity: a clock that runs keeps running.
		if p.Clock.IsZero() {
			q.Clock = s.Retention.PersonClock(q.Status, q.Active, q.Account, now)
		}
		claimed = p.ConfirmMailAt.IsZero() || p.ConfirmMailAt.Before(now.Add(-s.ResendInterval))
		if claimed {
			q.ConfirmMailAt = now
		}
		return Change{After: q, Events: NewEvents(id, Grant, asked, now, c, s.NewID)}, nil
	})
	if err != nil {
		return SignUpResult{}, fmt.Errorf("people.SignUp: %w", err)
	}
	res = SignUpResult{PersonID: id, Purposes: purposes, Normalised: email}
	if ch.IsZero() || !claimed {
		return res, nil
	}
	claimedAt := ch.After.ConfirmMailAt
	link, expires := s.Links.ConfirmLink(id, asked, claimedAt)
	mail := ConfirmationMail{PersonID: id, To: email, Name: name, Purposes: asked, Link: link, Expires: expires}
	if err := s.Mailer.SendConfirmation(ctx, mail); err != nil {
		// Give the slot back so that a retry can send; the sign-up itself stays.
		if rerr := s.releaseConfirmMail(ctx, id, claimedAt); rerr != nil {
			return res, fmt.Errorf("people.SignUp: send failed (%w), and releasing the mail slot failed: %v", err, rerr)
		}
		return res, fmt.Errorf("people.SignUp: %w", err)
	}
	res.MailSent = true
	return res, nil
}

// releaseConfirmMail undoes the mail claim made at claimedAt, unless a newer
// claim replaced it, so that a failed send does not lock the person out of
// a new mail for ResendInterval.
func (s *Service) releaseConfirmMail(ctx context.Context, id string, claimedAt time.Time) error {
	_, err := s.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		if !p.Exists() || !p.ConfirmMailAt.Equal(claimedAt) {
			return Change{}, nil
		}
		q := changed(p)
		q.ConfirmMailAt, q.UpdatedAt = time.Time{}, stampAfter(s.Now(), p)
		return Change{After: q}, nil
	})
	return err
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
// idempotent: a second press changes nothing and says so. Errors:
// ErrNotFound (erased since the mail was sent), ErrBusy.
func (s *Service) Confirm(ctx context.Context, personID string, purposes []Purpose, c Context) (ConfirmOutcome, error) {
	var outcome ConfirmOutcome
	_, err := s.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		var todo []Purpose
		already := true
		for _, want := range purposes {
			if slices.Contains(p.Pending, want) && !p.Has(want) {
				todo = append(todo, want)
			}
			already = already && p.Has(want)
		}
		switch {
		case len(todo) > 0:
			outcome = Activated
		case already:
			outcome = AlreadyConfirmed
			return Change{}, nil
		default:
			outcome = NothingPending
			return Change{}, nil
		}
		if c.PolicyVersion == "" {
			c.PolicyVersion = p.PolicyVersion
		}
		now := stampAfter(s.Now(), p)
		q := changed(p)
		q.Active = append(q.Active, todo...)
		q.Pending = slices.DeleteFunc(q.Pending, func(x Purpose) bool { return slices.Contains(todo, x) })
		q.Status, q.UpdatedAt = Confirmed, now
		if q.ConfirmedAt.IsZero() {
			q.ConfirmedAt = now
		}
		// Confirming is confirmed activity: the clock starts again.
		q.Clock = s.Retention.PersonClock(q.Status, q.Active, q.Account, now)
		return Change{After: q, Joined: todo, Events: NewEvents(personID, Confirm, todo, now, c.Pseudonymised(s.PersonID), s.NewID)}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("people.Confirm: %w", err)
	}
	return outcome, nil
}
