// Package toolschema validates a tool call's arguments against the tool's
// input schema (JSON Schema, draft 2020-12 unless the schema's $schema names
// another draft), with github.com/santhosh-tekuri/jsonschema/v6.
//
// Schemas come from the server's configuration. They are compiled once and
// cached by their text; a schema never loads anything from the network or
// the filesystem (a $ref must point inside the schema itself).
package toolschema
