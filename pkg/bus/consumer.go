package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/pb"
)

// Handler processes one fetched batch. It returns nil when every message is
// done (durably), or a slice with one entry per message: nil for done, an
// error wrapped by Permanent for a poison message, any other error for a
// transient failure to retry later. The runner acks only after Handler
// returns, so the work must be durable by then.
type Handler func(ctx context.Context, batch []jetstream.Msg) []error

// ErrPermanent marks an error no retry can fix; see Permanent.
var ErrPermanent = errors.New("permanent")

type permanent struct{ err error }

func (p permanent) Error() string   { return p.err.Error() }
func (p permanent) Unwrap() []error { return []error{p.err, ErrPermanent} }

// Permanent wraps err so the runner dead-letters the message at once
// instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// ConsumerConfig describes one durable pull consumer and how it is run.
type ConsumerConfig struct {
	// Service names the owning service in metrics, logs and the dead-letter
	// subject nc.dlq.<service>.
	Service string
	// Durable is the consumer name; replicas of a service share it and split
	// the work. Defaults to Service.
	Durable string
	// Stream is the stream's base name (StreamContacts...).
	Stream string
	// FilterSubjects selects the subjects to consume.
	FilterSubjects []string
	// Batch is the most messages fetched at once (default 256).
	Batch int
	// MaxWait bounds how long a fetch waits for a full batch (default 500ms).
	MaxWait time.Duration
	// MaxDeliver is how many deliveries a message gets before it is
	// dead-lettered (default 8).
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering
	// (default 60s).
	AckWait time.Duration
	// Backoff gives the delay before redelivery after the n-th failed
	// delivery (default 1s, 2s, 4s ... capped at 60s).
	Backoff func(delivery int) time.Duration
}

func (c *ConsumerConfig) setDefaults() {
	if c.Durable == "" {
		c.Durable = c.Service
	}
	if c.Batch <= 0 {
		c.Batch = 256
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 8
	}
	if c.AckWait <= 0 {
		c.AckWait = 60 * time.Second
	}
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff(time.Second, 60*time.Second)
	}
}

// ExponentialBackoff doubles from first up to max.
func ExponentialBackoff(first, max time.Duration) func(int) time.Duration {
	return func(delivery int) time.Duration {
		d := first
		for i := 1; i < delivery && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// Metrics are the consumer runner's Prometheus metrics, shared by every
// consumer of a process.
type Metrics struct {
	processed    *prometheus.CounterVec
	failed       *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	redelivered  *prometheus.CounterVec
	pending      *prometheus.GaugeVec
	batchSeconds *prometheus.HistogramVec
}

// NewMetrics registers the consumer metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"service", "consumer"}
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_consumer_processed_total", Help: "Messages a consumer processed and acked.",
		}, labels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_consumer_failed_total", Help: "Message deliveries that failed and were scheduled for retry.",
		}, labels),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_consumer_dead_lettered_total", Help: "Poison messages terminated and published to the dead-letter subject.",
		}, labels),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_consumer_redelivered_total", Help: "Messages received more than once.",
		}, labels),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nocontact_consumer_pending", Help: "Messages in the stream not yet delivered to the consumer (lag).",
		}, labels),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nocontact_consumer_batch_seconds", Help: "Time to process one fetched batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, labels),
	}
	reg.MustRegister(m.processed, m.failed, m.deadLettered, m.redelivered, m.pending, m.batchSeconds)
	return m
}

// Runner pulls batches from one durable consumer and hands them to a Handler.
type Runner struct {
	bus  *Bus
	cfg  ConsumerConfig
	cons jetstream.Consumer
	h    Handler
	log  zerolog.Logger
	m    *Metrics
}

// NewRunner creates or updates the durable consumer and returns its runner.
func (b *Bus) NewRunner(ctx context.Context, cfg ConsumerConfig, h Handler, m *Metrics, log zerolog.Logger) (*Runner, error) {
	cfg.setDefaults()
	if cfg.Service == "" || cfg.Stream == "" || len(cfg.FilterSubjects) == 0 {
		return nil, errors.New("bus: consumer needs a service, a stream and filter subjects")
	}
	cc := jetstream.ConsumerConfig{
		Durable:         cfg.Durable,
		Description:     "nocontact " + cfg.Service,
		AckPolicy:       jetstream.AckExplicitPolicy,
		DeliverPolicy:   jetstream.DeliverAllPolicy,
		AckWait:         cfg.AckWait,
		MaxDeliver:      cfg.MaxDeliver,
		MaxAckPending:   cfg.Batch * 8,
		MaxRequestBatch: cfg.Batch,
	}
	if len(cfg.FilterSubjects) == 1 {
		cc.FilterSubject = cfg.FilterSubjects[0]
	} else {
		cc.FilterSubjects = cfg.FilterSubjects
	}
	cons, err := b.JS.CreateOrUpdateConsumer(ctx, b.Stream(cfg.Stream), cc)
	if err != nil {
		return nil, fmt.Errorf("bus: provision consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Runner{
		bus: b, cfg: cfg, cons: cons, h: h, m: m,
		log: log.With().Str("consumer", cfg.Durable).Logger(),
	}, nil
}

// Run fetches and processes batches until ctx is cancelled. The batch in
// hand when ctx ends is finished and acked first (graceful drain).
func (r *Runner) Run(ctx context.Context) error {
	labels := prometheus.Labels{"service": r.cfg.Service, "consumer": r.cfg.Durable}
	pending := r.m.pending.With(labels)
	var lastInfo time.Time
	for ctx.Err() == nil {
		batch, err := r.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.log.Warn().Err(err).Msg("fetch")
			sleep(ctx, time.Second)
			continue
		}
		if len(batch) == 0 {
			if time.Since(lastInfo) > 5*time.Second {
				lastInfo = time.Now()
				if info, err := r.cons.Info(ctx); err == nil {
					pending.Set(float64(info.NumPending))
				}
			}
			continue
		}
		if md, err := batch[len(batch)-1].Metadata(); err == nil {
			pending.Set(float64(md.NumPending))
		}
		r.process(context.WithoutCancel(ctx), batch, labels)
	}
	return nil
}

// fetch returns the messages available now, up to a batch; when there are
// none it waits (up to MaxWait) for the first to arrive and takes the rest
// that came with it. A plain Fetch of a whole batch would hold a half-full
// batch until MaxWait expires, adding that much latency at every hop.
func (r *Runner) fetch(ctx context.Context) ([]jetstream.Msg, error) {
	batch, err := collect(r.cons.FetchNoWait(r.cfg.Batch))
	if err != nil || len(batch) > 0 {
		return batch, err
	}
	first, err := collect(r.cons.Fetch(1, jetstream.FetchMaxWait(r.cfg.MaxWait)))
	if err != nil || len(first) == 0 || r.cfg.Batch == 1 {
		return first, err
	}
	rest, err := collect(r.cons.FetchNoWait(r.cfg.Batch - 1))
	return append(first, rest...), err
}

func collect(mb jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, err
	}
	var batch []jetstream.Msg
	for msg := range mb.Messages() {
		batch = append(batch, msg)
	}
	if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
		return batch, err
	}
	return batch, nil
}

func (r *Runner) process(ctx context.Context, batch []jetstream.Msg, labels prometheus.Labels) {
	start := time.Now()
	errs := r.safeHandle(ctx, batch)
	r.m.batchSeconds.With(labels).Observe(time.Since(start).Seconds())
	for i, msg := range batch {
		var err error
		if errs != nil {
			err = errs[i]
		}
		md, mdErr := msg.Metadata()
		delivered := 1
		if mdErr == nil {
			delivered = int(md.NumDelivered)
		}
		if delivered > 1 {
			r.m.redelivered.With(labels).Inc()
		}
		switch {
		case err == nil:
			if ackErr := msg.Ack(); ackErr != nil {
				r.log.Warn().Err(ackErr).Msg("ack")
			}
			r.m.processed.With(labels).Inc()
		case IsPermanent(err) || delivered >= r.cfg.MaxDeliver:
			r.deadLetter(ctx, msg, md, err, labels)
		default:
			r.m.failed.With(labels).Inc()
			delay := r.cfg.Backoff(delivered)
			r.log.Warn().Err(err).Int("delivery", delivered).Dur("retry_in", delay).Str("subject", msg.Subject()).Msg("message failed, will retry")
			if nakErr := msg.NakWithDelay(delay); nakErr != nil {
				r.log.Warn().Err(nakErr).Msg("nak")
			}
		}
	}
}

// safeHandle runs the handler, turning a panic into a transient failure of
// the whole batch: the messages are retried and, if they keep crashing the
// handler, dead-lettered by MaxDeliver.
func (r *Runner) safeHandle(ctx context.Context, batch []jetstream.Msg) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error().Interface("panic", p).Int("batch", len(batch)).Msg("handler panicked")
			err := fmt.Errorf("handler panic: %v", p)
			errs = make([]error, len(batch))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	errs = r.h(ctx, batch)
	if errs != nil && len(errs) != len(batch) {
		err := fmt.Errorf("handler returned %d results for %d messages", len(errs), len(batch))
		errs = make([]error, len(batch))
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

func (r *Runner) deadLetter(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, cause error, labels prometheus.Labels) {
	if cause == nil {
		cause = errors.New("no error")
	}
	dl := &pb.DeadLetter{
		Meta:     &pb.EventMeta{EventId: NewID(), OccurredAt: timestamppb.Now(), SchemaVersion: 1, Producer: r.cfg.Service},
		Service:  r.cfg.Service,
		Consumer: r.cfg.Durable,
		Subject:  msg.Subject(),
		Data:     msg.Data(),
		Error:    cause.Error(),
		Headers:  map[string]string{},
	}
	if md != nil {
		dl.StreamSequence = md.Sequence.Stream
		dl.Deliveries = md.NumDelivered
	}
	for k, v := range msg.Headers() {
		if len(v) > 0 {
			dl.Headers[k] = v[0]
		}
	}
	pubCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.bus.Publish(pubCtx, Event{Subject: r.bus.Subjects.DeadLetter(r.cfg.Service), Msg: dl}); err != nil {
		// Not terminated: the message stays in the stream and is retried.
		r.log.Error().Err(err).Msg("dead-letter publish failed, message will be redelivered")
		_ = msg.NakWithDelay(r.cfg.Backoff(int(dl.Deliveries)))
		return
	}
	if err := msg.TermWithReason(truncate(cause.Error(), 200)); err != nil {
		r.log.Warn().Err(err).Msg("term")
	}
	r.m.deadLettered.With(labels).Inc()
	r.log.Error().Err(cause).Str("subject", msg.Subject()).Uint64("seq", dl.StreamSequence).Msg("message dead-lettered")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// PerMessage adapts a one-message function into a Handler that processes a
// batch on up to concurrency goroutines.
func PerMessage(concurrency int, f func(ctx context.Context, msg jetstream.Msg) error) Handler {
	return func(ctx context.Context, batch []jetstream.Msg) []error {
		return ForEach(ctx, concurrency, batch, func(ctx context.Context, _ int, msg jetstream.Msg) error { return f(ctx, msg) })
	}
}

// ForEach runs f on every message of a batch on up to concurrency
// goroutines and returns the errors by position.
func ForEach(ctx context.Context, concurrency int, batch []jetstream.Msg, f func(ctx context.Context, i int, msg jetstream.Msg) error) []error {
	if concurrency < 1 {
		concurrency = 1
	}
	errs := make([]error, len(batch))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, msg := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(ctx, i, msg)
		}()
	}
	wg.Wait()
	return errs
}
