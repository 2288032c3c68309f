package demorun_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/demo"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/services/defects"
)

// demoHistory is the default demo history (seed 1, 90 days): its contacts
// tagged by the keyword rules, and its order times.
type demoHistory struct {
	contacts []defects.Contact
	orders   []time.Time
	err      error
}

// history generates the benchmark history once.
var history = sync.OnceValue(func() (h demoHistory) {
	tax, err := taxonomy.Default()
	if err != nil {
		return demoHistory{err: err}
	}
	m := taxonomy.NewMatcher(tax)
	gen, err := demo.New(demo.Config{Seed: 1})
	if err != nil {
		return demoHistory{err: err}
	}
	var cs []defects.Contact
	var orders []time.Time
	for {
		day, ok := gen.Next()
		if !ok {
			break
		}
		for _, o := range day.Orders {
			orders = append(orders, o.PlacedAt)
		}
		for _, c := range day.Contacts {
			text := c.Text
			if c.Subject != "" {
				text = c.Subject + "\n" + c.Text
			}
			res := m.Match(text, c.Locale)
			reason := res.Reason
			if reason == "" || res.Confidence < 0.5 {
				reason = "unclassified"
			}
			cs = append(cs, defects.Contact{
				ID: "id-" + c.ExternalID, ExternalID: c.ExternalID, CustomerID: c.CustomerID, OrderID: c.OrderID,
				Reason: reason, Channel: c.Channel, Product: c.Product, Text: c.Text, Metadata: c.Metadata, ReceivedAt: c.ReceivedAt,
			})
		}
	}
	return demoHistory{contacts: cs, orders: orders}
})

// BenchmarkDetector measures the detector alone on the 90-day demo history
// (about 40,000 contacts and 330,000 orders): run with -cpu 1 for one core.
func BenchmarkDetector(b *testing.B) {
	h := history()
	if h.err != nil {
		b.Fatal(h.err)
	}
	cs, orders := h.contacts, h.orders
	tax, err := taxonomy.Default()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		det, err := defects.NewDetector(defects.DetectorConfig{}, tax, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		oi := 0
		for _, c := range cs {
			for oi < len(orders) && !orders[oi].After(c.ReceivedAt) {
				det.CountOrder(orders[oi])
				oi++
			}
			det.Observe(c)
		}
		det.Verify()
	}
	b.ReportMetric(float64(len(cs)*b.N)/time.Since(start).Seconds(), "contacts/s")
}
