package gen

import (
	"fmt"
	"time"
)

// Random behaviours. Every funnel loses people at every step, people come
// back for another attempt, steps are sometimes milliseconds apart, at the
// same millisecond, hours apart or out of order.

const (
	ms   = time.Millisecond
	sec  = time.Second
	mins = time.Minute
	hour = time.Hour
	day  = 24 * time.Hour
)

// randomPerson plays a shop, SaaS or content visitor, sometimes two of them.
func (g *generator) randomPerson(p *person) {
	r := g.r
	kinds := []func(*person){g.shop, g.shop, g.saas, g.content}
	kinds[r.IntN(len(kinds))](p)
	if r.IntN(7) == 0 {
		p.wait(time.Duration(2+r.IntN(48))*hour + time.Duration(r.IntN(3600_000))*ms)
		p.newSession()
		kinds[r.IntN(len(kinds))](p)
	}
}

// gap is the time to the next action: usually seconds to minutes, sometimes
// under a second or the same millisecond, sometimes hours.
func (p *person) gap() time.Duration {
	r := p.g.r
	switch n := r.IntN(100); {
	case n < 3:
		return 0
	case n < 12:
		return time.Duration(1+r.IntN(999)) * ms
	case n < 85:
		return time.Duration(2000+r.IntN(298_000)) * ms
	case n < 95:
		return time.Duration(5*60_000+r.IntN(115*60_000)) * ms
	default:
		return time.Duration(2*3600_000+r.IntN(28*3600_000)) * ms
	}
}

// step waits a gap and returns the person, for p.step().track(...).
func (p *person) step() *person { return p.wait(p.gap()) }

// shuffleTail swaps the times of two adjacent events among the last n, as a
// client with a wrong clock or a retried batch produces: step 2 before step 1.
func (p *person) shuffleTail(n int) {
	if n < 2 || n > len(p.evs) {
		return
	}
	i := len(p.evs) - n + p.g.r.IntN(n-1)
	p.evs[i].off, p.evs[i+1].off = p.evs[i+1].off, p.evs[i].off
}

var (
	productNames = []string{"Trail Shoe", "Rain Jacket", "Wool Socks", "Day Pack", "Water Bottle", "Headlamp", "Camp Stove", "Sleeping Bag"}
	listIDs      = []string{"recommended_for_you", "recommended_similar", "search_results", "category_grid"}
	blogSlugs    = []string{"kafka-basics", "clickhouse-tips", "funnels-101", "utm-done-right", "segment-spec", "micro-conversions"}
	pricingPaths = []string{"/pricing", "/pricing", "/pricing/enterprise", "/pricing/faq"}
	features     = []string{"reports", "integrations", "api", "export", "dashboard", "dashboard"}
)

func (p *person) product() map[string]any {
	r := p.g.r
	i := r.IntN(len(productNames))
	props := map[string]any{
		"product_id": fmt.Sprintf("p-%03d", i),
		"sku":        fmt.Sprintf("SKU-%03d-%d", i, r.IntN(5)),
		"name":       productNames[i],
		"category":   []string{"footwear", "outerwear", "gear"}[i%3],
		"price":      money(999 + 500*i),
		"currency":   []string{"EUR", "EUR", "USD"}[r.IntN(3)],
	}
	return props
}

func (p *person) viewProduct() *Event { return p.track("Product Viewed", p.product()) }

// addProduct adds a product to the cart; price 0 (a free sample) is not an
// add_to_cart.
func (p *person) addProduct(free bool) *Event {
	props := p.product()
	props["quantity"] = 1 + p.g.r.IntN(3)
	if free {
		props["price"] = 0
	}
	return p.track("Product Added", props)
}

func (p *person) startCheckout(express bool) *Event {
	props := map[string]any{"checkout_id": fmt.Sprintf("co-%06d-%d", p.n, len(p.evs)), "currency": "EUR"}
	if express {
		props["payment_method"] = []string{"apple_pay", "google_pay", "paypal"}[p.g.r.IntN(3)]
	}
	return p.track("Checkout Started", props)
}

func (p *person) enterPayment() *Event {
	return p.track("Payment Info Entered", map[string]any{
		"checkout_id":    fmt.Sprintf("co-%06d-%d", p.n, len(p.evs)),
		"payment_method": []string{"card", "card", "paypal", "invoice"}[p.g.r.IntN(4)],
	})
}

// completeOrder: revenue in cents, sent as a number or as a numeric string.
func (p *person) completeOrder(cents int, asString bool) *Event {
	props := map[string]any{"order_id": fmt.Sprintf("o-%06d-%d", p.n, len(p.evs)), "currency": "EUR", "revenue": money(cents)}
	if asString {
		props["revenue"] = moneyString(cents)
	}
	return p.track("Order Completed", props)
}

func (g *generator) shop(p *person) {
	r := g.r
	attempts := 1
	if r.IntN(4) == 0 {
		attempts++
	}
	if r.IntN(12) == 0 {
		attempts++
	}
	for a := 0; a < attempts; a++ {
		if a > 0 {
			p.wait(time.Duration(1+r.IntN(72))*hour + time.Duration(r.IntN(3600_000))*ms)
			p.newSession()
		}
		first := len(p.evs)
		if r.IntN(3) == 0 {
			p.page("Home", "/")
		} else {
			p.page("Collection", "/collections/"+[]string{"footwear", "outerwear", "gear"}[r.IntN(3)])
		}
		if r.IntN(5) == 0 {
			props := p.product()
			props["list_id"] = listIDs[r.IntN(len(listIDs))]
			p.step().track("Product Clicked", props)
		}
		views := r.IntN(5)
		for i := 0; i < views; i++ {
			p.step().viewProduct()
		}
		if r.IntN(8) == 0 {
			p.step().track("Product Added to Wishlist", p.product())
		}
		if views == 0 || r.IntN(100) >= 55 {
			continue
		}
		p.step().addProduct(r.IntN(12) == 0)
		if r.IntN(100) < 60 {
			express := r.IntN(7) == 0
			p.step().startCheckout(express)
			paid := express
			if !express || r.IntN(2) == 0 {
				if r.IntN(100) < 75 {
					p.step().enterPayment()
					paid = true
				}
			}
			if paid && r.IntN(100) < 80 {
				if r.IntN(20) == 0 {
					p.wait(time.Duration(20*3600_000+r.IntN(10*3600_000)) * ms) // the next day: inside or outside 24h
				} else {
					p.step()
				}
				cents := 1999 + r.IntN(25000)
				p.completeOrder(cents, r.IntN(7) == 0)
			}
		}
		if r.IntN(25) == 0 {
			p.shuffleTail(len(p.evs) - first)
		}
	}
}

func (g *generator) saas(p *person) {
	r := g.r
	if r.IntN(10) < 3 {
		p.id = true // a known user: invited, or logged in before
	}
	// When an anonymous visitor is identified: at sign-up (the Signed Up
	// event carries the userId, the pricing pages before it do not), just
	// after it, or never (this stream only knows the anonymousId).
	identify := r.IntN(20)
	p.page("Home", "/")
	for i, n := 0, r.IntN(4); i < n; i++ {
		p.step().page("Pricing", pricingPaths[r.IntN(len(pricingPaths))])
	}
	if r.IntN(6) == 0 {
		p.step().page("Prices", "/prices") // not a pricing page: the prefix is /pricing
	}
	if r.IntN(4) == 0 {
		p.step().page("Features", "/features")
	}
	if r.IntN(100) >= 55 {
		return
	}
	first := len(p.evs)
	p.step()
	if !p.id && identify < 8 {
		p.identify()
		p.wait(time.Duration(r.IntN(1500)) * ms)
	}
	p.track("Signed Up", map[string]any{"method": []string{"email", "google", "github"}[r.IntN(3)], "plan": "free"})
	if !p.id && identify >= 8 && identify < 11 {
		p.wait(time.Duration(r.IntN(1500)) * ms).identify()
	}
	if r.IntN(100) < 70 {
		if r.IntN(3) == 0 {
			p.wait(time.Duration(1+r.IntN(48*60)) * mins)
			p.newSession()
		} else {
			p.step()
		}
		trial := p.t
		p.track("Trial Started", map[string]any{"plan": "pro", "trial_days": 14})
		for i, n := 0, r.IntN(5); i < n; i++ {
			p.at(trial + time.Duration(10+r.IntN(7*24*60))*mins)
			p.track("Feature Used", map[string]any{"feature": features[r.IntN(len(features))]})
		}
		if r.IntN(100) < 55 {
			p.at(trial + time.Duration(1+r.IntN(8))*day + time.Duration(r.IntN(86_400_000))*ms)
			p.newSession()
			p.track("Subscription Started", map[string]any{"plan": []string{"pro", "team"}[r.IntN(2)], "mrr": []int{29, 99}[r.IntN(2)]})
		}
	}
	if r.IntN(25) == 0 {
		p.shuffleTail(len(p.evs) - first)
	}
}

func (g *generator) content(p *person) {
	r := g.r
	sessions := 1 + r.IntN(3)
	for s := 0; s < sessions; s++ {
		if s > 0 {
			p.wait(time.Duration(2+r.IntN(46))*hour + time.Duration(r.IntN(3600_000))*ms)
			p.newSession()
		}
		for a, n := 0, 1+r.IntN(3); a < n; a++ {
			slug := blogSlugs[r.IntN(len(blogSlugs))]
			p.step().page("Article", "/blog/"+slug)
			p.wait(time.Duration(r.IntN(3000))*ms).track("Article Viewed", map[string]any{"article_id": slug})
			if r.IntN(10) < 7 {
				pct := []int{10, 25, 50, 75, 89, 90, 95, 100, 100}[r.IntN(9)]
				p.wait(time.Duration(20+r.IntN(600))*sec).track("Article Read", map[string]any{"article_id": slug, "percent": pct})
			}
			if r.IntN(5) == 0 {
				stop := 1 + r.IntN(4)
				for q := 1; q <= stop; q++ {
					p.wait(time.Duration(15+r.IntN(120))*sec).track("Video Playback Progress", map[string]any{"video_id": "v-" + slug, "percent": 25 * q})
				}
			}
		}
		switch r.IntN(12) {
		case 0, 1, 2:
			p.step().track("Form Submitted", map[string]any{"form_id": "newsletter"})
		case 3:
			p.step().track("Form Submitted", map[string]any{"form_id": "contact"})
		}
		if r.IntN(10) == 0 {
			p.step().track("Comment Posted", map[string]any{"article_id": blogSlugs[r.IntN(len(blogSlugs))]})
		}
	}
}
