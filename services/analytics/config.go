package analytics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Config configures the analytics service.
type Config struct {
	// Durable is the name of this replica's consumers (one on CONTACTS, one
	// on ORDERS) and of its snapshot (default "analytics"). Every replica
	// keeps the whole aggregate, so replicas need distinct names.
	Durable string
	// TimeZone is the IANA time zone that days are counted in (default
	// "UTC"). Changing it rebuilds the aggregate from the streams.
	TimeZone string
	// SnapshotEvery is how often the aggregate is saved when it changed
	// (default 30s). A restart replays only the events after the snapshot.
	SnapshotEvery time.Duration
	// SnapshotEvents saves the aggregate sooner, once this many events were
	// applied since the last snapshot (default 100000).
	SnapshotEvents int
	// Batch is the most events fetched and applied at once (default 500).
	Batch int
	// AckWait is how long a fetched batch may take before NATS redelivers
	// it (default 60s).
	AckWait time.Duration
	// CostPerMinute prices contacts that carry a handle time at handle
	// minutes x CostPerMinute; 0 (the default) prices every contact at its
	// channel's cost per contact.
	CostPerMinute float64
	// RepeatWindow is the default window of GET /v1/metrics/repeat and the
	// window of nocontact_repeat_contact_ratio (default 7 days).
	RepeatWindow time.Duration
	// MaxRepeatWindow is the longest repeat window a query may ask for, and
	// how long contacts are remembered by id to reject duplicates and to
	// relabel them exactly (default 30 days; at most 365 days).
	MaxRepeatWindow time.Duration
	// MetricReasons is how many reasons get their own label in
	// nocontact_cpx (the most contacted over the trailing 7 days); the
	// others are folded into reason="other" (default 10).
	MetricReasons int
	// MaxProducts bounds the distinct products counted (default 10000);
	// later products are counted as "(other)".
	MaxProducts int
	// MaxUnits bounds the unit kinds POST /v1/units may create (default 50).
	MaxUnits int
	// SnapshotReplicas is how many copies of the snapshot bucket a cluster
	// keeps (default 1; use the stream replicas).
	SnapshotReplicas int
}

func (c *Config) setDefaults() {
	if c.Durable == "" {
		c.Durable = "analytics"
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 30 * time.Second
	}
	if c.SnapshotEvents <= 0 {
		c.SnapshotEvents = 100000
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.RepeatWindow <= 0 {
		c.RepeatWindow = 7 * 24 * time.Hour
	}
	if c.MaxRepeatWindow <= 0 {
		c.MaxRepeatWindow = 30 * 24 * time.Hour
	}
	if c.MetricReasons <= 0 {
		c.MetricReasons = 10
	}
	if c.MaxProducts <= 0 {
		c.MaxProducts = 10000
	}
	if c.MaxUnits <= 0 {
		c.MaxUnits = 50
	}
	if c.SnapshotReplicas <= 0 {
		c.SnapshotReplicas = 1
	}
}

// Validate reports configuration mistakes.
func (c *Config) Validate() error {
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("analytics: time zone %q: %w", c.TimeZone, err)
	}
	if c.CostPerMinute < 0 {
		return errors.New("analytics: cost per minute must not be negative")
	}
	if c.MaxRepeatWindow > 365*24*time.Hour || c.MaxRepeatWindow%time.Hour != 0 {
		return fmt.Errorf("analytics: longest repeat window %s must be whole hours, at most 365 days", c.MaxRepeatWindow)
	}
	if c.RepeatWindow > c.MaxRepeatWindow || c.RepeatWindow%time.Hour != 0 {
		return fmt.Errorf("analytics: repeat window %s must be whole hours, at most the longest window %s", c.RepeatWindow, c.MaxRepeatWindow)
	}
	if c.MaxProducts > 1<<24 {
		return fmt.Errorf("analytics: at most %d products", 1<<24)
	}
	return nil
}

// Deps are the service's connections.
type Deps struct {
	Bus      *bus.Bus
	Taxonomy *taxonomy.Taxonomy
	Metrics  *bus.Metrics
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Now is the clock (default time.Now); "today" and the trailing
	// 7 days of the metrics follow it.
	Now func() time.Time
}
