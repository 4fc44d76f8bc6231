package input

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/microconv/microconv/internal/config"
)

// Avro messages in the Confluent wire format: byte 0 is the magic byte 0,
// bytes 1–4 the schema id (big-endian), the rest one Avro binary datum
// written with that schema. The writer schema comes from the registry
// (registry.go); the datum becomes JSON, which the configured input format
// decodes as if it had been sent as JSON. Messages without the magic byte go
// to the input format unchanged.
//
// The datum is read with its own writer schema and no reader schema: every
// schema version decodes, a field that a version lacks is absent from its
// JSON (as Confluent's own JSON tools show it), never filled with a default.
//
// Avro → JSON: records and maps are objects, arrays arrays, a union is the
// value of its branch (no {"type": value} wrapper), enums their symbol,
// bytes and fixed standard base64, float and double numbers (NaN and
// infinities null). Logical types: timestamp-millis/-micros and
// local-timestamp-millis/-micros are RFC 3339 strings in UTC
// ("2024-05-01T10:20:30.123Z", 6 fraction digits for micros) — the form the
// JSON formats parse; date is "2024-05-01", time-millis/-micros "10:20:30.123",
// decimal an exact JSON number, duration {"months","days","milliseconds"},
// uuid its string.

func newAvroFormat(cfg Config, inner func() Format) (func() Format, error) {
	reg, err := newSchemaRegistry(cfg.SchemaRegistryURL, cfg.SchemaRegistryUsername, cfg.SchemaRegistryPassword)
	if err != nil {
		return nil, err
	}
	limit := cfg.MaxMessageBytes
	if limit <= 0 {
		limit = config.DefaultMaxMessageBytes
	}
	return func() Format { return &avroFormat{inner: inner(), reg: reg, limit: limit} }, nil
}

// avroFormat decodes Confluent-framed Avro messages to JSON for inner. One
// per goroutine; the registry is shared.
type avroFormat struct {
	inner Format
	reg   *schemaRegistry
	limit int // JSON larger than this is rejected as too_large, as a JSON message would be
	out   []byte
}

func (f *avroFormat) Decode(raw []byte, src Source, dst []Decoded) ([]Decoded, *Rejection) {
	if len(raw) == 0 || raw[0] != 0 {
		return f.inner.Decode(raw, src, dst)
	}
	dst = dst[:0]
	if len(raw) < 5 {
		return dst, reject(ReasonInvalidAvro, "message of %d bytes starts with the Avro magic byte 0 but is shorter than the 5-byte Confluent header", len(raw))
	}
	id := binary.BigEndian.Uint32(raw[1:5])
	s, err := f.reg.schema(id)
	if err != nil {
		var rerr *registryError
		switch {
		case errors.As(err, &rerr):
			return dst, &Rejection{Retry: true, Detail: fmt.Sprintf("cannot fetch Avro schema id %d: %s", id, rerr.msg)}
		case errors.Is(err, errUnknownSchema):
			return dst, reject(ReasonUnknownSchema, "cannot decode Avro: %s", err)
		default:
			return dst, reject(ReasonInvalidAvro, "cannot use Avro schema id %d: %s", id, err)
		}
	}
	d := avroDecoder{data: raw[5:], limit: f.limit, out: f.out[:0]}
	err = d.value(s.root, 0)
	f.out = d.out
	switch {
	case errors.Is(err, errAvroTooLarge):
		return dst, reject(ReasonTooLarge, "Avro message (schema id %d) becomes JSON of more than %d bytes", id, f.limit)
	case err != nil:
		return dst, reject(ReasonInvalidAvro, "cannot decode Avro with schema id %d at byte %d: %s", id, 5+d.pos, err)
	case d.pos != len(d.data):
		return dst, reject(ReasonInvalidAvro, "cannot decode Avro with schema id %d: %d bytes left after the datum (written with another schema?)", id, len(d.data)-d.pos)
	}
	return f.inner.Decode(f.out, src, dst)
}

// avroSchema is a writer schema compiled for decoding to JSON.
type avroSchema struct {
	root *avroNode
}

// parseAvroSchema parses a registry answer (named types it refers to must
// already be in cache) and compiles it.
func parseAvroSchema(resp schemaResponse, cache *avro.SchemaCache) (s *avroSchema, err error) {
	if resp.SchemaType != "" && resp.SchemaType != "AVRO" {
		return nil, fmt.Errorf("%w: it is a %s schema, not Avro", errUnusableSchema, resp.SchemaType)
	}
	defer func() {
		if r := recover(); r != nil { // a parser bug must not take the consumer down
			s, err = nil, fmt.Errorf("%w: cannot parse the Avro schema: %v", errUnusableSchema, r)
		}
	}()
	parsed, err := avro.ParseWithCache(resp.Schema, "", cache)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse the Avro schema: %s", errUnusableSchema, err)
	}
	root, err := compileAvro(parsed, map[avro.Schema]*avroNode{})
	if err != nil {
		return nil, fmt.Errorf("%w: %s", errUnusableSchema, err)
	}
	return &avroSchema{root: root}, nil
}

type avroKind uint8

const (
	avroNull avroKind = iota
	avroBoolean
	avroInt
	avroLong
	avroFloat
	avroDouble
	avroBytes
	avroString
	avroRecord
	avroEnum
	avroArray
	avroMap
	avroUnion
	avroFixed
	avroDate       // int days
	avroTimeMillis // int
	avroTimeMicros // long
	avroTSMillis   // long, also local-timestamp-millis
	avroTSMicros   // long, also local-timestamp-micros
	avroDecimal    // bytes or fixed (size > 0)
	avroDuration   // fixed(12)
)

// avroNode is one compiled schema node. Named types that refer to
// themselves compile to a cyclic graph.
type avroNode struct {
	kind     avroKind
	fields   []avroField // record
	items    *avroNode   // array items, map values
	branches []*avroNode // union
	symbols  [][]byte    // enum symbols, as JSON strings
	size     int         // fixed
	scale    int         // decimal
}

type avroField struct {
	key  []byte // `"name":`, escaped once
	node *avroNode
}

func compileAvro(s avro.Schema, named map[avro.Schema]*avroNode) (*avroNode, error) {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	if n := named[s]; n != nil {
		return n, nil
	}
	switch s := s.(type) {
	case *avro.RecordSchema:
		n := &avroNode{kind: avroRecord}
		named[s] = n
		for _, f := range s.Fields() {
			fn, err := compileAvro(f.Type(), named)
			if err != nil {
				return nil, err
			}
			key := avroAppendString(nil, []byte(f.Name()))
			n.fields = append(n.fields, avroField{key: append(key, ':'), node: fn})
		}
		return n, nil
	case *avro.EnumSchema:
		n := &avroNode{kind: avroEnum}
		for _, sym := range s.Symbols() {
			n.symbols = append(n.symbols, avroAppendString(nil, []byte(sym)))
		}
		named[s] = n
		return n, nil
	case *avro.FixedSchema:
		n := &avroNode{kind: avroFixed, size: s.Size()}
		if l := s.Logical(); l != nil {
			switch l.Type() {
			case avro.Decimal:
				n.kind = avroDecimal
				if d, ok := l.(*avro.DecimalLogicalSchema); ok {
					n.scale = d.Scale()
				}
			case avro.Duration:
				if s.Size() == 12 {
					n.kind = avroDuration
				}
			}
		}
		named[s] = n
		return n, nil
	case *avro.ArraySchema:
		items, err := compileAvro(s.Items(), named)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: avroArray, items: items}, nil
	case *avro.MapSchema:
		values, err := compileAvro(s.Values(), named)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: avroMap, items: values}, nil
	case *avro.UnionSchema:
		n := &avroNode{kind: avroUnion}
		for _, t := range s.Types() {
			b, err := compileAvro(t, named)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, b)
		}
		return n, nil
	case *avro.NullSchema:
		return &avroNode{kind: avroNull}, nil
	case *avro.PrimitiveSchema:
		n := &avroNode{}
		switch s.Type() {
		case avro.Null:
			n.kind = avroNull
		case avro.Boolean:
			n.kind = avroBoolean
		case avro.Int:
			n.kind = avroInt
		case avro.Long:
			n.kind = avroLong
		case avro.Float:
			n.kind = avroFloat
		case avro.Double:
			n.kind = avroDouble
		case avro.Bytes:
			n.kind = avroBytes
		case avro.String:
			n.kind = avroString
		default:
			return nil, fmt.Errorf("cannot compile Avro type %q", s.Type())
		}
		if l := s.Logical(); l != nil {
			switch lt := l.Type(); {
			case lt == avro.Date && n.kind == avroInt:
				n.kind = avroDate
			case lt == avro.TimeMillis && n.kind == avroInt:
				n.kind = avroTimeMillis
			case lt == avro.TimeMicros && n.kind == avroLong:
				n.kind = avroTimeMicros
			case (lt == avro.TimestampMillis || lt == avro.LocalTimestampMillis) && n.kind == avroLong:
				n.kind = avroTSMillis
			case (lt == avro.TimestampMicros || lt == avro.LocalTimestampMicros) && n.kind == avroLong:
				n.kind = avroTSMicros
			case lt == avro.Decimal && n.kind == avroBytes:
				n.kind = avroDecimal
				if d, ok := l.(*avro.DecimalLogicalSchema); ok {
					n.scale = d.Scale()
				}
			}
		}
		return n, nil
	default:
		return nil, fmt.Errorf("cannot compile Avro schema of type %q", s.Type())
	}
}

// maxAvroDepth bounds nesting in a datum (recursive schemas allow any depth).
const maxAvroDepth = 128

var errAvroTooLarge = errors.New("JSON too large")

// avroDecoder reads one binary datum and appends its JSON to out.
type avroDecoder struct {
	data  []byte
	pos   int
	limit int
	out   []byte
}

func (d *avroDecoder) value(n *avroNode, depth int) error {
	if depth > maxAvroDepth {
		return fmt.Errorf("datum nested deeper than %d levels", maxAvroDepth)
	}
	if len(d.out) > d.limit {
		return errAvroTooLarge
	}
	switch n.kind {
	case avroNull:
		d.out = append(d.out, "null"...)
	case avroBoolean:
		if d.pos >= len(d.data) {
			return errAvroShort
		}
		switch d.data[d.pos] {
		case 0:
			d.out = append(d.out, "false"...)
		case 1:
			d.out = append(d.out, "true"...)
		default:
			return fmt.Errorf("boolean byte is %d, want 0 or 1", d.data[d.pos])
		}
		d.pos++
	case avroInt, avroLong:
		v, err := d.long(n.kind == avroInt)
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, v, 10)
	case avroFloat:
		if d.pos+4 > len(d.data) {
			return errAvroShort
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(d.data[d.pos:]))
		d.pos += 4
		d.appendFloat(float64(f), 32)
	case avroDouble:
		if d.pos+8 > len(d.data) {
			return errAvroShort
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.data[d.pos:]))
		d.pos += 8
		d.appendFloat(f, 64)
	case avroString:
		b, err := d.bytes()
		if err != nil {
			return err
		}
		d.out = avroAppendString(d.out, b)
	case avroBytes:
		b, err := d.bytes()
		if err != nil {
			return err
		}
		d.appendBase64(b)
	case avroFixed:
		b, err := d.fixed(n.size)
		if err != nil {
			return err
		}
		d.appendBase64(b)
	case avroDecimal:
		var b []byte
		var err error
		if n.size > 0 {
			b, err = d.fixed(n.size)
		} else {
			b, err = d.bytes()
		}
		if err != nil {
			return err
		}
		d.out = avroAppendDecimal(d.out, b, n.scale)
	case avroDuration:
		b, err := d.fixed(12)
		if err != nil {
			return err
		}
		d.out = append(d.out, `{"months":`...)
		d.out = strconv.AppendUint(d.out, uint64(binary.LittleEndian.Uint32(b)), 10)
		d.out = append(d.out, `,"days":`...)
		d.out = strconv.AppendUint(d.out, uint64(binary.LittleEndian.Uint32(b[4:])), 10)
		d.out = append(d.out, `,"milliseconds":`...)
		d.out = strconv.AppendUint(d.out, uint64(binary.LittleEndian.Uint32(b[8:])), 10)
		d.out = append(d.out, '}')
	case avroDate, avroTimeMillis, avroTimeMicros, avroTSMillis, avroTSMicros:
		v, err := d.long(n.kind == avroDate || n.kind == avroTimeMillis)
		if err != nil {
			return err
		}
		d.appendTime(n.kind, v)
	case avroRecord:
		d.out = append(d.out, '{')
		for i := range n.fields {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			d.out = append(d.out, n.fields[i].key...)
			if err := d.value(n.fields[i].node, depth+1); err != nil {
				return err
			}
		}
		d.out = append(d.out, '}')
	case avroEnum:
		i, err := d.long(true)
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return fmt.Errorf("enum index %d out of range [0, %d)", i, len(n.symbols))
		}
		d.out = append(d.out, n.symbols[i]...)
	case avroUnion:
		i, err := d.long(false)
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return fmt.Errorf("union branch %d out of range [0, %d)", i, len(n.branches))
		}
		return d.value(n.branches[i], depth+1)
	case avroArray, avroMap:
		isMap := n.kind == avroMap
		if isMap {
			d.out = append(d.out, '{')
		} else {
			d.out = append(d.out, '[')
		}
		first := true
		for {
			count, err := d.long(false)
			if err != nil {
				return err
			}
			if count == 0 {
				break
			}
			if count < 0 {
				if count == math.MinInt64 {
					return errors.New("bad block count")
				}
				count = -count
				if _, err := d.long(false); err != nil { // block size in bytes
					return err
				}
			}
			// Even items that take no bytes (nulls) become JSON text: a
			// count beyond the message size is a broken datum.
			if count > int64(len(d.data)) {
				return fmt.Errorf("block of %d items in a datum of %d bytes", count, len(d.data))
			}
			for ; count > 0; count-- {
				if !first {
					d.out = append(d.out, ',')
				}
				first = false
				if isMap {
					k, err := d.bytes()
					if err != nil {
						return err
					}
					d.out = avroAppendString(d.out, k)
					d.out = append(d.out, ':')
				}
				if err := d.value(n.items, depth+1); err != nil {
					return err
				}
			}
		}
		if isMap {
			d.out = append(d.out, '}')
		} else {
			d.out = append(d.out, ']')
		}
	default:
		return fmt.Errorf("unknown node kind %d", n.kind)
	}
	return nil
}

var errAvroShort = errors.New("datum ends early")

// long reads a zig-zag varint; int32 restricts it to 5 bytes and the int range.
func (d *avroDecoder) long(int32Range bool) (int64, error) {
	var u uint64
	maxBytes := 10
	if int32Range {
		maxBytes = 5
	}
	for i := 0; ; i++ {
		if i == maxBytes {
			return 0, errors.New("varint too long")
		}
		if d.pos >= len(d.data) {
			return 0, errAvroShort
		}
		b := d.data[d.pos]
		d.pos++
		u |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			break
		}
	}
	v := int64(u>>1) ^ -int64(u&1)
	if int32Range && (v < math.MinInt32 || v > math.MaxInt32) {
		return 0, fmt.Errorf("int %d out of range", v)
	}
	return v, nil
}

func (d *avroDecoder) bytes() ([]byte, error) {
	n, err := d.long(false)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(d.data)-d.pos) {
		return nil, fmt.Errorf("length %d with %d bytes left", n, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *avroDecoder) fixed(size int) ([]byte, error) {
	if size > len(d.data)-d.pos {
		return nil, errAvroShort
	}
	b := d.data[d.pos : d.pos+size]
	d.pos += size
	return b, nil
}

func (d *avroDecoder) appendFloat(f float64, bits int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.out = append(d.out, "null"...)
		return
	}
	d.out = strconv.AppendFloat(d.out, f, 'g', -1, bits)
}

func (d *avroDecoder) appendBase64(b []byte) {
	d.out = append(d.out, '"')
	d.out = base64.StdEncoding.AppendEncode(d.out, b)
	d.out = append(d.out, '"')
}

func (d *avroDecoder) appendTime(kind avroKind, v int64) {
	d.out = append(d.out, '"')
	switch kind {
	case avroDate:
		d.out = time.Unix(v*86400, 0).UTC().AppendFormat(d.out, time.DateOnly)
	case avroTimeMillis:
		d.out = time.UnixMilli(v).UTC().AppendFormat(d.out, "15:04:05.000")
	case avroTimeMicros:
		d.out = time.UnixMicro(v).UTC().AppendFormat(d.out, "15:04:05.000000")
	case avroTSMillis:
		d.out = time.UnixMilli(v).UTC().AppendFormat(d.out, "2006-01-02T15:04:05.000Z07:00")
	case avroTSMicros:
		d.out = time.UnixMicro(v).UTC().AppendFormat(d.out, "2006-01-02T15:04:05.000000Z07:00")
	}
	d.out = append(d.out, '"')
}

// avroAppendDecimal writes a big-endian two's-complement unscaled integer with
// scale as an exact JSON number.
func avroAppendDecimal(out, b []byte, scale int) []byte {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	digits := x.Text(10)
	neg := digits[0] == '-'
	if neg {
		out = append(out, '-')
		digits = digits[1:]
	}
	if scale <= 0 {
		return append(out, digits...)
	}
	for len(digits) <= scale {
		digits = "0" + digits
	}
	out = append(out, digits[:len(digits)-scale]...)
	out = append(out, '.')
	return append(out, digits[len(digits)-scale:]...)
}

// avroAppendString appends b as a JSON string. Bytes are copied as they
// are; the JSON format checks UTF-8 afterwards.
func avroAppendString(out, b []byte) []byte { return appendQuoted(out, b, false) }
