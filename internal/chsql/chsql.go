// Package chsql reads query results of the native protocol as text, the
// way ClickHouse prints them, so that results of a server and of chDB
// compare as strings.
package chsql

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Null is how a NULL reads.
const Null = `\N`

// ScanText reads every row of rows as text: strings as they are, integers
// in decimal, floats in the shortest form that reads back, dates as
// 2006-01-02, DateTime as 2006-01-02 15:04:05 (UTC) with a millisecond
// fraction for DateTime64, NULL as Null.
func ScanText(rows driver.Rows) ([][]string, error) {
	types := rows.ColumnTypes()
	var out [][]string
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(types))
		for i, p := range ptrs {
			row[i] = text(reflect.ValueOf(p).Elem(), types[i].DatabaseTypeName())
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func text(v reflect.Value, typ string) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return Null
		}
		v = v.Elem()
	}
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	switch x := v.Interface().(type) {
	case string:
		return x
	case time.Time:
		switch {
		case strings.HasPrefix(typ, "Date32") || typ == "Date":
			return x.Format("2006-01-02")
		case strings.HasPrefix(typ, "DateTime64"):
			return x.UTC().Format("2006-01-02 15:04:05.000")
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case float64:
		return Float(x)
	case float32:
		return Float(float64(x))
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	return fmt.Sprint(v.Interface())
}

// Float formats f as ClickHouse does: the shortest text that reads back.
func Float(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
