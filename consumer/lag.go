package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/internal/logthrottle"
)

// PartitionLag is how far a group is behind on one partition.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	// End is the high watermark: the offset the next produced message gets.
	End int64 `json:"end"`
	// Committed is the group's committed offset, -1 when it has none.
	Committed int64 `json:"committed"`
	// Lag is End − Committed (End − the log start offset when nothing is
	// committed: what a group starting at the beginning still has to read).
	Lag int64 `json:"lag"`
	// LagSeconds is the age of the oldest uncommitted message (now − its
	// timestamp), 0 when caught up.
	LagSeconds float64 `json:"lag_seconds"`
}

// LagClient computes consumer-group lag with plain admin requests
// (Metadata, ListOffsets, OffsetFetch, and one Fetch per lagging partition
// for the age): it needs no group membership, so it sees every partition of
// the group's topics, including those other members own.
type LagClient struct {
	client *kafka.Client
}

// NewLagClient connects to the brokers of k.
func NewLagClient(k KafkaConfig) (*LagClient, error) {
	tr, err := k.Transport()
	if err != nil {
		return nil, err
	}
	return &LagClient{client: &kafka.Client{Addr: kafka.TCP(k.Brokers...), Transport: tr, Timeout: 10 * time.Second}}, nil
}

// GroupTopics lists the topics the group has committed offsets for.
func (l *LagClient) GroupTopics(ctx context.Context, group string) ([]string, error) {
	resp, err := l.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group})
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the offsets of group %q: %w", group, err)
	}
	if resp.Error != nil {
		if errors.Is(resp.Error, kafka.GroupIdNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot fetch the offsets of group %q: %w", group, resp.Error)
	}
	var out []string
	for t := range resp.Topics {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// Lag returns the lag of group on every partition of topics, sorted by topic
// and partition. withAge also measures LagSeconds (one small fetch per
// lagging partition).
func (l *LagClient) Lag(ctx context.Context, group string, topics []string, withAge bool) ([]PartitionLag, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	meta, err := l.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("cannot read metadata of %q: %w", topics, err)
	}
	parts := map[string][]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("cannot read metadata of topic %q: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			parts[t.Name] = append(parts[t.Name], p.ID)
		}
	}
	listReq := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for t, ps := range parts {
		for _, p := range ps {
			listReq.Topics[t] = append(listReq.Topics[t], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
		}
	}
	offs, err := l.client.ListOffsets(ctx, listReq)
	if err != nil {
		return nil, fmt.Errorf("cannot list offsets of %q: %w", topics, err)
	}
	type bounds struct{ first, last int64 }
	ends := map[string]map[int]bounds{}
	for t, ps := range offs.Topics {
		ends[t] = map[int]bounds{}
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("cannot list offsets of %s/%d: %w", t, p.Partition, p.Error)
			}
			ends[t][p.Partition] = bounds{p.FirstOffset, p.LastOffset}
		}
	}
	committed, err := l.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the offsets of group %q: %w", group, err)
	}
	if committed.Error != nil && !errors.Is(committed.Error, kafka.GroupIdNotFound) {
		return nil, fmt.Errorf("cannot fetch the offsets of group %q: %w", group, committed.Error)
	}
	comm := map[string]map[int]int64{}
	for t, ps := range committed.Topics {
		comm[t] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil && !errors.Is(p.Error, kafka.GroupIdNotFound) {
				return nil, fmt.Errorf("cannot fetch the offset of group %q on %s/%d: %w", group, t, p.Partition, p.Error)
			}
			comm[t][p.Partition] = p.CommittedOffset
		}
	}
	var out []PartitionLag
	now := time.Now()
	for t, ps := range parts {
		for _, p := range ps {
			b := ends[t][p]
			c, ok := comm[t][p]
			if !ok || c < 0 {
				c = -1
			}
			from := c
			if from < 0 {
				from = b.first
			}
			pl := PartitionLag{Topic: t, Partition: p, End: b.last, Committed: c, Lag: max(b.last-from, 0)}
			if withAge && pl.Lag > 0 {
				ts, err := l.messageTime(ctx, t, p, from)
				if err == nil && !ts.IsZero() {
					pl.LagSeconds = max(now.Sub(ts).Seconds(), 0)
				}
			}
			out = append(out, pl)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}

// messageTime returns the timestamp of the message at offset.
func (l *LagClient) messageTime(ctx context.Context, topic string, partition int, offset int64) (time.Time, error) {
	resp, err := l.client.Fetch(ctx, &kafka.FetchRequest{
		Topic: topic, Partition: partition, Offset: offset,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond,
	})
	if err != nil {
		return time.Time{}, err
	}
	if resp.Error != nil {
		return time.Time{}, resp.Error
	}
	if resp.Records == nil {
		return time.Time{}, nil
	}
	for {
		r, err := resp.Records.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return time.Time{}, nil
			}
			return time.Time{}, err
		}
		if r.Offset >= offset {
			return r.Time, nil
		}
	}
}

// lagLoop refreshes the lag metrics of the group's topics until ctx ends.
func (c *Consumer) lagLoop(ctx context.Context) {
	lc, err := NewLagClient(c.cfg.Kafka)
	if err != nil {
		c.log.Error().Err(err).Msg("cannot measure lag")
		return
	}
	errLog := logthrottle.New(time.Minute)
	var watch *stallWatch
	if c.cfg.StallRebalanceAfter > 0 {
		watch = newStallWatch(c.cfg.StallRebalanceAfter)
	}
	t := time.NewTicker(c.cfg.LagInterval)
	defer t.Stop()
	for {
		mctx, cancel := context.WithTimeout(ctx, 2*c.cfg.LagInterval+5*time.Second)
		lags, err := lc.Lag(mctx, c.cfg.Group, c.cfg.Topics, true)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.metrics.LagErrors.Inc()
			if errLog.Allow() {
				c.log.Warn().Err(err).Msg("cannot measure lag")
			}
		}
		for _, l := range lags {
			p := itoa(int32(l.Partition))
			c.metrics.LagMessages.WithLabelValues(l.Topic, p).Set(float64(l.Lag))
			c.metrics.LagSeconds.WithLabelValues(l.Topic, p).Set(l.LagSeconds)
		}
		if watch != nil && err == nil {
			var mine map[tp]bool
			if m := c.assigned.Load(); m != nil {
				mine = *m
			}
			if stuck := watch.observe(time.Now(), lags, mine); len(stuck) > 0 {
				c.log.Warn().Int("partitions", len(stuck)).Str("first", stuck[0].topic+"/"+itoa(stuck[0].partition)).
					Dur("idle_for", c.cfg.StallRebalanceAfter).Msg("partitions owned by other members lag without commits")
				select {
				case c.rejoin <- struct{}{}:
				default:
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
