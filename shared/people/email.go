package people

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits from RFC 5321 (path length) and what SES accepts.
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxLabelLen  = 63
	maxNameRunes = 100
)

// NormaliseEmail trims surrounding white space and lower-cases the address,
// so that one mailbox is one person whatever case it was typed in.
func NormaliseEmail(raw string) string {
	return strings.ToLower(strings.TrimFunc(raw, unicode.IsSpace))
}

// ValidateEmail accepts only a bare ASCII addr-spec that SES would accept:
// no display name, no quoted or non-ASCII local part, a dotted domain of
// LDH labels, at most 254 characters. It expects a normalised address.
func ValidateEmail(addr string) error {
	bad := func(msg string) error { return Errorf(Invalid, "email", "%s", msg) }
	switch {
	case addr == "":
		return bad("an email address is required")
	case len(addr) > maxEmailLen:
		return bad("the email address is longer than 254 characters")
	case !utf8.ValidString(addr):
		return bad("the email address is not valid UTF-8")
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return bad("the email address needs an @")
	}
	local, domain := addr[:at], addr[at+1:]
	if strings.ContainsAny(addr, "<> \"") {
		return bad("give the bare address, without a display name or quotes")
	}
	if err := validateLocal(local); err != "" {
		return bad(err)
	}
	if err := validateDomain(domain); err != "" {
		return bad(err)
	}
	return nil
}

func validateLocal(local string) string {
	if local == "" || len(local) > maxLocalLen {
		return "the part before the @ must be 1 to 64 characters"
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "the part before the @ has a misplaced dot"
	}
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return "the part before the @ may hold only ASCII letters, digits and !#$%&'*+/=?^_`{|}~.-"
		}
	}
	return ""
}

func validateDomain(domain string) string {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "the domain needs a dot, as in example.com"
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
			return "the domain is not a valid host name"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "the domain may hold only ASCII letters, digits and hyphens (use its xn-- form)"
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "the domain must end in a name, not a number"
	}
	return ""
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0
}

// CleanName trims a display name and refuses what could inject a mail header
// or break a page: control characters (CR and LF among them), invalid UTF-8,
// or more than 100 characters. An empty name is allowed.
func CleanName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", Errorf(Invalid, "name", "the name is not valid UTF-8")
	}
	name := strings.TrimFunc(raw, unicode.IsSpace)
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", Errorf(Invalid, "name", "the name may not contain line breaks or control characters")
		}
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		return "", Errorf(Invalid, "name", "the name is longer than %d characters", maxNameRunes)
	}
	return name, nil
}
