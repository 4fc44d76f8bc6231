package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/microconv/microconv/internal/testkit/kafkatest"
)

// A member that dies while its JoinGroup is pending can stay in the group
// holding partitions (kfake keeps it: the lost reply never arms its session
// timer). The stall watch notices those partitions make no progress while
// ours do, rejoins, and the rebalance drops the ghost: everything is read.
func TestStallWatchDropsGhostMember(t *testing.T) {
	e := setup(t, streamOpts)
	cfg := e.config("ghost")
	cfg.LagInterval = 300 * time.Millisecond
	cfg.StallRebalanceAfter = 2 * time.Second
	cfg.RebalanceTimeout = 3 * time.Second
	cfg.BatchMaxRows = 100
	// Slow writes keep the stream flowing while the ghost joins and dies.
	c, stop := start(t, cfg, &slowWriter{out: e.client, delay: 250 * time.Millisecond}, e.set)
	deadline := time.Now().Add(30 * time.Second)
	for !c.Joined() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	// The ghost: asks to join, then dies before the rebalance answers.
	ghost := kafkatest.Client(t, e.brokers)
	meta := kmsg.ConsumerMemberMetadata{Topics: []string{topic}}
	join := func(memberID string) (*kmsg.JoinGroupResponse, error) {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = "ghost", memberID, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 6000, 3000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
		return req.RequestWith(context.Background(), ghost)
	}
	resp, err := join("")
	if err != nil {
		t.Fatal(err)
	}
	memberID := resp.MemberID
	if e := kerr.ErrorForCode(resp.ErrorCode); e != nil && !errors.Is(e, kerr.MemberIDRequired) {
		t.Fatalf("ghost join: %v", e)
	}
	go func() { _, _ = join(memberID) }()
	time.Sleep(300 * time.Millisecond)
	ghost.Close() // dies with the join pending

	kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers), "ghost", topic, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(c.metrics.ForcedRebalances); n < 1 {
		t.Fatalf("forced rebalances = %v: the ghost never held partitions, the test proved nothing", n)
	}
	checkViews(t, e)
}
