package analytics

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// trailingDays is the window of the CPX, matrix, cost and repeat gauges:
// today (in the configured time zone) and the 6 days before.
const trailingDays = 7

// foldedReason is the reason label of the reasons folded together.
const foldedReason = "other"

func (s *Service) registerMetrics() {
	s.m = serviceMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_analytics_events_total",
			Help: "Events the analytics service handled, by kind (tagged, relabeled, order, units) and result (counted, duplicate, moved, unchanged, redelivered, invalid).",
		}, []string{"kind", "result"}),
		snapshotFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_analytics_snapshot_failures_total", Help: "Aggregate snapshots that could not be saved.",
		}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nocontact_analytics_snapshot_bytes", Help: "Size of the last aggregate snapshot saved.",
		}),
		snapshotTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nocontact_analytics_snapshot_timestamp_seconds", Help: "When the last aggregate snapshot was saved (unix time).",
		}),
	}
	s.deps.Registry.MustRegister(s.m.events, s.m.snapshotFailures, s.m.snapshotBytes, s.m.snapshotTime, newCollector(s))
}

// collector computes the CPX gauges from the aggregate at each scrape.
type collector struct {
	s                                                                             *Service
	descContacts, descUnits, descCPX, descRepeat, descMatrix, descCost, descCells *prometheus.Desc
	descRemembered                                                                *prometheus.Desc
}

// newCollector returns the collector of the service's CPX gauges.
func newCollector(s *Service) *collector {
	return &collector{
		s: s,
		descContacts: prometheus.NewDesc("nocontact_contacts_total",
			"Contacts counted, by reason as first tagged (relabels do not move it, so it never goes down) and channel. Reasons outside the taxonomy are folded into reason=\"other\", channels outside it into channel=\"other\".",
			[]string{"reason", "channel"}, nil),
		descUnits: prometheus.NewDesc("nocontact_units_total",
			"Units counted (orders by placed day, other units as last recorded per day), by unit.",
			[]string{"unit"}, nil),
		descCPX: prometheus.NewDesc("nocontact_cpx",
			"Contacts per unit over the trailing 7 days (today included) in the configured time zone, by unit and reason: the most contacted reasons by name, the others summed as reason=\"other\", and reason=\"all\" overall. Absent when no units were counted.",
			[]string{"unit", "reason"}, nil),
		descRepeat: prometheus.NewDesc("nocontact_repeat_contact_ratio",
			"Share of the contacts of the trailing 7 days that repeat a contact of the same customer about the same reason (and order, when known) within the repeat window.",
			nil, nil),
		descMatrix: prometheus.NewDesc("nocontact_matrix_contacts",
			"Contacts of the trailing 7 days by value/irritant matrix action (eliminate, automate, simplify, leverage, or unplaced).",
			[]string{"action"}, nil),
		descCost: prometheus.NewDesc("nocontact_contact_cost",
			"Contact cost of the trailing 7 days allocated to the owners of the reasons.",
			[]string{"owner"}, nil),
		descCells: prometheus.NewDesc("nocontact_analytics_cells",
			"Cells of the analytics aggregate (day x reason x channel x locale x product combinations counted).",
			nil, nil),
		descRemembered: prometheus.NewDesc("nocontact_analytics_remembered_contacts",
			"Contacts remembered by id within the repeat horizon (duplicates and exact relabels).",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.descContacts, c.descUnits, c.descCPX, c.descRepeat, c.descMatrix, c.descCost, c.descCells, c.descRemembered} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	today := DayOf(s.deps.Now(), s.loc)
	var f trailingFigures
	var all allTimeFigures
	var st Stats
	s.read(func(a *Aggregate) {
		f = a.trailing(Range{From: today - trailingDays + 1, To: today}, int(s.cfg.RepeatWindow/time.Hour))
		all = a.allTime()
		st = a.Stats()
	})
	for k, n := range all.contacts {
		ch <- prometheus.MustNewConstMetric(c.descContacts, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	for u, n := range all.units {
		ch <- prometheus.MustNewConstMetric(c.descUnits, prometheus.CounterValue, float64(n), u)
	}
	reasons := topReasons(f.byReason, s.cfg.MetricReasons)
	for unit, units := range f.units {
		if units == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.descCPX, prometheus.GaugeValue, float64(f.contacts)/float64(units), unit, "all")
		for _, r := range reasons {
			ch <- prometheus.MustNewConstMetric(c.descCPX, prometheus.GaugeValue, float64(r.n)/float64(units), unit, r.reason)
		}
	}
	if f.contacts > 0 {
		ch <- prometheus.MustNewConstMetric(c.descRepeat, prometheus.GaugeValue, float64(f.repeats)/float64(f.contacts))
	}
	for action, n := range f.byAction {
		ch <- prometheus.MustNewConstMetric(c.descMatrix, prometheus.GaugeValue, float64(n), action)
	}
	for owner, cost := range f.costByOwner {
		ch <- prometheus.MustNewConstMetric(c.descCost, prometheus.GaugeValue, cost, owner)
	}
	ch <- prometheus.MustNewConstMetric(c.descCells, prometheus.GaugeValue, float64(st.Cells))
	ch <- prometheus.MustNewConstMetric(c.descRemembered, prometheus.GaugeValue, float64(st.Remembered))
}

type reasonCount struct {
	reason string
	n      int64
}

// topReasons keeps the limit most contacted reasons and folds the others
// into "other".
func topReasons(by map[string]int64, limit int) []reasonCount {
	out := make([]reasonCount, 0, len(by))
	for r, n := range by {
		out = append(out, reasonCount{r, n})
	}
	slices.SortFunc(out, func(x, y reasonCount) int { return cmp.Or(cmp.Compare(y.n, x.n), cmp.Compare(x.reason, y.reason)) })
	if len(out) <= limit {
		return out
	}
	var other int64
	for _, r := range out[limit:] {
		other += r.n
	}
	return append(out[:limit:limit], reasonCount{foldedReason, other})
}

// trailingFigures are the figures of the gauges over a range.
type trailingFigures struct {
	contacts    int64
	repeats     int64
	byReason    map[string]int64
	units       map[string]int64
	byAction    map[string]int64
	costByOwner map[string]float64
}

func (a *Aggregate) trailing(r Range, windowHours int) trailingFigures {
	f := trailingFigures{byReason: map[string]int64{}, units: map[string]int64{}, byAction: map[string]int64{}, costByOwner: map[string]float64{}}
	for _, fig := range a.byReason(r) {
		f.contacts += fig.contacts
		f.byReason[fig.code] += fig.contacts
		action := a.actionOf(fig.code)
		if action == "" {
			action = "unplaced"
		}
		f.byAction[action] += fig.contacts
		f.costByOwner[a.ownerOf(fig.code)] += fig.cost
	}
	for _, u := range a.UnitNames() {
		f.units[u] = a.unitsIn(u, r)
	}
	f.repeats = a.Repeat(r, windowHours).Overall.Repeats
	return f
}

// allTimeFigures are the counters: contacts as first tagged and units.
type allTimeFigures struct {
	contacts map[[2]string]int64
	units    map[string]int64
}

func (a *Aggregate) allTime() allTimeFigures {
	f := allTimeFigures{contacts: map[[2]string]int64{}, units: map[string]int64{}}
	t := a.cfg.Taxonomy
	for k, n := range a.firstTags {
		reason := a.resolve(a.reasons.names[k>>16])
		if _, ok := t.Reason(reason); t == nil || !ok {
			reason = foldedReason
		}
		channel := a.channels.names[k&0xffff]
		if _, ok := t.Channel(channel); t == nil || !ok {
			channel = foldedReason
		}
		f.contacts[[2]string{reason, channel}] += n
	}
	for u, m := range a.units {
		var n int64
		for _, v := range m {
			n += v
		}
		f.units[u] = n
	}
	if _, ok := f.units[UnitOrder]; !ok {
		f.units[UnitOrder] = 0
	}
	return f
}
