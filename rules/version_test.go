package rules

import (
	"os"
	"strings"
	"testing"
)

func TestVersionStable(t *testing.T) {
	data, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base, err := Parse("shop.yaml", data)
	if err != nil {
		t.Fatal(err)
	}

	// The same rules: other file name, key order, flow style, quoting,
	// comments, whitespace, conversion order, duplicate event_in names,
	// and split into two files.
	reformatted := `
funnels: [{steps: [product_viewed, add_to_cart, checkout_started, purchase], window: 24h, id: checkout}]
conversions:
- match: {event: "Order Completed"}
  value: properties.revenue
  description: 'Order completed'
  type: macro
  id: purchase
- id: add_to_cart # the cart
  match:
    where:
    - {value: 0, op: gt, path: properties.price}
    - any: [{path: properties.currency, op: eq, value: "USD"}, {path: properties.currency, op: in, value: ["EUR", GBP]}]
    type: "track"
    event: Product Added
  value: "properties.price"
  category: process
  description: Product added to the cart
  type: micro
- {id: product_viewed, description: Product detail page viewed, match: {type: track, event: Product Viewed}}
- id: checkout_started
  description: >-
    Checkout
    started
  match:
    where: [{path: properties.step, op: lte, value: 1}]
    event_in: [Checkout Step Viewed, Checkout Started, Checkout Started]
`
	other := `
conversions:
  - id: payment_info_entered
    description: Payment details entered
    match: {where: [{not: {path: properties.payment_method, value: test, op: eq}}], event: Payment Info Entered}
  - id: newsletter_signup
    category: engagement
    description: Signed up to the newsletter
    match: {event: Form Submitted, where: [{path: properties.form_id, op: eq, value: newsletter}]}
  - id: pricing_page_viewed
    category: "engagement"
    description: "Pricing page viewed"
    match:
      type: page
      where:
        - path: context.page.path
          op: prefix
          value: /pricing
`
	s, err := ParseFiles([]File{{Name: "z.yaml", Data: []byte(reformatted)}, {Name: "a.yaml", Data: []byte(other)}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != base.Version {
		t.Fatalf("reformatted rules: got version %s, want %s", s.Version, base.Version)
	}
	again, _ := Parse("other-name.yaml", data)
	if again.Version != base.Version {
		t.Fatalf("same file under another name: got version %s, want %s", again.Version, base.Version)
	}
	// The same window written another way.
	days, err := Parse("shop.yaml", []byte(strings.Replace(string(data), "window: 24h", "window: 1d", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if days.Version != base.Version {
		t.Fatalf("window 1d instead of 24h: got version %s, want %s", days.Version, base.Version)
	}
}

func TestVersionChanges(t *testing.T) {
	data, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base, err := Parse("shop.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{base.Version: "base"}
	f := func(old, new string) {
		t.Helper()
		if !strings.Contains(string(data), old) {
			t.Fatalf("testdata/shop.yaml does not contain %q", old)
		}
		changed := strings.Replace(string(data), old, new, 1)
		s, err := Parse("shop.yaml", []byte(changed))
		if err != nil {
			t.Fatalf("%q → %q: %v", old, new, err)
		}
		if prev, ok := seen[s.Version]; ok {
			t.Fatalf("%q → %q: version %s is the same as for %s", old, new, s.Version, prev)
		}
		seen[s.Version] = old + " → " + new
	}
	f("value: 0}", "value: 1}")
	f("op: lte, value: 1}", "op: lte, value: 1.0}")
	f("op: gt", "op: gte")
	f("path: properties.price", "path: properties.amount")
	f("[EUR, GBP]", "[EUR, CHF]")
	f("value: USD}", "value: usd}")
	f("id: product_viewed", "id: product_seen\n    match: {event: X}\n  - id: product_viewed")
	f("description: Product added to the cart", "description: Product added to cart")
	f("category: engagement", "category: process")
	f("value: properties.revenue", "value: properties.total")
	f("    value: properties.price\n", "")
	f("event: Product Added", "event_regex: Product Added")
	f("event: Product Added", "event_in: [Product Added, Product Added Again]")
	f("type: track\n      where", "type: screen\n      where")
	f("type: page", "type: screen")
	f("- not: {path: properties.payment_method, op: eq, value: test}", "- all: [{path: properties.payment_method, op: eq, value: test}]")
	f("op: prefix", "op: suffix")
	f("window: 24h", "window: 25h")
	f("checkout_started, purchase]", "purchase, checkout_started]")
	f("id: checkout\n", "id: checkout_v2\n")
}
