package sink

import (
	"context"
	"fmt"
	"strings"
)

// Tables written by the sink, in flush order: an event's conversions never
// become visible before the event itself.
const (
	tableEvents = iota
	tableConversions
	tableRejected
	numTables
)

var tableNames = [numTables]string{"events", "conversions", "rejected_events"}

var eventColumns = []string{
	"event_id", "type", "event", "user_key", "session_id", "ts", "ts_ms", "received_at",
	"url", "path", "referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"device", "country", "properties", "topic", "`partition`", "`offset`",
}

var conversionColumns = []string{
	"conversion", "conversion_type", "category", "event_id", "event", "user_key", "session_id",
	"ts", "ts_ms", "value",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"device", "country", "rules_version", "received_at",
}

// insertBlockRows is the number of rows sent per native block.
const insertBlockRows = 8192

var rejectedColumns = []string{"raw", "reason", "error", "topic", "`partition`", "`offset`", "received_at"}

func insertQuery(db, table string, cols []string) string {
	return "INSERT INTO " + db + "." + table + " (" + strings.Join(cols, ", ") + ")"
}

// insertTable writes the rows of one table of b in a single INSERT.
func (c *Client) insertTable(ctx context.Context, b *Batch, table, from, to int) error {
	if to <= from {
		return nil
	}
	cols := [numTables][]string{eventColumns, conversionColumns, rejectedColumns}[table]
	return c.be.insert(ctx, tableNames[table], cols, &b.tables[table], from, to)
}

// insert sends the rows through the driver: each column of the batch is
// handed to the driver's column of the server's type (fillColumn).
func (n *nativeBackend) insert(ctx context.Context, table string, cols []string, blk *tableBlock, from, to int) error {
	batch, err := n.conn.PrepareBatch(ctx, insertQuery(quoteIdent(n.cfg.Database), table, cols))
	if err != nil {
		return fmt.Errorf("cannot prepare insert of %d rows into %q: %w", to-from, table, scrub(err, n.cfg.Password))
	}
	defer func() { _ = batch.Abort() }()
	dst := batch.Columns()
	if len(dst) != len(blk.cols) {
		return fmt.Errorf("cannot insert into %q: the server expects %d columns, microconv sends %d", table, len(dst), len(blk.cols))
	}
	// The rows go in blocks of insertBlockRows within the one INSERT: the
	// driver's copy of the rows stays small however large the batch, and
	// the server squashes the blocks of an INSERT into one part (up to
	// min_insert_block_size_rows, a million by default) — a part per
	// batch, not per block.
	for start := from; start < to; start += insertBlockRows {
		end := min(start+insertBlockRows, to)
		for i := range dst {
			chunk := blk.cols[i].rowRange(start, end)
			if err := fillColumn(dst[i], batch.Column(i), &chunk, end-start); err != nil {
				return fmt.Errorf("cannot encode column %s of %q (type %s): %w", cols[i], table, dst[i].Type(), err)
			}
		}
		if end == to {
			break
		}
		if err := batch.Flush(); err != nil {
			return fmt.Errorf("cannot insert %d rows into %q: %w", to-from, table, scrub(err, n.cfg.Password))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("cannot insert %d rows into %q: %w", to-from, table, scrub(err, n.cfg.Password))
	}
	return nil
}
