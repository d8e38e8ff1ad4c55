package localstack

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Gateway serves template.yaml's HttpApi routes the way API Gateway HTTP API
// does: each request becomes a payload 2.0 event, invoked through the
// emulator, and the function's response becomes the HTTP response.
type Gateway struct {
	routes []gatewayRoute
	// fallback is the $default route (an HttpApi event without Path and
	// Method), which takes every request no other route matches; nil: those
	// get API Gateway's own 404.
	fallback *gatewayRoute
	pools    map[string]*Pool // by function logical id
	log      *slog.Logger
	seq      atomic.Int64
	// observe, if set, sees every answer a route gives: the function's, and
	// the authorizer's 403 (not a failed invocation's 500, a fault).
	observe func(events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse)
}

// Observe has fn called with each request event and the answer it got, as
// the client receives it, before the client does.
func (g *Gateway) Observe(fn func(events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse)) {
	g.observe = fn
}

type gatewayRoute struct {
	Route
	segments []string
}

// NewGateway routes requests to the pools by function logical id.
func NewGateway(routes []Route, pools map[string]*Pool, log *slog.Logger) *Gateway {
	g := &Gateway{pools: pools, log: log}
	for _, r := range routes {
		if r.Default() {
			g.fallback = &gatewayRoute{Route: r}
			continue
		}
		g.routes = append(g.routes, gatewayRoute{r, strings.Split(strings.Trim(r.Path, "/"), "/")})
	}
	return g
}

// maxPayload is API Gateway's request size limit.
const maxPayload = 10 << 20

func (g *Gateway) match(method, path string) (gatewayRoute, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range g.routes {
		if !strings.EqualFold(r.Method, method) && !strings.EqualFold(r.Method, "ANY") || len(r.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range r.segments {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				params[s[1:len(s)-1]] = segs[i]
			case s != segs[i]:
				ok = false
			}
		}
		if ok {
			return r, params, true
		}
	}
	return gatewayRoute{}, nil, false
}

// route is the route that takes a request, as HTTP API chooses it: a
// route whose method and path match, or else the $default route if the
// template declares one.
func (g *Gateway) route(method, path string) (gatewayRoute, map[string]string, bool) {
	route, params, ok := g.match(method, path)
	if !ok && g.fallback != nil {
		return *g.fallback, nil, true
	}
	return route, params, ok
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, params, ok := g.route(r.Method, r.URL.Path)
	if !ok {
		writeJSON(w, http.StatusNotFound, `{"message":"Not Found"}`)
		return
	}
	var iam *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription
	if route.IAM {
		if iam = signedBy(r); iam == nil {
			if g.observe != nil {
				g.observe(g.event(r, route, params, nil), events.APIGatewayV2HTTPResponse{StatusCode: http.StatusForbidden,
					Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"message":"Forbidden"}`})
			}
			writeJSON(w, http.StatusForbidden, `{"message":"Forbidden"}`)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(body) > maxPayload {
		writeJSON(w, http.StatusRequestEntityTooLarge, `{"message":"Request Entity Too Large"}`)
		return
	}
	ev := g.event(r, route, params, body)
	if iam != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: iam}
	}
	event, err := json.Marshal(ev)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return
	}
	out, err := g.pools[route.Function].Invoke(r.Context(), event)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		err = json.Unmarshal(out, &resp)
	}
	if err != nil {
		var fe *FunctionError
		if !errors.As(err, &fe) {
			g.log.Error("invoke failed", "function", route.Function, "err", err)
		}
		// What API Gateway answers when the integration fails.
		writeJSON(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return
	}
	if g.observe != nil {
		g.observe(ev, resp)
	}
	writeResponse(w, resp)
}

// event builds the payload 2.0 event for r.
func (g *Gateway) event(r *http.Request, route gatewayRoute, params map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	routeKey := route.Key()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, AccountID: "123456789012", Stage: "$default", APIID: "local",
			RequestID:  fmt.Sprintf("local-%d-%d", now.UnixNano(), g.seq.Add(1)),
			DomainName: r.Host, DomainPrefix: strings.Split(r.Host, ".")[0],
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(params) > 0 {
		ev.PathParameters = params
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			// As HTTP API does for form posts and other non-text bodies; a
			// "text" body that is not UTF-8 must reach the function as sent.
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// isText reports whether HTTP API passes a body of this type as text.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// signedBy stands in for API Gateway's AWS_IAM authorizer: the request must
// carry a SigV4 Authorization header for the local stack's access key. (It
// does not recompute the signature: the local credentials are not secret.)
func signedBy(r *http.Request) *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok || r.Header.Get("X-Amz-Date") == "" {
		return nil
	}
	for part := range strings.SplitSeq(rest, ",") {
		cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential=")
		if !ok {
			continue
		}
		if keyID, _, _ := strings.Cut(cred, "/"); keyID == accessKey {
			return &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccessKey: keyID, AccountID: "123456789012", CallerID: keyID, UserID: keyID,
				UserARN: "arn:aws:iam::123456789012:user/local-operator",
			}
		}
	}
	return nil
}
