// Package tagger gives every received contact its reason (agent code,
// keyword rules, then the learned model, else unclassified) and publishes
// it as nc.contact.tagged.
package tagger

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
)

// Config configures the tagger.
type Config struct {
	// Batch is how many contacts are fetched and tagged at once (default 256).
	Batch int
	// Concurrency is how many contacts of a batch are classified in
	// parallel (default 4).
	Concurrency int
	// AckWait is how long a contact may be held before NATS hands it to
	// another replica (default 60s).
	AckWait time.Duration
}

// Deps are the tagger's connections and its decision chain.
type Deps struct {
	Bus      *bus.Bus
	Decider  *Decider
	Metrics  *bus.Metrics
	Log      zerolog.Logger
	Registry prometheus.Registerer
}

// Service is the tagger.
type Service struct {
	cfg    Config
	deps   Deps
	log    zerolog.Logger
	runner *bus.Runner
	tagged *prometheus.CounterVec
}

// New provisions the tagger's durable consumer and returns the service.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	if deps.Decider == nil {
		return nil, errors.New("tagger: no decider")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	s := &Service{
		cfg: cfg, deps: deps, log: deps.Log.With().Str("service", "tagger").Logger(),
		tagged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_tagger_tagged_total", Help: "Contacts tagged, by method (agent, rule, model, review) and whether the reason is unclassified.",
		}, []string{"method", "unclassified"}),
	}
	deps.Registry.MustRegister(s.tagged)
	r, err := deps.Bus.NewRunner(ctx, bus.ConsumerConfig{
		Service:        "tagger",
		Stream:         bus.StreamContacts,
		FilterSubjects: []string{deps.Bus.Subjects.ContactReceived},
		Batch:          cfg.Batch,
		AckWait:        cfg.AckWait,
	}, s.handle, deps.Metrics, s.log)
	if err != nil {
		return nil, err
	}
	s.runner = r
	return s, nil
}

// Run consumes received contacts until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.runner.Run(ctx) }

// handle tags a batch and publishes the tags; the runner acks the batch
// only after JetStream has stored every tag.
func (s *Service) handle(ctx context.Context, batch []jetstream.Msg) []error {
	tags := make([]*pb.ContactTagged, len(batch))
	errs := bus.ForEach(ctx, s.cfg.Concurrency, batch, func(ctx context.Context, i int, msg jetstream.Msg) error {
		var ev pb.ContactReceived
		if err := bus.Decode(msg, &ev); err != nil {
			return err
		}
		if ev.Contact == nil || ev.Contact.Id == "" {
			return bus.Permanent(errors.New("contact without id"))
		}
		tags[i] = &pb.ContactTagged{
			Meta:    &pb.EventMeta{EventId: "tagged:" + ev.Contact.Id, OccurredAt: timestamppb.Now(), SchemaVersion: 1, Producer: "tagger", CorrelationId: ev.Contact.Id},
			Contact: ev.Contact,
			Tag:     s.deps.Decider.Decide(ctx, ev.Contact),
		}
		return nil
	})
	events := make([]bus.Event, 0, len(batch))
	for i, t := range tags {
		if errs[i] == nil && t != nil {
			events = append(events, bus.Event{Subject: s.deps.Bus.Subjects.ContactTagged, ID: t.Meta.EventId, Msg: t})
		}
	}
	if err := s.deps.Bus.Publish(ctx, events...); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	for i, t := range tags {
		if errs[i] == nil && t != nil {
			s.tagged.WithLabelValues(t.Tag.Method.Short(), boolLabel(t.Tag.Reason == Unclassified)).Inc()
		}
	}
	return errs
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
