package consumer

import (
	"testing"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

// gen's stream (duplicates, re-sent messages, malformed ones, scripted edge
// cases) through Kafka (kfake), the consumer and its batches into
// ClickHouse 18.16 and into ClickHouse 26.x (chDB): on both, every row of
// every view equals gen's ground truth.
func TestGenThroughBothEngines(t *testing.T) {
	engines := chtest.Engines(t)
	set, err := rules.Parse("rules.yaml", []byte(gen.DefaultRules))
	if err != nil {
		t.Fatal(err)
	}
	stream := gen.Generate(gen.Options{Seed: 15, Users: 1500})
	truth, err := gen.ComputeTruth(stream, set)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]kafkatest.Record, len(stream.Messages))
	for i, m := range stream.Messages {
		recs[i] = kafkatest.Record{Partition: int32(i % 4), Key: m.Key, Value: m.Value}
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			db := consumeAll(t, e, 4, recs, set)
			n := gentest.CheckViews(t, e, db, truth)
			if len(truth.Funnels) < 4 || n < 300 {
				t.Fatalf("compared only %d rows over %d funnels", n, len(truth.Funnels))
			}
			t.Logf("%s: %d view rows equal to the truth (%d messages, %d events, %d users)", e.Name, n, len(stream.Messages), truth.Events, truth.Users)
		})
	}
}
