package people

import (
	"context"
	"slices"
	"time"
)

// Link is a confirmation link that was mailed and has not been used: the
// confirm button works once, for the act that issued it (a sign-up, or a
// grant on the preferences page). The person keeps one Link per live mail;
// the token in the mail carries the Nonce, and a token whose nonce the
// person no longer holds changes nothing (policy sections 5, 7, 11, 12:
// every grant double-opted; issue "the public door", abuse case 5).
type Link struct {
	Nonce    string    // random, unique per mail; the token carries it under its signature
	Purposes []Purpose // what pressing it activates, if still pending then
	// Name is the name given with the sign-up that issued the link: it
	// replaces the person's name only when the button is pressed ("" leaves
	// the name as it is). It never goes into mail.
	Name          string
	PolicyVersion string // the policy version shown with the act
	Source        string // the form or page that issued it, as in the ledger
	Issued        time.Time
	Expires       time.Time
}

// maxLinks bounds the live links a person keeps: a new one beyond it pushes
// out the oldest (whose mail can then no longer confirm anything).
const maxLinks = 8

// Live reports whether the link still works at now.
func (l Link) Live(now time.Time) bool { return now.Before(l.Expires) }

// Link returns the link with nonce, if the person still holds it.
func (p Person) Link(nonce string) (Link, bool) {
	if nonce == "" {
		return Link{}, false
	}
	i := slices.IndexFunc(p.Links, func(l Link) bool { return l.Nonce == nonce })
	if i < 0 {
		return Link{}, false
	}
	return p.Links[i], true
}

// Covered reports whether every one of purposes is named by a link that is
// live at now: a mail that can still confirm it is in the person's inbox.
func (p Person) Covered(purposes []Purpose, now time.Time) bool {
	for _, q := range purposes {
		if !slices.ContainsFunc(p.Links, func(l Link) bool { return l.Live(now) && slices.Contains(l.Purposes, q) }) {
			return false
		}
	}
	return true
}

// withLink returns links without the expired ones, with l added last, at
// most maxLinks of them.
func withLink(links []Link, l Link, now time.Time) []Link {
	out := slices.DeleteFunc(slices.Clone(links), func(x Link) bool { return !x.Live(now) })
	out = append(out, l)
	if len(out) > maxLinks {
		out = out[len(out)-maxLinks:]
	}
	return out
}

// withoutLink returns links without the one with nonce and the expired ones.
func withoutLink(links []Link, nonce string, now time.Time) []Link {
	return slices.DeleteFunc(slices.Clone(links), func(x Link) bool { return x.Nonce == nonce || !x.Live(now) })
}

// MailLimits decides whether one more mail of the double opt-in flow may go
// to an address at the request of a client: the limits per mailbox, per
// source IP and overall (issue "the public door"). AllowMail answers nil,
// or an *Error with Code RateLimited whose message may be shown; any other
// error is a fault (the caller answers 5xx). It counts the mail as sent
// when it allows it. to is a normalised address; clientIP as the request
// gave it (the limits key it by a hash, never store it).
type MailLimits interface {
	AllowMail(ctx context.Context, to, clientIP string) error
}

// NoMailLimits allows every mail: the default where no limits are wired.
type NoMailLimits struct{}

// AllowMail allows the mail.
func (NoMailLimits) AllowMail(context.Context, string, string) error { return nil }

// limitsOr is l, or NoMailLimits when l is nil.
func limitsOr(l MailLimits) MailLimits {
	if l == nil {
		return NoMailLimits{}
	}
	return l
}
