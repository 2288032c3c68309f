package defects

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus metrics. The defect gauges are
// computed from the detector at scrape time, so they never drift from it.
type metrics struct {
	s             *Service
	andonActive   *prometheus.Desc
	defects       *prometheus.Desc
	opened        *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	contactSecs   prometheus.Histogram
	snapshotBytes prometheus.Gauge
	lag           *prometheus.Desc
}

func newMetrics(s *Service) *metrics {
	return &metrics{
		s: s,
		andonActive: prometheus.NewDesc("nocontact_andon_active",
			"1 for every defect whose andon cord is pulled and not yet taken by its owner (only active andons are exported).",
			[]string{"defect", "owner"}, nil),
		defects: prometheus.NewDesc("nocontact_defects",
			"Process defects by status and BIV kind (mistake, rework, breakdown, inefficiency, variation).",
			[]string{"status", "biv"}, nil),
		lag: prometheus.NewDesc("nocontact_defects_event_time_lag_seconds",
			"How far the latest contact time the detector has seen is behind the wall clock.", nil, nil),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_defects_opened_total", Help: "Defects opened, by kind (subject, text, rework).",
		}, []string{"kind"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_defects_webhook_deliveries_total", Help: "Andon webhook deliveries by result (delivered, retried, failed, dropped).",
		}, []string{"result"}),
		contactSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nocontact_defects_detect_seconds", Help: "Detector time per contact, measured per batch.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nocontact_defects_snapshot_bytes", Help: "Size of the latest detector snapshot.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.andonActive
	ch <- m.defects
	ch <- m.lag
	m.opened.Describe(ch)
	m.webhooks.Describe(ch)
	m.contactSecs.Describe(ch)
	m.snapshotBytes.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.s.mu.Lock()
	sum := m.s.det.Summarize()
	wm := m.s.det.Watermark()
	m.s.mu.Unlock()
	for _, a := range sum.Andons {
		ch <- prometheus.MustNewConstMetric(m.andonActive, prometheus.GaugeValue, 1, a.DefectID, a.Owner)
	}
	// Every status and kind, zeros included, so that dashboards and
	// alerts see a defect count go to zero.
	for _, st := range Statuses() {
		for _, biv := range bivKinds {
			ch <- prometheus.MustNewConstMetric(m.defects, prometheus.GaugeValue, float64(sum.ByStatusBIV[[2]string{st, biv}]), st, biv)
		}
	}
	if !wm.IsZero() {
		ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, m.s.cfg.Now().Sub(wm).Seconds())
	}
	m.opened.Collect(ch)
	m.webhooks.Collect(ch)
	m.contactSecs.Collect(ch)
	m.snapshotBytes.Collect(ch)
}

func (m *metrics) observeBatch(n int, took time.Duration) {
	if n > 0 {
		m.contactSecs.Observe(took.Seconds() / float64(n))
	}
}
