package logthrottle

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(10 * time.Second)
		f := func(after time.Duration, want bool) {
			t.Helper()
			time.Sleep(after)
			if got := th.Allow(); got != want {
				t.Fatalf("Allow() %s later = %v, want %v", after, got, want)
			}
		}
		f(0, true) // the first event, at once
		f(0, false)
		f(time.Second, false)
		f(8*time.Second, false) // 9s after the first
		f(time.Second, true)    // 10s after
		f(9*time.Second+999*time.Millisecond, false)
		f(time.Millisecond, true) // 10s after the last allowed
		f(time.Hour, true)
		f(0, false)
	})
}

// Allow is called from several goroutines (kafka-go's loggers, every
// partition's rejections): one event is let through however many race.
func TestAllowConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Interval)
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 100 {
					if th.Allow() {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if allowed != 1 {
			t.Fatalf("%d events allowed within an interval, want 1", allowed)
		}
	})
}
