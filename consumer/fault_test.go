package consumer

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/microconv/microconv/internal/testkit/kafkatest"
)

// injector fails some requests of one kind: every `every`-th, `times` times.
type injector struct {
	c            *kfake.Cluster
	n, failed    atomic.Int64
	every, times int64
}

func (in *injector) hit() bool {
	in.c.KeepControl()
	n := in.n.Add(1)
	if n%in.every != 0 || in.failed.Load() >= in.times {
		return false
	}
	in.failed.Add(1)
	return true
}

var errInjected = errors.New("injected fault: connection dropped")

// Broker faults on every request kind the consumer makes: each fault is
// injected several times while the stream is consumed; the consumer must
// recover by itself, retry failed commits, and lose nothing.
func TestKafkaFaults(t *testing.T) {
	cases := []struct {
		name  string
		key   int16
		every int64
		times int64
		fault func(req kmsg.Request) (kmsg.Response, error)
	}{
		{"fetch connection drop", kmsg.Fetch.Int16(), 3, 8, dropConn},
		{"metadata connection drop", kmsg.Metadata.Int16(), 2, 4, dropConn},
		{"offset commit connection drop", kmsg.OffsetCommit.Int16(), 2, 4, dropConn},
		{"offset commit error", kmsg.OffsetCommit.Int16(), 2, 5, commitError(-1)},
		{"join group coordinator not available", kmsg.JoinGroup.Int16(), 1, 3, joinError(15)},
		{"sync group error", kmsg.SyncGroup.Int16(), 1, 2, syncError(15)},
		{"heartbeat rebalance in progress", kmsg.Heartbeat.Int16(), 1, 2, heartbeatError(27)},
		{"offset fetch connection drop", kmsg.OffsetFetch.Int16(), 1, 2, dropConn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, streamOpts)
			cluster := e.cluster
			in := &injector{c: cluster, every: c.every, times: c.times}
			cluster.ControlKey(c.key, func(req kmsg.Request) (kmsg.Response, error, bool) {
				if !in.hit() {
					return nil, nil, false
				}
				resp, err := c.fault(req)
				return resp, err, true
			})
			cfg := e.config("faults")
			cfg.BatchMaxRows = 300
			cfg.LagInterval = -1
			// A slow writer keeps the stream flowing long enough for every
			// fault to hit mid-stream.
			_, stop := start(t, cfg, &slowWriter{out: e.client, delay: 150 * time.Millisecond}, e.set)
			kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers), "faults", topic, 2*time.Minute)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if in.failed.Load() == 0 {
				t.Fatalf("no %s fault was injected", c.name)
			}
			t.Logf("%d faults injected", in.failed.Load())
			checkViews(t, e)
		})
	}
}

func dropConn(kmsg.Request) (kmsg.Response, error) { return nil, errInjected }

func commitError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.OffsetCommitRequest)
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		resp.SetVersion(req.GetVersion())
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	}
}

func joinError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.SetVersion(r.GetVersion())
		resp.ErrorCode = code
		resp.Generation = -1
		return resp, nil
	}
}

func syncError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.SetVersion(r.GetVersion())
		resp.ErrorCode = code
		return resp, nil
	}
}

func heartbeatError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.SetVersion(r.GetVersion())
		resp.ErrorCode = code
		return resp, nil
	}
}

// The broker stops mid-stream and comes back on the same port with its
// persisted log and group offsets (kfake DataDir): the consumer reconnects
// by itself and the figures are exact.
func TestBrokerRestartWithPersistedState(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := []kfake.Opt{kfake.DataDir(dir), kfake.SyncWrites(), kfake.Ports(port)}
	e := setupWith(t, streamOpts, opts...)
	cfg := e.config("restart-broker")
	cfg.BatchMaxRows = 200
	cfg.LagInterval = -1
	slow := &slowWriter{out: e.client, delay: 40 * time.Millisecond}
	_, stop := start(t, cfg, slow, e.set)
	time.Sleep(500 * time.Millisecond)
	e.cluster.Close()
	time.Sleep(2 * time.Second)
	c2, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("cannot restart kfake on port %d: %v", port, err)
	}
	t.Cleanup(c2.Close)
	if got := c2.ListenAddrs()[0]; got != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("restarted broker listens on %s, want port %d", got, port)
	}
	kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers), "restart-broker", topic, 2*time.Minute)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkViews(t, e)
}

// Partition leaders move between brokers while the stream is consumed: the
// readers follow the new leaders by themselves and nothing is lost.
func TestLeaderMoves(t *testing.T) {
	e := setupWith(t, streamOpts, kfake.NumBrokers(3))
	cfg := e.config("leaders")
	cfg.BatchMaxRows = 200
	cfg.LagInterval = -1
	_, stop := start(t, cfg, &slowWriter{out: e.client, delay: 100 * time.Millisecond}, e.set)
	moved := 0
	for round := 0; round < 3; round++ {
		time.Sleep(400 * time.Millisecond)
		for p := int32(0); p < streamOpts.Partitions; p++ {
			leader := e.cluster.LeaderFor(topic, p)
			next := (leader + 1) % 3
			if err := e.cluster.MoveTopicPartition(topic, p, next); err != nil {
				t.Fatalf("cannot move %s/%d to broker %d: %v", topic, p, next, err)
			}
			moved++
		}
	}
	kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers), "leaders", topic, 2*time.Minute)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d leader moves", moved)
	checkViews(t, e)
}
