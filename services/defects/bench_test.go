package defects

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// BenchmarkOpeningLatency measures, through JetStream and the running
// service with its default detector, how long after the contact that makes
// an issue happen twice is published its nc.defect.opened event arrives,
// while background contacts stream in at 1,000 a second. Each iteration is
// one opening: a new product that two customers report broken. The
// background has 20 products with everyday damaged-item contacts, learned
// over 8 days of event time first.
func BenchmarkOpeningLatency(b *testing.B) {
	bs := tu.Bus(b)
	const perDay = 400 // background contacts a day of event time
	step := time.Duration(24 * float64(time.Hour) / perDay)
	at := t0.Add(-8 * 24 * time.Hour)
	n := 0
	next := func(product, customer string) *pb.ContactTagged {
		n++
		at = at.Add(step)
		return &pb.ContactTagged{
			Contact: &pb.Contact{Id: fmt.Sprint("b", n), CustomerId: customer, OrderId: fmt.Sprint("o", n), Product: product,
				Channel: "chat", Text: "The item arrived broken.", ReceivedAt: timestamppb.New(at)},
			Tag: &pb.Tag{Reason: "damaged_item", Confidence: 1},
		}
	}
	background := func() *pb.ContactTagged { return next(fmt.Sprint("P", n%20), fmt.Sprint("c", n)) }
	pub := func(evs ...*pb.ContactTagged) {
		out := make([]bus.Event, len(evs))
		for i, e := range evs {
			out[i] = bus.Event{Subject: bs.Subjects.ContactTagged, Msg: e}
		}
		if err := bs.Publish(context.Background(), out...); err != nil {
			b.Fatal(err)
		}
	}
	var warm []*pb.ContactTagged
	for range 8 * perDay {
		warm = append(warm, background())
	}
	pub(warm...)

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	got := make(chan struct{}, 1024)
	sub, err := bs.NC.Subscribe(bs.Subjects.Prefix+".defect.opened", func(m *nats.Msg) {
		var ev pb.DefectOpened
		if proto.Unmarshal(m.Data, &ev) != nil {
			return
		}
		mu.Lock()
		if t, ok := sent[ev.ContactId]; ok {
			lat = append(lat, time.Since(t))
			got <- struct{}{}
		}
		mu.Unlock()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	svc, err := New(ctx, Config{Now: func() time.Time { return t0 }, MaxWait: benchMaxWait}, Deps{Bus: bs, Taxonomy: testTaxonomy(b), Metrics: bus.NewMetrics(reg), Log: tu.Logger(b), Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	tu.Eventually(b, 60*time.Second, func() bool {
		svc.mu.Lock()
		defer svc.mu.Unlock()
		return svc.det.Covered(coverContacts) >= uint64(len(warm))
	}, "warm-up not consumed")

	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond) // 10 contacts every 10 ms
	defer tick.Stop()
	opened := 0
	for i := 0; opened < b.N; i++ {
		<-tick.C
		batch := make([]*pb.ContactTagged, 0, 10)
		for range 8 {
			batch = append(batch, background())
		}
		// Every 100 ms a new product breaks for two customers.
		if i%10 == 0 && i/10 < b.N {
			p := fmt.Sprint("NEW-", i)
			first, second := next(p, "x"+p), next(p, "y"+p)
			batch = append(batch, first, second)
		} else {
			batch = append(batch, background(), background())
		}
		now := time.Now()
		mu.Lock()
		for _, e := range batch {
			sent[e.Contact.Id] = now
		}
		mu.Unlock()
		pub(batch...)
		for more := true; more; {
			select {
			case <-got:
				opened++
			default:
				more = false
			}
		}
		if i > 10*b.N+1000 {
			b.Fatalf("only %d of %d defects opened", opened, b.N)
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Milliseconds()) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// benchMaxWait overrides the fetch wait (0: the default).
var benchMaxWait = time.Duration(0)
