package sink

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// appender is the driver's batch column, for encoding without a server.
type appender struct{ col column.Interface }

func (a appender) Append(v any) error       { _, err := a.col.Append(v); return err }
func (a appender) AppendRow(v any) error    { return a.col.AppendRow(v) }
func (a appender) Column() column.Interface { return a.col }

// eventTypes are the events table's column types on an old server (String
// and DateTime; modern servers get LowCardinality and DateTime64(3)).
var eventTypes = []string{
	"String", "String", "String", "String", "String", "DateTime", "Int64", "DateTime",
	"String", "String", "String",
	"String", "String", "String", "String", "String",
	"String", "String", "String", "String", "Int32", "Int64",
}

// BenchmarkEncodeEvents measures encoding event rows for ClickHouse, per
// row: adding them to a batch (the consumer's side), then cutting blocks
// into the driver's columns and encoding them as the native protocol sends
// them (the insert's side, without the network).
func BenchmarkEncodeEvents(b *testing.B) {
	const rows = insertBlockRows
	evs := make([]Event, rows)
	size := 0
	for i := range evs {
		evs[i] = Event{
			EventID: fmt.Sprintf("m3-%07d", i), Type: "track", Event: "Product Viewed", UserKey: fmt.Sprintf("anon-%06d", i%4000),
			SessionID: fmt.Sprintf("s-%05d", i%9000), TSMillis: 1_772_409_694_000 + int64(i), URL: "https://www.example.com/products/p-" + fmt.Sprint(i%300),
			Path: "/products/p-" + fmt.Sprint(i%300), UTM: UTM{Source: "google", Medium: "cpc", Campaign: "spring_sale"},
			Device: "mobile", Country: "FR", Properties: fmt.Sprintf(`{"product_id":"p-%d","price":%d.99,"currency":"EUR"}`, i%300, i%90),
			Topic: "clickstream", Partition: int32(i % 8), Offset: int64(i), ReceivedMillis: 1_772_409_700_000,
		}
		size += len(evs[i].EventID) + len(evs[i].UserKey) + len(evs[i].URL) + len(evs[i].Path) + len(evs[i].Properties) + 80
	}
	cols := make([]column.Interface, len(eventTypes))
	for i, typ := range eventTypes {
		c, err := column.Type(typ).Column(fmt.Sprint("c", i), &column.ServerContext{Timezone: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		cols[i] = c
	}
	var batch Batch
	var buf proto.Buffer
	b.SetBytes(int64(size / rows))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += rows {
		batch.Reset()
		for i := range evs {
			batch.AddEvent(&evs[i])
		}
		blk := &batch.tables[tableEvents]
		buf.Reset()
		for i, c := range cols {
			c.Reset()
			chunk := blk.cols[i].rowRange(0, rows)
			if err := fillColumn(c, appender{c}, &chunk, rows); err != nil {
				b.Fatal(err)
			}
			c.Encode(&buf)
		}
	}
}
