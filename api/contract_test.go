package api

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/smartprotect/pledge/infra/localstack"
)

func load(t *testing.T) *Contract {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTheSpecHoldsExactlyTheTemplatesRoutes: a route added to template.yaml
// without its operation here, or an operation whose route is gone, fails.
func TestTheSpecHoldsExactlyTheTemplatesRoutes(t *testing.T) {
	c := load(t)
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tmpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[Operation]localstack.Route{}
	var fallback *localstack.Route
	for _, r := range routes {
		if r.Default() {
			fallback = &r
			continue
		}
		inTemplate[Operation{Method: strings.ToUpper(r.Method), Path: r.Path}] = r
	}
	// The $default route is x-default-route, served by the same function.
	switch spec := c.DefaultRoute(); {
	case fallback != nil && spec == nil:
		t.Errorf("template.yaml has a $default route (served by %s) and api/openapi.yaml no x-default-route: describe what it answers", fallback.Function)
	case fallback == nil && spec != nil:
		t.Errorf("api/openapi.yaml has an x-default-route (served by %s) and template.yaml no $default route: remove it, or declare the route", spec.ServedBy)
	case fallback != nil && spec.ServedBy != fallback.Function:
		t.Errorf("the $default route is served by %s in template.yaml and by %s in api/openapi.yaml's x-default-route", fallback.Function, spec.ServedBy)
	}
	inSpec := map[Operation]bool{}
	for _, op := range c.Operations() {
		inSpec[op] = true
	}
	var missing, stale []string
	for op, r := range inTemplate {
		if !inSpec[op] {
			missing = append(missing, op.String()+" (served by "+r.Function+")")
		}
	}
	for op := range inSpec {
		if _, ok := inTemplate[op]; !ok {
			stale = append(stale, op.String())
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("template.yaml routes with no operation in api/openapi.yaml (add them, with every status they answer):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("operations in api/openapi.yaml with no route in template.yaml (remove them, or declare the route):\n  %s", strings.Join(stale, "\n  "))
	}
	if len(routes) == 0 {
		t.Fatal("template.yaml declares no HttpApi route: the comparison proves nothing")
	}
	t.Logf("%d operations in the spec, %d routes in the template, and the $default route: %v in the template, %v in the spec",
		len(inSpec), len(inTemplate), fallback != nil, c.DefaultRoute() != nil)
}

// TestEveryOperationIsDescribedForItsCallers: what an integrator reads and
// generates clients from: an id, a summary, an example, the SigV4 security
// of exactly the IAM routes, and the JSON error shape on every client error
// answered in JSON.
func TestEveryOperationIsDescribedForItsCallers(t *testing.T) {
	c := load(t)
	root, _ := localstack.Root()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, _ := tmpl.Routes()
	iam := map[Operation]bool{}
	for _, r := range routes {
		iam[Operation{Method: strings.ToUpper(r.Method), Path: r.Path}] = r.IAM
	}
	ids := map[string]bool{}
	for _, op := range c.Operations() {
		o := c.doc.Paths.Value(op.Path).GetOperation(op.Method)
		if o.OperationID == "" || ids[o.OperationID] || o.Summary == "" {
			t.Errorf("%s: needs a unique operationId and a summary (id %q)", op, o.OperationID)
		}
		ids[o.OperationID] = true
		signed := o.Security != nil && len(*o.Security) == 1 && (*o.Security)[0]["sigv4"] != nil
		if signed != iam[op] {
			t.Errorf("%s: sigv4 security %v, but the template's AWS_IAM authorizer is %v", op, signed, iam[op])
		}
		if signed && o.Responses.Status(http.StatusForbidden) == nil {
			t.Errorf("%s: an IAM route must declare API Gateway's 403", op)
		}
		if !hasExample(o) {
			t.Errorf("%s: needs an example (of its request body, a parameter, or its success answer or its headers)", op)
		}
		if op.Method == http.MethodHead {
			continue
		}
		for code, r := range o.Responses.Map() {
			if code[0] != '4' || code == "403" {
				continue
			}
			// Only a browser is ever answered a page alone (POST /unsubscribe's 410).
			if mt := r.Value.Content.Get("application/json"); mt == nil && r.Value.Content.Get("text/html") == nil ||
				mt != nil && !refersTo(mt.Schema, "#/components/schemas/Error") {
				t.Errorf("%s %s: a client error in JSON must have the JSON error shape", op, code)
			}
		}
	}
}

func hasExample(o *openapiOperation) bool {
	if o.RequestBody != nil {
		for _, mt := range o.RequestBody.Value.Content {
			if mt.Example != nil || len(mt.Examples) > 0 {
				return true
			}
		}
	}
	for _, p := range o.Parameters {
		if p.Value.Example != nil {
			return true
		}
	}
	for code, r := range o.Responses.Map() {
		if code[0] != '2' {
			continue
		}
		for _, mt := range r.Value.Content {
			if mt.Example != nil || len(mt.Examples) > 0 {
				return true
			}
		}
		for _, h := range r.Value.Headers { // a HEAD's answer is its headers
			if h.Value.Example != nil {
				return true
			}
		}
	}
	return false
}

// refersTo reports whether s is ref, or an anyOf/oneOf that includes it.
func refersTo(s *openapiSchemaRef, ref string) bool {
	if s == nil {
		return false
	}
	if s.Ref == ref {
		return true
	}
	for _, alt := range append(append([]*openapiSchemaRef{}, s.Value.AnyOf...), s.Value.OneOf...) {
		if alt.Ref == ref {
			return true
		}
	}
	return false
}

// TestCheckTellsAnAnswerTheSpecDeclaresFromOneItDoesNot: the checker the
// handler and end-to-end tests rely on would catch a drift.
func TestCheckTellsAnAnswerTheSpecDeclaresFromOneItDoesNot(t *testing.T) {
	c := load(t)
	jsonHeader := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Cache-Control": {"no-store"}}
	busy := http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}}
	tests := []struct {
		name string
		op   Operation
		a    Answer
		ok   bool
	}{
		{"a sign-up taken", Operation{"POST", "/signup"}, Answer{202, jsonHeader, []byte(`{"status":"pending_confirmation","message":"m"}`)}, true},
		{"a field the schema lacks", Operation{"POST", "/signup"}, Answer{202, jsonHeader, []byte(`{"status":"pending_confirmation","message":"m","id":"P#1"}`)}, false},
		{"the error shape", Operation{"POST", "/signup"}, Answer{400, jsonHeader, []byte(`{"error":{"code":"invalid","message":"m","field":"email"}}`)}, true},
		{"an error code that is not one", Operation{"POST", "/signup"}, Answer{400, jsonHeader, []byte(`{"error":{"code":"oops","message":"m"}}`)}, false},
		{"a status not declared", Operation{"POST", "/signup"}, Answer{404, jsonHeader, []byte(`{"error":{"code":"not_found","message":"m"}}`)}, false},
		{"a content type not declared", Operation{"POST", "/signup"}, Answer{202, http.Header{"Content-Type": {"text/plain"}}, []byte("ok")}, false},
		{"a 503 with Retry-After", Operation{"POST", "/signup"}, Answer{503, busy, []byte(`{"error":{"code":"unavailable","message":"m"}}`)}, true},
		{"a 503 without Retry-After", Operation{"POST", "/signup"}, Answer{503, jsonHeader, []byte(`{"error":{"code":"unavailable","message":"m"}}`)}, false},
		{"a page", Operation{"GET", "/signup"}, Answer{200, html, []byte("<!doctype html><p>form</p>")}, true},
		{"a HEAD without a body", Operation{"HEAD", "/signup"}, Answer{200, html, nil}, true},
		{"a HEAD with a body", Operation{"HEAD", "/signup"}, Answer{200, html, []byte("<p>")}, false},
		// Found by schemathesis: a script's HEAD of its preferences link is
		// answered as its GET, in JSON.
		{"a script's HEAD of the preferences", Operation{"HEAD", "/unsubscribe"}, Answer{200, jsonHeader, nil}, true},
		{"a HEAD in a type its GET never answers", Operation{"HEAD", "/signup"}, Answer{200, jsonHeader, nil}, false},
		{"a route not in the spec", Operation{"GET", "/nowhere"}, Answer{200, html, nil}, false},
		// Found by schemathesis: a browser's preferences form is sent on
		// to the page of its link (POST-redirect-GET).
		{"a browser's saved preferences", Operation{"POST", "/unsubscribe"}, Answer{303, http.Header{"Location": {"/unsubscribe?t=v1.k.p.s&done=stop"}, "Cache-Control": {"no-store"}}, nil}, true},
		{"a browser sent elsewhere", Operation{"POST", "/unsubscribe"}, Answer{303, http.Header{"Location": {"/signup"}, "Cache-Control": {"no-store"}}, nil}, false},
		// The $default route, described by x-default-route.
		{"the root's redirect", Operation{"GET", DefaultKey}, Answer{303, http.Header{"Location": {"/signup"}, "Cache-Control": {"no-store"}}, nil}, true},
		{"the root redirected elsewhere", Operation{"GET", DefaultKey}, Answer{303, http.Header{"Location": {"/privacy"}, "Cache-Control": {"no-store"}}, nil}, false},
		{"an unknown path, for a browser", Operation{"POST", DefaultKey}, Answer{404, html, []byte("<!doctype html><p>not found</p>")}, true},
		{"an unknown path, for a script", Operation{"DELETE", DefaultKey}, Answer{404, jsonHeader, []byte(`{"error":{"code":"not_found","message":"there is nothing at DELETE /signup"}}`)}, true},
		{"an unknown path, HEAD", Operation{"HEAD", DefaultKey}, Answer{404, html, nil}, true},
		{"an unknown path answered 200", Operation{"GET", DefaultKey}, Answer{200, html, []byte("<p>")}, false},
		{"an unknown path's 404 not in the error shape", Operation{"GET", DefaultKey}, Answer{404, jsonHeader, []byte(`{"message":"Not Found"}`)}, false},
		// The export's JSON is held to shared/export/schema.json.
		{"an export that is not one", Operation{"GET", "/privacy/export"}, Answer{200, jsonHeader, []byte(`{"schemaVersion":1}`)}, false},
		{"an export of another schema version", Operation{"GET", "/privacy/export"}, Answer{200, jsonHeader, []byte(`{"schemaVersion":2}`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check(tt.op, nil, url.Values{}, tt.a)
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v; want ok %v", err, tt.ok)
			}
		})
	}
}

type (
	openapiOperation = openapi3.Operation
	openapiSchemaRef = openapi3.SchemaRef
)

// TestXDefaultRouteIsReadStrictly: x-default-route's responses must be
// components/responses; a spec without it answers no $default check.
func TestXDefaultRouteIsReadStrictly(t *testing.T) {
	c := load(t)
	if d := c.DefaultRoute(); d == nil || d.ServedBy == "" || d.Operation.Responses.Status(http.StatusNotFound) == nil {
		t.Fatalf("x-default-route = %+v; want its 404 and who serves it", d)
	}
	doc := *c.Doc()
	for name, ext := range map[string]any{
		"an inline response": map[string]any{"served-by": "SignupFunction", "summary": "s", "responses": map[string]any{"404": map[string]any{"description": "d"}}},
		"a missing response": map[string]any{"served-by": "SignupFunction", "summary": "s", "responses": map[string]any{"404": map[string]any{"$ref": "#/components/responses/Nowhere"}}},
		"no function":        map[string]any{"summary": "s", "responses": map[string]any{"404": map[string]any{"$ref": "#/components/responses/NoRoute"}}},
		"an unknown key":     map[string]any{"served-by": "SignupFunction", "summary": "s", "method": "GET", "responses": map[string]any{"404": map[string]any{"$ref": "#/components/responses/NoRoute"}}},
	} {
		doc.Extensions = map[string]any{"x-default-route": ext}
		if _, err := loadDefaultRoute(&doc); err == nil {
			t.Errorf("%s: x-default-route was taken", name)
		}
	}
	bare := &Contract{doc: c.Doc()}
	if err := bare.Check(Operation{"GET", DefaultKey}, nil, url.Values{}, Answer{404, http.Header{"Content-Type": {"text/html"}}, []byte("<p>")}); err == nil {
		t.Fatal("a $default answer passed a spec without x-default-route")
	}
}
