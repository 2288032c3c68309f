package bus

import "github.com/prometheus/client_golang/prometheus"

// MetricForTest returns one consumer counter by a short name.
func MetricForTest(m *Metrics, which, service, consumer string) prometheus.Collector {
	l := prometheus.Labels{"service": service, "consumer": consumer}
	switch which {
	case "processed":
		return m.processed.With(l)
	case "failed":
		return m.failed.With(l)
	case "dead":
		return m.deadLettered.With(l)
	}
	return m.redelivered.With(l)
}
