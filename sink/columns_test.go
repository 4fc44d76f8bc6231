package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/microconv/microconv/internal/testkit/chtest"
)

func joinRows(rows [][]string) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, ",")
	}
	return strings.Join(out, "|")
}

func TestScaleMillis(t *testing.T) {
	f := func(ms int64, p int, want int64) {
		t.Helper()
		if got := scaleMillis(ms, p); got != want {
			t.Fatalf("scaleMillis(%d, %d) = %d, want %d", ms, p, got, want)
		}
	}
	f(1_700_000_000_123, 3, 1_700_000_000_123)
	f(1_700_000_000_123, 6, 1_700_000_000_123_000)
	f(1_700_000_000_123, 0, 1_700_000_000)
	f(1_700_000_000_123, 1, 17_000_000_001)
	f(-1, 0, -1) // floor, not truncation toward zero
	f(-1001, 0, -2)

	g := func(typ string, want int, ok bool) {
		t.Helper()
		got, err := dateTime64Precision(typ)
		if (err == nil) != ok || got != want {
			t.Fatalf("dateTime64Precision(%q) = %d, %v; want %d, ok=%v", typ, got, err, want, ok)
		}
	}
	g("DateTime64(3)", 3, true)
	g("DateTime64(6, 'UTC')", 6, true)
	g("DateTime64(x)", 0, false)
	g("DateTime64(12)", 0, false)
}

// Every column of every table is read back exactly as it was added: long
// strings (multi-byte length prefixes), empty strings, UTF-8, negative and
// large integers, millisecond timestamps, NULL and non-NULL values; across
// several native blocks of one INSERT, and across the two INSERTs of an
// urgent batch.
func TestColumnsRoundTrip(t *testing.T) {
	chtest.Each(t, func(t *testing.T, e *chtest.Engine) {
		for _, urgent := range []bool{false, true} {
			t.Run(fmt.Sprint("urgent=", urgent), func(t *testing.T) { columnsRoundTrip(t, e, urgent) })
		}
	})
}

func columnsRoundTrip(t *testing.T, e *chtest.Engine, urgent bool) {
	c, db := openTest(t, e)
	ctx := context.Background()
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const t0 = int64(1_700_000_000_123)
	n := insertBlockRows*2 + 17 // three blocks
	long := strings.Repeat("é", 200)
	var b Batch
	for i := 0; i < n; i++ {
		ev := Event{
			EventID: fmt.Sprintf("e%06d", i), Type: "track", Event: "Product Added", UserKey: fmt.Sprint("u", i%97),
			SessionID: "", TSMillis: t0 + int64(i), URL: "https://x/" + long, Path: "/p", Referrer: "r",
			UTM: UTM{Source: "google", Medium: "cpc", Campaign: "c", Term: "t", Content: "k"}, Device: "mobile", Country: "FR",
			Properties: fmt.Sprintf(`{"i":%d}`, i), Topic: "clicks", Partition: int32(i % 3), Offset: int64(1)<<40 + int64(i),
			ReceivedMillis: t0 + 5000,
		}
		b.AddEvent(&ev)
		cv := Conversion{Conversion: "add_to_cart", ConversionType: "micro", Category: "process", EventID: ev.EventID,
			Event: ev.Event, UserKey: ev.UserKey, TSMillis: ev.TSMillis, Value: float64(i) / 4, HasValue: i%2 == 0,
			UTM: ev.UTM, Device: "mobile", Country: "FR", RulesVersion: "v9", ReceivedMillis: t0 + 5000}
		b.AddConversion(&cv)
	}
	b.AddRejected(&Rejected{Raw: []byte(long), Reason: "invalid_json", Error: "cannot parse", Topic: "clicks", Partition: -1, Offset: 7, ReceivedMillis: t0})
	b.Urgent = urgent
	if err := c.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	check := func(query, want string) {
		t.Helper()
		got := joinRows(e.Query(t, query))
		if got != want {
			t.Fatalf("%s\n got %s\nwant %s", query, got, want)
		}
	}
	check("SELECT toString(count()) FROM "+db+".events", fmt.Sprint(n))
	check("SELECT toString(uniqExact(event_id)) FROM "+db+".events", fmt.Sprint(n))
	last := n - 1
	check("SELECT concat(event_id, ',', type, ',', event, ',', user_key, ',', session_id, ',', toString(toUnixTimestamp(ts)), ',', toString(ts_ms), ',', toString(toUnixTimestamp(received_at)), ',', toString(length(url)), ',', path, ',', referrer, ',', utm_source, utm_medium, utm_campaign, utm_term, utm_content, ',', device, country, ',', properties, ',', topic, ',', toString(`partition`), ',', toString(`offset`)) FROM "+db+".events WHERE event_id IN ('e000000', '"+fmt.Sprintf("e%06d", last)+"') ORDER BY event_id",
		fmt.Sprintf("e000000,track,Product Added,u0,,%d,%d,%d,%d,/p,r,googlecpcctk,mobileFR,{\"i\":0},clicks,0,%d|e%06d,track,Product Added,u%d,,%d,%d,%d,%d,/p,r,googlecpcctk,mobileFR,{\"i\":%d},clicks,%d,%d",
			t0/1000, t0, (t0+5000)/1000, len("https://x/"+long), int64(1)<<40,
			last, last%97, (t0+int64(last))/1000, t0+int64(last), (t0+5000)/1000, len("https://x/"+long), last, last%3, int64(1)<<40+int64(last)))
	check("SELECT toString(sum(ts_ms - "+fmt.Sprint(t0)+")) FROM "+db+".events", fmt.Sprint(n*(n-1)/2))
	// Every row's strings are its own (the strings of a block are lent to
	// the driver by position).
	check(fmt.Sprintf("SELECT toString(countIf(properties = concat('{\"i\":', toString(toInt64(substring(event_id, 2))), '}') AND user_key = concat('u', toString(toInt64(substring(event_id, 2)) %% 97)) AND length(url) = %d AND path = '/p')) FROM %s.events", len("https://x/"+long), db),
		fmt.Sprint(n))
	check("SELECT toString(countIf(user_key = concat('u', toString(toInt64(substring(event_id, 2)) % 97)) AND utm_term = 't')) FROM "+db+".conversions", fmt.Sprint(n))
	check("SELECT concat(toString(count()), ',', toString(countIf(value IS NULL)), ',', toString(sum(ifNull(value, 0)))) FROM "+db+".conversions",
		fmt.Sprintf("%d,%d,%s", n, n/2, func() string {
			s := 0.0
			for i := 0; i < n; i += 2 {
				s += float64(i) / 4
			}
			return strconv.FormatFloat(s, 'f', -1, 64)
		}()))
	check("SELECT concat(conversion, conversion_type, category, ',', event_id, ',', rules_version, ',', toString(ts_ms), ',', toString(value)) FROM "+db+".conversions WHERE event_id = 'e000002'",
		fmt.Sprintf("add_to_cartmicroprocess,e000002,v9,%d,0.5", t0+2))
	check("SELECT concat(toString(length(raw)), ',', reason, ',', error, ',', topic, ',', toString(`partition`), ',', toString(`offset`), ',', toString(toUnixTimestamp(received_at))) FROM "+db+".rejected_events",
		fmt.Sprintf("%d,invalid_json,cannot parse,clicks,-1,7,%d", len(long), t0/1000))
}

// The driver's String column is laid out as lendStrings expects (else
// inserts copy every string: update lendStrings for the new driver).
func TestDriverStringColumnLayout(t *testing.T) {
	if !colStrOK {
		t.Fatal("column.String has no proto.ColStr field named col: lendStrings is off")
	}
}

// A column whose type differs from the one microconv creates (here
// LowCardinality, as on modern servers, and a DateTime with a time zone)
// still receives the right values, through the driver's conversions.
func TestColumnsOfOtherTypes(t *testing.T) {
	c, db := openTest(t, chtest.Server(t))
	ctx := context.Background()
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn := chtest.Conn(t)
	alter := "ALTER TABLE " + db + ".events MODIFY COLUMN country LowCardinality(String), MODIFY COLUMN received_at DateTime('UTC'), MODIFY COLUMN `offset` UInt64"
	if err := conn.Exec(clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1})), alter); err != nil {
		t.Fatalf("%s: %v", alter, err)
	}
	var b Batch
	b.AddEvent(&Event{EventID: "e1", Event: "x", UserKey: "u", TSMillis: 1_700_000_000_123, Country: "FR", Offset: 42, ReceivedMillis: 1_700_000_005_999})
	if err := c.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	got := joinRows(chtest.QueryStrings(t, conn, "SELECT concat(country, ',', toString(toUnixTimestamp(received_at)), ',', toString(`offset`)) FROM "+db+".events"))
	if want := "FR,1700000005,42"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// A batch scaled on its first rows fills to that size without moving any
// column (no step-by-step growth).
func TestBatchScale(t *testing.T) {
	var b Batch
	add := func(i int) {
		ev := Event{EventID: fmt.Sprint("e", i%10), Event: "Product Added", UserKey: "u1", URL: "https://x/p", Properties: `{"a":1}`}
		b.AddEvent(&ev)
		b.AddConversion(&Conversion{Conversion: "c", EventID: ev.EventID, UserKey: "u1", HasValue: i%2 == 0, Value: 1})
	}
	for i := range 100 {
		add(i)
	}
	b.Scale(10 * 1.05)
	data := func() (ps []*byte) {
		for _, tb := range b.tables {
			for _, c := range tb.cols {
				ps = append(ps, unsafe.SliceData(c.buf), unsafe.SliceData(c.nulls), (*byte)(unsafe.Pointer(unsafe.SliceData(c.ends))))
			}
		}
		return ps
	}
	before := data()
	for i := 100; i < 1000; i++ {
		add(i)
	}
	after := data()
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("column slice %d moved while filling a scaled batch", i)
		}
	}
	if e, c, _ := b.Counts(); e != 1000 || c != 1000 {
		t.Fatalf("counts %d, %d; want 1000, 1000", e, c)
	}
}
