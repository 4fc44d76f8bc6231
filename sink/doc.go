// Package sink writes rows into ClickHouse through the native protocol
// (github.com/ClickHouse/clickhouse-go/v2): it holds the row batches, inserts
// them with explicit column lists, retries a failed insert with capped backoff
// and never drops a row, and migrates the schema (tables and views rendered
// from the templates of package schemas, adapted to the server's version).
//
// It may import package schemas, the small libraries of internal/ (chsql,
// chdb, backoff, logthrottle, tlsconf), clickhouse-go, zerolog and
// prometheus. It knows nothing of Kafka or of rule files: callers hand it
// rows and plain descriptions of the rules in force.
package sink
