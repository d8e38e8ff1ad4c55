// Package exporttest validates access exports against the committed JSON
// Schema (export.Schema), for tests: it links the JSON Schema validator
// into test binaries only, never into a function.
package exporttest

import (
	"bytes"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/smartprotect/pledge/shared/export"
)

// Schema compiles export.Schema (draft 2020-12) with formats asserted
// (date-time, duration, idn-email, uri), so that a malformed time fails too.
func Schema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(export.Schema))
	if err != nil {
		return nil, fmt.Errorf("exporttest: schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, fmt.Errorf("exporttest: %w", err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		return nil, fmt.Errorf("exporttest: compiling schema.json: %w", err)
	}
	return sch, nil
}

// Validate checks one JSON export against the schema; the error lists every
// violation with its place in the document.
func Validate(body []byte) error {
	sch, err := Schema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("exporttest: the export is not JSON: %w", err)
	}
	return sch.Validate(inst)
}
