package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// statusOf is the one table from domain error code to HTTP status.
var statusOf = map[people.Code]int{
	people.Invalid:          http.StatusBadRequest,
	people.NotFound:         http.StatusNotFound,
	people.Conflict:         http.StatusConflict,
	people.RateLimited:      http.StatusTooManyRequests,
	people.Expired:          http.StatusGone,
	people.TooLarge:         http.StatusRequestEntityTooLarge,
	people.UnsupportedMedia: http.StatusUnsupportedMediaType,
	people.Unavailable:      http.StatusServiceUnavailable,
}

// retryAfter is what a 503 asks the client to wait, in seconds (RFC 9110
// section 10.2.3): the store's own retries already waited about as long.
const retryAfter = "1"

// Status maps a domain error code to its HTTP status.
func Status(code people.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// JSON answers with v as a JSON body.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		panic("web.JSON: " + err.Error())
	}
	return Response{StatusCode: status, Body: string(b), Headers: map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	}}
}

// SeeOther redirects a browser after a form post (POST-redirect-GET).
func SeeOther(location string) Response {
	return Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{"Location": location, "Cache-Control": "no-store"}}
}

// ErrorBody is the JSON shape of every client error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what was wrong and with which field.
type ErrorDetail struct {
	Code    people.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

func errorJSON(e *people.Error) Response {
	return WithRetryAfter(JSON(Status(e.Code), ErrorBody{ErrorDetail{e.Code, e.Message, e.Field}}), e)
}

// WithRetryAfter tells the client when to try again: after e.RetryAfter
// (whole seconds, rounded up) when e says, else, for a 503, in a moment.
func WithRetryAfter(r Response, e *people.Error) Response {
	switch {
	case e != nil && e.RetryAfter > 0:
		r.Headers["Retry-After"] = strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10)
	case r.StatusCode == http.StatusServiceUnavailable:
		r.Headers["Retry-After"] = retryAfter
	}
	return r
}
