package input

import (
	"reflect"
	"testing"

	"github.com/microconv/microconv/internal/testkit/inputkit"
)

// Snowplow's own e-commerce fixture (testdata/snowplow-ecommerce, see its
// README): the consumer's TestSnowplowFixturesEndToEnd runs it through Kafka
// into ClickHouse against Snowplow's expected figures.
const spFixtureDir = "testdata/snowplow-ecommerce"

// Both forms of every fixture event decode to the same event and the same
// document for the rules.
func TestSnowplowFixturesTSVEqualsJSON(t *testing.T) {
	rows := inputkit.ReadCSV(t, spFixtureDir, "snowplow_ecommerce_events.csv")
	if len(rows) != 834 {
		t.Fatalf("%d fixture events, want 834", len(rows))
	}
	f := newSnowplow(t)
	for i, row := range rows {
		evJ, docJ, rj := decodeSnowplow(t, f, string(inputkit.RowJSON(t, row)))
		if rj != nil {
			t.Fatalf("row %d (JSON): rejected: %v", i, rj)
		}
		evT, docT, rj := decodeSnowplow(t, f, string(inputkit.RowTSV(t, row)))
		if rj != nil {
			t.Fatalf("row %d (TSV): rejected: %v", i, rj)
		}
		if evJ != evT {
			t.Fatalf("row %d: JSON gives\n%+v\nTSV gives\n%+v", i, evJ, evT)
		}
		if !reflect.DeepEqual(docJ, docT) {
			t.Fatalf("row %d: documents differ\nJSON %v\nTSV  %v", i, docJ, docT)
		}
		if evJ.EventID != row["event_id"] || evJ.SessionID == "" || evJ.Event != "snowplow_ecommerce_action" {
			t.Fatalf("row %d: %+v", i, evJ)
		}
	}
}
