package people

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// KeyedID returns the function that keys a person by HMAC-SHA256(pepper,
// normalised address), so that keys, logs and suppression markers never
// carry the address and cannot be reversed without the pepper.
func KeyedID(pepper []byte) func(normalisedEmail string) string {
	return func(email string) string {
		m := hmac.New(sha256.New, pepper)
		m.Write([]byte(email))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
}

// RandomID returns 96 random bits, URL-safe (16 characters): ids for
// ledger entries and privacy requests. It never begins with '-', which a
// command line (the operator CLI's "requests show ID") would take for an
// option; redrawing one time in 64 leaves over 95 bits.
func RandomID() string {
	b := make([]byte, 12)
	for {
		rand.Read(b) // never fails (crypto/rand panics rather than return short)
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' {
			return id
		}
	}
}
