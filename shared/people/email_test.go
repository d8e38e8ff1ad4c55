package people

import (
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
