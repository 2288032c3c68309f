package analytics

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/pb"
)

// benchEvents returns n tagged contacts spread over a year in time order:
// 25 reasons, 7 channels, 50 products, 4 locales, 200,000 customers.
func benchEvents(tb testing.TB, n int) []*pb.ContactTagged {
	tb.Helper()
	tax := testTaxonomy(tb)
	var reasons []string
	for _, r := range tax.Reasons {
		if r.MergedInto == "" && len(reasons) < 25 {
			reasons = append(reasons, r.Code)
		}
	}
	channels := []string{"phone", "email", "chat", "social", "web", "self_service", "other"}
	locales := []string{"en", "zh", "de", "fr"}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 365 * 24 * time.Hour / time.Duration(n)
	out := make([]*pb.ContactTagged, n)
	for i := range out {
		c := &pb.Contact{
			Id:            fmt.Sprintf("01bench%019d", i),
			Channel:       channels[rng.IntN(len(channels))],
			ReceivedAt:    timestamppb.New(start.Add(time.Duration(i) * step)),
			CustomerId:    fmt.Sprintf("cust-%d", rng.IntN(200000)),
			Product:       fmt.Sprintf("sku-%d", rng.IntN(50)),
			Locale:        locales[rng.IntN(len(locales))],
			HandleSeconds: float64(rng.IntN(600)),
		}
		if rng.IntN(2) == 0 {
			c.OrderId = fmt.Sprintf("order-%d", rng.IntN(500000))
		}
		out[i] = &pb.ContactTagged{Contact: c, Tag: &pb.Tag{Reason: reasons[rng.IntN(len(reasons))], Confidence: 0.9}}
	}
	return out
}

// BenchmarkAggregate measures counting tagged contacts (repeat detection
// and the duplicate memory included); run with -cpu 1 for one core. The
// events are fresh contacts: every pool of 200,000 starts a new aggregate.
func BenchmarkAggregate(b *testing.B) {
	events := benchEvents(b, 200000)
	cfg := AggregateConfig{Location: zone(b, testZone), Taxonomy: testTaxonomy(b)}
	a := NewAggregate(cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(events) == 0 && i > 0 {
			b.StopTimer()
			a = NewAggregate(cfg)
			b.StartTimer()
		}
		if _, err := a.Tag(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAggregateDecode is BenchmarkAggregate with the protobuf decoding
// the consumer does for each message.
func BenchmarkAggregateDecode(b *testing.B) {
	events := benchEvents(b, 200000)
	payloads := make([][]byte, len(events))
	for i, ev := range events {
		data, err := proto.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = data
	}
	cfg := AggregateConfig{Location: zone(b, testZone), Taxonomy: testTaxonomy(b)}
	a := NewAggregate(cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(events) == 0 && i > 0 {
			b.StopTimer()
			a = NewAggregate(cfg)
			b.StartTimer()
		}
		var ev pb.ContactTagged
		if err := proto.Unmarshal(payloads[i%len(payloads)], &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Tag(&ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// syntheticYear fills an aggregate with 10,000,000 contacts over 365 days x
// 25 reasons x 7 channels x 3 locales x 5 products (about 960,000 cells) and
// 20,000 orders a day, directly into its cells.
func syntheticYear(tb testing.TB) (*Aggregate, Range) {
	tb.Helper()
	a := NewAggregate(AggregateConfig{Location: time.UTC, Taxonomy: testTaxonomy(tb)})
	var reasons []uint16
	for _, r := range a.cfg.Taxonomy.Reasons {
		if r.MergedInto == "" && len(reasons) < 25 {
			reasons = append(reasons, uint16(a.reasons.id(r.Code)))
		}
	}
	var channels, locales []uint16
	var products []uint32
	for _, c := range []string{"phone", "email", "chat", "social", "web", "self_service", "other"} {
		channels = append(channels, uint16(a.channels.id(c)))
	}
	for _, l := range []string{"en", "zh", "de"} {
		locales = append(locales, uint16(a.locales.id(l)))
	}
	for p := range 5 {
		products = append(products, a.products.id(fmt.Sprintf("sku-%d", p)))
	}
	first := day(tb, "2026-01-01")
	r := Range{From: first, To: first + 364}
	cells := 365 * len(reasons) * len(channels) * len(locales) * len(products)
	perCell, extra := 10_000_000/cells, 10_000_000%cells
	n := 0
	for d := r.From; d <= r.To; d++ {
		da := a.day(d)
		for _, re := range reasons {
			for _, ch := range channels {
				for _, lo := range locales {
					for _, pr := range products {
						c := int64(perCell)
						if n < extra {
							c++
						}
						n++
						da.addContact(dims{reason: re, channel: ch, locale: lo, product: pr}, stat{contacts: c, timed: c / 2, handle: float64(c) * 150})
					}
				}
			}
		}
		a.addUnits(UnitOrder, d, 20000)
	}
	return a, r
}

func TestSyntheticYearHoldsTenMillionContacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large aggregate")
	}
	a, r := syntheticYear(t)
	rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalMonth, By: ByReason, Range: r})
	if rep.Overall.Total.Contacts != 10_000_000 || len(rep.Series) != 25 || rep.Overall.Total.Units != 365*20000 {
		t.Fatalf("total %+v, %d series", rep.Overall.Total, len(rep.Series))
	}
}

// BenchmarkCPXQuery answers GET /v1/metrics/cpx?interval=day&by=reason over
// 365 days and 25 reasons with 10 million contacts counted: the query and
// its JSON encoding. It reports the p50 and p99 latency of the iterations.
func BenchmarkCPXQuery(b *testing.B) {
	for _, by := range []string{ByReason, ByChannel, ByProduct, ByOwner} {
		b.Run("by="+by, func(b *testing.B) {
			benchQuery(b, func(a *Aggregate, r Range) any {
				return a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, By: by, Range: r, Limit: defaultSeriesLimit})
			})
		})
	}
	b.Run("pareto", func(b *testing.B) {
		benchQuery(b, func(a *Aggregate, r Range) any { return a.Pareto(r) })
	})
	b.Run("repeat", func(b *testing.B) {
		benchQuery(b, func(a *Aggregate, r Range) any { return a.Repeat(r, 168) })
	})
}

func benchQuery(b *testing.B, query func(a *Aggregate, r Range) any) {
	a, r := syntheticYear(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := json.NewEncoder(io.Discard).Encode(query(a, r)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkSnapshot encodes and decodes the synthetic year (10 million
// contacts in about 960,000 cells), reporting the snapshot's size.
func BenchmarkSnapshot(b *testing.B) {
	a, _ := syntheticYear(b)
	data, err := a.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		for range b.N {
			if _, err := a.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(data)), "bytes")
	})
	b.Run("decode", func(b *testing.B) {
		for range b.N {
			c := NewAggregate(a.cfg)
			if err := c.UnmarshalBinary(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
