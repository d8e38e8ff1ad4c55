package token

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := NewKeys(map[string][]byte{
		"k1": bytes.Repeat([]byte{1}, 32),
		"k2": bytes.Repeat([]byte{2}, 32),
	}, "k2")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestVerify(t *testing.T) {
	keys := testKeys(t)
	good := keys.Issue(Confirm, "pid-1", []string{"newsletter"}, t0, 48*time.Hour)
	oldRing, _ := NewKeys(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1")
	fromOldKey := oldRing.Issue(Confirm, "pid-1", nil, t0, time.Hour)
	otherRing, _ := NewKeys(map[string][]byte{"k2": bytes.Repeat([]byte{9}, 32)}, "k2")
	forged := otherRing.Issue(Confirm, "pid-1", nil, t0, time.Hour)
	unknownRing, _ := NewKeys(map[string][]byte{"k9": bytes.Repeat([]byte{1}, 32)}, "k9")
	unknownKey := unknownRing.Issue(Confirm, "pid-1", nil, t0, time.Hour)
	body, sig, _ := strings.Cut(good, ".")

	tests := []struct {
		name    string
		tok     string
		purpose Purpose
		at      time.Time
		want    error
	}{
		{"a fresh token verifies", good, Confirm, t0.Add(time.Hour), nil},
		{"a token signed with a rotated-out but configured key verifies", fromOldKey, Confirm, t0, nil},
		{"a token is refused one second past expiry", good, Confirm, t0.Add(48 * time.Hour), ErrExpired},
		{"a token for another purpose is refused", good, Unsubscribe, t0, ErrWrongPurpose},
		{"a token signed with another secret is refused", forged, Confirm, t0, ErrBadSignature},
		{"a token naming an unknown key is refused", unknownKey, Confirm, t0, ErrUnknownKey},
		{"a token with its signature cut off is refused", body, Confirm, t0, ErrMalformed},
		{"a token with a flipped signature byte is refused", body + "." + flip(sig), Confirm, t0, ErrBadSignature},
		{"a token with a changed payload is refused", flip(body) + "." + sig, Confirm, t0, nil},
		{"an empty token is refused", "", Confirm, t0, ErrMalformed},
		{"an oversized token is refused", strings.Repeat("a", MaxLen+1), Confirm, t0, ErrMalformed},
		{"a token with three parts is refused", good + ".x", Confirm, t0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := keys.Verify(tt.tok, tt.purpose, tt.at)
			if tt.name == "a token with a changed payload is refused" {
				if err == nil {
					t.Fatalf("Verify accepted a tampered payload: %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if tt.want == nil && (c.Subject != "pid-1" || c.Purpose != Confirm) {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func TestIssueWithoutExpiryNeverExpires(t *testing.T) {
	keys := testKeys(t)
	tok := keys.Issue(Unsubscribe, "pid-2", []string{"all"}, t0, 0)
	c, err := keys.Verify(tok, Unsubscribe, t0.AddDate(10, 0, 0))
	if err != nil || c.Expires != 0 || c.Scope[0] != "all" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
}

func TestNewKeysRefusesWeakOrMissingKeys(t *testing.T) {
	if _, err := NewKeys(map[string][]byte{"a": make([]byte, 31)}, "a"); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	if _, err := NewKeys(map[string][]byte{"a": make([]byte, 32)}, "b"); err == nil {
		t.Error("an active id without a key was accepted")
	}
	if _, err := NewKeys(map[string][]byte{"a.b": make([]byte, 32)}, "a.b"); err == nil {
		t.Error("a key id with a dot was accepted")
	}
}

// flip changes the first character of a base64url string to another valid one.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func FuzzVerify(f *testing.F) {
	keys := testKeys(f)
	issued := keys.Issue(Confirm, "pid-1", []string{"newsletter"}, t0, time.Hour)
	f.Add(issued)
	f.Add("")
	f.Add("e30.AAAA")
	f.Add("eyJrIjoiazIifQ.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := keys.Verify(tok, Confirm, t0)
		if err != nil {
			return
		}
		// Without the key nothing but the token we issued can verify: any
		// other accepted input is a forgery or a malleable encoding.
		if tok != issued {
			t.Fatalf("accepted a token that was never issued: %q -> %+v", tok, c)
		}
	})
}

func TestAOnceTokenCarriesItsNonceUnderTheSignature(t *testing.T) {
	keys := testKeys(t)
	tok := keys.IssueOnce(Confirm, "pid-3", "n-42", []string{"offers"}, t0, time.Hour)
	c, err := keys.Verify(tok, Confirm, t0)
	if err != nil || c.Nonce != "n-42" || c.Scope[0] != "offers" {
		t.Fatalf("Verify = %+v, %v; want the nonce back", c, err)
	}
	if c, _ := keys.Verify(keys.Issue(Confirm, "pid-3", nil, t0, time.Hour), Confirm, t0); c.Nonce != "" {
		t.Fatalf("a plain token carries nonce %q", c.Nonce)
	}
}
