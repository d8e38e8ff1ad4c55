// Package token issues and verifies HMAC-SHA256 signed, purpose-bound,
// expiring tokens for links in mail. A token names its key id, so keys can
// rotate: new tokens use the active key, old ones verify while their key is
// still configured.
//
// Wire form: base64url(payload JSON) "." base64url(HMAC(key, "pledge.v1." kid "." payload)),
// where the payload carries the key id, so nothing outside the MAC is trusted.
package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Purpose binds a token to one use: a confirm token cannot unsubscribe.
type Purpose string

// The purposes tokens are issued for.
const (
	Confirm     Purpose = "confirm"
	Unsubscribe Purpose = "unsubscribe"
	// The links of a privacy request (subject: the request's id): its
	// verification button (works once, by its nonce), its status page, and
	// an access request's export. None of them is a confirm or unsubscribe
	// link, nor any of the others.
	PrivacyVerify Purpose = "privacy-verify"
	PrivacyStatus Purpose = "privacy-status"
	PrivacyExport Purpose = "privacy-export"
)

// MaxLen bounds what Verify will look at; real tokens are far shorter.
const MaxLen = 1024

// Errors returned by Verify. Callers show expired links differently from
// forged ones; all others are simply "invalid".
var (
	ErrMalformed    = errors.New("token: malformed")
	ErrUnknownKey   = errors.New("token: unknown key id")
	ErrBadSignature = errors.New("token: bad signature")
	ErrWrongPurpose = errors.New("token: issued for another purpose")
	ErrExpired      = errors.New("token: expired")
)

// Claims is what a token says.
type Claims struct {
	KeyID   string   `json:"k"`
	Purpose Purpose  `json:"p"`
	Subject string   `json:"s"`           // the person id
	Scope   []string `json:"d,omitempty"` // e.g. the purposes a confirm link activates
	// Nonce names the act that issued a link meant to work once (see
	// IssueOnce); "" for links that work as long as they are valid.
	Nonce   string `json:"n,omitempty"`
	Issued  int64  `json:"i"`
	Expires int64  `json:"x,omitempty"` // unix seconds; 0 means no expiry
}

// Keys holds the signing keys by id and which one signs new tokens.
type Keys struct {
	keys   map[string][]byte
	active string
}

// NewKeys builds a key ring. Every key must be at least 32 bytes.
func NewKeys(keys map[string][]byte, active string) (*Keys, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("token.NewKeys: active key id %q is not among the keys", active)
	}
	for id, k := range keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("token.NewKeys: key %q is %d bytes, want at least 32", id, len(k))
		}
		if id == "" || strings.ContainsAny(id, ".\"\\") {
			return nil, fmt.Errorf("token.NewKeys: key id %q is not allowed", id)
		}
	}
	return &Keys{keys: keys, active: active}, nil
}

var enc = base64.RawURLEncoding.Strict() // Strict: one encoding per token, no malleable trailing bits

// Issue signs claims with the active key. ttl of 0 issues a token without expiry.
func (k *Keys) Issue(p Purpose, subject string, scope []string, now time.Time, ttl time.Duration) string {
	return k.issue(Claims{Purpose: p, Subject: subject, Scope: scope}, now, ttl)
}

// IssueOnce is Issue for a link that works once: nonce names the act that
// issued it. Verify does not check it; the caller holds the nonces still
// live in its own state and refuses a token whose nonce is gone.
func (k *Keys) IssueOnce(p Purpose, subject, nonce string, scope []string, now time.Time, ttl time.Duration) string {
	return k.issue(Claims{Purpose: p, Subject: subject, Scope: scope, Nonce: nonce}, now, ttl)
}

func (k *Keys) issue(c Claims, now time.Time, ttl time.Duration) string {
	c.KeyID, c.Issued = k.active, now.Unix()
	if ttl > 0 {
		c.Expires = now.Add(ttl).Unix()
	}
	payload, _ := json.Marshal(c) // cannot fail: only strings and ints
	body := enc.EncodeToString(payload)
	return body + "." + enc.EncodeToString(k.mac(k.keys[k.active], c.KeyID, body))
}

func (k *Keys) mac(key []byte, kid, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("pledge.v1."))
	h.Write([]byte(kid))
	h.Write([]byte("."))
	h.Write([]byte(body))
	return h.Sum(nil)
}

// Verify checks a token's signature, purpose and expiry, in that order, and
// returns its claims. The signature is compared in constant time.
func (k *Keys) Verify(tok string, want Purpose, now time.Time) (Claims, error) {
	if len(tok) == 0 || len(tok) > MaxLen {
		return Claims{}, ErrMalformed
	}
	body, sig, ok := strings.Cut(tok, ".")
	if !ok || strings.Contains(sig, ".") {
		return Claims{}, ErrMalformed
	}
	payload, err := enc.DecodeString(body)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	gotMAC, err := enc.DecodeString(sig)
	if err != nil || len(gotMAC) != sha256.Size {
		return Claims{}, ErrMalformed
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return Claims{}, ErrMalformed
	}
	key, ok := k.keys[c.KeyID]
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	if !hmac.Equal(gotMAC, k.mac(key, c.KeyID, body)) {
		return Claims{}, ErrBadSignature
	}
	if c.Purpose != want {
		return Claims{}, ErrWrongPurpose
	}
	if c.Expires != 0 && now.Unix() >= c.Expires {
		return c, ErrExpired
	}
	if c.Subject == "" {
		return Claims{}, ErrMalformed
	}
	return c, nil
}
