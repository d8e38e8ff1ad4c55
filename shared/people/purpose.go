package people

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Purpose is one voluntary use of a person's data that needs its own consent
// (policy sections 5, 11 and 12).
type Purpose string

// The purposes a person can consent to.
const (
	Newsletter   Purpose = "newsletter"
	Offers       Purpose = "offers"
	Surveys      Purpose = "surveys"
	Testimonials Purpose = "testimonials"
)

// Purposes lists every purpose a person can choose, in display order.
var Purposes = []Purpose{Newsletter, Offers, Surveys, Testimonials}

// AllMarketing names, in a ledger entry, every marketing purpose at once: a
// one-click unsubscribe or "stop all marketing" withdraws them together. It
// is not a purpose anyone can sign up for.
const AllMarketing Purpose = "all-marketing"

// MarketingPurposes are the purposes we send marketing mail for (policy
// section 11: newsletters and other marketing email). Testimonials are a
// consent to publish, not to mail, so stopping marketing leaves them alone.
var MarketingPurposes = []Purpose{Newsletter, Offers, Surveys}

// Marketing reports whether p is a marketing-mail purpose.
func (p Purpose) Marketing() bool { return slices.Contains(MarketingPurposes, p) }

// consentTexts are the words shown beside each unchecked box, each in the
// voice of the person ticking it ("me", "I"). The ledger keeps
// their hash, so what a person agreed to can be proven later; changing a text
// changes the hash recorded from then on.
var consentTexts = map[Purpose]string{
	Newsletter:   "Send me the SmartProtect newsletter by email. SmartProtect uses my name and email address only to send it, and I can stop it at any time.",
	Offers:       "Tell me by email about other products and services from SmartProtect and its affiliates.",
	Surveys:      "Invite me by email to voluntary customer surveys. My answers stay confidential and are used only in aggregate.",
	Testimonials: "SmartProtect may publish a testimonial I give, together with my name. Nothing is mailed to me for this.",
	AllMarketing: "Stop all marketing mail to me: newsletters, product offers and survey invitations.",
}

// Label is a short human name for the purpose.
func (p Purpose) Label() string {
	switch p {
	case Newsletter:
		return "Newsletter"
	case Offers:
		return "Product offers"
	case Surveys:
		return "Customer surveys"
	case Testimonials:
		return "Testimonials"
	}
	return string(p)
}

// ConsentText is the exact text shown to the person for this purpose.
func (p Purpose) ConsentText() string { return consentTexts[p] }

// ConsentTextHash is the hex SHA-256 of ConsentText, recorded in the ledger.
func (p Purpose) ConsentTextHash() string {
	sum := sha256.Sum256([]byte(consentTexts[p]))
	return hex.EncodeToString(sum[:])
}

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool { return slices.Contains(Purposes, p) }

// ParsePurposes validates names and returns them deduplicated, in display order.
func ParsePurposes(names []string) ([]Purpose, error) {
	seen := make(map[Purpose]bool, len(names))
	for _, n := range names {
		p := Purpose(n)
		if !p.Valid() {
			return nil, Errorf(Invalid, "purposes", "unknown purpose %q", truncate(n, 40))
		}
		seen[p] = true
	}
	var out []Purpose
	for _, p := range Purposes {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
