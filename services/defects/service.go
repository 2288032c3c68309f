// Package defects turns repeated issues into owned process defects (Mr.
// BIV): it consumes tagged and relabeled contacts, applies the twice rule
// (the same reason about the same subject, or in near-identical words, from
// two customers beyond the everyday rate; or one customer again about the
// same order), keeps each defect's lifecycle from open to verified, pulls
// the andon cord when a defect spikes or comes back after a fix, and
// verifies fixes by the data.
//
// The detector (Detector) is plain Go and deterministic; this file wires
// it to JetStream: a durable consumer for contacts and one for orders, the
// `defects` key-value bucket (id -> JSON) that other processes read, and
// snapshots of the detector's working state in the `defects-state` object
// store, with the stream sequences they cover.
//
// Only one replica may run the service: the detector is one ordered
// sequence of decisions, and two replicas sharing the durable would each
// see half the contacts. Run it as a single replica (Kubernetes:
// replicas 1, strategy Recreate); it restarts from its snapshot in seconds.
package defects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Buckets the service provisions (names before the installation prefix).
const (
	// BucketDefects maps a defect id to its JSON (the Defect type).
	BucketDefects = "defects"
	// BucketState is the object store of detector snapshots.
	BucketState = "defects-state"
	// snapshotObject is the snapshot's name in BucketState.
	snapshotObject = "detector"
)

// Streams' keys in the detector's covered sequences.
const (
	coverContacts = "contacts"
	coverOrders   = "orders"
)

// Deps are the service's connections.
type Deps struct {
	Bus      *bus.Bus
	Taxonomy *taxonomy.Taxonomy
	Metrics  *bus.Metrics
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// HTTPClient sends andon webhooks (default: 10s timeout).
	HTTPClient *http.Client
}

// Service is the defects service.
type Service struct {
	cfg  Config
	deps Deps
	log  zerolog.Logger

	mu  sync.Mutex // guards det
	det *Detector

	kv       jetstream.KeyValue
	state    jetstream.ObjectStore
	contacts *bus.Runner
	orders   *bus.Runner
	notifier *notifier
	metrics  *metrics

	flushMu sync.Mutex // serialises flushes; guards outbox
	outbox  outbox

	runCtx context.Context
}

// outbox holds what the detector decided but is not yet durable: defect
// records to write and events to publish. A batch is acknowledged only once
// its outbox is flushed.
type outbox struct {
	writes map[string][]byte
	events []bus.Event
}

// New provisions the buckets and consumers, restores the detector from its
// snapshot and catches up on what the snapshot does not cover, and returns
// the service.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Taxonomy == nil || deps.Metrics == nil || deps.Registry == nil {
		return nil, errors.New("defects: needs a bus, a taxonomy, consumer metrics and a registry")
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Service{
		cfg: cfg, deps: deps, log: deps.Log.With().Str("service", "defects").Logger(),
		outbox: outbox{writes: map[string][]byte{}}, runCtx: ctx,
	}
	det, err := NewDetector(cfg.Detector, deps.Taxonomy, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("defects: %w", err)
	}
	s.det = det
	if err := s.provision(ctx); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s)
	if err := deps.Registry.Register(s.metrics); err != nil {
		return nil, fmt.Errorf("defects: register metrics: %w", err)
	}
	s.notifier = newNotifier(cfg, deps.HTTPClient, s.metrics, s.log)
	if err := s.restore(ctx); err != nil {
		return nil, err
	}
	s.contacts, err = deps.Bus.NewRunner(ctx, bus.ConsumerConfig{
		Service: "defects", Durable: cfg.Durable, Stream: bus.StreamContacts,
		FilterSubjects: []string{deps.Bus.Subjects.ContactTagged, deps.Bus.Subjects.ContactRelabeled},
		Batch:          cfg.Batch, AckWait: cfg.AckWait, MaxWait: cfg.MaxWait,
	}, s.handleContacts, deps.Metrics, s.log)
	if err != nil {
		return nil, err
	}
	s.orders, err = deps.Bus.NewRunner(ctx, bus.ConsumerConfig{
		Service: "defects", Durable: cfg.Durable + "-orders", Stream: bus.StreamOrders,
		FilterSubjects: []string{deps.Bus.Subjects.OrderCreated},
		Batch:          max(cfg.Batch, 1000), AckWait: cfg.AckWait, MaxWait: cfg.MaxWait,
	}, s.handleOrders, deps.Metrics, s.log)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) provision(ctx context.Context) error {
	b := s.deps.Bus
	// As many copies as the installation keeps of its streams.
	replicas := 1
	if st, err := b.JS.Stream(ctx, b.Stream(bus.StreamContacts)); err == nil {
		replicas = max(1, st.CachedInfo().Config.Replicas)
	}
	kv, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: b.Bucket(BucketDefects), Description: "process defects: id -> JSON", History: 1,
		Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return fmt.Errorf("defects: provision bucket %s: %w", BucketDefects, err)
	}
	st, err := b.JS.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: b.Bucket(BucketState), Description: "defects detector snapshots", Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return fmt.Errorf("defects: provision object store %s: %w", BucketState, err)
	}
	s.kv, s.state = kv, st
	return nil
}

// Run consumes contacts and orders and delivers webhooks until ctx ends;
// then it saves a snapshot so the next start resumes at once.
func (s *Service) Run(ctx context.Context) error {
	s.runCtx = ctx
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, r := range []*bus.Runner{s.contacts, s.orders} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.notifier.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.cfg.SnapshotEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.snapshot(ctx); err != nil {
					s.log.Warn().Err(err).Msg("snapshot")
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.flush(sctx); err != nil {
		s.log.Warn().Err(err).Msg("flush at stop; the snapshot keeps what is left")
	}
	err := s.snapshot(sctx)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return err
}

// handleContacts applies a batch in stream order. A message the detector
// has already covered (a redelivery) is skipped; the batch is acknowledged
// once the defects it changed are written and their events published.
func (s *Service) handleContacts(_ context.Context, batch []jetstream.Msg) []error {
	errs := make([]error, len(batch))
	start := time.Now()
	s.mu.Lock()
	var events []Event
	for i, msg := range batch {
		md, err := msg.Metadata()
		if err != nil {
			errs[i] = bus.Permanent(fmt.Errorf("metadata: %w", err))
			continue
		}
		seq := md.Sequence.Stream
		if seq <= s.det.Covered(coverContacts) {
			continue
		}
		evs, err := s.apply(msg.Subject(), msg.Data())
		if err != nil {
			errs[i] = bus.Permanent(err)
		}
		events = append(events, evs...)
		s.det.SetCovered(coverContacts, seq)
	}
	events = append(events, s.det.Verify()...)
	s.stage(events, false)
	s.mu.Unlock()
	s.metrics.observeBatch(len(batch), time.Since(start))
	if err := s.flushRetrying(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// apply decodes one contact event and hands it to the detector.
func (s *Service) apply(subject string, data []byte) ([]Event, error) {
	if strings.HasSuffix(subject, ".contact.relabeled") {
		var ev pb.ContactRelabeled
		if err := decode(data, &ev); err != nil {
			return nil, err
		}
		if ev.GetContact().GetId() == "" || ev.GetTag() == nil {
			return nil, errors.New("relabel without contact or tag")
		}
		c := contactOf(ev.Contact, ev.Tag.Reason)
		if ev.Tag.NeedsReview {
			return s.det.Forget(c.ID), nil
		}
		return s.det.Relabel(c), nil
	}
	var ev pb.ContactTagged
	if err := decode(data, &ev); err != nil {
		return nil, err
	}
	if ev.GetContact().GetId() == "" || ev.GetTag() == nil {
		return nil, errors.New("tagged event without contact or tag")
	}
	c := contactOf(ev.Contact, ev.Tag.Reason)
	if ev.Tag.NeedsReview {
		// Waiting for a person: counted in the volume only, not in the
		// numbers of a reason nobody confirmed.
		c.Reason = ""
	}
	return s.det.Observe(c), nil
}

func contactOf(c *pb.Contact, reason string) Contact {
	return Contact{
		ID: c.Id, ExternalID: c.ExternalId, CustomerID: c.CustomerId, OrderID: c.OrderId, Reason: reason,
		Channel: c.Channel, Product: c.Product, Text: c.Text, Metadata: c.Metadata, ReceivedAt: c.GetReceivedAt().AsTime(),
	}
}

// handleOrders counts orders per day, the units of contacts per order.
func (s *Service) handleOrders(_ context.Context, batch []jetstream.Msg) []error {
	errs := make([]error, len(batch))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, msg := range batch {
		md, err := msg.Metadata()
		if err != nil {
			errs[i] = bus.Permanent(fmt.Errorf("metadata: %w", err))
			continue
		}
		if md.Sequence.Stream <= s.det.Covered(coverOrders) {
			continue
		}
		var ev pb.OrderCreated
		if err := decode(msg.Data(), &ev); err != nil {
			errs[i] = bus.Permanent(err)
		} else if ev.GetOrder().GetPlacedAt() != nil {
			s.det.CountOrder(ev.Order.PlacedAt.AsTime())
		}
		s.det.SetCovered(coverOrders, md.Sequence.Stream)
	}
	return errs
}

// stage turns the detector's events and changed defects into the outbox.
// With replay (catching up after a crash) the events were published before
// and only the defect records are written. s.mu is held.
func (s *Service) stage(events []Event, replay bool) {
	dirty := s.det.TakeDirty()
	if len(dirty) == 0 && len(events) == 0 {
		return
	}
	copies := map[string]*Defect{}
	for _, id := range dirty {
		if d, ok := s.det.Get(id); ok {
			copies[id] = d
		}
	}
	get := func(id string) *Defect {
		if d := copies[id]; d != nil {
			return d
		}
		d, _ := s.det.Get(id)
		copies[id] = d
		return d
	}
	var staged []bus.Event
	var pulls []*Defect
	if !replay {
		for _, e := range events {
			d := get(e.DefectID)
			if d == nil {
				continue
			}
			if ev, ok := s.event(e, d); ok {
				staged = append(staged, ev)
			}
			if e.Type == EventAndon {
				pulls = append(pulls, d)
			}
			if e.Type == EventOpened {
				s.metrics.opened.WithLabelValues(d.Kind).Inc()
			}
		}
	}
	s.flushMu.Lock()
	for _, id := range dirty {
		if d := copies[id]; d != nil {
			s.outbox.writes[id] = jsonOf(d)
		}
	}
	s.outbox.events = append(s.outbox.events, staged...)
	s.flushMu.Unlock()
	for _, d := range pulls {
		s.notifier.Enqueue(andonPayload(d, s.deps.Taxonomy))
	}
}

// flushRetrying flushes the outbox, retrying with backoff while the service
// runs: the detector has moved on, so the batch must not be acknowledged
// before its results are durable.
func (s *Service) flushRetrying() error {
	wait := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.runCtx), 30*time.Second)
		err := s.flush(ctx)
		cancel()
		if err == nil {
			return nil
		}
		s.log.Warn().Err(err).Dur("retry_in", wait).Msg("write defects")
		select {
		case <-s.runCtx.Done():
			return fmt.Errorf("defects: stopping with unwritten changes (kept in the snapshot): %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// flush writes the outbox's defect records and publishes its events.
func (s *Service) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if len(s.outbox.writes) > 0 {
		writes := make([]bus.KeyWrite, 0, len(s.outbox.writes))
		for id, data := range s.outbox.writes {
			writes = append(writes, bus.KeyWrite{Key: id, Value: data, Overwrite: true})
		}
		for i, r := range s.deps.Bus.WriteKeys(ctx, BucketDefects, writes) {
			if r.Err != nil {
				return fmt.Errorf("defects: write %s: %w", writes[i].Key, r.Err)
			}
			delete(s.outbox.writes, writes[i].Key)
		}
	}
	if len(s.outbox.events) > 0 {
		if err := s.deps.Bus.Publish(ctx, s.outbox.events...); err != nil {
			return err
		}
		s.outbox.events = s.outbox.events[:0]
	}
	return nil
}

// snapshot saves the detector's state to the object store, when nothing
// is waiting in the outbox (so the snapshot agrees with what is stored).
func (s *Service) snapshot(ctx context.Context) error {
	s.flushMu.Lock()
	pending := len(s.outbox.writes) + len(s.outbox.events)
	s.flushMu.Unlock()
	if pending > 0 {
		return fmt.Errorf("defects: snapshot skipped: %d changes not yet written", pending)
	}
	var buf bytes.Buffer
	s.mu.Lock()
	err := s.det.WriteSnapshot(&buf)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := s.state.PutBytes(ctx, snapshotObject, buf.Bytes()); err != nil {
		return fmt.Errorf("defects: save snapshot: %w", err)
	}
	s.metrics.snapshotBytes.Set(float64(buf.Len()))
	return nil
}
