// Package web adapts API Gateway HTTP API (payload 2.0) events: it decodes
// bodies in every encoding a browser, a script or a mail client sends,
// negotiates HTML or JSON, maps domain errors to statuses in one table and
// renders the embedded HTML pages.
package web

import (
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/shared/people"
)

// Request is the event every HTTP function receives.
type Request = events.APIGatewayV2HTTPRequest

// Response is what every HTTP function returns.
type Response = events.APIGatewayV2HTTPResponse

// MaxBody is the largest body accepted, after base64 decoding.
const MaxBody = 16 << 10

// Header returns a request header by case-insensitive name. HTTP API sends
// lower-case names, but golden events and other callers may not.
func Header(req Request, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Body returns the raw body, base64-decoded if API Gateway encoded it, and
// refuses bodies over MaxBody.
func Body(req Request) ([]byte, error) {
	tooLarge := people.Errorf(people.TooLarge, "", "the request body is larger than %d bytes", MaxBody)
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBody {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody+3 {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, people.Errorf(people.Invalid, "", "the request body is not valid base64")
	}
	if len(b) > MaxBody {
		return nil, tooLarge
	}
	return b, nil
}

// WantsHTML reports whether the client is a browser that asked for a page.
func WantsHTML(req Request) bool {
	return strings.Contains(Header(req, "Accept"), "text/html")
}

// Query returns a query parameter.
func Query(req Request, name string) string {
	if v, ok := req.QueryStringParameters[name]; ok {
		return v
	}
	q, _ := url.ParseQuery(req.RawQueryString)
	return q.Get(name)
}

// ClientIP and UserAgent come from the request context API Gateway fills in;
// they go into consent ledger entries, never into logs.
func ClientIP(req Request) string  { return req.RequestContext.HTTP.SourceIP }
func UserAgent(req Request) string { return req.RequestContext.HTTP.UserAgent }

// BaseURL is where links in mail point: the configured public URL, or the
// domain the request came in on, always over HTTPS.
func BaseURL(req Request, configured *url.URL) string {
	if configured != nil {
		return configured.String()
	}
	return "https://" + req.RequestContext.DomainName
}

// TokenURL is the link to path carrying a signed token in its query.
func TokenURL(base, path, token string) string {
	return base + path + "?t=" + url.QueryEscape(token)
}
