// Package api holds pledge's HTTP contract, openapi.yaml (OpenAPI 3.1), and
// checks answers against it: the end-to-end tests hold every answer the
// local gateway gives to it, the handler tests every answer a handler gives,
// and its own tests hold its operations equal to template.yaml's routes.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/smartprotect/pledge/shared/export"
)

// Spec is openapi.yaml as written.
//
//go:embed openapi.yaml
var Spec []byte

// specPath is where openapi.yaml sits in the repository: its relative
// references (the export's JSON Schema) resolve from there.
const specPath = "api/openapi.yaml"

// schemas are the files outside api/ that openapi.yaml refers to, by their
// path in the repository, embedded by the packages that own them: the spec
// loads the same from a test binary, a handler's tests and schemathesis
// (which reads them from disk).
var schemas = map[string][]byte{
	"shared/export/schema.json": export.Schema,
}

// readSchema serves the loader the files of schemas; any other reference
// is an error (the spec refers to nothing on the network).
func readSchema(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
	if b, ok := schemas[path.Clean(u.Path)]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("api: openapi.yaml refers to %s, which is not one of the schemas it may (api.schemas)", u)
}

// Contract is the loaded, validated spec.
type Contract struct {
	doc      *openapi3.T
	fallback *DefaultRoute // x-default-route; nil when the spec has none
}

// DefaultKey is the route key of API Gateway's $default route, which takes
// every request no other route matches.
const DefaultKey = "$default"

// DefaultRoute is the spec's x-default-route: what API Gateway's $default
// route answers (OpenAPI cannot describe "any other path").
type DefaultRoute struct {
	// ServedBy is the template's logical id of the function serving it.
	ServedBy string
	// Operation holds its responses, resolved from components/responses.
	Operation *openapi3.Operation
}

// defaultRouteExtension is x-default-route as written.
type defaultRouteExtension struct {
	ServedBy    string `json:"served-by"`
	Summary     string `json:"summary"`
	Description string `json:"description"`
	Responses   map[string]struct {
		Ref string `json:"$ref"`
	} `json:"responses"`
}

// loadDefaultRoute reads x-default-route: every response must be a
// reference to components/responses. Nil, nil when the spec has none.
func loadDefaultRoute(doc *openapi3.T) (*DefaultRoute, error) {
	raw, ok := doc.Extensions["x-default-route"]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("api: x-default-route: %w", err)
	}
	var ext defaultRouteExtension
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ext); err != nil {
		return nil, fmt.Errorf("api: x-default-route: %w", err)
	}
	if ext.ServedBy == "" || ext.Summary == "" || len(ext.Responses) == 0 {
		return nil, fmt.Errorf("api: x-default-route needs served-by, a summary and its responses")
	}
	responses := openapi3.NewResponses()
	responses.Delete("default")
	for code, r := range ext.Responses {
		name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
		if !ok || doc.Components.Responses[name] == nil {
			return nil, fmt.Errorf("api: x-default-route: response %s must refer to one of components/responses (%q)", code, r.Ref)
		}
		responses.Set(code, doc.Components.Responses[name])
	}
	return &DefaultRoute{ServedBy: ext.ServedBy, Operation: &openapi3.Operation{
		Summary: ext.Summary, Description: ext.Description, Responses: responses}}, nil
}

// DefaultRoute is the spec's x-default-route, or nil.
func (c *Contract) DefaultRoute() *DefaultRoute { return c.fallback }

// Operation is one method on one path of the spec, as template.yaml names
// a route: "POST", "/admin/policies/{version}".
type Operation struct {
	Method, Path string
}

func (o Operation) String() string { return o.Method + " " + o.Path }

var registerHTML sync.Once

// Load parses the spec, resolves its references and validates it
// (examples included). Errors: the spec's own mistakes, with their place.
func Load() (*Contract, error) {
	// Pages are text: a body decoder lets the validator read (and type
	// check as a string) an HTML answer rather than refuse its type.
	registerHTML.Do(func() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) })
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = readSchema
	doc, err := loader.LoadFromDataWithPath(Spec, &url.URL{Path: specPath})
	if err != nil {
		return nil, fmt.Errorf("api: loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml is not valid: %w", err)
	}
	fallback, err := loadDefaultRoute(doc)
	if err != nil {
		return nil, err
	}
	return &Contract{doc: doc, fallback: fallback}, nil
}

// MustLoad is Load for tests, which hold handlers' answers to the spec: it
// panics on a spec that does not load (go test ./api/ says why).
func MustLoad() *Contract {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Doc is the loaded document, for tests that look further.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// Operations lists every operation, sorted by path then method.
func (c *Contract) Operations() []Operation {
	var ops []Operation
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, Operation{Method: strings.ToUpper(method), Path: path})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	return ops
}

// Answer is one response as a client receives it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Check validates answer against the operation method path (a path as the
// spec writes it, "/admin/policies/{version}"), as requested with the
// query and path parameters given: the status must be declared, the
// declared headers present and well-formed, the content type declared,
// and a JSON body must match its schema. A HEAD answer must carry no
// body. The error says which of these failed.
//
// An op whose Path is DefaultKey is an answer of the $default route to a
// request with op.Method, held to x-default-route's responses.
func (c *Contract) Check(op Operation, pathParams map[string]string, query url.Values, a Answer) error {
	item := c.doc.Paths.Value(op.Path)
	if op.Path == DefaultKey {
		if c.fallback == nil {
			return fmt.Errorf("api: the $default route answered, and openapi.yaml has no x-default-route")
		}
		// Its one operation stands for every method: a HEAD is checked as
		// a HEAD, any other as the GET its responses describe.
		if op.Method != http.MethodHead {
			op.Method = http.MethodGet
		}
		item = &openapi3.PathItem{Get: c.fallback.Operation, Head: c.fallback.Operation}
	}
	if item == nil || item.GetOperation(op.Method) == nil {
		return fmt.Errorf("api: %s is not in openapi.yaml", op)
	}
	operation := item.GetOperation(op.Method)
	if operation.Responses.Status(a.Status) == nil {
		return fmt.Errorf("api: %s answered %d, which openapi.yaml does not declare for it", op, a.Status)
	}
	if op.Method == http.MethodHead {
		if len(a.Body) > 0 {
			return fmt.Errorf("api: %s answered %d with a %d-byte body", op, a.Status, len(a.Body))
		}
		// openapi3filter does not look at HEAD answers: check the GET's
		// headers on it, which a HEAD must repeat.
		op.Method = http.MethodGet
		if item.Get == nil {
			return nil
		}
		operation = item.Get
		if ct := a.Header.Get("Content-Type"); ct != "" && operation.Responses.Status(a.Status) != nil {
			if r := operation.Responses.Status(a.Status).Value; len(r.Content) > 0 && r.Content.Get(ct) == nil {
				return fmt.Errorf("api: HEAD %s answered %d as %q, which its GET does not declare", op.Path, a.Status, ct)
			}
		}
		return nil
	}
	u := &url.URL{Path: strings.TrimPrefix(op.Path, DefaultKey), RawQuery: query.Encode()}
	for k, v := range pathParams {
		u.Path = strings.ReplaceAll(u.Path, "{"+k+"}", v)
	}
	req, err := http.NewRequest(op.Method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("api: %s: %w", op, err)
	}
	header := a.Header
	if header == nil {
		header = http.Header{}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: pathParams,
			Route: &routers.Route{Spec: c.doc, Path: op.Path, PathItem: item, Method: op.Method, Operation: operation},
		},
		Status: a.Status, Header: header, Body: io.NopCloser(bytes.NewReader(a.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("api: %s answered %d %s: %w", op, a.Status, a.Header.Get("Content-Type"), err)
	}
	return nil
}

// CheckEvent validates what a handler answered to req (an API Gateway
// payload 2.0 event whose RouteKey names the route) as Check does.
func (c *Contract) CheckEvent(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	method, path, ok := strings.Cut(req.RouteKey, " ")
	if req.RouteKey == DefaultKey {
		method, path, ok = req.RequestContext.HTTP.Method, DefaultKey, req.RequestContext.HTTP.Method != ""
	}
	if !ok {
		return fmt.Errorf("api: the request has no route key (%q)", req.RouteKey)
	}
	query, _ := url.ParseQuery(req.RawQueryString)
	for k, v := range req.QueryStringParameters {
		if !query.Has(k) {
			query.Set(k, v)
		}
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("api: %s: the answer's body is not valid base64", req.RouteKey)
		}
		body = b
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK // as API Gateway reads a response without one
	}
	return c.Check(Operation{Method: method, Path: path}, req.PathParameters, query, Answer{Status: status, Header: header, Body: body})
}
