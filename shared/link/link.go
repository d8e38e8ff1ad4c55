// Package link mints the signed links pledge mails to people: confirm links
// that work once (each carries the nonce of the people.Link the person
// keeps) and links to a person's preferences page.
package link

import (
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// Minter mints links under one base URL (https://host, no trailing slash).
type Minter struct {
	Keys *token.Keys
	Base string
	// PreferencesTTL is how long a preferences link works (0: forever, as
	// UNSUBSCRIBE_TTL says).
	PreferencesTTL time.Duration
}

var _ people.SubscriptionLinker = Minter{}

// ConfirmLink is the link to the confirm page for l.
func (m Minter) ConfirmLink(personID string, l people.Link) string {
	return web.TokenURL(m.Base, "/confirm", ConfirmToken(m.Keys, personID, l))
}

// PreferencesLink is the link to the person's preferences page, minted at now.
func (m Minter) PreferencesLink(personID string, now time.Time) string {
	return web.TokenURL(m.Base, "/unsubscribe", m.Keys.Issue(token.Unsubscribe, personID, []string{"preferences"}, now, m.PreferencesTTL))
}

// ConfirmToken is the token of the confirm link for l: its purposes (which
// the confirm page shows without a read) and its nonce, expiring with it.
func ConfirmToken(keys *token.Keys, personID string, l people.Link) string {
	scope := make([]string, len(l.Purposes))
	for i, p := range l.Purposes {
		scope[i] = string(p)
	}
	return keys.IssueOnce(token.Confirm, personID, l.Nonce, scope, l.Issued, l.Expires.Sub(l.Issued))
}
