package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"

	"github.com/smartprotect/pledge/shared/people"
)

//go:embed pages/*.html
var pageFiles embed.FS

// statusOf is the one table from domain error code to HTTP status.
var statusOf = map[people.Code]int{
	people.Invalid:          http.StatusBadRequest,
	people.NotFound:         http.StatusNotFound,
	people.Conflict:         http.StatusConflict,
	people.RateLimited:      http.StatusTooManyRequests,
	people.Expired:          http.StatusGone,
	people.TooLarge:         http.StatusRequestEntityTooLarge,
	people.UnsupportedMedia: http.StatusUnsupportedMediaType,
}

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
	pages         map[string]*template.Template
}

// NewSite parses the embedded pages once, at cold start.
func NewSite(company, postalAddress string) (*Site, error) {
	layout, err := template.ParseFS(pageFiles, "pages/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web.NewSite: %w", err)
	}
	names, err := pageFiles.ReadDir("pages")
	if err != nil {
		return nil, fmt.Errorf("web.NewSite: %w", err)
	}
	s := &Site{Company: company, PostalAddress: postalAddress, pages: map[string]*template.Template{}}
	for _, e := range names {
		if e.Name() == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(pageFiles, "pages/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("web.NewSite: %s: %w", e.Name(), err)
		}
		s.pages[e.Name()[:len(e.Name())-len(".html")]] = t
	}
	return s, nil
}

// pageData is what every page template sees.
type pageData struct {
	Title         string
	Company       string
	PostalAddress string
	Data          any
}

// Page renders the named page with data.
func (s *Site) Page(status int, name, title string, data any) Response {
	t, ok := s.pages[name]
	if !ok {
		panic("web.Page: no page " + name) // a programming error, caught by every handler test
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pageData{title, s.Company, s.PostalAddress, data}); err != nil {
		panic("web.Page: " + name + ": " + err.Error())
	}
	return Response{StatusCode: status, Headers: htmlHeaders(), Body: buf.String()}
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
		return s.Page(status, "error", http.StatusText(status), e), nil
	}
	return JSON(status, ErrorBody{ErrorDetail{e.Code, e.Message, e.Field}}), nil
}
