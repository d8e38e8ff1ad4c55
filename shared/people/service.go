package people

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// ConfirmationMail is the double opt-in mail. It carries nothing the
// requester typed (no name): the address may not be theirs.
type ConfirmationMail struct {
	PersonID string // for logs; the address is never logged
	To       string
	Purposes []Purpose // what the link activates
	NewName  bool      // the link also confirms the name given on the form (never shown)
	Link     string
	Expires  time.Time
}

// Mailer sends the mails of the sign-up flow.
type Mailer interface {
	SendConfirmation(ctx context.Context, m ConfirmationMail) error
}

// Linker makes the signed confirm link that carries l's nonce.
type Linker interface {
	ConfirmLink(personID string, l Link) string
}

// Service runs sign-up and confirmation.
type Service struct {
	Store          Store
	Mailer         Mailer
	Links          Linker
	PersonID       func(normalisedEmail string) string // keyed hash of the address
	NewID          func() string                       // unique ids for ledger entries and link nonces
	Now            func() time.Time
	LinkTTL        time.Duration // how long a confirm link works
	ResendInterval time.Duration // at most one confirmation mail per address per interval, unless new purposes are asked
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
	// Trapped says a bot filled the form's honeypot: the sign-up is checked
	// like any other (a bad address is the same 400), then answered as done
	// with nothing written (not even a limit counter) or sent.
	Trapped bool
	Context
}

// SignUpResult says what happened, without revealing whether the address
// was known (the response to the client is the same either way).
type SignUpResult struct {
	PersonID   string
	MailSent   bool
	Purposes   []Purpose
	Normalised string
	Trapped    bool // the honeypot was filled: nothing was written or sent
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

// SignUp records the consents asked for and mails a confirm link for them.
// Nothing of the person changes but what awaits the button: purposes in
// force are not asked again, a new name waits in the link (see Link.Name),
// and pending never holds an active purpose. A sign-up that asks for
// nothing new (purposes in force, the same or no name) writes nothing and
// sends nothing. A mail goes out when a purpose asked for is not covered by
// a live link, or else at most once per ResendInterval; each mail's link
// works once. The answer to the client is the same in every case. A
// sign-up over one of the Limiter's limits is refused (RateLimited, with
// RetryAfter) before anything is read or written.
//
// A sign-up gets its confirmation mail even when SES's feedback says our
// mail does not reach the address (undeliverable after a permanent bounce,
// or resting after transient ones), unlike every other mail: issue 12's
// rule is "no mail of any kind until they sign up again and confirm", so
// signing up again and pressing the button is how such a person gets mail
// back, and the sign-up is the one mail the person is waiting for at that
// moment. For them the link names every purpose asked for, those in force
// included (without a new ledger grant for those), so that a person whose
// consents all stand still gets a button to press; pressing it proves the
// address reaches them and clears the state (Confirm).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (res SignUpResult, err error) {
	email, name, purposes, err := s.ValidateSignUp(in)
	if err != nil {
		return SignUpResult{}, err
	}
	if in.Trapped {
		return SignUpResult{Purposes: purposes, Normalised: email, Trapped: true}, nil
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
	var link *Link
	ch, err := s.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		link = nil
		now := stampAfter(s.Now(), p)
		asked := slices.DeleteFunc(slices.Clone(purposes), p.Has)
		named := asked // what the link names
		if !p.Deliverability.Reachable(now) {
			named = purposes // a person our mail stopped reaching confirms again what they have too
		}
		newName := name != "" && name != p.Name
		if len(named) == 0 && !newName {
			return Change{}, nil
		}
		mail := !p.Covered(named, now) || p.ConfirmMailAt.IsZero() || !p.ConfirmMailAt.After(now.Add(-s.ResendInterval))
		if len(asked) == 0 && !mail {
			return Change{}, nil // a new name alone, or a re-confirmation, mailed a moment ago: it waits for the next mail
		}
		q := changed(p)
		if !p.Exists() {
			q.ID, q.Email, q.Status, q.PolicyVersion, q.CreatedAt = id, email, Unconfirmed, in.PolicyVersion, now
		}
		q.UpdatedAt = now
		for _, a := range asked {
			if !slices.Contains(q.Pending, a) {
				q.Pending = append(q.Pending, a)
			}
		}
		slices.SortFunc(q.Pending, byDisplayOrder)
		// A sign-up is no confirmed activity: a clock that runs keeps running.
		if p.Clock.IsZero() {
			q.Clock = s.Retention.PersonClock(q.Status, q.Active, q.Account, now)
		}
		if mail {
			l := Link{Nonce: s.NewID(), Purposes: named, PolicyVersion: in.PolicyVersion, Source: in.Source, Issued: now, Expires: now.Add(s.LinkTTL)}
			if newName {
				l.Name = name
			}
			q.Links, q.ConfirmMailAt, link = withLink(q.Links, l, now), now, &l
		}
		return Change{After: q, Events: NewEvents(id, Grant, asked, now, c, s.NewID)}, nil
	})
	if err != nil {
		return SignUpResult{}, fmt.Errorf("people.SignUp: %w", err)
	}
	res = SignUpResult{PersonID: id, Purposes: purposes, Normalised: email}
	if ch.IsZero() || link == nil {
		return res, nil
	}
	mail := ConfirmationMail{PersonID: id, To: ch.After.Email, Purposes: link.Purposes, NewName: link.Name != "",
		Link: s.Links.ConfirmLink(id, *link), Expires: link.Expires}
	if err := s.Mailer.SendConfirmation(ctx, mail); err != nil {
		// Give the slot back so that a retry can send; the sign-up itself stays.
		if rerr := releaseMail(ctx, s.Store, s.Now, id, *link); rerr != nil {
			return res, fmt.Errorf("people.SignUp: send failed (%w), and releasing the mail slot failed: %v", err, rerr)
		}
		return res, fmt.Errorf("people.SignUp: %w", err)
	}
	res.MailSent = true
	return res, nil
}

// byDisplayOrder orders purposes as Purposes lists them.
func byDisplayOrder(a, b Purpose) int { return slices.Index(Purposes, a) - slices.Index(Purposes, b) }

// releaseMail undoes the claim of the mail that carried l, which could not
// be sent: the link goes (nobody holds it), and the mail slot is freed
// unless a newer claim replaced it, so that a failed send does not lock the
// person out of a new mail for the resend interval.
func releaseMail(ctx context.Context, st Store, clock func() time.Time, id string, l Link) error {
	_, err := st.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		if _, ok := p.Link(l.Nonce); !p.Exists() || !ok {
			return Change{}, nil
		}
		now := stampAfter(clock(), p)
		q := changed(p)
		q.Links, q.UpdatedAt = withoutLink(p.Links, l.Nonce, now), now
		if p.ConfirmMailAt.Equal(l.Issued) {
			q.ConfirmMailAt = time.Time{}
		}
		return Change{After: q}, nil
	})
	return err
}

// ConfirmOutcome tells the confirm page what to say.
type ConfirmOutcome int

// The outcomes of pressing the confirm button.
const (
	Activated        ConfirmOutcome = iota // purposes (or the name) were confirmed now
	AlreadyConfirmed                       // the link is live but what it names is in force already
	NothingPending                         // the link is live but what it names was withdrawn since
	AlreadyUsed                            // the link was used, or replaced, or never issued: nothing changed
)

// Confirm confirms what the link with nonce names, once: its purposes that
// are still pending become active, its name (if any) becomes the person's,
// and the link is used up. A link the person no longer holds (pressed
// before, pushed out, or from before links had nonces) changes nothing and
// answers AlreadyUsed. Errors: ErrNotFound (erased since the mail was
// sent), ErrBusy.
func (s *Service) Confirm(ctx context.Context, personID, nonce string, c Context) (ConfirmOutcome, error) {
	var outcome ConfirmOutcome
	_, err := s.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, ErrNotFound
		}
		l, ok := p.Link(nonce)
		if !ok {
			outcome = AlreadyUsed
			return Change{}, nil
		}
		todo := slices.DeleteFunc(slices.Clone(l.Purposes), func(q Purpose) bool { return !slices.Contains(p.Pending, q) || p.Has(q) })
		rename := l.Name != "" && l.Name != p.Name
		// A link pressed proves that our mail reaches the address again: a
		// person SES's feedback stopped mailing (undeliverable, resting) is
		// cleared by it, also when what it names is in force already (the
		// link of a sign-up again, Service.SignUp); not by one naming
		// only what was withdrawn since.
		recovers := p.Deliverability.State != Deliverable && len(l.Purposes) > 0 && !slices.ContainsFunc(l.Purposes, func(q Purpose) bool {
			return !p.Has(q) && !slices.Contains(p.Pending, q)
		})
		switch {
		case len(todo) > 0 || rename || recovers:
			outcome = Activated
		case !slices.ContainsFunc(l.Purposes, func(q Purpose) bool { return !p.Has(q) }):
			outcome = AlreadyConfirmed
			return Change{}, nil
		default:
			outcome = NothingPending
			return Change{}, nil
		}
		if c.PolicyVersion = l.PolicyVersion; c.PolicyVersion == "" {
			c.PolicyVersion = p.PolicyVersion
		}
		now := stampAfter(s.Now(), p)
		q := changed(p)
		q.Active = append(q.Active, todo...)
		slices.SortFunc(q.Active, byDisplayOrder)
		q.Pending = slices.DeleteFunc(q.Pending, func(x Purpose) bool { return slices.Contains(todo, x) })
		q.Links, q.UpdatedAt, q.PolicyVersion = withoutLink(p.Links, nonce, now), now, c.PolicyVersion
		if rename {
			q.Name = l.Name
		}
		if len(todo) > 0 {
			q.Status = Confirmed
			if q.ConfirmedAt.IsZero() {
				q.ConfirmedAt = now
			}
		}
		if len(todo) > 0 || recovers {
			// A confirmed sign-up proves the address reaches the person
			// again: what SES said of it before is cleared (issue 12).
			q.Deliverability = p.Deliverability.cleared(now)
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
