package web

import (
	"context"
	"net/http"
	"strings"
)

// Handler is an HTTP function's handler.
type Handler func(context.Context, Request) (Response, error)

// ServeHead answers a HEAD request as the GET of the same route would be
// answered, with the same status and headers and without the body (RFC 9110
// section 9.3.2), and passes every other request through. API Gateway HTTP
// API does not route HEAD to a GET route: template.yaml declares a HEAD route
// beside each page's GET route, and the handler only ever sees the GET, so a
// HEAD changes nothing a GET would not.
func ServeHead(next Handler) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		path, isHead := strings.CutPrefix(req.RouteKey, http.MethodHead+" ")
		if !isHead {
			return next(ctx, req)
		}
		req.RouteKey = http.MethodGet + " " + path
		req.RequestContext.RouteKey = req.RouteKey
		req.RequestContext.HTTP.Method = http.MethodGet
		resp, err := next(ctx, req)
		resp.Body, resp.IsBase64Encoded = "", false
		return resp, err
	}
}
