// Package schemas holds what microconv ships that is not Go: the ClickHouse DDL
// and view templates, and the JSON Schema of input events. Everything is
// embedded into the binary so that it is self-contained.
//
// It imports only the standard library. The sink package renders the
// templates; nothing here talks to a server.
package schemas
