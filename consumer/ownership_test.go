package consumer

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/microconv/microconv/internal/testkit/kafkatest"
)

// ownership records, from the group protocol itself, which member owns which
// partitions in each generation (the leader's SyncGroup assignments) and
// which partitions each member commits in each generation.
type ownership struct {
	mu       sync.Mutex
	owner    map[string]string // "gen/topic/partition" → member
	commits  int
	foreign  []string
	unknownG []string
}

func (o *ownership) watch(t *testing.T, e *env) {
	e.cluster.ControlKey(kmsg.SyncGroup.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		req := r.(*kmsg.SyncGroupRequest)
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, ga := range req.GroupAssignment {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(ga.MemberAssignment); err != nil {
				t.Errorf("cannot read an assignment: %v", err)
				continue
			}
			for _, tp := range a.Topics {
				for _, p := range tp.Partitions {
					o.owner[fmt.Sprintf("%d/%s/%d", req.Generation, tp.Topic, p)] = ga.MemberID
				}
			}
		}
		return nil, nil, false
	})
	e.cluster.ControlKey(kmsg.OffsetCommit.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		req := r.(*kmsg.OffsetCommitRequest)
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, tp := range req.Topics {
			for _, p := range tp.Partitions {
				o.commits++
				key := fmt.Sprintf("%d/%s/%d", req.Generation, tp.Topic, p.Partition)
				owner, ok := o.owner[key]
				switch {
				case !ok:
					o.unknownG = append(o.unknownG, key+" by "+req.MemberID)
				case owner != req.MemberID:
					o.foreign = append(o.foreign, fmt.Sprintf("%s committed by %s, owned by %s", key, req.MemberID, owner))
				}
			}
		}
		return nil, nil, false
	})
}

// Three members join and leave while the stream flows: every offset commit
// comes from the member that owns the partition in the commit's generation,
// and the figures are exact.
func TestCommitsOnlyByOwner(t *testing.T) {
	opts := streamOpts
	opts.Users = 2500
	opts.Partitions = 6
	e := setup(t, opts)
	o := &ownership{owner: map[string]string{}}
	o.watch(t, e)
	cfg := e.config("owners")
	cfg.BatchMaxRows = 100
	cfg.BatchMaxWait = 50 * time.Millisecond
	cfg.LagInterval = -1
	slow := &slowWriter{out: e.client, delay: 30 * time.Millisecond}
	_, stop1 := start(t, cfg, slow, e.set)
	time.Sleep(600 * time.Millisecond)
	_, stop2 := start(t, cfg, slow, e.set)
	time.Sleep(600 * time.Millisecond)
	_, stop3 := start(t, cfg, slow, e.set)
	time.Sleep(600 * time.Millisecond)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers), "owners", topic, 2*time.Minute)
	for _, stop := range []func() error{stop1, stop3} {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.commits == 0 {
		t.Fatal("no commit observed")
	}
	if len(o.foreign) > 0 || len(o.unknownG) > 0 {
		t.Fatalf("%d of %d partition commits by a member that did not own the partition: %v; in an unknown generation: %v",
			len(o.foreign), o.commits, o.foreign, o.unknownG)
	}
	t.Logf("%d partition commits, all by the owner", o.commits)
	checkViews(t, e)
}
