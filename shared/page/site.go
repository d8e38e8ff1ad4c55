// Package page renders the pages pledge shows a browser, as typed templ
// components inside one layout that carries the company and its postal
// address, with the security headers every page needs. Functions that only
// answer JSON (the admin routes) use package web alone and do not link it.
package page

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

// Site renders pages with the company's name, postal address and contact
// address.
type Site struct {
	Company       string
	PostalAddress string
	Contact       string // the mailbox people write to (CONTACT_ADDRESS), in every footer
	// PolicyURL is the privacy policy every footer links to; "" links none
	// (a function that does not load the policy's config).
	PolicyURL string
}

// NewSite returns the site of company. All three values are required: every
// page carries them in its title and footer.
func NewSite(company, postalAddress, contact string) (*Site, error) {
	if company == "" || postalAddress == "" || contact == "" {
		return nil, errors.New("page.NewSite: a company name, a postal address and a contact address are required")
	}
	return &Site{Company: company, PostalAddress: postalAddress, Contact: contact}, nil
}

// Page renders content (one of the page components in pages.templ) inside
// the layout, titled "title · company", with the security headers.
func (s *Site) Page(status int, title string, content templ.Component) web.Response {
	var b strings.Builder
	// A component writing to a strings.Builder fails only by a programming
	// error that every handler test would catch, so it panics.
	if err := layout(title, s, content).Render(context.Background(), &b); err != nil {
		panic("page: rendering " + title + ": " + err.Error())
	}
	return web.Response{StatusCode: status, Headers: htmlHeaders(), Body: b.String()}
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

// Fail turns err into the response for req: a 4xx page or JSON for a client
// mistake (and a nil error), or the error itself for a fault that a retry
// may fix, so that Lambda reports it.
func (s *Site) Fail(req web.Request, err error) (web.Response, error) {
	e, ok := people.AsError(err)
	if !ok || !web.WantsHTML(req) {
		return web.FailAPI(err)
	}
	status := web.Status(e.Code)
	if e.Code == people.RateLimited {
		return web.WithRetryAfter(s.Page(status, "Please try again later", LimitedPage(Limited{Message: e.Message, Wait: waitInWords(e.RetryAfter)})), e), nil
	}
	return web.WithRetryAfter(s.Page(status, titleOf(e.Code), ErrorPage(Sentence(e.Message))), e), nil
}

// NotFound answers a route that does not exist (API Gateway's $default
// route): a page with the ways forward for a browser, the JSON error for a
// script.
func (s *Site) NotFound(req web.Request) web.Response {
	if !web.WantsHTML(req) {
		resp, _ := web.FailAPI(people.Errorf(people.NotFound, "", "there is nothing at %s %s", req.RequestContext.HTTP.Method, req.RawPath))
		return resp
	}
	return s.Page(http.StatusNotFound, "Page not found", NotFoundPage())
}

// titleOf is the tab title of an error page: words for people, never an
// HTTP reason phrase.
func titleOf(code people.Code) string {
	switch code {
	case people.NotFound:
		return "Page not found"
	case people.Expired:
		return "This link has expired"
	case people.Unavailable:
		return "Please try again"
	case people.Conflict:
		return "Please look again"
	}
	return "Please check and try again"
}

// Sentence makes a domain message, written to be read in JSON
// ("the field has the wrong type"), a sentence on a page: a capital
// first letter and a full stop, unless it already ends in one.
func Sentence(msg string) string {
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}

// waitInWords says a wait as a person would: "a few seconds", "about a
// minute", "about 7 minutes" (rounded up), "about 2 hours".
func waitInWords(d time.Duration) string {
	switch {
	case d <= 30*time.Second:
		return "a few seconds"
	case d <= 90*time.Second:
		return "about a minute"
	case d < 90*time.Minute:
		return fmt.Sprintf("about %d minutes", (d+time.Minute-1)/time.Minute)
	}
	return fmt.Sprintf("about %d hours", (d+30*time.Minute)/time.Hour)
}
