package people

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 5321 (path length) and what SES accepts.
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxLabelLen  = 63
	maxNameRunes = 100
)

// NormaliseEmail returns the form of an address that mail is sent to and a
// person is keyed by: white space trimmed, lower case, and a domain typed in
// Unicode ("bücher.example") written in its ASCII form
// ("xn--bcher-kva.example") by IDNA's lookup profile (UTS #46 mapping,
// IDNA2008 rules). An ASCII address is only trimmed and lower-cased, so the
// keyed id of everyone already known stays the same. An address with an
// invisible character, or a domain IDNA refuses, is returned unconverted for
// ValidateEmail to refuse with the reason.
func NormaliseEmail(raw string) string {
	addr := strings.ToLower(strings.TrimFunc(raw, unicode.IsSpace))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || isASCII(addr[at+1:]) || firstInvisible(addr) >= 0 {
		return addr
	}
	domain, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil || !isASCII(domain) {
		return addr
	}
	return addr[:at+1] + domain
}

// DisplayEmail is a normalised address as its owner typed it: a domain in
// its ASCII (xn--) form is shown in Unicode again. Anything it cannot
// convert is shown as it is.
func DisplayEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.Contains(addr[at+1:], "xn--") {
		return addr
	}
	domain, err := idna.Lookup.ToUnicode(addr[at+1:])
	if err != nil {
		return addr
	}
	return addr[:at+1] + domain
}

// ValidateEmail accepts only a bare addr-spec that SES would accept, as
// NormaliseEmail leaves it: no display name, an ASCII dot-atom local part
// (SES does not send to a non-ASCII one), a dotted domain of LDH labels (a
// Unicode domain is already in its xn-- form), at most 254 characters.
// Invisible characters (zero-width spaces, byte order marks, soft hyphens,
// direction marks: what a paste can carry) are refused with their name.
func ValidateEmail(addr string) error {
	bad := func(msg string) error { return Errorf(Invalid, "email", "%s", msg) }
	switch {
	case addr == "":
		return bad("an email address is required")
	case !utf8.ValidString(addr):
		return bad("the email address is not valid UTF-8")
	}
	if i := firstInvisible(addr); i >= 0 {
		r, _ := utf8.DecodeRuneInString(addr[i:])
		return bad(fmt.Sprintf("the email address holds an invisible character, %s: type the address again rather than pasting it", invisibleName(r)))
	}
	if len(addr) > maxEmailLen {
		return bad("the email address is longer than 254 characters")
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
	if !isASCII(local) {
		return "the part before the @ holds a letter outside ASCII (such as an accent); we can only send to addresses whose part before the @ is plain ASCII"
	}
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return "the part before the @ may hold only ASCII letters, digits and !#$%&'*+/=?^_`{|}~.-"
		}
	}
	return ""
}

func validateDomain(domain string) string {
	if !isASCII(domain) {
		return "the domain is not a valid international domain name"
	}
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
				return "the domain may hold only letters, digits and hyphens"
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "the domain must end in a name, not a number"
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invisibles names the invisible characters a paste most often carries.
var invisibles = map[rune]string{
	'\u00AD': "a soft hyphen (U+00AD)",
	'\u061C': "an Arabic letter mark (U+061C)",
	'\u180E': "a Mongolian vowel separator (U+180E)",
	'\u200B': "a zero-width space (U+200B)",
	'\u200C': "a zero-width non-joiner (U+200C)",
	'\u200D': "a zero-width joiner (U+200D)",
	'\u200E': "a left-to-right mark (U+200E)",
	'\u200F': "a right-to-left mark (U+200F)",
	'\u202A': "a left-to-right embedding (U+202A)",
	'\u202B': "a right-to-left embedding (U+202B)",
	'\u202C': "a pop directional formatting (U+202C)",
	'\u202D': "a left-to-right override (U+202D)",
	'\u202E': "a right-to-left override (U+202E)",
	'\u2060': "a word joiner (U+2060)",
	'\u2066': "a left-to-right isolate (U+2066)",
	'\u2067': "a right-to-left isolate (U+2067)",
	'\u2068': "a first strong isolate (U+2068)",
	'\u2069': "a pop directional isolate (U+2069)",
	'\uFEFF': "a byte order mark (zero-width no-break space, U+FEFF)",
}

// isInvisible reports whether r prints nothing: a format character
// (Unicode category Cf: the table above and the like), or a control.
func isInvisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r)
}

// firstInvisible returns the byte index of the first invisible character
// in s, or -1.
func firstInvisible(s string) int {
	return strings.IndexFunc(s, isInvisible)
}

func invisibleName(r rune) string {
	if name, ok := invisibles[r]; ok {
		return name
	}
	if unicode.IsControl(r) {
		return fmt.Sprintf("a control character (U+%04X)", r)
	}
	return fmt.Sprintf("an invisible formatting character (U+%04X)", r)
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
