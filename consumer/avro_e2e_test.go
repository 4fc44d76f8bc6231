package consumer

import (
	"testing"
	"time"

	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/inputkit"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

// Through Kafka into ClickHouse: while the registry is down nothing is
// rejected and nothing past the first Avro message is committed; when it is
// back, every message of both schema versions arrives.
func TestAvroRegistryDownEndToEnd(t *testing.T) {
	addr := chtest.Addr(t)
	e := setupAvro(t, addr)
	fr := inputkit.NewFakeRegistry(t, "svc", "pw")
	fr.Add(1, inputkit.Schema{Schema: inputkit.SegmentV1})
	fr.Add(2, inputkit.Schema{Schema: inputkit.SegmentV2})
	fr.Down.Store(true)

	var recs []kafkatest.Record
	recs = append(recs, kafkatest.Record{Value: []byte(`{"messageId":"j0","type":"track","event":"Product Added","userId":"u0","timestamp":"2026-03-02T09:00:00Z"}`)})
	for i := 0; i < 40; i++ {
		id := "a" + itoa(int32(i))
		if i%2 == 0 {
			recs = append(recs, kafkatest.Record{Value: inputkit.Confluent(t, 1, inputkit.SegmentV1, inputkit.SegmentV1Event(id, "anon-"+id))})
		} else {
			recs = append(recs, kafkatest.Record{Value: inputkit.Confluent(t, 2, inputkit.SegmentV2, inputkit.SegmentV2Event(id, "user-"+id))})
		}
	}
	recs = append(recs, kafkatest.Record{Value: inputkit.Confluent(t, 77, inputkit.SegmentV1, inputkit.SegmentV1Event("x", "x"))}) // unknown id
	recs = append(recs, kafkatest.Record{Value: []byte(`{"messageId":"j1","type":"track","event":"Product Added","userId":"u1","timestamp":"2026-03-02T09:00:00Z"}`)})
	cl := kafkatest.Client(t, e.brokers)
	kafkatest.Produce(t, cl, "avro", recs)

	cfg := e.config("avro-group")
	cfg.Topics = []string{"avro"}
	cfg.Input = input.Config{SchemaRegistryURL: fr.URL(), SchemaRegistryUsername: "svc", SchemaRegistryPassword: "pw"}
	_, stop := start(t, cfg, e.client, e.set)

	conn := chtest.Conn(t)
	deadline := time.Now().Add(30 * time.Second)
	for fr.Requests.Load() < 3 && time.Now().Before(deadline) { // asked, failed, backed off, asked again
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got := kafkatest.Committed(t, cl, "avro-group", "avro"); got[0] > 1 {
		t.Fatalf("committed offset %d while the registry is down: only the JSON message before the first Avro one may be", got[0])
	}
	if n := chtest.QueryStrings(t, conn, "SELECT toString(count()) FROM "+e.db+".rejected_events")[0][0]; n != "0" {
		t.Fatalf("%s messages rejected while the registry is down, want 0", n)
	}
	fr.Down.Store(false)
	kafkatest.WaitCommitted(t, cl, "avro-group", "avro", 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := chtest.QueryStrings(t, conn, "SELECT toString(uniqExact(event_id)) FROM "+e.db+".events")[0][0]; got != "42" {
		t.Errorf("%s events, want 42 (40 Avro in two schema versions, 2 JSON)", got)
	}
	if got := chtest.QueryStrings(t, conn, "SELECT reason FROM "+e.db+".rejected_events GROUP BY reason"); len(got) != 1 || got[0][0] != input.ReasonUnknownSchema {
		t.Errorf("rejected reasons %v, want only %s", got, input.ReasonUnknownSchema)
	}
	if got := chtest.QueryStrings(t, conn, "SELECT conversion, toString(uniqExact(event_id)) FROM "+e.db+".conversions GROUP BY conversion ORDER BY conversion"); len(got) != 2 ||
		got[0][0] != "add_to_cart" || got[0][1] != "22" || got[1][0] != "purchase" || got[1][1] != "20" {
		t.Errorf("conversions %v, want add_to_cart 22 (20 Avro v1 + 2 JSON), purchase 20 (Avro v2)", got)
	}
}

func setupAvro(t *testing.T, addr string) *env {
	t.Helper()
	db := chtest.Database(t)
	cluster, brokers := kafkatest.NewCluster(t, 1, "avro")
	set, err := rules.Parse("rules.yaml", []byte(`
conversions:
  - id: add_to_cart
    match: {event: Product Added}
  - id: purchase
    type: macro
    value: properties.revenue
    match: {event: Order Completed, where: [{path: channel, op: eq, value: app}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cluster: cluster, brokers: brokers, db: db, set: set}
	e.client = openSinkForTest(t, addr, db, set)
	return e
}
