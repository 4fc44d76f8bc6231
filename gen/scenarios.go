package gen

import "time"

// scenario is a scripted person: one hard case of the funnel semantics. The
// first people of every stream play them (user keys "edge-<name>"), so every
// stream of enough users holds every case; gen's tests know the level each
// one must reach.
type scenario struct {
	name string
	play func(p *person)
}

var (
	google   = Campaign{"google", "cpc", "spring_sale"}
	facebook = Campaign{"facebook", "social", "spring_sale"}
	mail     = Campaign{"newsletter", "email", "weekly_digest"}
)

// checkoutAt plays the five checkout steps at the given offsets.
func (p *person) checkoutAt(pv, atc, cs, pie, buy time.Duration) {
	p.at(pv).viewProduct()
	p.at(atc).addProduct(false)
	p.at(cs).startCheckout(false)
	p.at(pie).enterPayment()
	p.at(buy).completeOrder(4990, false)
}

var scenarios = []scenario{
	// --- checkout (window 24h) ---
	{"same_second", func(p *person) { // level 5, ordered by milliseconds only
		p.checkoutAt(10*sec, 10*sec+150*ms, 10*sec+400*ms, 10*sec+650*ms, 10*sec+999*ms)
	}},
	{"same_ms", func(p *person) { // level 5: equal times are in order
		p.checkoutAt(sec, sec, sec, sec, sec)
	}},
	{"window_exact", func(p *person) { // level 5: the window is inclusive
		p.checkoutAt(0, hour, 23*hour, 23*hour+30*mins, 24*hour)
	}},
	{"window_over", func(p *person) { // level 4: purchase 24h + 1ms after the view
		p.checkoutAt(0, hour, 2*hour, 2*hour+mins, 24*hour+ms)
	}},
	{"window_submilli", func(p *person) { // level 5: 24h + 0.9ms is truncated to 24h
		p.checkoutAt(0, 10*mins, 11*mins, 12*mins, 24*hour+900*time.Microsecond)
	}},
	{"cart_before_view", func(p *person) { // level 1: step 2 before step 1
		p.checkoutAt(5*sec, 0, 10*sec, 20*sec, 30*sec)
	}},
	{"checkout_before_cart", func(p *person) { // level 2
		p.checkoutAt(0, 2*sec, sec, 3*sec, 4*sec)
	}},
	{"same_second_reversed", func(p *person) { // level 1: the cart is 800ms before the view, in the same second
		p.at(10*sec + 900*ms).viewProduct()
		p.at(10*sec + 100*ms).addProduct(false)
		p.at(11 * sec).startCheckout(false)
	}},
	{"second_attempt", func(p *person) { // level 5 on the second attempt, which starts from facebook
		p.ctx.campaign = google
		p.at(0).viewProduct()
		p.at(2 * mins).addProduct(false)
		p.ctx.campaign, p.ctx.device = facebook, "desktop"
		p.checkoutAt(50*hour, 50*hour+mins, 50*hour+2*mins, 50*hour+3*mins, 50*hour+10*mins)
	}},
	{"tie_attempts", func(p *person) { // level 3 twice: the first attempt (email) is the best one
		p.ctx.campaign = mail
		p.at(0).viewProduct()
		p.at(mins).addProduct(false)
		p.at(5 * mins).startCheckout(false)
		p.ctx.campaign = google
		p.at(72 * hour).viewProduct()
		p.at(72*hour + mins).addProduct(false)
		p.at(72*hour + 5*mins).startCheckout(false)
	}},
	{"same_ms_starts", func(p *person) { // level 3; two starts at the same ms: the smaller event id (facebook) starts it
		p.ctx.campaign = google
		p.at(hour).viewProduct().MessageID = "edge-tie-b"
		p.ctx.campaign = facebook
		p.at(hour).viewProduct().MessageID = "edge-tie-a"
		p.at(hour + mins).addProduct(false)
		p.at(hour + 2*mins).startCheckout(false)
	}},
	{"express_only", func(p *person) { // level 3: one event cannot be both checkout_started and payment_info_entered
		p.at(0).viewProduct()
		p.at(mins).addProduct(false)
		p.at(2 * mins).startCheckout(true)
		p.at(3*mins).completeOrder(12000, false)
	}},
	{"express_then_payment", func(p *person) { // level 5
		p.at(0).viewProduct()
		p.at(mins).addProduct(false)
		p.at(2 * mins).startCheckout(true)
		p.at(2*mins + 30*sec).enterPayment()
		p.at(3*mins).completeOrder(3000, false)
	}},
	{"express_same_ms", func(p *person) { // level 5: the plain checkout fills step 3, the express one step 4
		p.at(0).viewProduct()
		p.at(mins).addProduct(false)
		p.at(2 * mins).startCheckout(true)
		p.at(2 * mins).startCheckout(false)
		p.at(3*mins).completeOrder(3000, false)
	}},
	{"identified_midway", func(p *person) { // anonymous key: level 2; user key: no step 1
		p.at(0).page("Home", "/")
		p.at(mins).viewProduct()
		p.at(2 * mins).addProduct(false)
		p.at(3 * mins).identify()
		p.at(4 * mins).startCheckout(false)
		p.at(5 * mins).enterPayment()
		p.at(6*mins).completeOrder(8000, false)
	}},
	{"numeric_user", func(p *person) { // userId 4711 sent as a number: user key "4711", level 2
		p.id, p.num, p.user = true, true, "4711"
		p.at(0).viewProduct()
		p.at(mins).addProduct(false)
	}},
	{"free_sample", func(p *person) { // level 1: price 0 is no add_to_cart; revenue "149.90" is a big_purchase
		p.at(0).viewProduct()
		p.at(mins).addProduct(true)
		p.at(2 * mins).startCheckout(false)
		p.at(3 * mins).enterPayment()
		p.at(4*mins).completeOrder(14990, true)
	}},
	{"resent", func(p *person) { // level 2; the view is sent twice with one messageId
		p.at(0).viewProduct().dupe = true
		p.at(mins).addProduct(false)
	}},
	{"no_message_id", func(p *person) { // level 5; two steps without messageId
		p.at(0).viewProduct().noID = true
		p.at(mins).addProduct(false)
		p.at(2 * mins).startCheckout(false)
		p.at(3 * mins).enterPayment().noID = true
		p.at(4*mins).completeOrder(2500, false)
	}},
	{"type_variants", func(p *person) { // level 2: no type and "TRACK" are track calls
		p.at(0).viewProduct().Type = ""
		p.at(mins).addProduct(false).Type = "TRACK"
	}},

	// --- pages_twice (window 1d): one event never fills two steps ---
	{"pricing_once", func(p *person) { // pages_twice level 1; saas level 1
		p.at(0).page("Pricing", "/pricing")
		p.at(10*mins).track("Signed Up", map[string]any{"method": "email", "plan": "free"})
	}},
	{"pricing_twice_same_ms", func(p *person) { // pages_twice level 3
		p.at(0).page("Pricing", "/pricing")
		p.at(0).page("Enterprise", "/pricing/enterprise")
		p.at(5*mins).track("Signed Up", map[string]any{"method": "google", "plan": "free"})
	}},
	{"pricing_window", func(p *person) { // pages_twice level 2: signed up 1d + 1ms after the first view
		p.at(0).page("Pricing", "/pricing")
		p.at(2*hour).page("Pricing", "/pricing/faq")
		p.at(3*hour).page("Prices", "/prices")
		p.at(day+ms).track("Signed Up", map[string]any{"method": "email", "plan": "free"})
	}},

	// --- saas (window 7d) ---
	{"saas_exact", func(p *person) { // level 3: exactly 7d
		p.at(0).track("Signed Up", map[string]any{"method": "email", "plan": "free"})
		p.at(hour).track("Trial Started", map[string]any{"plan": "pro"})
		p.at(7*day).track("Subscription Started", map[string]any{"plan": "pro", "mrr": 29})
	}},
	{"saas_over", func(p *person) { // level 2: 7d + 1ms
		p.at(0).track("Signed Up", map[string]any{"method": "email", "plan": "free"})
		p.at(day).track("Trial Started", map[string]any{"plan": "pro"})
		p.at(7*day+ms).track("Subscription Started", map[string]any{"plan": "team", "mrr": 99})
	}},
	{"trial_before_signup", func(p *person) { // level 1
		p.at(0).track("Trial Started", map[string]any{"plan": "pro"})
		p.at(mins).track("Signed Up", map[string]any{"method": "github", "plan": "free"})
		p.at(2*day).track("Subscription Started", map[string]any{"plan": "pro", "mrr": 29})
	}},

	// --- content (window 1h) ---
	{"content_exact", func(p *person) { // level 2: exactly 1h
		p.at(0).track("Article Read", map[string]any{"article_id": "funnels-101", "percent": 95})
		p.at(hour).track("Form Submitted", map[string]any{"form_id": "newsletter"})
	}},
	{"content_over", func(p *person) { // level 1: 1h + 1ms; 80% is no article_read
		p.at(0).track("Article Read", map[string]any{"article_id": "funnels-101", "percent": 100})
		p.at(30*mins).track("Article Read", map[string]any{"article_id": "kafka-basics", "percent": 80})
		p.at(hour+ms).track("Form Submitted", map[string]any{"form_id": "newsletter"})
	}},
	{"content_retry", func(p *person) { // level 2 from the second read
		p.ctx.campaign = google
		p.at(0).track("Article Read", map[string]any{"article_id": "segment-spec", "percent": 92})
		p.ctx.campaign = mail
		p.at(2*hour+30*mins).track("Article Read", map[string]any{"article_id": "utm-done-right", "percent": 99})
		p.at(3*hour).track("Form Submitted", map[string]any{"form_id": "newsletter"})
	}},
	{"newsletter_first", func(p *person) { // level 1: signed up before reading; 90% is an article_read
		p.at(0).track("Form Submitted", map[string]any{"form_id": "newsletter"})
		p.at(5*mins).track("Article Read", map[string]any{"article_id": "funnels-101", "percent": 90})
	}},
}
