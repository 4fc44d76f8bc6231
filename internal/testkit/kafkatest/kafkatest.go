// Package kafkatest runs an in-process Kafka-protocol cluster (franz-go's
// kfake) for tests, and reads offsets through an independent admin client
// (franz-go's kadm), not through the code under test.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// NewCluster starts a one-broker cluster with the topics, closed at test end.
func NewCluster(t testing.TB, partitions int32, topics ...string) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatalf("cannot start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// Client returns a franz-go client for producing and admin requests.
func Client(t testing.TB, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatalf("cannot create kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Record is a message to produce to a chosen partition.
type Record struct {
	Partition int32
	Key       []byte
	Value     []byte
}

// Produce writes records synchronously, in order.
func Produce(t testing.TB, cl *kgo.Client, topic string, recs []Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chunk = 2000
	for i := 0; i < len(recs); i += chunk {
		end := min(i+chunk, len(recs))
		krs := make([]*kgo.Record, 0, end-i)
		for _, r := range recs[i:end] {
			krs = append(krs, &kgo.Record{Topic: topic, Partition: r.Partition, Key: r.Key, Value: r.Value})
		}
		if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
			t.Fatalf("cannot produce to %s: %v", topic, err)
		}
	}
}

// EndOffsets returns the high watermark of every partition of topic. A
// failed request is retried for a while: fault tests inject errors into
// every client of the broker, this one included.
func EndOffsets(t testing.TB, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var out map[int32]int64
		if out, err = endOffsets(cl, topic); err == nil {
			return out
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal(err)
	return nil
}

func endOffsets(cl *kgo.Client, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("cannot list end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	var perr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			perr = fmt.Errorf("cannot list end offset of %s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out, perr
}

// Committed returns the group's committed offset of every partition of
// topic that has one.
func Committed(t testing.TB, cl *kgo.Client, group, topic string) map[int32]int64 {
	t.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var out map[int32]int64
		if out, err = committed(cl, group, topic); err == nil {
			return out
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal(err)
	return nil
}

func committed(cl *kgo.Client, group, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil // a group that never committed
	}
	if err != nil {
		return nil, fmt.Errorf("cannot fetch offsets of group %s: %w", group, err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// WaitCommitted waits until the group has committed the end offset of every
// partition of topic, or fails the test after timeout.
func WaitCommitted(t testing.TB, cl *kgo.Client, group, topic string, timeout time.Duration) {
	t.Helper()
	ends := EndOffsets(t, cl, topic)
	deadline := time.Now().Add(timeout)
	var last map[int32]int64
	for time.Now().Before(deadline) {
		got, err := committed(cl, group, topic)
		if err == nil {
			last = got
			done := true
			for p, end := range ends {
				if got[p] != end {
					done = false
					break
				}
			}
			if done {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("group %s did not commit the end of %s within %s: committed %v, end %v", group, topic, timeout, last, ends)
}

// ReadAll returns every record of topic, read with a fresh franz-go consumer
// from the start to the end offsets listed when it is called.
func ReadAll(t testing.TB, addrs []string, topic string) []*kgo.Record {
	t.Helper()
	admin := Client(t, addrs)
	ends := EndOffsets(t, admin, topic)
	want := int64(0)
	for _, e := range ends {
		want += e
	}
	cl := Client(t, addrs, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s before the timeout", len(out), want, topic)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// NewClusterWith starts a one-broker cluster with extra kfake options.
func NewClusterWith(t testing.TB, partitions int32, topics []string, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...)}, opts...)...)
	if err != nil {
		t.Fatalf("cannot start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}
