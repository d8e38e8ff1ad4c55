package people

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateEmail(t *testing.T) {
	valid := []string{"jo@example.com", "jo.tester+news@mail.example.co.uk", "a!#$%&'*+/=?^_`{|}~-@x-y.example", strings.Repeat("a", 64) + "@example.com"}
	for _, addr := range valid {
		if err := ValidateEmail(addr); err != nil {
			t.Errorf("ValidateEmail(%q) = %v, want ok", addr, err)
		}
	}
	invalid := map[string]string{
		"empty":                  "",
		"no at":                  "jo.example.com",
		"a display name":         "jo <jo@example.com>",
		"a quoted local part":    `"jo"@example.com`,
		"a non-ASCII local part": "jö@example.com",
		"a non-ASCII domain":     "jo@exämple.com",
		"a dotless domain":       "jo@localhost",
		"a leading dot":          ".jo@example.com",
		"two dots":               "jo..t@example.com",
		"a 65-character local":   strings.Repeat("a", 65) + "@example.com",
		"over 254 characters":    "jo@" + strings.Repeat("a.", 126) + "com",
		"a hyphen-led label":     "jo@-example.com",
		"an IP literal":          "jo@[127.0.0.1]",
		"a numeric TLD":          "jo@1.2.3.4",
		"a space":                "jo @example.com",
		"a line break":           "jo@example.com\r\nBcc: x@y.z",
	}
	for name, addr := range invalid {
		if err := ValidateEmail(addr); err == nil {
			t.Errorf("%s: ValidateEmail(%q) accepted it", name, addr)
		}
	}
}

func TestNormaliseEmail(t *testing.T) {
	if got := NormaliseEmail("  Jo.Tester@Example.COM \t"); got != "jo.tester@example.com" {
		t.Fatalf("NormaliseEmail = %q", got)
	}
}

func TestCleanName(t *testing.T) {
	if got, err := CleanName("  Jo Tester  "); err != nil || got != "Jo Tester" {
		t.Fatalf("CleanName = %q, %v", got, err)
	}
	for _, bad := range []string{"Jo\r\nBcc: x", "Jo\x00", "Jo\u2028x", "\xff", strings.Repeat("é", 101)} {
		if _, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) accepted it", bad)
		}
	}
}

func TestKeyedIDIsStableAndKeyed(t *testing.T) {
	a, b := KeyedID([]byte("pepper-one")), KeyedID([]byte("pepper-two"))
	if a("jo@example.com") != a("jo@example.com") || a("jo@example.com") == b("jo@example.com") || strings.Contains(a("jo@example.com"), "jo") {
		t.Fatal("KeyedID is not a stable keyed hash")
	}
}

func TestAddressesAreTakenAsPeopleTypeThem(t *testing.T) {
	for _, c := range []struct {
		name, typed, mailTo, shown, masked string
	}{
		{"a German domain", "Jo@Bücher.Example.com", "jo@xn--bcher-kva.example.com", "jo@bücher.example.com", "j***@bücher.example.com"},
		{"the same domain typed with a combining diaeresis", "jo@bu\u0308cher.example.com", "jo@xn--bcher-kva.example.com", "jo@bücher.example.com", "j***@bücher.example.com"},
		{"a Japanese domain with an ideographic full stop", "jo@例え。テスト", "jo@xn--r8jz45g.xn--zckzah", "jo@例え.テスト", "j***@例え.テスト"},
		{"a domain typed in its xn-- form", "jo@xn--bcher-kva.example.com", "jo@xn--bcher-kva.example.com", "jo@bücher.example.com", "j***@bücher.example.com"},
		{"an ASCII address", "  Jo.Tester@Example.COM\t", "jo.tester@example.com", "jo.tester@example.com", "j***@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := NormaliseEmail(c.typed)
			if err := ValidateEmail(addr); err != nil || addr != c.mailTo {
				t.Fatalf("NormaliseEmail(%q) = %q, ValidateEmail: %v; want %q, valid", c.typed, addr, err, c.mailTo)
			}
			if got := DisplayEmail(addr); got != c.shown {
				t.Errorf("DisplayEmail = %q; want %q", got, c.shown)
			}
			if got := MaskEmail(addr); got != c.masked {
				t.Errorf("MaskEmail = %q; want %q", got, c.masked)
			}
		})
	}
}

func TestAnASCIIAddressKeepsTheKeyItHadBeforeIDNA(t *testing.T) {
	// Computed before NormaliseEmail learnt IDNA: everyone already known
	// must keep their key.
	const before = "aRRmr4aoYhZohzWymk9Z28OkBwqvjx2mYlzniWGIbGE"
	if got := KeyedID([]byte("pepper-one"))(NormaliseEmail("  Jo.Tester+News@Example.COM ")); got != before {
		t.Fatalf("the keyed id of an ASCII address changed: %s, was %s", got, before)
	}
}

func TestARefusedAddressSaysWhy(t *testing.T) {
	for _, c := range []struct{ typed, says string }{
		{"jö@example.com", "outside ASCII"},
		{"jo@bücher.example.com\u200b", "zero-width space (U+200B)"},
		{"\ufeffjo@example.com", "byte order mark"},
		{"jo@exam\u00adple.com", "soft hyphen (U+00AD)"},
		{"jo\u202e@example.com", "right-to-left override (U+202E)"},
		{"jo@example\u2066.com", "left-to-right isolate (U+2066)"},
		{"jo@exa\u200dmple.com", "zero-width joiner (U+200D)"},
		{"jo@bü cher.com", "bare address"},
		{"jo@b\u00fc_cher.com", "not a valid international domain name"},
		{"jo@ex_ample.com", "letters, digits and hyphens"},
	} {
		err := ValidateEmail(NormaliseEmail(c.typed))
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != Invalid || pe.Field != "email" || !strings.Contains(pe.Message, c.says) {
			t.Errorf("ValidateEmail(NormaliseEmail(%q)) = %v; want an invalid email that says %q", c.typed, err, c.says)
		}
	}
}

// FuzzEmail holds what every address a person could type must satisfy: an
// accepted one is ASCII, short enough, normalised for good (normalising it
// again, or what DisplayEmail shows of it, gives the same address, so the
// same key), and free of invisible characters; a refused one is an invalid
// email, never a panic. Seeds are in testdata/fuzz/FuzzEmail.
func FuzzEmail(f *testing.F) {
	f.Fuzz(func(t *testing.T, typed string) {
		addr := NormaliseEmail(typed)
		err := ValidateEmail(addr)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != Invalid || pe.Field != "email" || pe.Message == "" {
				t.Fatalf("ValidateEmail(%q) = %v; want an invalid email", addr, err)
			}
			return
		}
		if !isASCII(addr) || len(addr) > maxEmailLen || firstInvisible(addr) >= 0 || strings.Count(addr, "@") != 1 {
			t.Fatalf("accepted %q from %q", addr, typed)
		}
		if again := NormaliseEmail(addr); again != addr {
			t.Fatalf("NormaliseEmail is not idempotent: %q -> %q -> %q", typed, addr, again)
		}
		if shown := DisplayEmail(addr); NormaliseEmail(shown) != addr {
			t.Fatalf("the address shown, %q, normalises to %q, not %q", shown, NormaliseEmail(shown), addr)
		}
	})
}
