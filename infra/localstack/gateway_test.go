package localstack

import (
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGatewayBuildsPayload2EventsAsHTTPAPIDoes(t *testing.T) {
	g := NewGateway([]Route{{Method: "POST", Path: "/signup", Function: "S"}, {Method: "GET", Path: "/admin/policies/{version}", Function: "P"}}, nil, nil)
	tests := []struct {
		name, method, target, contentType, body string
		wantRoute                               string
		wantBase64                              bool
	}{
		{"a form post is base64-encoded", "POST", "/signup", "application/x-www-form-urlencoded", "email=a%40b.c", "POST /signup", true},
		{"a multipart post is base64-encoded", "POST", "/signup", "multipart/form-data; boundary=x", "--x--", "POST /signup", true},
		{"JSON stays text", "POST", "/signup", "application/json", `{"a":1}`, "POST /signup", false},
		{"text that is not UTF-8 is base64-encoded", "POST", "/signup", "application/json", "{\"a\":\"\xff\"}", "POST /signup", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			r.Header.Set("Cookie", "a=1; b=2")
			route, params, ok := g.match(r.Method, r.URL.Path)
			if !ok {
				t.Fatal("no route")
			}
			ev := g.event(r, route, params, []byte(tt.body))
			body := ev.Body
			if ev.IsBase64Encoded {
				b, _ := base64.StdEncoding.DecodeString(ev.Body)
				body = string(b)
			}
			if ev.Version != "2.0" || ev.RouteKey != tt.wantRoute || ev.IsBase64Encoded != tt.wantBase64 || body != tt.body ||
				ev.Headers["content-type"] != tt.contentType || strings.Join(ev.Cookies, "|") != "a=1|b=2" || ev.Headers["cookie"] != "" {
				t.Fatalf("event = %+v", ev)
			}
		})
	}
	route, params, ok := g.match("GET", "/admin/policies/2026-12-01")
	if !ok || route.Function != "P" || params["version"] != "2026-12-01" {
		t.Fatalf("path parameters: %v %v %v", route, params, ok)
	}
	if _, _, ok := g.match("GET", "/signup"); ok {
		t.Fatal("a route matched another method")
	}
}

// TestEveryUnknownRouteGoesToTheDefaultRoute, as HTTP API routes what no
// route matches to $default: an unknown path, the root, a known path with
// another method; a matching route still wins.
func TestEveryUnknownRouteGoesToTheDefaultRoute(t *testing.T) {
	g := NewGateway([]Route{{Method: "GET", Path: "/signup", Function: "S"}, {Function: "S"}}, nil, nil)
	for _, c := range [][2]string{{"GET", "/"}, {"GET", "/nope/deeper"}, {"HEAD", "/x"}, {"DELETE", "/signup"}} {
		route, _, ok := g.route(c[0], c[1])
		if !ok || route.Key() != "$default" {
			t.Fatalf("%s %s went to %q, %v; want $default", c[0], c[1], route.Key(), ok)
		}
		if ev := g.event(httptest.NewRequest(c[0], c[1], nil), route, nil, nil); ev.RouteKey != "$default" || ev.RequestContext.RouteKey != "$default" || ev.RawPath != c[1] || ev.RequestContext.HTTP.Method != c[0] {
			t.Fatalf("event = %+v", ev)
		}
	}
	if route, _, _ := g.route("GET", "/signup"); route.Key() != "GET /signup" {
		t.Fatalf("GET /signup went to %q", route.Key())
	}
	if _, _, ok := NewGateway([]Route{{Method: "GET", Path: "/signup", Function: "S"}}, nil, nil).route("GET", "/"); ok {
		t.Fatal("without a default route an unknown path found a route")
	}
}

func TestTheTemplateDeclaresWhatTheLocalStackServes(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions(Refs{Parameters: map[string]string{"TokenKeysSecretArn": "", "AddressPepperSecretArn": ""}, Resources: map[string]string{"Table": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	sesEvents, senders := map[string][]string{}, []string(nil)
	for _, f := range fns {
		// The Globals' variables and the function's own, parameters
		// resolved to their defaults.
		if f.Env["TABLE_NAME"] != "t" || f.LogicalID == "SignupFunction" && f.Env["POLICY_VERSION"] != "2015-03-22" {
			t.Errorf("%s env = %v", f.LogicalID, f.Env)
		}
		if f.SESEvents != nil {
			sesEvents[f.LogicalID] = f.SESEvents
		}
		sends := false
		for _, st := range f.Statements {
			sends = sends || slices.Contains(st.Actions, "ses:SendEmail")
		}
		if sends {
			senders = append(senders, f.LogicalID)
			if f.Env["MAIL_CONFIGURATION_SET"] != "MailConfigurationSet" {
				t.Errorf("%s sends mail without the configuration set that publishes its events: %v", f.LogicalID, f.Env)
			}
		}
		for _, r := range f.Routes {
			routes[r.Key()] = f.LogicalID
		}
	}
	for key, fn := range map[string]string{"$default": "SignupFunction", "GET /signup": "SignupFunction", "POST /signup": "SignupFunction", "GET /confirm": "ConfirmFunction",
		"POST /confirm": "ConfirmFunction", "GET /unsubscribe": "UnsubscribeFunction", "POST /unsubscribe": "UnsubscribeFunction"} {
		if routes[key] != fn {
			t.Errorf("%s is served by %q, want %s", key, routes[key], fn)
		}
	}
	slices.Sort(senders)
	if !slices.Equal(senders, []string{"NewsletterFunction", "NoticesFunction", "PrivacyClockFunction", "PrivacyFunction", "RequestsFunction", "SignupFunction", "UnsubscribeFunction"}) {
		t.Errorf("the functions that send mail are %v", senders)
	}
	all := []string{"Email Sent", "Email Delivered", "Email Bounced", "Email Complaint Received", "Email Delivery Delayed", "Email Rejected"}
	if len(sesEvents) != 1 || !slices.Equal(sesEvents["MailEventsFunction"], all) {
		t.Errorf("SES events go to %v; want %v to MailEventsFunction", sesEvents, all)
	}
	in, ttl, err := tmpl.Table("Table", "t")
	if err != nil || ttl != "ttl" || len(in.GlobalSecondaryIndexes) != 2 || *in.GlobalSecondaryIndexes[0].IndexName != "due" || len(in.KeySchema) != 2 {
		t.Fatalf("table = %+v, ttl %q, %v", in, ttl, err)
	}
}

// TestGatewayRoutesHEADOnlyWhereTheTemplateDeclaresIt, as HTTP API does: a
// GET route does not take HEAD; a declared HEAD route reaches its function
// with its own route key (web.ServeHead answers it as the GET).
func TestGatewayRoutesHEADOnlyWhereTheTemplateDeclaresIt(t *testing.T) {
	g := NewGateway([]Route{{Method: "GET", Path: "/signup", Function: "S"}, {Method: "HEAD", Path: "/signup", Function: "S"},
		{Method: "GET", Path: "/admin/policies/{version}", Function: "P"}}, nil, nil)
	route, params, ok := g.match("HEAD", "/signup")
	if !ok || route.Function != "S" {
		t.Fatalf("HEAD /signup: %v %v", route, ok)
	}
	if ev := g.event(httptest.NewRequest("HEAD", "/signup", nil), route, params, nil); ev.RouteKey != "HEAD /signup" || ev.RequestContext.HTTP.Method != "HEAD" || ev.Body != "" {
		t.Fatalf("HEAD event = %+v", ev)
	}
	if _, _, ok := g.match("HEAD", "/admin/policies/v1"); ok {
		t.Fatal("HEAD matched a GET route")
	}
}

func TestTheGatewayTakesTheSourceIPFromTheConnectionNotAHeader(t *testing.T) {
	g := NewGateway([]Route{{Method: "POST", Path: "/signup", Function: "S"}}, nil, nil)
	for _, remote := range []string{"127.0.0.7:40000", "127.0.0.21:1", "[::1]:5000"} {
		r := httptest.NewRequest("POST", "/signup", strings.NewReader("{}"))
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		route, params, _ := g.match(r.Method, r.URL.Path)
		ev := g.event(r, route, params, []byte("{}"))
		want := strings.Trim(remote[:strings.LastIndexByte(remote, ':')], "[]")
		if ev.RequestContext.HTTP.SourceIP != want {
			t.Errorf("from %s: sourceIp = %q, want %q", remote, ev.RequestContext.HTTP.SourceIP, want)
		}
	}
}
