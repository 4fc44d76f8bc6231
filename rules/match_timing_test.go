package rules

import (
	"os"
	"testing"
	"unsafe"

	"github.com/valyala/fastjson"
)

// referenceEvents are realistic Segment messages for the reference rule set
// (testdata/reference.yaml): what browser and mobile libraries send.
var referenceEvents = []string{
	`{"anonymousId":"a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b","context":{"campaign":{"medium":"cpc","name":"spring_sale","source":"google"},"ip":"203.0.113.7","library":{"name":"analytics.js","version":"4.1.0"},"locale":"en-US","page":{"path":"/products/espresso-machine","referrer":"https://www.google.com/","title":"Espresso Machine","url":"https://shop.example.com/products/espresso-machine"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"},"event":"Product Viewed","messageId":"ajs-next-1715000000000-3f8a","properties":{"brand":"Brewmaster","category":"Coffee","currency":"USD","name":"Espresso Machine","price":649.0,"product_id":"507f1f77bcf86cd799439011","sku":"BM-ESP-01"},"receivedAt":"2024-05-06T12:00:00.120Z","sentAt":"2024-05-06T12:00:00.100Z","timestamp":"2024-05-06T12:00:00.095Z","type":"track","userId":"user_8812"}`,
	`{"anonymousId":"a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b","context":{"ip":"203.0.113.7","library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/products/espresso-machine","url":"https://shop.example.com/products/espresso-machine"},"userAgent":"Mozilla/5.0"},"event":"Product Added","messageId":"ajs-next-1715000004000-77c1","properties":{"cart_id":"c_5521","currency":"USD","name":"Espresso Machine","price":"649.00","product_id":"507f1f77bcf86cd799439011","quantity":1,"sku":"BM-ESP-01"},"timestamp":"2024-05-06T12:00:04.201Z","type":"track","userId":"user_8812"}`,
	`{"anonymousId":"a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b","context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/checkout","url":"https://shop.example.com/checkout"}},"event":"Checkout Started","messageId":"ajs-next-1715000030000-0b2e","properties":{"currency":"USD","order_id":"o_90211","products":[{"price":649,"product_id":"507f1f77bcf86cd799439011","quantity":1}],"revenue":649,"step":1},"timestamp":"2024-05-06T12:00:30.001Z","type":"track","userId":"user_8812"}`,
	`{"anonymousId":"a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b","context":{"library":{"name":"analytics.js","version":"4.1.0"}},"event":"Payment Info Entered","messageId":"ajs-next-1715000061000-9d3f","properties":{"checkout_id":"co_1193","order_id":"o_90211","payment_method":"apple_pay","step":3},"timestamp":"2024-05-06T12:01:01.456Z","type":"track","userId":"user_8812"}`,
	`{"anonymousId":"a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b","context":{"library":{"name":"analytics-node","version":"6.2.0"}},"event":"Order Completed","messageId":"node-1715000075000-5e6a","properties":{"checkout_id":"co_1193","coupon":"SPRING10","currency":"USD","discount":64.9,"order_id":"o_90211","products":[{"price":649,"product_id":"507f1f77bcf86cd799439011","quantity":1,"sku":"BM-ESP-01"}],"revenue":584.1,"shipping":0,"tax":46.73,"total":630.83},"timestamp":"2024-05-06T12:01:15.789Z","type":"track","userId":"user_8812"}`,
	`{"anonymousId":"f0e1d2c3-b4a5-4687-9a8b-7c6d5e4f3a2b","context":{"campaign":{"medium":"paid_social","source":"linkedin"},"ip":"198.51.100.23","library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/pricing/teams","referrer":"https://www.linkedin.com/","title":"Pricing for teams","url":"https://www.example.com/pricing/teams?utm_medium=paid_social"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},"messageId":"ajs-next-1715001000000-12ab","name":"Pricing","properties":{"path":"/pricing/teams","title":"Pricing for teams","url":"https://www.example.com/pricing/teams"},"timestamp":"2024-05-06T12:16:40.000Z","type":"page"}`,
	`{"anonymousId":"f0e1d2c3-b4a5-4687-9a8b-7c6d5e4f3a2b","context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/blog/2024/05/funnels-explained","url":"https://www.example.com/blog/2024/05/funnels-explained"}},"messageId":"ajs-next-1715001100000-34cd","name":"Funnels explained","properties":{"category":"blog"},"timestamp":"2024-05-06T12:18:20.000Z","type":"page"}`,
	`{"anonymousId":"f0e1d2c3-b4a5-4687-9a8b-7c6d5e4f3a2b","context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/signup"}},"event":"Signed Up","messageId":"ajs-next-1715001200000-56ef","properties":{"method":"email","plan":"trial"},"timestamp":"2024-05-06T12:20:00.000Z","traits":{"email":"dana@acme.example","name":"Dana"},"type":"track","userId":"user_9920"}`,
	`{"context":{"library":{"name":"analytics-node","version":"6.2.0"}},"messageId":"node-1715001210000-78aa","timestamp":"2024-05-06T12:20:10.000Z","traits":{"company":{"employees":120,"name":"Acme"},"createdAt":"2024-05-06T12:20:00Z","email":"dana@acme.example","plan":"trial"},"type":"identify","userId":"user_9920"}`,
	`{"anonymousId":"0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d","context":{"app":{"build":"412","name":"Example","version":"3.2.1"},"device":{"manufacturer":"Apple","model":"iPhone15,2","type":"ios"},"library":{"name":"analytics-ios","version":"4.1.8"},"locale":"en-GB","network":{"wifi":true},"os":{"name":"iOS","version":"17.4"},"screen":{"height":852,"width":393}},"event":"Video Content Completed","messageId":"ios-2F1A7C1E-6B0D-4F0A-9E9C-1D2B3A4C5D6E","properties":{"asset_id":"v_311","position":42,"session_id":"s_7781","title":"Getting started","total_length":42},"timestamp":"2024-05-06T12:30:00.000Z","type":"track","userId":"user_7001"}`,
	`{"anonymousId":"0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d","context":{"app":{"name":"Example","version":"3.2.1"},"device":{"type":"ios"},"library":{"name":"analytics-ios","version":"4.1.8"}},"messageId":"ios-4B2C7D1E-0A1B-4C2D-8E3F-405162738495","name":"Settings Notifications","properties":{},"timestamp":"2024-05-06T12:31:00.000Z","type":"screen","userId":"user_7001"}`,
	`{"anonymousId":"5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716","context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/search"}},"event":"Products Searched","messageId":"ajs-next-1715002000000-9a0b","properties":{"query":"burr grinder","results":0},"timestamp":"2024-05-06T12:33:20.000Z","type":"track"}`,
	`{"anonymousId":"5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716","context":{"library":{"name":"analytics.js","version":"4.1.0"},"page":{"path":"/webinars/spring"}},"event":"Form Submitted","messageId":"ajs-next-1715002100000-1c2d","properties":{"form_id":"webinar_spring_2024","fields":3},"timestamp":"2024-05-06T12:35:00.000Z","type":"track"}`,
	`{"anonymousId":"5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716","context":{"library":{"name":"analytics.js","version":"4.1.0"}},"event":"Feature Used","messageId":"ajs-next-1715002200000-3e4f","properties":{"feature":"ai_summary","tags":["beta","ai"]},"timestamp":"2024-05-06T12:36:40.000Z","type":"track","userId":"user_5150"}`,
	`{"anonymousId":"5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716","context":{"library":{"name":"analytics.js","version":"4.1.0"}},"event":"Button Clicked","messageId":"ajs-next-1715002300000-5a6b","properties":{"label":"Learn more","location":"footer"},"timestamp":"2024-05-06T12:38:20.000Z","type":"track","userId":"user_5150"}`,
	`{"anonymousId":"5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716","context":{"library":{"name":"analytics-node","version":"6.2.0"}},"event":"Subscription Started","messageId":"node-1715002400000-7c8d","properties":{"billing":"annual","mrr":490,"plan":"team","seats":10},"timestamp":"2024-05-06T12:40:00.000Z","type":"track","userId":"user_5150"}`,
}

func loadReference(b *testing.B) *Set {
	data, err := os.ReadFile("testdata/reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Parse("reference.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func referenceBytes() int64 {
	n := 0
	for _, e := range referenceEvents {
		n += len(e)
	}
	return int64(n)
}

// BenchmarkMatch measures tagging alone: events parsed beforehand, all
// reference events per op.
func BenchmarkMatch(b *testing.B) {
	s := loadReference(b)
	events := make([]*Event, len(referenceEvents))
	for i, e := range referenceEvents {
		doc, err := fastjson.Parse(e)
		if err != nil {
			b.Fatal(err)
		}
		events[i] = eventOf(doc)
	}
	dst := make([]Match, 0, len(s.Conversions))
	b.ReportAllocs()
	b.SetBytes(referenceBytes())
	b.ResetTimer()
	for range b.N {
		for _, ev := range events {
			dst = s.Match(ev, dst[:0])
		}
	}
}

// BenchmarkParseJSON is the ceiling for BenchmarkParseAndMatch: parsing
// the same events with fastjson and nothing else.
func BenchmarkParseJSON(b *testing.B) {
	var p fastjson.Parser
	b.ReportAllocs()
	b.SetBytes(referenceBytes())
	for range b.N {
		for _, e := range referenceEvents {
			if _, err := p.Parse(e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParseAndMatch measures decode + tag, as the consumer does it.
func BenchmarkParseAndMatch(b *testing.B) {
	s := loadReference(b)
	var p fastjson.Parser
	dst := make([]Match, 0, len(s.Conversions))
	var ev Event
	b.ReportAllocs()
	b.SetBytes(referenceBytes())
	b.ResetTimer()
	for range b.N {
		for _, e := range referenceEvents {
			doc, err := p.Parse(e)
			if err != nil {
				b.Fatal(err)
			}
			ev = Event{Type: b2s(doc.GetStringBytes("type")), Name: b2s(doc.GetStringBytes("event")), Doc: doc}
			if ev.Name == "" {
				ev.Name = b2s(doc.GetStringBytes("name"))
			}
			dst = s.Match(&ev, dst[:0])
		}
	}
}

// BenchmarkMatchUnrelated checks that the cost does not grow with rules on
// other event names: 1000 extra rules, same events.
func BenchmarkMatchUnrelated(b *testing.B) {
	data, err := os.ReadFile("testdata/reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s, err := ParseFiles([]File{{Name: "reference.yaml", Data: data}, {Name: "unrelated.yaml", Data: []byte(unrelatedRules(1000))}})
	if err != nil {
		b.Fatal(err)
	}
	events := make([]*Event, len(referenceEvents))
	for i, e := range referenceEvents {
		doc, err := fastjson.Parse(e)
		if err != nil {
			b.Fatal(err)
		}
		events[i] = eventOf(doc)
	}
	dst := make([]Match, 0, len(s.Conversions))
	b.ReportAllocs()
	b.SetBytes(referenceBytes())
	b.ResetTimer()
	for range b.N {
		for _, ev := range events {
			dst = s.Match(ev, dst[:0])
		}
	}
}

// BenchmarkParse measures compiling the reference rule set (a reload).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for range b.N {
		if _, err := Parse("reference.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// b2s converts without copying, as a decoder that owns the buffer may; the
// string is used only until the next Parse.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
