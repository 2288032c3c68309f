// Package analytics counts contacts per X (CPX): it consumes tagged and
// relabeled contacts, orders and other daily units, aggregates them by day
// (in a configured time zone) x reason x channel x product x locale (owner
// and reason parent follow from the reason), and answers the CPX, Pareto,
// value/irritant matrix, cost and repeat-contact reports over HTTP and as
// Prometheus metrics.
//
// The aggregate lives in memory and is a projection of the CONTACTS and
// ORDERS streams. It is saved periodically to a JetStream object store
// together with the stream sequence of the last event it counts; events at
// or below that sequence are redeliveries and are skipped, so an event is
// never counted twice. On start the snapshot is loaded and only the events
// after it are read again. See docs/analytics.md for the whole design.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
)

// BucketSnapshots is the object store bucket that holds each replica's
// aggregate snapshot, under the replica's durable name.
const BucketSnapshots = "analytics"

// The streams the service consumes, as indexes of its cursors.
const (
	streamContacts = iota
	streamOrders
)

// Service is the analytics service.
type Service struct {
	cfg   Config
	deps  Deps
	log   zerolog.Logger
	loc   *time.Location
	store jetstream.ObjectStore

	// mu guards agg and dirty. Writers are the two consumers (one batch at
	// a time each); readers are the HTTP handlers and the metrics.
	mu  sync.RWMutex
	agg *Aggregate
	// dirty counts the events applied since the last snapshot.
	dirty int64

	snapMu   sync.Mutex
	snapNow  chan struct{}
	runners  []*bus.Runner
	catchups []catchup
	m        serviceMetrics
	// skipFinalSnapshot makes Run return without saving (tests use it to
	// stop the service as a crash would).
	skipFinalSnapshot bool
}

// catchup is a range of a stream that this replica's consumer was given
// (and probably acked) after the snapshot was taken: it is read again,
// in order, before the consumer resumes.
type catchup struct {
	kind     int
	stream   string
	filters  []string
	from, to uint64
}

type serviceMetrics struct {
	events           *prometheus.CounterVec
	snapshotFailures prometheus.Counter
	snapshotBytes    prometheus.Gauge
	snapshotTime     prometheus.Gauge
}

// New loads the latest snapshot (or, without one, prepares a rebuild from
// the start of the streams), provisions the snapshot bucket and the two
// durable consumers, and registers the metrics. Run starts the work.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Taxonomy == nil || deps.Metrics == nil || deps.Registry == nil {
		return nil, errors.New("analytics: needs a bus, a taxonomy, consumer metrics and a registry")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	s := &Service{
		cfg: cfg, deps: deps, loc: loc, snapNow: make(chan struct{}, 1),
		log: deps.Log.With().Str("service", "analytics").Logger(),
	}
	s.agg = s.newAggregate()
	store, err := deps.Bus.JS.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      deps.Bus.Bucket(BucketSnapshots),
		Description: "analytics aggregate snapshots, one per replica",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.SnapshotReplicas,
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: provision snapshot bucket: %w", err)
	}
	s.store = store
	loaded, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	b := deps.Bus
	consumers := []struct {
		kind    int
		stream  string
		filters []string
	}{
		{streamContacts, bus.StreamContacts, []string{b.Subjects.ContactTagged, b.Subjects.ContactRelabeled}},
		{streamOrders, bus.StreamOrders, []string{b.Subjects.OrderCreated, unitSubject(b)}},
	}
	for _, c := range consumers {
		if !loaded {
			// Without a snapshot, count from the first event of the stream.
			err := b.JS.DeleteConsumer(ctx, b.Stream(c.stream), cfg.Durable)
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return nil, fmt.Errorf("analytics: reset consumer on %s: %w", c.stream, err)
			}
			continue
		}
		cons, err := b.JS.Consumer(ctx, b.Stream(c.stream), cfg.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("analytics: consumer on %s: %w", c.stream, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("analytics: consumer on %s: %w", c.stream, err)
		}
		covered := s.covered(c.kind)
		if delivered := info.Delivered.Stream; delivered > covered {
			s.catchups = append(s.catchups, catchup{kind: c.kind, stream: c.stream, filters: c.filters, from: covered + 1, to: delivered})
		}
	}
	for _, c := range consumers {
		r, err := b.NewRunner(ctx, bus.ConsumerConfig{
			Service:        "analytics",
			Durable:        cfg.Durable,
			Stream:         c.stream,
			FilterSubjects: c.filters,
			Batch:          cfg.Batch,
			AckWait:        cfg.AckWait,
		}, s.handler(c.kind), deps.Metrics, s.log)
		if err != nil {
			return nil, err
		}
		s.runners = append(s.runners, r)
	}
	s.registerMetrics()
	return s, nil
}

func (s *Service) newAggregate() *Aggregate {
	return NewAggregate(AggregateConfig{
		Location: s.loc, Taxonomy: s.deps.Taxonomy, CostPerMinute: s.cfg.CostPerMinute,
		Horizon: s.cfg.MaxRepeatWindow, MaxProducts: s.cfg.MaxProducts,
	})
}

// unitSubject is the subject of pb.UnitsRecorded (on the ORDERS stream).
func unitSubject(b *bus.Bus) string { return b.Subjects.Prefix + ".unit.recorded" }

func (s *Service) covered(kind int) uint64 {
	c := s.agg.Cursor()
	if kind == streamOrders {
		return c.Orders
	}
	return c.Contacts
}

// load reads this replica's snapshot. It reports false when there is none
// or it cannot be used (unreadable, another time zone, or ahead of a
// stream that was recreated): the aggregate is then rebuilt.
func (s *Service) load(ctx context.Context) (bool, error) {
	data, err := s.store.GetBytes(ctx, s.cfg.Durable)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		s.log.Info().Msg("no analytics snapshot, counting from the start of the streams")
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("analytics: read snapshot %s: %w", s.cfg.Durable, err)
	}
	agg := s.newAggregate()
	if err := agg.UnmarshalBinary(data); err != nil {
		s.log.Warn().Err(err).Msg("analytics snapshot not usable, rebuilding from the streams")
		return false, nil
	}
	for _, st := range []struct {
		base string
		seq  uint64
	}{{bus.StreamContacts, agg.Cursor().Contacts}, {bus.StreamOrders, agg.Cursor().Orders}} {
		stream, err := s.deps.Bus.JS.Stream(ctx, s.deps.Bus.Stream(st.base))
		if err != nil {
			return false, fmt.Errorf("analytics: stream %s: %w", st.base, err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return false, fmt.Errorf("analytics: stream %s: %w", st.base, err)
		}
		if st.seq > info.State.LastSeq {
			s.log.Warn().Str("stream", st.base).Uint64("seq", st.seq).Uint64("last_seq", info.State.LastSeq).
				Msg("analytics snapshot is ahead of its stream (recreated?), rebuilding from the streams")
			return false, nil
		}
	}
	s.agg = agg
	st := agg.Stats()
	s.log.Info().Uint64("contacts_seq", agg.Cursor().Contacts).Uint64("orders_seq", agg.Cursor().Orders).
		Int("days", st.Days).Int("cells", st.Cells).Int("bytes", len(data)).Msg("analytics snapshot loaded")
	return true, nil
}

// Run reads again what the consumers were given after the snapshot, then
// consumes both streams and saves snapshots until ctx ends; it saves a
// last snapshot before it returns.
func (s *Service) Run(ctx context.Context) error {
	for _, c := range s.catchups {
		if err := s.catchUp(ctx, c); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.runners))
	for _, r := range s.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(runCtx); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	s.snapshotLoop(runCtx)
	wg.Wait()
	close(errc)
	err := <-errc
	if !s.skipFinalSnapshot {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer scancel()
		if serr := s.Snapshot(sctx); serr != nil {
			s.log.Error().Err(serr).Msg("final analytics snapshot")
			err = errors.Join(err, serr)
		}
	}
	return err
}

func (s *Service) snapshotLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SnapshotEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.snapNow:
		}
		s.mu.RLock()
		dirty := s.dirty
		s.mu.RUnlock()
		if dirty == 0 {
			continue
		}
		if err := s.Snapshot(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("analytics snapshot")
		}
	}
}

// Snapshot saves the aggregate with the stream sequences it covers.
func (s *Service) Snapshot(ctx context.Context) error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.RLock()
	data, err := s.agg.MarshalBinary()
	dirty := s.dirty
	cursor := s.agg.Cursor()
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("analytics: encode snapshot: %w", err)
	}
	if _, err := s.store.PutBytes(ctx, s.cfg.Durable, data); err != nil {
		s.m.snapshotFailures.Inc()
		return fmt.Errorf("analytics: save snapshot: %w", err)
	}
	s.mu.Lock()
	s.dirty -= dirty
	s.mu.Unlock()
	s.m.snapshotBytes.Set(float64(len(data)))
	s.m.snapshotTime.Set(float64(s.deps.Now().Unix()))
	s.log.Debug().Int("bytes", len(data)).Uint64("contacts_seq", cursor.Contacts).Uint64("orders_seq", cursor.Orders).Msg("analytics snapshot saved")
	return nil
}

// catchUp applies, in order, the events of a stream range with an
// ordered (ephemeral, unacknowledged) consumer.
func (s *Service) catchUp(ctx context.Context, c catchup) error {
	b := s.deps.Bus
	cons, err := b.JS.OrderedConsumer(ctx, b.Stream(c.stream), jetstream.OrderedConsumerConfig{
		FilterSubjects: c.filters,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    c.from,
	})
	if err != nil {
		return fmt.Errorf("analytics: catch up on %s: %w", c.stream, err)
	}
	start := time.Now()
	n := 0
	for ctx.Err() == nil {
		mb, err := cons.Fetch(s.cfg.Batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("analytics: catch up on %s: %w", c.stream, err)
		}
		var batch []jetstream.Msg
		for msg := range mb.Messages() {
			batch = append(batch, msg)
		}
		if len(batch) == 0 {
			break
		}
		s.apply(c.kind, batch)
		n += len(batch)
		md, err := batch[len(batch)-1].Metadata()
		if err == nil && md.Sequence.Stream >= c.to {
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.mu.Lock()
	cur := s.agg.Cursor()
	if c.kind == streamOrders {
		cur.Orders = max(cur.Orders, c.to)
	} else {
		cur.Contacts = max(cur.Contacts, c.to)
	}
	s.agg.SetCursor(cur)
	s.mu.Unlock()
	s.log.Info().Str("stream", c.stream).Uint64("from_seq", c.from).Uint64("to_seq", c.to).Int("events", n).
		Dur("took", time.Since(start)).Msg("analytics caught up with events after the snapshot")
	return nil
}

func (s *Service) handler(kind int) bus.Handler {
	return func(_ context.Context, batch []jetstream.Msg) []error { return s.apply(kind, batch) }
}

// apply counts a batch in stream order. An event at or below the cursor
// was counted before (a redelivery) and is only acknowledged. Apart from a
// message without metadata, every error is permanent (the event can never
// be counted): the aggregate never fails transiently, so events are never
// retried out of order.
func (s *Service) apply(kind int, batch []jetstream.Msg) []error {
	errs := make([]error, len(batch))
	seqs := make([]uint64, len(batch))
	evs := make([]proto.Message, len(batch))
	s.mu.RLock()
	covered := s.covered(kind)
	s.mu.RUnlock()
	for i, msg := range batch {
		md, err := msg.Metadata()
		if err != nil {
			errs[i] = bus.Permanent(fmt.Errorf("message metadata: %w", err))
			continue
		}
		seqs[i] = md.Sequence.Stream
		if seqs[i] <= covered {
			continue
		}
		evs[i], errs[i] = s.decode(msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.agg.Cursor()
	last := &cur.Contacts
	if kind == streamOrders {
		last = &cur.Orders
	}
	for i := range batch {
		if seqs[i] == 0 {
			continue
		}
		if seqs[i] <= *last {
			s.m.events.WithLabelValues("any", "redelivered").Inc()
			errs[i] = nil
			continue
		}
		if errs[i] == nil {
			errs[i] = s.applyOne(evs[i])
		}
		if errs[i] != nil {
			s.m.events.WithLabelValues(kindOf(evs[i]), "invalid").Inc()
		}
		*last = seqs[i]
		s.dirty++
	}
	s.agg.SetCursor(cur)
	if s.dirty >= int64(s.cfg.SnapshotEvents) {
		select {
		case s.snapNow <- struct{}{}:
		default:
		}
	}
	return errs
}

func (s *Service) decode(msg jetstream.Msg) (proto.Message, error) {
	b := s.deps.Bus
	var m interface {
		proto.Message
		GetMeta() *pb.EventMeta
	}
	switch msg.Subject() {
	case b.Subjects.ContactTagged:
		m = &pb.ContactTagged{}
	case b.Subjects.ContactRelabeled:
		m = &pb.ContactRelabeled{}
	case b.Subjects.OrderCreated:
		m = &pb.OrderCreated{}
	case unitSubject(b):
		m = &pb.UnitsRecorded{}
	default:
		return nil, bus.Permanent(fmt.Errorf("unexpected subject %s", msg.Subject()))
	}
	if err := bus.Decode(msg, m); err != nil {
		return nil, err
	}
	if v := m.GetMeta().GetSchemaVersion(); v > 1 {
		return nil, bus.Permanent(fmt.Errorf("%s schema version %d is not known", proto.MessageName(m), v))
	}
	return m, nil
}

func (s *Service) applyOne(ev proto.Message) error {
	var err error
	result := "counted"
	switch ev := ev.(type) {
	case *pb.ContactTagged:
		var counted bool
		counted, err = s.agg.Tag(ev)
		if !counted {
			result = "duplicate"
		}
	case *pb.ContactRelabeled:
		var moved bool
		moved, err = s.agg.Relabel(ev)
		result = "moved"
		if !moved {
			result = "unchanged"
		}
	case *pb.OrderCreated:
		err = s.agg.Order(ev)
	case *pb.UnitsRecorded:
		err = s.agg.Units(ev)
	}
	if err != nil {
		return bus.Permanent(err)
	}
	s.m.events.WithLabelValues(kindOf(ev), result).Inc()
	return nil
}

func kindOf(ev proto.Message) string {
	switch ev.(type) {
	case *pb.ContactTagged:
		return "tagged"
	case *pb.ContactRelabeled:
		return "relabeled"
	case *pb.OrderCreated:
		return "order"
	case *pb.UnitsRecorded:
		return "units"
	}
	return "unknown"
}

// read runs f with the aggregate locked for reading.
func (s *Service) read(f func(a *Aggregate)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f(s.agg)
}

// Cursor returns the stream sequences the aggregate covers.
func (s *Service) Cursor() Cursor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.agg.Cursor()
}
