package gen

import (
	"encoding/json"
	"fmt"
	"io"
)

// Truth is every figure the views must show for a stream and a rule set.
// Rates are float64 ratios; a nullable figure is a nil pointer (JSON null).
type Truth struct {
	Seed     uint64 `json:"seed"`
	Messages int    `json:"messages"` // messages in the stream, rejected ones included
	Rejected int    `json:"rejected"` // rejected messages, each counted once
	// RejectedReasons counts rejected messages per reason (rejected_summary).
	RejectedReasons   map[string]int          `json:"rejected_reasons"`
	Events            int                     `json:"events"` // distinct accepted events
	Users             int                     `json:"users"`  // distinct user keys of accepted events
	RulesVersion      string                  `json:"rules_version"`
	ConversionSummary []ConversionSummary     `json:"conversion_summary"`
	ConversionDaily   []ConversionDaily       `json:"conversion_daily"`
	Funnels           map[string]*FunnelTruth `json:"funnels"`
	MicroLift         []MicroLift             `json:"micro_lift"`
}

// ConversionSummary is one row of conversion_summary: every conversion of
// the set, in set order.
type ConversionSummary struct {
	Conversion     string `json:"conversion"`
	ConversionType string `json:"conversion_type"`
	Category       string `json:"category"`
	Users          int    `json:"users"`
	Events         int    `json:"events"`
}

// ConversionDaily is one row of conversion_daily: a UTC day and a
// conversion with at least one event.
type ConversionDaily struct {
	Day            string `json:"day"` // 2006-01-02
	Conversion     string `json:"conversion"`
	ConversionType string `json:"conversion_type"`
	Users          int    `json:"users"`
	Events         int    `json:"events"`
}

// FunnelTruth is what the views of one funnel must show.
type FunnelTruth struct {
	WindowMS  int64          `json:"window_ms"`
	Steps     []FunnelStep   `json:"steps"`
	Breakdown []FunnelByDim  `json:"breakdown"`
	Daily     []FunnelDaily  `json:"daily"`
	Times     []FunnelTiming `json:"times"`
}

// FunnelStep is one row of funnel_<id>.
type FunnelStep struct {
	Step         int     `json:"step"`
	Name         string  `json:"name"`
	Users        int     `json:"users"`
	FromPrevious float64 `json:"from_previous"`
	FromStart    float64 `json:"from_start"`
}

// FunnelByDim is one row of the breakdown by first touch.
type FunnelByDim struct {
	Dimension    string  `json:"dimension"` // utm_source, utm_medium, utm_campaign, device, country
	Value        string  `json:"value"`
	Step         int     `json:"step"`
	Name         string  `json:"name"`
	Users        int     `json:"users"`
	FromPrevious float64 `json:"from_previous"`
	FromStart    float64 `json:"from_start"`
}

// FunnelDaily is one row of the funnel per UTC day of the best attempt's start.
type FunnelDaily struct {
	Day       string  `json:"day"`
	Step      int     `json:"step"`
	Users     int     `json:"users"`
	FromStart float64 `json:"from_start"`
}

// FunnelTiming is one row of the seconds from step 1 to a step; the
// statistics are nil when no user reached the step.
type FunnelTiming struct {
	Step          int      `json:"step"`
	Users         int      `json:"users"`
	AvgSeconds    *float64 `json:"avg_seconds"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
}

// MicroLift is one row of micro_lift; Lift is nil when RateWithout is 0.
type MicroLift struct {
	Micro            string   `json:"micro"`
	Macro            string   `json:"macro"`
	UsersWith        int      `json:"users_with"`
	ConvertedWith    int      `json:"converted_with"`
	UsersWithout     int      `json:"users_without"`
	ConvertedWithout int      `json:"converted_without"`
	RateWith         float64  `json:"rate_with"`
	RateWithout      float64  `json:"rate_without"`
	Lift             *float64 `json:"lift"`
}

// WriteTruth writes t as indented JSON; keys come in a fixed order (struct
// fields; map keys sorted), so equal truths give equal bytes.
func WriteTruth(w io.Writer, t *Truth) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("cannot write truth: %w", err)
	}
	return nil
}

// ReadTruth reads what WriteTruth wrote.
func ReadTruth(r io.Reader) (*Truth, error) {
	dec := json.NewDecoder(r)
	var t Truth
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("cannot read truth: %w", err)
	}
	return &t, nil
}
