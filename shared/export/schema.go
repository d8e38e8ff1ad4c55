package export

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the document JSON writes,
// strict: it names every property and allows no other. Tests validate real
// exports against it; schemaVersion in it equals SchemaVersion.
//
//go:embed schema.json
var Schema []byte
