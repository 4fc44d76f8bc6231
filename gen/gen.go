package gen

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// DefaultRules is the rule pack written for the generated behaviours: the
// conversions and the funnels checkout, saas, content and pages_twice.
//
//go:embed rules.yaml
var DefaultRules string

// Defaults of Options, used for zero fields.
const (
	// DefaultUsers is small enough for a test and large enough that every
	// funnel has users at every step.
	DefaultUsers = 1000
	// DefaultDays: two weeks, so that daily views have many rows and the
	// saas funnel (7 days) has room to complete.
	DefaultDays = 14
	// DefaultDups: 3% of events re-sent upstream, as at-least-once
	// collectors do.
	DefaultDups = 0.03
	// DefaultMalformed: enough malformed messages for every rejection kind
	// several times.
	DefaultMalformed = 40
	// DefaultNoIDShare: 2% of events without messageId.
	DefaultNoIDShare = 0.02
)

// DefaultStart is the default start of the stream: a Monday, 00:00 UTC.
var DefaultStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// Options shape a stream. A zero field takes its default; a negative Dups,
// Malformed or NoIDShare means none.
type Options struct {
	Seed uint64
	// Users is the number of people (default 1000). The first ones play
	// scripted edge cases (see scenarios); the rest behave at random. A
	// person identified mid-way has two user keys.
	Users int
	// Days the stream covers (default 14): every event falls in [Start,
	// Start + Days), but for a scripted person whose events span more.
	Days int
	// Dups is the share of events re-sent later with the same messageId and
	// content (default 0.03).
	Dups float64
	// Malformed is the number of malformed messages (default 40), cycling
	// through every rejection kind but empty and too_large.
	Malformed int
	// NoIDShare is the share of events sent without messageId (default 0.02).
	NoIDShare float64
	// Start of the stream (default 2026-03-02T00:00:00Z).
	Start time.Time
}

func (o Options) withDefaults() Options {
	if o.Users == 0 {
		o.Users = DefaultUsers
	}
	if o.Days <= 0 {
		o.Days = DefaultDays
	}
	if o.Dups == 0 {
		o.Dups = DefaultDups
	}
	if o.Malformed == 0 {
		o.Malformed = DefaultMalformed
	}
	if o.NoIDShare == 0 {
		o.NoIDShare = DefaultNoIDShare
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	return o
}

// Stream is a generated clickstream, in the order it is to be sent.
type Stream struct {
	Seed     uint64
	Messages []Message
}

// Message is one Kafka message of the stream.
type Message struct {
	Value []byte
	Key   []byte // the user key; nil for a malformed message
	// Event is what the message says, nil when it is malformed. Upstream
	// duplicates share the Event of their original.
	Event  *Event
	Reason string // the rejection reason of a malformed message (consumer reason codes)
}

// Event is one generated Segment call.
type Event struct {
	MessageID   string // "" when the message has none
	Type        string // as sent: track, TRACK, "" (a track without type), page, identify
	Name        string // event of a track, name of a page ("" for a page without name)
	UserID      string
	UserIDNum   bool // userId is sent as a JSON number
	AnonymousID string
	TS          time.Time // may carry sub-millisecond digits; the decoder truncates them
	TSText      string    // the timestamp as sent
	Props       map[string]any
	Page        Page
	Campaign    Campaign
	Device      string
	Country     string

	person int           // index of the person who sent it
	off    time.Duration // offset from the person's base time, until placed
	noID   bool          // scripted: send without messageId
	dupe   bool          // scripted: send twice
}

// Page is context.page.
type Page struct {
	Path, URL, Referrer, Title string
}

// Campaign is context.campaign (utm parameters); empty means no campaign.
type Campaign struct {
	Source, Medium, Name string
}

// UserKey is userId when non-empty, else anonymousId.
func (e *Event) UserKey() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// Millis is the event time in Unix milliseconds, truncated as the decoder does.
func (e *Event) Millis() int64 { return e.TS.UnixMilli() }

// wire is the JSON of a Segment call, keys in a natural order.
type wire struct {
	MessageID   string         `json:"messageId,omitempty"`
	Type        string         `json:"type,omitempty"`
	Event       string         `json:"event,omitempty"`
	Name        string         `json:"name,omitempty"`
	UserID      any            `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	Timestamp   string         `json:"timestamp"`
	Context     map[string]any `json:"context,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// JSON renders the event as a Segment message (one line: json.Marshal
// escapes control characters).
func (e *Event) JSON() []byte {
	w := wire{MessageID: e.MessageID, Type: e.Type, AnonymousID: e.AnonymousID, Timestamp: e.TSText, Properties: e.Props}
	if e.Type == "page" {
		w.Name = e.Name
	} else {
		w.Event = e.Name
	}
	if e.UserID != "" {
		if e.UserIDNum {
			w.UserID = json.Number(e.UserID)
		} else {
			w.UserID = e.UserID
		}
	}
	ctx := map[string]any{"library": map[string]any{"name": "analytics.js", "version": "5.2.0"}}
	if e.Page.Path != "" {
		p := map[string]any{"path": e.Page.Path, "url": e.Page.URL}
		if e.Page.Referrer != "" {
			p["referrer"] = e.Page.Referrer
		}
		if e.Page.Title != "" {
			p["title"] = e.Page.Title
		}
		ctx["page"] = p
	}
	if e.Campaign != (Campaign{}) {
		c := map[string]any{"source": e.Campaign.Source, "medium": e.Campaign.Medium}
		if e.Campaign.Name != "" {
			c["name"] = e.Campaign.Name
		}
		ctx["campaign"] = c
	}
	if e.Device != "" {
		ctx["device"] = map[string]any{"type": e.Device}
	}
	if e.Country != "" {
		ctx["location"] = map[string]any{"country": e.Country}
	}
	w.Context = ctx
	b, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("cannot marshal a generated event: %v", err)) // only maps of plain values
	}
	return b
}

// generator holds the state of one Generate call.
type generator struct {
	o   Options
	r   *rand.Rand
	evs []*Event // placed events of every person, in generation order
}

// Generate builds a stream; the same options give the same stream.
func Generate(o Options) *Stream {
	o = o.withDefaults()
	g := &generator{o: o, r: rand.New(rand.NewPCG(o.Seed, 0x6d6963726f636f6e))} // "microcon"
	for i := 0; i < o.Users; i++ {
		p := g.newPerson(i)
		if p.scripted {
			scenarios[i].play(p)
		} else {
			g.randomPerson(p)
		}
		g.place(p)
	}
	return g.stream()
}

// place moves a person's events to absolute times. A scripted person's
// base is a whole second chosen so that all their events fall in [Start,
// Start + Days) when they fit; a random person starts at a whole second
// anywhere in it, and what they would do after its end is cut off, as in
// any export of a time range.
func (g *generator) place(p *person) {
	if len(p.evs) == 0 {
		return
	}
	lo, hi := p.evs[0].off, p.evs[0].off
	for _, e := range p.evs {
		lo, hi = min(lo, e.off), max(hi, e.off)
	}
	total := time.Duration(g.o.Days) * 24 * time.Hour
	room := total - time.Second
	if p.scripted {
		room -= hi - lo
	}
	var base time.Duration
	if room > 0 {
		base = time.Duration(g.r.Int64N(int64(room/time.Second))) * time.Second
	}
	base -= lo
	for _, e := range p.evs {
		if !p.scripted && base+e.off >= total {
			continue
		}
		e.TS = g.o.Start.Add(base + e.off)
		if e.TSText == "" {
			e.TSText = g.tsText(e.TS)
		}
		g.evs = append(g.evs, e)
	}
}

var zones = []*time.Location{time.FixedZone("", 2*3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800)}

// tsText formats a timestamp as senders do: mostly UTC with milliseconds,
// sometimes with a zone offset or trimmed trailing zeros. Every form keeps
// the exact instant.
func (g *generator) tsText(t time.Time) string {
	if t.Nanosecond()%1e6 != 0 {
		return t.UTC().Format(time.RFC3339Nano) // keep the sub-millisecond digits the decoder truncates
	}
	switch n := g.r.IntN(20); {
	case n == 0:
		return t.In(zones[g.r.IntN(len(zones))]).Format("2006-01-02T15:04:05.000Z07:00")
	case n == 1:
		return t.UTC().Format(time.RFC3339Nano)
	default:
		return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
}

// arrival orders the stream: a message is sent at its event time plus a
// delay; duplicates and late deliveries come later.
type pending struct {
	m       Message
	arrival int64
	seq     int
}

func (g *generator) stream() *Stream {
	r := g.r
	// Message ids: scripted events keep theirs; random ones are numbered.
	// An event goes without messageId only when no other event of its
	// person shares its millisecond: the consumer derives the id of such an
	// event from its Kafka position, so ties on the id (the last key of the
	// funnel order) would differ between the truth and the views.
	perMS := map[[2]int64]int{}
	for _, e := range g.evs {
		perMS[[2]int64{int64(e.person), e.Millis()}]++
	}
	var out []pending
	add := func(m Message, arrival int64) {
		out = append(out, pending{m: m, arrival: arrival, seq: len(out)})
	}
	for i, e := range g.evs {
		switch {
		case e.noID:
		case e.MessageID != "":
		case !e.dupe && g.o.NoIDShare > 0 && r.Float64() < g.o.NoIDShare && perMS[[2]int64{int64(e.person), e.Millis()}] == 1:
		default:
			e.MessageID = fmt.Sprintf("m%d-%07d", g.o.Seed, i)
		}
		v := e.JSON()
		m := Message{Value: v, Key: []byte(e.UserKey()), Event: e}
		at := e.Millis()
		if r.IntN(50) == 0 { // a late delivery (an app offline for a while)
			at += r.Int64N(6 * 3600_000)
		}
		add(m, at)
		if e.MessageID != "" && (e.dupe || (g.o.Dups > 0 && r.Float64() < g.o.Dups)) {
			add(m, at+1+r.Int64N(3*3600_000)) // an upstream re-send, same bytes
		}
	}
	lo, hi := g.o.Start.UnixMilli(), g.o.Start.Add(time.Duration(g.o.Days)*24*time.Hour).UnixMilli()
	for i := 0; i < g.o.Malformed; i++ {
		k := malformed[i%len(malformed)]
		add(Message{Value: []byte(k.value), Reason: k.reason}, lo+r.Int64N(hi-lo))
	}
	slices.SortStableFunc(out, func(a, b pending) int {
		if a.arrival != b.arrival {
			if a.arrival < b.arrival {
				return -1
			}
			return 1
		}
		return a.seq - b.seq
	})
	s := &Stream{Seed: g.o.Seed, Messages: make([]Message, len(out))}
	for i, p := range out {
		s.Messages[i] = p.m
	}
	return s
}

// person builds the events of one person, at offsets from their base time.
type person struct {
	g    *generator
	n    int
	anon string
	user string // userId, sent once identified
	num  bool   // userId is a JSON number
	id   bool   // events carry userId
	t    time.Duration
	ctx  sessionCtx
	home string // the person's usual country
	// scripted persons play a scenario: their contexts are only what it sets.
	scripted bool
	evs      []*Event
}

type sessionCtx struct {
	campaign Campaign
	device   string
	country  string
}

func (g *generator) newPerson(n int) *person {
	p := &person{g: g, n: n, anon: fmt.Sprintf("anon-%06d", n), user: fmt.Sprintf("user-%06d", n)}
	if n < len(scenarios) {
		p.scripted = true
		p.anon = "edge-" + scenarios[n].name
		p.user = "edge-" + scenarios[n].name + "-user"
	}
	p.home = countries[g.r.IntN(len(countries))]
	p.newSession()
	return p
}

var (
	campaigns = []Campaign{
		{"google", "cpc", "spring_sale"},
		{"google", "cpc", "brand"},
		{"google", "organic", ""},
		{"facebook", "social", "spring_sale"},
		{"instagram", "social", "influencer"},
		{"newsletter", "email", "weekly_digest"},
		{"bing", "cpc", "brand"},
		{}, {}, {}, // direct traffic: no campaign
	}
	devices   = []string{"mobile", "mobile", "mobile", "desktop", "desktop", "tablet", ""}
	countries = []string{"DE", "DE", "FR", "US", "US", "GB", "NL", "ES", "PL", ""}
)

// newSession picks the context of a new visit: campaign, device and,
// rarely, another country than the usual one.
func (p *person) newSession() {
	r := p.g.r
	p.ctx = sessionCtx{campaign: campaigns[r.IntN(len(campaigns))], device: devices[r.IntN(len(devices))], country: p.home}
	if r.IntN(10) == 0 {
		p.ctx.country = countries[r.IntN(len(countries))]
	}
}

// at sets the clock to an offset from the person's base time.
func (p *person) at(d time.Duration) *person { p.t = d; return p }

// wait advances the clock.
func (p *person) wait(d time.Duration) *person { p.t += d; return p }

func (p *person) event(typ, name string, props map[string]any, path string) *Event {
	e := &Event{Type: typ, Name: name, AnonymousID: p.anon, Props: props, person: p.n, off: p.t,
		Campaign: p.ctx.campaign, Device: p.ctx.device, Country: p.ctx.country}
	if !p.scripted && p.g.r.IntN(20) == 0 {
		// An event that came in through another campaign within the visit
		// (an ad clicked again): first touch is not last touch.
		e.Campaign = campaigns[p.g.r.IntN(len(campaigns))]
	}
	if p.id {
		e.UserID, e.UserIDNum = p.user, p.num
	}
	if path != "" {
		e.Page = Page{Path: path, URL: "https://www.example.com" + path}
	}
	p.evs = append(p.evs, e)
	return e
}

// track adds a track call at the current time. A few are sent as "TRACK"
// or without type (an event name alone means a track call).
func (p *person) track(name string, props map[string]any) *Event {
	r := p.g.r
	path := ""
	if r.IntN(2) == 0 {
		path = "/app"
	}
	typ := "track"
	switch r.IntN(40) {
	case 0:
		typ = ""
	case 1:
		typ = "TRACK"
	}
	return p.event(typ, name, props, path)
}

// page adds a page call at the current time.
func (p *person) page(name, path string) *Event {
	e := p.event("page", name, nil, path)
	e.Page.Title = name
	return e
}

// identify adds an identify call and makes later events carry userId.
func (p *person) identify() *Event {
	p.id = true
	e := p.event("identify", "", map[string]any{}, "")
	e.Props = nil
	return e
}

func money(cents int) float64 { return float64(cents) / 100 }

func moneyString(cents int) string { return strconv.FormatFloat(money(cents), 'f', 2, 64) }
