package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/a-h/templ"
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

// Site renders pages with the company's name and postal address.
type Site struct {
	Company       string
	PostalAddress string
}

// NewSite returns the site of company. Both values are required: every page
// carries them in its title and footer.
func NewSite(company, postalAddress string) (*Site, error) {
	if company == "" || postalAddress == "" {
		return nil, errors.New("web.NewSite: a company name and a postal address are required")
	}
	return &Site{Company: company, PostalAddress: postalAddress}, nil
}

// Page renders content (one of the page components in pages.templ) inside
// the layout, titled "title · company", with the security headers.
func (s *Site) Page(status int, title string, content templ.Component) Response {
	var b strings.Builder
	// A component writing to a strings.Builder fails only by a programming
	// error that every handler test would catch, so it panics.
	if err := layout(title, s.Company, s.PostalAddress, content).Render(context.Background(), &b); err != nil {
		panic("web: rendering " + title + ": " + err.Error())
	}
	return Response{StatusCode: status, Headers: htmlHeaders(), Body: b.String()}
}

func htmlHeaders() map[string]string {
	return map[string]string{
		"Content-Type": "text/html; charset=utf-8",
		// Pages carry tokens in their URLs and forms: no caching, no referrer,
		// no framing, no scripts.
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}
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

// Fail turns err into the response for req: a 4xx page or JSON for a client
// mistake (and a nil error), or the error itself for a fault that a retry
// may fix, so that Lambda reports it.
func (s *Site) Fail(req Request, err error) (Response, error) {
	e, ok := people.AsError(err)
	if !ok {
		return Response{}, err
	}
	status := Status(e.Code)
	if WantsHTML(req) {
		return withRetryAfter(s.Page(status, http.StatusText(status), ErrorPage(e.Message))), nil
	}
	return errorJSON(e), nil
}

func errorJSON(e *people.Error) Response {
	return withRetryAfter(JSON(Status(e.Code), ErrorBody{ErrorDetail{e.Code, e.Message, e.Field}}))
}

// withRetryAfter tells the client of a 503 when to try again.
func withRetryAfter(r Response) Response {
	if r.StatusCode == http.StatusServiceUnavailable {
		r.Headers["Retry-After"] = retryAfter
	}
	return r
}
