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
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Spec is openapi.yaml as written.
//
//go:embed openapi.yaml
var Spec []byte

// Contract is the loaded, validated spec.
type Contract struct {
	doc *openapi3.T
}

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
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("api: loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml is not valid: %w", err)
	}
	return &Contract{doc: doc}, nil
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
func (c *Contract) Check(op Operation, pathParams map[string]string, query url.Values, a Answer) error {
	item := c.doc.Paths.Value(op.Path)
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
	u := &url.URL{Path: op.Path, RawQuery: query.Encode()}
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
