package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

func received(id, text string) bus.Event {
	return bus.Event{
		Subject: "nc.contact.received",
		ID:      id,
		Msg:     &pb.ContactReceived{Meta: &pb.EventMeta{EventId: id}, Contact: &pb.Contact{Id: id, Text: text}},
	}
}

func startRunner(t *testing.T, b *bus.Bus, cfg bus.ConsumerConfig, h bus.Handler) (*bus.Metrics, func()) {
	t.Helper()
	m := bus.NewMetrics(prometheus.NewRegistry())
	r, err := b.NewRunner(context.Background(), cfg, h, m, tu.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return m, stop
}

func TestProvisionIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	b := tu.BusAt(t, dir)
	if err := b.Provision(context.Background()); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	for _, s := range []string{bus.StreamContacts, bus.StreamOrders, bus.StreamDefects, bus.StreamSelfService, bus.StreamDeadLetters} {
		if _, err := b.JS.Stream(context.Background(), s); err != nil {
			t.Errorf("stream %s: %v", s, err)
		}
	}
}

func TestPublishDeduplicatesByID(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	if err := b.Publish(ctx, received("a", "x"), received("a", "x"), received("b", "y")); err != nil {
		t.Fatal(err)
	}
	s, _ := b.JS.Stream(ctx, bus.StreamContacts)
	info, _ := s.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (same id published twice)", info.State.Msgs)
	}
}

// A poison message goes to the dead-letter subject with its error, and the
// consumer goes on with the messages after it.
func TestPoisonMessageIsDeadLetteredAndConsumerContinues(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	h := bus.PerMessage(4, func(ctx context.Context, msg jetstream.Msg) error {
		var ev pb.ContactReceived
		if err := bus.Decode(msg, &ev); err != nil {
			return err
		}
		mu.Lock()
		seen = append(seen, ev.Contact.Id)
		mu.Unlock()
		return nil
	})
	m, _ := startRunner(t, b, bus.ConsumerConfig{Service: "tagger", Stream: bus.StreamContacts, FilterSubjects: []string{"nc.contact.received"}}, h)
	if err := b.Publish(ctx, received("1", "ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JS.Publish(ctx, "nc.contact.received", []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, received("2", "ok")); err != nil {
		t.Fatal(err)
	}
	tu.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	}, "the messages after the poison one were not processed: %v", seen)

	dlq, err := b.JS.CreateOrUpdateConsumer(ctx, bus.StreamDeadLetters, jetstream.ConsumerConfig{FilterSubject: "nc.dlq.tagger"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := dlq.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var letters []*pb.DeadLetter
	for msg := range mb.Messages() {
		var dl pb.DeadLetter
		if err := bus.Decode(msg, &dl); err != nil {
			t.Fatal(err)
		}
		letters = append(letters, &dl)
	}
	if len(letters) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(letters))
	}
	dl := letters[0]
	if string(dl.Data) != "\xff\xff\xff" || dl.Subject != "nc.contact.received" || dl.Error == "" || dl.StreamSequence != 2 {
		t.Errorf("dead letter = %+v, want the original payload, subject, sequence 2 and an error", dl)
	}
	if got := testutil.ToFloat64(metric(m, "dead")); got != 1 {
		t.Errorf("dead_lettered metric = %v, want 1", got)
	}
}

func metric(m *bus.Metrics, which string) prometheus.Collector {
	return bus.MetricForTest(m, which, "tagger", "tagger")
}

// A transient failure is retried after a backoff and then succeeds; one
// that keeps failing is dead-lettered after MaxDeliver deliveries.
func TestTransientFailuresAreRetriedThenDeadLettered(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	var attempts sync.Map
	h := bus.PerMessage(2, func(ctx context.Context, msg jetstream.Msg) error {
		var ev pb.ContactReceived
		if err := bus.Decode(msg, &ev); err != nil {
			return err
		}
		n, _ := attempts.LoadOrStore(ev.Contact.Id, new(atomic.Int32))
		c := n.(*atomic.Int32).Add(1)
		switch ev.Contact.Text {
		case "flaky":
			if c < 3 {
				return errors.New("index busy")
			}
			return nil
		case "broken":
			return errors.New("always broken")
		}
		return nil
	})
	m, _ := startRunner(t, b, bus.ConsumerConfig{
		Service: "tagger", Stream: bus.StreamContacts, FilterSubjects: []string{"nc.contact.received"},
		MaxDeliver: 3, Backoff: func(int) time.Duration { return 50 * time.Millisecond },
	}, h)
	if err := b.Publish(ctx, received("f", "flaky"), received("b", "broken")); err != nil {
		t.Fatal(err)
	}
	tu.Eventually(t, 15*time.Second, func() bool {
		return testutil.ToFloat64(metric(m, "processed")) == 1 && testutil.ToFloat64(metric(m, "dead")) == 1
	}, "flaky message not processed or broken one not dead-lettered")
	if got := testutil.ToFloat64(metric(m, "failed")); got != 4 {
		t.Errorf("failed deliveries = %v, want 4 (flaky twice, broken twice before the third is dead-lettered)", got)
	}
}

// A large backlog drains to the end, every message once.
func TestLargeBacklogDrains(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	const n = 20000
	events := make([]bus.Event, 0, 1000)
	for i := 0; i < n; i++ {
		events = append(events, received(fmt.Sprint(i), "text"))
		if len(events) == cap(events) {
			if err := b.Publish(ctx, events...); err != nil {
				t.Fatal(err)
			}
			events = events[:0]
		}
	}
	var count atomic.Int64
	seen := make([]atomic.Bool, n)
	var dups atomic.Int64
	h := func(ctx context.Context, batch []jetstream.Msg) []error {
		for _, msg := range batch {
			var ev pb.ContactReceived
			if err := bus.Decode(msg, &ev); err != nil {
				t.Error(err)
				continue
			}
			var i int
			fmt.Sscan(ev.Contact.Id, &i)
			if seen[i].Swap(true) {
				dups.Add(1)
			}
			count.Add(1)
		}
		return nil
	}
	startRunner(t, b, bus.ConsumerConfig{Service: "indexer", Stream: bus.StreamContacts, FilterSubjects: []string{"nc.contact.received"}, Batch: 500}, h)
	tu.Eventually(t, 60*time.Second, func() bool { return count.Load() >= n }, "drained %d of %d", count.Load(), n)
	if dups.Load() != 0 {
		t.Errorf("%d messages processed twice", dups.Load())
	}
}

// Stopping a runner finishes and acks the batch in hand: nothing is lost
// and nothing is redone by the next runner on the same durable consumer.
func TestGracefulStopAcksInFlightBatch(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if err := b.Publish(ctx, received(fmt.Sprint(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	started := make(chan struct{})
	release := make(chan struct{})
	var first atomic.Int64
	var once sync.Once
	h1 := func(ctx context.Context, batch []jetstream.Msg) []error {
		once.Do(func() { close(started) })
		<-release
		first.Add(int64(len(batch)))
		return nil
	}
	cfg := bus.ConsumerConfig{Service: "indexer", Stream: bus.StreamContacts, FilterSubjects: []string{"nc.contact.received"}, Batch: 10}
	_, stop := startRunner(t, b, cfg, h1)
	<-started
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	stop()
	var second atomic.Int64
	startRunner(t, b, cfg, func(ctx context.Context, batch []jetstream.Msg) []error {
		second.Add(int64(len(batch)))
		return nil
	})
	tu.Eventually(t, 10*time.Second, func() bool { return first.Load()+second.Load() == 50 }, "processed %d+%d of 50", first.Load(), second.Load())
	time.Sleep(300 * time.Millisecond)
	if total := first.Load() + second.Load(); total != 50 {
		t.Fatalf("processed %d messages, want exactly 50", total)
	}
}

func TestIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := bus.NewIDAt(t0), bus.NewIDAt(t0.Add(time.Millisecond))
	if len(a) != 26 || !(a < b) {
		t.Fatalf("ids %q, %q: want 26 chars, ordered by time", a, b)
	}
	if bus.NewIDAt(t0) == a {
		t.Fatal("two ids at the same instant are equal")
	}
}

func TestWriteKeysIsCompareAndSet(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	res := b.WriteKeys(ctx, bus.BucketContactIDs, []bus.KeyWrite{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}})
	if res[0].Err != nil || res[0].Conflict || res[0].Revision == 0 || res[1].Revision == 0 {
		t.Fatalf("creates: %+v", res)
	}
	again := b.WriteKeys(ctx, bus.BucketContactIDs, []bus.KeyWrite{
		{Key: "a", Value: []byte("x")},                            // create of an existing key
		{Key: "b", Value: []byte("3"), Revision: res[1].Revision}, // update at the right revision
		{Key: "b", Value: []byte("4"), Revision: res[1].Revision}, // stale revision
	})
	if !again[0].Conflict || again[1].Conflict || again[1].Err != nil || !again[2].Conflict {
		t.Fatalf("second round: %+v, want conflict, ok, conflict", again)
	}
	kv, _ := b.KeyValue(ctx, bus.BucketContactIDs)
	for key, want := range map[string]string{"a": "1", "b": "3"} {
		e, err := kv.Get(ctx, key)
		if err != nil || string(e.Value()) != want {
			t.Errorf("%s = %v %v, want %s", key, e, err, want)
		}
	}
}
