package people

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Subscriptions runs unsubscribing and the preferences page. Withdrawing
// takes effect at once, from any link, forever; granting never does: a
// grant waits, pending, for the confirm button behind a mailed link
// (double opt-in for every grant, policy sections 5, 7, 11, 12).
type Subscriptions struct {
	Store     Store
	Mailer    SubscriptionMailer // nil only where nothing is ever granted or mailed
	Links     SubscriptionLinker
	Limits    MailLimits // nil: NoMailLimits
	NewID     func() string
	Now       func() time.Time
	PersonID  func(normalisedEmail string) string // keyed hash of an address
	Pseudonym func(string) string                 // keyed hash for client IPs in the ledger
	Retention Retention
	// LinkTTL is how long a confirm link works; ResendInterval how often a
	// grant already covered by a live link, or a fresh preferences link, may
	// be mailed again.
	LinkTTL, ResendInterval time.Duration
}

// SubscriptionMailer sends the mails of the preferences page.
type SubscriptionMailer interface {
	Mailer
	SendPreferencesLink(ctx context.Context, m PreferencesLinkMail) error
}

// PreferencesLinkMail is a fresh link to a person's preferences page, asked
// for on the page an expired or unknown link shows.
type PreferencesLinkMail struct {
	PersonID string // for logs; the address is never logged
	To       string
	Link     string
}

// SubscriptionLinker makes the signed links the preferences page mails.
type SubscriptionLinker interface {
	Linker
	// PreferencesLink is a link to the person's preferences page, minted at now.
	PreferencesLink(personID string, now time.Time) string
}

// UnreadStore is a Store that can also write a change decided without
// reading the person, under the condition that the person is as assumed.
type UnreadStore interface {
	Store
	// UpdateUnread writes u if the person as stored is as u.Assumed, in one
	// write; it reports false, having written nothing, when they are not
	// (or when the write lost a race), and the caller decides on a read.
	UpdateUnread(ctx context.Context, personID string, u Unread) (bool, error)
}

// StopMarketing stops every marketing purpose at once, active or pending
// (one-click unsubscribe or "stop all marketing"), with one ledger entry
// for all of them. Legally required notices are not marketing and are not
// affected; testimonials are no mail and stay. It is idempotent and answers
// false when nothing changed, including for a person who no longer exists.
//
// Mail clients send one-clicks in bulk, so the common case costs one write
// and no read: the decision for a subscriber with marketing consents only,
// past double opt-in, without an account, is the same for all of them, and
// a store that can (UnreadStore) writes it on that condition. Anyone else is
// read and decided on as usual.
func (s *Subscriptions) StopMarketing(ctx context.Context, personID string, c Context) (bool, error) {
	if u, ok := s.Store.(UnreadStore); ok {
		written, err := u.UpdateUnread(ctx, personID, s.unreadStop(personID, s.Now().UTC(), c))
		if err != nil {
			return false, fmt.Errorf("people.StopMarketing: %w", err)
		}
		if written {
			return true, nil
		}
	}
	ch, err := s.Store.UpdatePerson(ctx, personID, func(p Person) (Change, error) {
		return s.stopMarketing(p, stampAfter(s.Now(), p), c), nil
	})
	if err != nil {
		return false, fmt.Errorf("people.StopMarketing: %w", err)
	}
	return !ch.IsZero(), nil
}

// stopMarketing is the decision: p without any marketing purpose, active
// or pending; nothing when there was none.
func (s *Subscriptions) stopMarketing(p Person, now time.Time, c Context) Change {
	if !slices.ContainsFunc(append(slices.Clone(p.Active), p.Pending...), Purpose.Marketing) {
		return Change{} // nothing left to withdraw, or nobody
	}
	e := s.Retention.WithProofClocks(NewEvents(p.ID, Withdraw, []Purpose{AllMarketing}, now, s.ledgerContext(c, p), s.NewID))
	active := slices.DeleteFunc(slices.Clone(p.Active), Purpose.Marketing)
	left := slices.DeleteFunc(slices.Clone(p.Active), func(q Purpose) bool { return !q.Marketing() })
	status := Unsubscribed // no marketing left, whatever else stays (a testimonial)
	if p.Status == Unconfirmed {
		status = Unconfirmed
	}
	ch := s.change(p, active, slices.DeleteFunc(slices.Clone(p.Pending), Purpose.Marketing), status, now, nil, left, e)
	ch.After.Links = linksWithout(p.Links, MarketingPurposes, now) // an old link grants them no more
	return ch
}

// unreadStop is stopMarketing decided for a subscriber with every marketing
// purpose and nothing else, stamped now: for every person as Assumed (some
// marketing purpose to withdraw, none but marketing active, confirmed or
// unsubscribed, no account, no live confirm link, last written before now)
// the decision writes the same status, clock, entry and list departures,
// which is what makes it right to write without reading.
func (s *Subscriptions) unreadStop(personID string, now time.Time, c Context) Unread {
	typical := Person{ID: personID, Status: Confirmed, Active: slices.Clone(MarketingPurposes)}
	ch := s.stopMarketing(typical, now, c)
	var others []Purpose
	for _, q := range Purposes {
		if !q.Marketing() {
			others = append(others, q)
		}
	}
	return Unread{
		Assumed: Assumption{AnyOf: MarketingPurposes, NoneActive: others, Status: []Status{Confirmed, Unsubscribed}, NoAccount: true, NoLinks: true, WrittenBefore: now},
		Remove:  MarketingPurposes, Status: ch.After.Status, Clock: ch.After.Clock, Recipient: ch.After.NoticeRecipient(),
		At: now, Left: ch.Left, Events: ch.Events,
	}
}

// PreferencesResult says what a save of the preferences form did.
type PreferencesResult struct {
	Changed bool      // something was written
	Waiting []Purpose // wanted, not in force: they await the button behind a mailed link
	Mailed  bool      // a confirmation mail for them went out now
	// Limited is set when the grants needed a mail that the limits refused:
	// nothing was started (withdrawals were made all the same). RetryAfter
	// is then when the limit that refused lets a mail go again.
	Limited    bool
	RetryAfter time.Duration
	// Unreachable is set when the grants needed a mail and SES's feedback
	// says our mail does not reach the address (Deliverability.Reachable):
	// no mail went and nothing was started (withdrawals were made all the
	// same). The way back is a new sign-up, confirmed (Service.SignUp).
	Unreachable bool
}

// SetPreferences makes want what the person receives, as far as a form may:
// each active purpose not wanted stops at once, and each pending one not
// wanted is dropped (withdrawals in the ledger); each wanted purpose not in
// force becomes pending (a grant in the ledger) and a confirmation mail
// goes out for it, unless a live link already covers it and one was mailed
// within ResendInterval. The mail counts against the limits; when they
// refuse, nothing is started and the result says Limited. To a person our
// mail does not reach (undeliverable, or resting: issue 12's "no mail of
// any kind") no mail goes: nothing is started and the result says
// Unreachable. Errors:
// ErrNotFound (erased), ErrBusy, the mailer's (after releasing its slot).
func (s *Subscriptions) SetPreferences(ctx context.Context, personID string, want []Purpose, c Context) (PreferencesResult, error) {
	return s.preferences(ctx, personID, want, c, true)
}

// Withdraw is SetPreferences for a link that may only withdraw (an expired
// one): what is not in keep stops or is dropped; nothing starts.
func (s *Subscriptions) Withdraw(ctx context.Context, personID string, keep []Purpose, c Context) (PreferencesResult, error) {
	return s.preferences(ctx, personID, keep, c, false)
}

// errNeedsMail stops a decision that needs a mail the limits were not
// asked about yet: nothing is written, the limits are asked, and the
// decision runs again knowing their answer.
var errNeedsMail = errors.New("people: the change needs a mail")

// mailPermit is what the limits said about a mail a decision needs.
type mailPermit int

const (
	mailUnasked mailPermit = iota
	mailAllowed
	mailRefused
)

func (s *Subscriptions) preferences(ctx context.Context, personID string, want []Purpose, c Context, mayGrant bool) (PreferencesResult, error) {
	var res PreferencesResult
	var to string
	var link *Link
	decide := func(permit mailPermit) Decide {
		return func(p Person) (Change, error) {
			res, link, to = PreferencesResult{}, nil, p.Email
			if !p.Exists() {
				return Change{}, ErrNotFound
			}
			now := stampAfter(s.Now(), p)
			var grants, waiting, left, dropped []Purpose
			for _, q := range Purposes {
				switch has, wants, pending := p.Has(q), slices.Contains(want, q), slices.Contains(p.Pending, q); {
				case wants && !has && !pending && mayGrant:
					grants = append(grants, q)
				case wants && !has && pending:
					waiting = append(waiting, q)
				case has && !wants:
					left = append(left, q)
				case pending && !wants:
					dropped = append(dropped, q)
				}
			}
			// What a new link would name: the new grants, and what waits without a live link.
			ask := append(slices.Clone(grants), slices.DeleteFunc(slices.Clone(waiting), func(q Purpose) bool { return p.Covered([]Purpose{q}, now) })...)
			slices.SortFunc(ask, byDisplayOrder)
			mail := mayGrant && len(ask) > 0 && (!p.Covered(ask, now) || p.ConfirmMailAt.IsZero() || !p.ConfirmMailAt.After(now.Add(-s.ResendInterval)))
			switch {
			case mail && !p.Deliverability.Reachable(now):
				grants, mail, res.Unreachable = nil, false, true
			case mail && permit == mailUnasked:
				return Change{}, errNeedsMail
			case mail && permit == mailRefused:
				grants, mail, res.Limited = nil, false, true
			}
			res.Waiting = append(slices.Clone(grants), waiting...)
			slices.SortFunc(res.Waiting, byDisplayOrder)
			if len(grants) == 0 && len(left) == 0 && len(dropped) == 0 && !mail {
				return Change{}, nil
			}
			pc := s.ledgerContext(c, p)
			active := slices.DeleteFunc(slices.Clone(p.Active), func(q Purpose) bool { return slices.Contains(left, q) })
			pending := append(slices.DeleteFunc(slices.Clone(p.Pending), func(q Purpose) bool { return slices.Contains(dropped, q) }), grants...)
			slices.SortFunc(pending, byDisplayOrder)
			status := p.Status
			if len(left) > 0 {
				status = statusFor(active, p.Status)
			}
			events := append(NewEvents(personID, Grant, grants, now, pc, s.NewID),
				s.Retention.WithProofClocks(NewEvents(personID, Withdraw, append(left, dropped...), now, pc, s.NewID))...)
			ch := s.change(p, active, pending, status, now, nil, left, events)
			ch.After.Links = linksWithout(p.Links, append(left, dropped...), now)
			if mail {
				l := Link{Nonce: s.NewID(), Purposes: ask, PolicyVersion: pc.PolicyVersion, Source: c.Source, Issued: now, Expires: now.Add(s.LinkTTL)}
				ch.After.Links, ch.After.ConfirmMailAt, link = withLink(ch.After.Links, l, now), now, &l
			}
			return ch, nil
		}
	}
	ch, err := s.Store.UpdatePerson(ctx, personID, decide(mailUnasked))
	if errors.Is(err, errNeedsMail) {
		permit, retryAfter := mailAllowed, time.Duration(0)
		if lerr := limitsOr(s.Limits).AllowMail(ctx, to, c.IP); lerr != nil {
			e, ok := AsError(lerr)
			if !ok || e.Code != RateLimited {
				return PreferencesResult{}, fmt.Errorf("people.SetPreferences: asking the limits: %w", lerr)
			}
			permit, retryAfter = mailRefused, e.RetryAfter
		}
		ch, err = s.Store.UpdatePerson(ctx, personID, decide(permit))
		if res.Limited {
			res.RetryAfter = retryAfter
		}
	}
	if err != nil {
		return PreferencesResult{}, fmt.Errorf("people.SetPreferences: %w", err)
	}
	res.Changed = !ch.IsZero()
	if link == nil || ch.IsZero() {
		return res, nil
	}
	m := ConfirmationMail{PersonID: personID, To: to, Purposes: link.Purposes, Link: s.Links.ConfirmLink(personID, *link), Expires: link.Expires}
	if err := s.Mailer.SendConfirmation(ctx, m); err != nil {
		if rerr := releaseMail(ctx, s.Store, s.Now, personID, *link); rerr != nil {
			return res, fmt.Errorf("people.SetPreferences: send failed (%w), and releasing the mail slot failed: %v", err, rerr)
		}
		return res, fmt.Errorf("people.SetPreferences: %w", err)
	}
	res.Mailed = true
	return res, nil
}

// SendPreferencesLink mails a fresh link to the preferences page of the
// person with the address typed, if we hold one, at most once per
// ResendInterval; the limits count every request, known address or not,
// so the answer never tells whether the address is known. A person our
// mail does not reach (undeliverable, or resting: issue 12) is mailed
// nothing, and the answer is the same as for an address we do not hold
// (nil): the route must not tell who bounced. Errors: an
// Invalid *Error for a bad address, a RateLimited one from the limits,
// ErrBusy, a fault.
func (s *Subscriptions) SendPreferencesLink(ctx context.Context, typed string, c Context) error {
	email := NormaliseEmail(typed)
	if err := ValidateEmail(email); err != nil {
		return err
	}
	if err := limitsOr(s.Limits).AllowMail(ctx, email, c.IP); err != nil {
		return err
	}
	id := s.PersonID(email)
	var claimed time.Time
	ch, err := s.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
		if !p.Exists() {
			return Change{}, nil
		}
		now := stampAfter(s.Now(), p)
		if !p.Deliverability.Reachable(now) {
			return Change{}, nil
		}
		if !p.LinkMailAt.IsZero() && p.LinkMailAt.After(now.Add(-s.ResendInterval)) {
			return Change{}, nil
		}
		q := changed(p)
		q.LinkMailAt, q.UpdatedAt, claimed = now, now, now
		return Change{After: q}, nil
	})
	if err != nil {
		return fmt.Errorf("people.SendPreferencesLink: %w", err)
	}
	if ch.IsZero() {
		return nil
	}
	m := PreferencesLinkMail{PersonID: id, To: ch.After.Email, Link: s.Links.PreferencesLink(id, claimed)}
	if err := s.Mailer.SendPreferencesLink(ctx, m); err != nil {
		_, rerr := s.Store.UpdatePerson(ctx, id, func(p Person) (Change, error) {
			if !p.Exists() || !p.LinkMailAt.Equal(claimed) {
				return Change{}, nil
			}
			q := changed(p)
			q.LinkMailAt, q.UpdatedAt = time.Time{}, stampAfter(s.Now(), p)
			return Change{After: q}, nil
		})
		if rerr != nil {
			return fmt.Errorf("people.SendPreferencesLink: send failed (%w), and releasing the mail slot failed: %v", err, rerr)
		}
		return fmt.Errorf("people.SendPreferencesLink: %w", err)
	}
	return nil
}

// linksWithout is links without the withdrawn purposes and without the
// expired ones: a link mailed before a withdrawal cannot bring back what
// was withdrawn; a link left naming nothing (and no name) goes.
func linksWithout(links []Link, withdrawn []Purpose, now time.Time) []Link {
	var out []Link
	for _, l := range links {
		l.Purposes = slices.DeleteFunc(slices.Clone(l.Purposes), func(q Purpose) bool { return slices.Contains(withdrawn, q) })
		if l.Live(now) && (len(l.Purposes) > 0 || l.Name != "") {
			out = append(out, l)
		}
	}
	return out
}

// ledgerContext is c as the ledger records it for p.
func (s *Subscriptions) ledgerContext(c Context, p Person) Context {
	if c.PolicyVersion == "" {
		c.PolicyVersion = p.PolicyVersion
	}
	return c.Pseudonymised(s.Pseudonym)
}

// change is p with new consent sets and status, the clock they imply, the
// list memberships that change and the entries that prove it.
func (s *Subscriptions) change(p Person, active, pending []Purpose, status Status, now time.Time, joined, left []Purpose, events []ConsentEvent) Change {
	q := changed(p)
	q.Active, q.Pending, q.Status, q.UpdatedAt = active, pending, status, now
	q.Clock = s.Retention.PersonClock(q.Status, q.Active, q.Account, now)
	return Change{After: q, Joined: joined, Left: left, Events: events}
}

// statusFor is the status after a change to the active purposes.
func statusFor(active []Purpose, current Status) Status {
	if len(active) > 0 {
		return Confirmed
	}
	if current == Unconfirmed {
		return Unconfirmed
	}
	return Unsubscribed
}

// MaskEmail shows enough of an address for its owner to recognise it and
// little to anyone else: the first letter of the part before the @ and the
// whole domain as they typed it (DisplayEmail), so that someone with
// several addresses can tell which one a page is about:
// "jo.tester@example.com" -> "j***@example.com", "jo@xn--bcher-kva.example"
// -> "j***@bücher.example".
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(DisplayEmail(addr), "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	_, n := utf8.DecodeRuneInString(local)
	return local[:n] + "***@" + domain
}
