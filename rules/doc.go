// Package rules parses, validates, compiles and matches conversion rule files.
//
// Rule files are YAML written by analysts. Each rule tags a clickstream event
// as a micro-conversion (a step toward a goal: product viewed, added to cart,
// newsletter signup …) or a macro-conversion (the goal itself: purchase,
// subscription …); funnels name an ordered list of conversions and a time
// window. The syntax is described in DESIGN.md, section "Rule files".
//
// The package turns rule files into an immutable [Set]: [Parse] and
// [ParseFiles] take file contents, [Load] reads one file or every *.yaml and
// *.yml file of a directory. Every problem found in every file is reported at
// once as an [ErrorList] whose items name the file, line and column.
// [Set.Match] tells which conversions an [Event] matches; it does no I/O and
// does not allocate when given a slice with spare capacity. For tools,
// [Set.Explain] and [Set.Nearest] tell why an event matches a rule or not
// (they allocate), and [ReadFiles] reads rule files without parsing them.
//
// The package knows nothing of Kafka, ClickHouse or how events are decoded:
// it sees an event as a call type, a name and the parsed JSON message. Its
// only I/O is reading rule files in Load.
//
// # Matching
//
// A conversion matches an event when every constraint of its match holds:
// event (exact name), event_in (one of the names), event_regex (unanchored
// Go RE2 on the name), type (exact call type) and where (all conditions).
//
// A condition's path is dotted and resolved in the raw JSON message: keys of
// objects, and decimal segments index arrays ("properties.items.0.sku"). A
// key that contains a dot cannot be addressed. The operators:
//
//   - A missing path, or JSON null, makes every operator false except ne,
//     not_in and not_exists, which are true; eq null (or in a list holding
//     null) is true for JSON null. ne is exactly not(eq), not_in not(in),
//     not_exists not(exists).
//   - eq, ne, in, not_in: a rule string equals a JSON string byte for byte; a
//     rule number equals a JSON number, or a JSON string that parses as a
//     number, numerically; a rule string that parses as a number equals a
//     JSON number numerically; a rule bool equals a JSON bool or the JSON
//     strings "true"/"false" (and the rule strings "true"/"false" equal JSON
//     bools); objects and arrays equal nothing.
//   - contains: a JSON string contains the value's text as written in the
//     YAML; a JSON array holds an element equal to the value (as eq).
//   - prefix, suffix, regex: JSON strings only, against the value's text as
//     written; regex is unanchored Go RE2.
//   - gt, gte, lt, lte: the rule value is a number; a JSON number or a
//     string that parses as a number is compared as float64; anything else
//     is false.
//   - exists: the path is present and not null. It takes no value.
//
// "Parses as a number" means decimal syntax only: an optional sign, digits
// with an optional fraction and exponent, no spaces ("19.99", "-1", "1e3").
// The same rule gives the value stored with a conversion (`value:` path).
//
// Groups nest: any: [conditions], all: [conditions], not: condition, and
// not: [conditions] meaning not(all(conditions)), up to 32 levels deep.
//
// Events reach the rules as a fastjson tree or as JSON text validated by
// internal/rawjson (the consumer's fast path); paths resolve the same way on
// both.
//
// Imports allowed: the standard library, go.yaml.in/yaml/v3 (Node API, for
// line numbers), github.com/valyala/fastjson and internal/rawjson. Nothing
// else.
package rules
