package sink

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A batch keeps its rows column by column, in byte slices that hold no
// pointers: fixed-width columns already in ClickHouse's native wire format,
// string columns as their rows' bytes plus an end offset per row. Adding a
// row copies its fields once; the garbage collector never scans a batch
// however many rows it holds (rows kept as Go structs of strings would cost
// write barriers and marking); and the insert hands each fixed-width column
// to the driver with one Decode, and each string column as positions into
// the batch, instead of a conversion per value.

// colKind is how a column is encoded in the batch.
type colKind uint8

const (
	kindString    colKind = iota // String: the bytes of each row, one after the other; ends says where each ends
	kindInt64                    // Int64, little endian
	kindInt32                    // Int32, little endian
	kindMillis                   // a timestamp as Unix milliseconds (Int64); converted to the column's type at insert
	kindNullFloat                // Nullable(Float64): a null map byte + a Float64 per row
)

var (
	eventKinds = []colKind{
		kindString, kindString, kindString, kindString, kindString, kindMillis, kindInt64, kindMillis,
		kindString, kindString, kindString,
		kindString, kindString, kindString, kindString, kindString,
		kindString, kindString, kindString, kindString, kindInt32, kindInt64,
	}
	conversionKinds = []colKind{
		kindString, kindString, kindString, kindString, kindString, kindString, kindString,
		kindMillis, kindInt64, kindNullFloat,
		kindString, kindString, kindString, kindString, kindString,
		kindString, kindString, kindString, kindMillis,
	}
	rejectedKinds = []colKind{kindString, kindString, kindString, kindString, kindInt32, kindInt64, kindMillis}
	tableKinds    = [numTables][]colKind{eventKinds, conversionKinds, rejectedKinds}
)

// wireCol is one column of a table block.
type wireCol struct {
	kind colKind
	buf  []byte
	// ends (kindString only) holds 0 and then, per row, the offset in buf
	// where the row's string ends: row i is buf[ends[i]:ends[i+1]]. The
	// insert hands the driver these positions as they are (a length prefix
	// per string would be parsed twice: cutting the batch into blocks, then
	// lending a block to the driver). A column stays under 4 GiB: a batch
	// is flushed at MICROCONV_BATCH_MAX_BYTES (at most 1 GiB) and a row is
	// at most MICROCONV_MAX_MESSAGE_BYTES (64 MiB).
	ends  []uint32
	nulls []byte // kindNullFloat only
}

func (c *wireCol) str(s string) {
	c.buf = append(c.buf, s...)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

func (c *wireCol) bytes(b []byte) {
	c.buf = append(c.buf, b...)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

func (c *wireCol) i64(v int64) { c.buf = binary.LittleEndian.AppendUint64(c.buf, uint64(v)) }
func (c *wireCol) i32(v int32) { c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(v)) }

func (c *wireCol) nullFloat(v float64, ok bool) {
	if !ok {
		c.nulls = append(c.nulls, 1)
		c.buf = binary.LittleEndian.AppendUint64(c.buf, 0)
		return
	}
	c.nulls = append(c.nulls, 0)
	c.buf = binary.LittleEndian.AppendUint64(c.buf, math.Float64bits(v))
}

// rowRange returns rows [start, end) of c as a column of their own (a
// kindString column keeps all of buf: its ends are offsets into it).
func (c *wireCol) rowRange(start, end int) wireCol {
	switch c.kind {
	case kindString:
		return wireCol{kind: c.kind, buf: c.buf, ends: c.ends[start : end+1]}
	case kindInt32:
		return wireCol{kind: c.kind, buf: c.buf[start*4 : end*4]}
	case kindNullFloat:
		return wireCol{kind: c.kind, buf: c.buf[start*8 : end*8], nulls: c.nulls[start:end]}
	default:
		return wireCol{kind: c.kind, buf: c.buf[start*8 : end*8]}
	}
}

// tableBlock holds the rows of one table.
type tableBlock struct {
	cols []wireCol
	rows int
}

func (t *tableBlock) init(table int) {
	if t.cols != nil {
		return
	}
	kinds := tableKinds[table]
	t.cols = make([]wireCol, len(kinds))
	for i, k := range kinds {
		t.cols[i].kind = k
		if k == kindString {
			t.cols[i].ends = []uint32{0}
		}
	}
}

func (t *tableBlock) size() int {
	n := 0
	for i := range t.cols {
		n += len(t.cols[i].buf) + len(t.cols[i].nulls) + 4*len(t.cols[i].ends)
	}
	return n
}

func (t *tableBlock) reset() {
	for i := range t.cols {
		t.cols[i].buf = t.cols[i].buf[:0]
		t.cols[i].nulls = t.cols[i].nulls[:0]
		if t.cols[i].kind == kindString {
			t.cols[i].ends = t.cols[i].ends[:1]
		}
	}
	t.rows = 0
}

// Reserve makes room in b for as many encoded rows as like holds, column
// by column, so that filling b does not grow its buffers step by step (each
// step copies what is there). The consumer sizes a new batch on the one
// just filled.
func (b *Batch) Reserve(like *Batch) {
	for t := range b.tables {
		lt := &like.tables[t]
		if lt.cols == nil {
			continue
		}
		bt := &b.tables[t]
		bt.init(t)
		for i := range bt.cols {
			bt.cols[i].buf = slices.Grow(bt.cols[i].buf, len(lt.cols[i].buf)-len(bt.cols[i].buf))
			bt.cols[i].nulls = slices.Grow(bt.cols[i].nulls, len(lt.cols[i].nulls)-len(bt.cols[i].nulls))
			bt.cols[i].ends = slices.Grow(bt.cols[i].ends, len(lt.cols[i].ends)-len(bt.cols[i].ends))
		}
	}
}

// Scale makes room in b for factor times what each of its columns holds
// (factor > 1), so that a batch sized early on its first rows fills
// without growing step by step.
func (b *Batch) Scale(factor float64) {
	for t := range b.tables {
		bt := &b.tables[t]
		for i := range bt.cols {
			c := &bt.cols[i]
			c.buf = slices.Grow(c.buf, int(float64(len(c.buf))*(factor-1))+1)
			c.nulls = slices.Grow(c.nulls, int(float64(len(c.nulls))*(factor-1))+1)
			c.ends = slices.Grow(c.ends, int(float64(len(c.ends))*(factor-1))+1)
		}
	}
}

// AddEvent appends a row to the events table of b. It copies what it needs:
// ev may be reused (and its strings may be overwritten) once it returns.
func (b *Batch) AddEvent(ev *Event) {
	t := &b.tables[tableEvents]
	t.init(tableEvents)
	c := t.cols
	c[0].str(ev.EventID)
	c[1].str(ev.Type)
	c[2].str(ev.Event)
	c[3].str(ev.UserKey)
	c[4].str(ev.SessionID)
	c[5].i64(ev.TSMillis)
	c[6].i64(ev.TSMillis)
	c[7].i64(ev.ReceivedMillis)
	c[8].str(ev.URL)
	c[9].str(ev.Path)
	c[10].str(ev.Referrer)
	c[11].str(ev.UTM.Source)
	c[12].str(ev.UTM.Medium)
	c[13].str(ev.UTM.Campaign)
	c[14].str(ev.UTM.Term)
	c[15].str(ev.UTM.Content)
	c[16].str(ev.Device)
	c[17].str(ev.Country)
	c[18].str(ev.Properties)
	c[19].str(ev.Topic)
	c[20].i32(ev.Partition)
	c[21].i64(ev.Offset)
	t.rows++
}

// AddConversion appends a row to the conversions table of b (copied, as AddEvent).
func (b *Batch) AddConversion(cv *Conversion) {
	t := &b.tables[tableConversions]
	t.init(tableConversions)
	c := t.cols
	c[0].str(cv.Conversion)
	c[1].str(cv.ConversionType)
	c[2].str(cv.Category)
	c[3].str(cv.EventID)
	c[4].str(cv.Event)
	c[5].str(cv.UserKey)
	c[6].str(cv.SessionID)
	c[7].i64(cv.TSMillis)
	c[8].i64(cv.TSMillis)
	c[9].nullFloat(cv.Value, cv.HasValue)
	c[10].str(cv.UTM.Source)
	c[11].str(cv.UTM.Medium)
	c[12].str(cv.UTM.Campaign)
	c[13].str(cv.UTM.Term)
	c[14].str(cv.UTM.Content)
	c[15].str(cv.Device)
	c[16].str(cv.Country)
	c[17].str(cv.RulesVersion)
	c[18].i64(cv.ReceivedMillis)
	t.rows++
}

// AddRejected appends a row to the rejected_events table of b (copied, as AddEvent).
func (b *Batch) AddRejected(r *Rejected) {
	t := &b.tables[tableRejected]
	t.init(tableRejected)
	c := t.cols
	c[0].bytes(r.Raw)
	c[1].str(r.Reason)
	c[2].str(r.Error)
	c[3].str(r.Topic)
	c[4].i32(r.Partition)
	c[5].i64(r.Offset)
	c[6].i64(r.ReceivedMillis)
	t.rows++
}

// EachEventID calls fn with the event_id of every event row of b, in order.
// The string is valid only during the call.
func (b *Batch) EachEventID(fn func(id string)) {
	t := &b.tables[tableEvents]
	if t.rows == 0 {
		return
	}
	c := &t.cols[0]
	for i := 1; i < len(c.ends); i++ {
		fn(string(c.buf[c.ends[i-1]:c.ends[i]]))
	}
}

// fillColumn hands column src of rows rows to the driver's column dst (of
// the server's type). The types microconv creates are decoded straight from
// the wire bytes; any other type a user may have altered a column to goes
// through the driver's conversions from Go values.
func fillColumn(dst column.Interface, bc driver.BatchColumn, src *wireCol, rows int) error {
	typ := string(dst.Type())
	var wire []byte
	switch src.kind {
	case kindString:
		if sc, ok := dst.(*column.String); ok && colStrOK {
			return lendStrings(sc, src, rows)
		}
		// The driver copies the strings into its column: views into the
		// batch's bytes (no copy, no allocation per value) are enough, and
		// cheaper than its Decode, which reads byte by byte.
		views := stringViews(src)
		err := bc.Append(views)
		clear(views)
		viewPool.Put(&views)
		return err
	case kindInt64:
		if typ == "Int64" {
			wire = src.buf
			break
		}
		return bc.Append(convertInts(int64Values(src.buf), typ))
	case kindInt32:
		if typ == "Int32" {
			wire = src.buf
			break
		}
		vs := int32Values(src.buf)
		wide := make([]int64, len(vs))
		for i, v := range vs {
			wide[i] = int64(v)
		}
		return bc.Append(convertInts(wide, typ))
	case kindMillis:
		switch {
		case typ == "DateTime" || strings.HasPrefix(typ, "DateTime("):
			// Seconds as UInt32; the timestamp range was checked on decode.
			wire = make([]byte, 0, rows*4)
			for i := 0; i+8 <= len(src.buf); i += 8 {
				ms := int64(binary.LittleEndian.Uint64(src.buf[i:]))
				wire = binary.LittleEndian.AppendUint32(wire, uint32(floorDiv(ms, 1000)))
			}
		case strings.HasPrefix(typ, "DateTime64("):
			p, err := dateTime64Precision(typ)
			if err != nil {
				return err
			}
			if p == 3 {
				wire = src.buf
				break
			}
			wire = make([]byte, 0, len(src.buf))
			for i := 0; i+8 <= len(src.buf); i += 8 {
				wire = binary.LittleEndian.AppendUint64(wire, uint64(scaleMillis(int64(binary.LittleEndian.Uint64(src.buf[i:])), p)))
			}
		default:
			vs := int64Values(src.buf)
			ts := make([]time.Time, len(vs))
			for i, ms := range vs {
				ts[i] = time.UnixMilli(ms).UTC()
			}
			return bc.Append(ts)
		}
	case kindNullFloat:
		if typ == "Nullable(Float64)" {
			wire = make([]byte, 0, len(src.nulls)+len(src.buf))
			wire = append(append(wire, src.nulls...), src.buf...)
			break
		}
		vs := make([]*float64, rows)
		for i := range vs {
			if src.nulls[i] == 0 {
				f := math.Float64frombits(binary.LittleEndian.Uint64(src.buf[i*8:]))
				vs[i] = &f
			}
		}
		return bc.Append(vs)
	}
	wr := wireReaders.Get().(*wireReader)
	defer wireReaders.Put(wr)
	wr.src.Reset(wire)
	if err := dst.Decode(wr.r, rows); err != nil {
		return err
	}
	if wr.src.Len() != 0 {
		return fmt.Errorf("cannot decode %d rows of %s: %d bytes left over", rows, typ, wr.src.Len())
	}
	return nil
}

// wireReader is the driver's reader over one column's wire bytes, reused:
// a fresh one allocates a 128 KiB buffer. A column's Decode reads exactly
// its bytes, so the buffer is empty again when it returns.
type wireReader struct {
	src bytes.Reader
	r   *proto.Reader
}

var wireReaders = sync.Pool{New: func() any {
	wr := new(wireReader)
	wr.r = proto.NewReader(&wr.src)
	return wr
}}

// colStrOffset is where the driver's String column keeps its proto.ColStr
// (an unexported field, found by reflection and checked for its type):
// the insert lends the batch's bytes to the column instead of copying
// every string into it. When another driver version lays the column out
// differently (colStrOK false), the strings are appended (copied).
var colStrOffset, colStrOK = func() (uintptr, bool) {
	f, ok := reflect.TypeFor[column.String]().FieldByName("col")
	return f.Offset, ok && f.Type == reflect.TypeFor[proto.ColStr]()
}()

// lendStrings makes the column's rows the strings of src (a kindString
// column of rows values): its buffer is src's, capped so that nothing the
// driver appends can write into the batch, and its positions are src's
// ends. The driver encodes the column from there (a length prefix and the
// bytes per row) and resets it after sending the block; the batch outlives
// the insert.
func lendStrings(sc *column.String, src *wireCol, rows int) error {
	cs := (*proto.ColStr)(unsafe.Add(unsafe.Pointer(sc), colStrOffset))
	if cs.Rows() != 0 {
		return fmt.Errorf("cannot lend strings to a column that holds %d rows", cs.Rows())
	}
	if len(src.ends) != rows+1 {
		return fmt.Errorf("cannot lend %d strings from a batch column of %d", rows, len(src.ends)-1)
	}
	pos := cs.Pos[:0]
	if cap(pos) < rows {
		pos = make([]proto.Position, 0, rows)
	}
	last := int(src.ends[rows])
	if last > len(src.buf) {
		return fmt.Errorf("cannot lend strings ending at %d from a batch column of %d bytes", last, len(src.buf))
	}
	start := int(src.ends[0])
	for _, e := range src.ends[1:] {
		pos = append(pos, proto.Position{Start: start, End: int(e)})
		start = int(e)
	}
	cs.Buf = src.buf[:last:last]
	cs.Pos = pos
	return nil
}

var viewPool = sync.Pool{New: func() any { return new([]string) }}

// stringViews returns the strings of a kindString column, pointing into
// its buf: valid while buf is neither modified nor reused.
func stringViews(src *wireCol) []string {
	p := viewPool.Get().(*[]string)
	out := slices.Grow((*p)[:0], len(src.ends)-1)
	for i := 1; i < len(src.ends); i++ {
		s := src.buf[src.ends[i-1]:src.ends[i]]
		out = append(out, unsafe.String(unsafe.SliceData(s), len(s)))
	}
	return out
}

func int64Values(buf []byte) []int64 {
	out := make([]int64, len(buf)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(buf[i*8:]))
	}
	return out
}

// convertInts gives the driver the integers as the Go type that matches
// the column type (it converts between integer widths only for some).
func convertInts(vs []int64, typ string) any {
	switch strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")") {
	case "Int8":
		return mapInts(vs, func(v int64) int8 { return int8(v) })
	case "Int16":
		return mapInts(vs, func(v int64) int16 { return int16(v) })
	case "Int32":
		return mapInts(vs, func(v int64) int32 { return int32(v) })
	case "UInt8":
		return mapInts(vs, func(v int64) uint8 { return uint8(v) })
	case "UInt16":
		return mapInts(vs, func(v int64) uint16 { return uint16(v) })
	case "UInt32":
		return mapInts(vs, func(v int64) uint32 { return uint32(v) })
	case "UInt64":
		return mapInts(vs, func(v int64) uint64 { return uint64(v) })
	}
	return vs
}

func mapInts[T any](vs []int64, f func(int64) T) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = f(v)
	}
	return out
}

func int32Values(buf []byte) []int32 {
	out := make([]int32, len(buf)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(buf[i*4:]))
	}
	return out
}

// dateTime64Precision reads P from "DateTime64(P)" or "DateTime64(P, 'tz')".
func dateTime64Precision(typ string) (int, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(typ, "DateTime64("), ")")
	p, _, _ := strings.Cut(inner, ",")
	n, err := strconv.Atoi(strings.TrimSpace(p))
	if err != nil || n < 0 || n > 9 {
		return 0, fmt.Errorf("cannot read the precision of column type %q", typ)
	}
	return n, nil
}

// scaleMillis converts Unix milliseconds to ticks of 10^-p seconds.
func scaleMillis(ms int64, p int) int64 {
	for ; p > 3; p-- {
		ms *= 10
	}
	for ; p < 3; p++ {
		ms = floorDiv(ms, 10)
	}
	return ms
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
