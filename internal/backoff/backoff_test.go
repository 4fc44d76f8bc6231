package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestDelay(t *testing.T) {
	f := func(b Backoff, failures int, want time.Duration) {
		t.Helper()
		if got := b.Delay(failures); got != want {
			t.Fatalf("%+v.Delay(%d) = %s, want %s", b, failures, got, want)
		}
	}
	// The zero value: 250ms doubling up to 5s (create the schema, connect
	// to ClickHouse, write the DLQ, decode again, insert by default).
	var z Backoff
	f(z, 0, 250*ms)
	f(z, 1, 250*ms)
	f(z, 2, 500*ms)
	f(z, 3, time.Second)
	f(z, 4, 2*time.Second)
	f(z, 5, 4*time.Second)
	f(z, 6, 5*time.Second)
	f(z, 7, 5*time.Second)
	f(z, 1<<40, 5*time.Second)
	// The partition fetch: 200ms doubling up to 2s.
	fetch := Backoff{Min: 200 * ms, Max: 2 * time.Second, Jitter: true}
	f(fetch, 1, 200*ms)
	f(fetch, 2, 400*ms)
	f(fetch, 3, 800*ms)
	f(fetch, 4, 1600*ms)
	f(fetch, 5, 2*time.Second)
	f(fetch, 6, 2*time.Second)
	// Tests' short insert retries.
	f(Backoff{Min: 20 * ms, Max: 100 * ms}, 3, 80*ms)
	f(Backoff{Min: 20 * ms, Max: 100 * ms}, 4, 100*ms)
	// A Min above Max is kept for the first pause only (as the insert
	// loop always did).
	f(Backoff{Min: 3 * time.Second, Max: time.Second}, 1, 3*time.Second)
	f(Backoff{Min: 3 * time.Second, Max: time.Second}, 2, time.Second)
	f(Backoff{Min: 3 * time.Second, Max: time.Second}, 9, time.Second)
}

func TestPauseJitter(t *testing.T) {
	b := Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: true}
	for failures := 1; failures <= 4; failures++ {
		d := b.Delay(failures)
		lo, hi, seenLow, seenHigh := d, time.Duration(0), false, false
		for range 2000 {
			p := b.Pause(failures)
			if p < d/2 || p > d {
				t.Fatalf("Pause(%d) = %s, want within [%s, %s]", failures, p, d/2, d)
			}
			lo, hi = min(lo, p), max(hi, p)
			seenLow = seenLow || p < d/2+d/8
			seenHigh = seenHigh || p > d-d/8
		}
		if !seenLow || !seenHigh {
			t.Errorf("Pause(%d) over 2000 draws spans only [%s, %s] of [%s, %s]", failures, lo, hi, d/2, d)
		}
	}
	nj := Backoff{Min: 100 * ms, Max: 400 * ms}
	if p := nj.Pause(2); p != 200*ms {
		t.Errorf("Pause(2) without jitter = %s, want 200ms", p)
	}
}

func TestWait(t *testing.T) {
	b := Backoff{Min: 10 * ms}
	start := time.Now()
	if err := b.Wait(context.Background(), 1); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if took := time.Since(start); took < 10*ms {
		t.Errorf("Wait(1) returned after %s, want 10ms at least", took)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*ms, cancel)
	start = time.Now()
	err := Backoff{Min: time.Hour, Max: time.Hour}.Wait(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled ctx = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Wait returned %s after its ctx ended", took)
	}
}
