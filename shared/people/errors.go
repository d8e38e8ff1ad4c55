// Package people is pledge's domain: people, their per-purpose consent, the
// consent ledger and the rules of sign-up and double opt-in. It imports no
// AWS package; adapters in store and mail satisfy the interfaces it owns.
package people

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error so that transports can map it to a status.
type Code string

// The error codes. Transports map each to exactly one status (see web).
const (
	Invalid          Code = "invalid"           // the request is malformed or breaks a rule
	NotFound         Code = "not_found"         // the thing named does not exist
	Conflict         Code = "conflict"          // the state changed under the request
	RateLimited      Code = "rate_limited"      // too many requests of this kind
	Expired          Code = "expired"           // a link or token is past its time
	TooLarge         Code = "too_large"         // the body exceeds the limit
	UnsupportedMedia Code = "unsupported_media" // the content type is not accepted
	Unavailable      Code = "unavailable"       // busy for now: the same request may succeed later
)

// Error is a client mistake or a domain refusal, or (Unavailable) a moment
// of contention that a later retry of the same request gets past.
type Error struct {
	Code    Code
	Message string // safe to show to the person; never carries personal data
	Field   string // the input field at fault, if any
	// RetryAfter, when positive, is how long the client should wait
	// before the same request may succeed (a RateLimited refusal).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an Error for code and field.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned by stores when the person does not exist.
var ErrNotFound = &Error{Code: NotFound, Message: "not found"}

// ErrConflict is returned by stores when a conditional write lost a race.
var ErrConflict = &Error{Code: Conflict, Message: "the record changed, try again"}

// ErrBusy is returned by stores when a change kept losing races or being
// throttled until the retry bound: nothing was written, and the same request
// may succeed in a moment (web answers 503 with Retry-After).
var ErrBusy = &Error{Code: Unavailable, Message: "we are busy right now; nothing was changed. Please try again in a moment"}

// AsError returns the *Error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
