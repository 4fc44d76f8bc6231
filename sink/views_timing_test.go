package sink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/microconv/microconv/internal/testkit/chtest"
)

// BenchmarkViews times the funnel and lift views over a shop-like table of
// BENCH_CONVERSIONS conversions (1,000,000 by default): 200,000 users, each
// with a few product views, some adding to cart, checking out and buying.
// Run with `make bench-views` (it needs the test ClickHouse).
func BenchmarkViews(b *testing.B) {
	addr := chtest.Addr(b)
	db := chtest.Database(b)
	ctx := context.Background()
	c, err := Open(ctx, Config{Addr: []string{addr}, Database: db}, zerolog.Nop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	steps := []string{"product_viewed", "add_to_cart", "checkout_started", "payment_info_entered", "purchase"}
	rs := RuleSet{Version: "bench", Funnels: []Funnel{{ID: "checkout", Window: 24 * time.Hour, Steps: steps}}}
	for i, s := range steps {
		typ := "micro"
		if i == len(steps)-1 {
			typ = "macro"
		}
		rs.Rules = append(rs.Rules, Rule{ID: s, Type: typ})
	}
	rs.Rules = append(rs.Rules, Rule{ID: "newsletter_signup", Type: "micro", Category: "engagement"})
	if _, err := c.PutRules(ctx, rs); err != nil {
		b.Fatal(err)
	}
	const users = 200_000
	target := 1_000_000
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var batch Batch
	total, id := 0, 0
	load := time.Now()
	for total < target {
		for u := 0; u < users && total < target; u++ {
			user := fmt.Sprintf("user-%06d", u)
			ts := t0 + r.Int64N(30*86_400_000)
			add := func(conv string, typ string) {
				id++
				ts += r.Int64N(3_600_000)
				batch.AddEvent(&Event{EventID: fmt.Sprint("e", id), Event: conv, UserKey: user, TSMillis: ts})
				batch.AddConversion(&Conversion{Conversion: conv, ConversionType: typ, EventID: fmt.Sprint("e", id), UserKey: user, TSMillis: ts, UTM: UTM{Source: []string{"google", "newsletter", "direct"}[r.IntN(3)]}})
				total++
			}
			for v := r.IntN(4) + 1; v > 0; v-- {
				add("product_viewed", "micro")
			}
			for i, s := range steps[1:] {
				if r.IntN(10) < 6-i {
					typ := "micro"
					if s == "purchase" {
						typ = "macro"
					}
					add(s, typ)
				} else {
					break
				}
			}
			if r.IntN(5) == 0 {
				add("newsletter_signup", "micro")
			}
			if _, convs, _ := batch.Counts(); convs >= 100_000 {
				if err := c.Flush(ctx, &batch); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := c.Flush(ctx, &batch); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d conversions of %d users in %s", total, users, time.Since(load).Round(time.Millisecond))
	for _, q := range []struct{ name, sql string }{
		{"funnel", "SELECT * FROM " + db + ".funnel_checkout"},
		{"funnel_breakdown", "SELECT * FROM " + db + ".funnel_checkout_breakdown"},
		{"funnel_times", "SELECT * FROM " + db + ".funnel_checkout_times"},
		{"micro_lift", "SELECT * FROM " + db + ".micro_lift"},
		{"conversion_summary", "SELECT * FROM " + db + ".conversion_summary"},
	} {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, err := c.conn.Query(ctx, q.sql)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				if n == 0 {
					b.Fatalf("%s returned no rows", q.name)
				}
			}
		})
	}
}
