// Package tagger gives every received contact its reason (agent code,
// keyword rules, then the learned model, else unclassified) and publishes
// it as nc.contact.tagged.
package tagger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/classify"
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
	// RetrainEvery retrains the reason model from confirmed contacts when
	// the current model is older than this (0: only on request).
	RetrainEvery time.Duration
}

// Deps are the tagger's connections and its decision chain.
type Deps struct {
	Bus     *bus.Bus
	Decider *Decider
	// Model, when set, is the learned classifier of the Decider's chain:
	// the tagger loads it from the models object store, swaps in every new
	// model, and trains it from confirmed contacts.
	Model    *classify.ReasonClassifier
	Metrics  *bus.Metrics
	Log      zerolog.Logger
	Registry prometheus.Registerer
}

// Service is the tagger.
type Service struct {
	cfg       Config
	deps      Deps
	log       zerolog.Logger
	runner    *bus.Runner
	tags      jetstream.KeyValue
	review    jetstream.KeyValue
	modeKV    jetstream.KeyValue
	modes     *modes
	models    *models
	tagged    *prometheus.CounterVec
	relabeled prometheus.Counter
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
		relabeled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_tagger_relabeled_total", Help: "Contacts whose reason a person set or corrected.",
		}),
		modes: &modes{m: map[string]string{}},
	}
	deps.Registry.MustRegister(s.tagged, s.relabeled)
	var err error
	if s.tags, err = deps.Bus.KeyValue(ctx, bus.BucketContactTags); err != nil {
		return nil, err
	}
	if s.review, err = deps.Bus.KeyValue(ctx, bus.BucketReview); err != nil {
		return nil, err
	}
	if s.modeKV, err = deps.Bus.KeyValue(ctx, bus.BucketReasonModes); err != nil {
		return nil, err
	}
	if err := s.modes.watch(ctx, s.modeKV); err != nil {
		return nil, err
	}
	if deps.Model != nil {
		store, err := deps.Bus.ObjectStore(ctx, bus.ObjectModels)
		if err != nil {
			return nil, err
		}
		s.models = &models{s: s, rc: deps.Model, store: store}
		if err := s.models.start(ctx); err != nil {
			return nil, err
		}
	}
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

// Run consumes received contacts until ctx ends, retraining the model on
// schedule.
func (s *Service) Run(ctx context.Context) error {
	if s.models != nil && s.cfg.RetrainEvery > 0 {
		go func() {
			t := time.NewTicker(min(s.cfg.RetrainEvery, time.Hour))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					if s.models.due(s.cfg.RetrainEvery, now) {
						_ = s.models.retrain(ctx)
					}
				}
			}
		}()
	}
	return s.runner.Run(ctx)
}

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
		tag := s.deps.Decider.Decide(ctx, ev.Contact)
		if m := tag.Method; (m == pb.TagMethod_TAG_METHOD_RULE || m == pb.TagMethod_TAG_METHOD_MODEL) && s.modes.get(tag.Reason) == ModeSuggest {
			tag.NeedsReview = true
		}
		tags[i] = &pb.ContactTagged{
			Meta:    &pb.EventMeta{EventId: "tagged:" + ev.Contact.Id, OccurredAt: timestamppb.Now(), SchemaVersion: 1, Producer: "tagger", CorrelationId: ev.Contact.Id},
			Contact: ev.Contact,
			Tag:     tag,
		}
		return nil
	})
	events := make([]bus.Event, 0, len(batch))
	published := make([]*pb.ContactTagged, 0, len(batch))
	for i, t := range tags {
		if errs[i] == nil && t != nil {
			events = append(events, bus.Event{Subject: s.deps.Bus.Subjects.ContactTagged, ID: t.Meta.EventId, Msg: t})
			published = append(published, t)
		}
	}
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	// The review queue is written before the tags are published, so a
	// contact is never searchable as unclassified while missing from the
	// queue (a failed publish leaves an entry the redelivery rewrites).
	if err := s.queueForReview(ctx, published); err != nil {
		return fail(err)
	}
	acks, err := s.deps.Bus.PublishAcks(ctx, events...)
	if err != nil {
		return fail(err)
	}
	if err := s.recordTags(ctx, published, acks); err != nil {
		return fail(err)
	}
	for i, t := range tags {
		if errs[i] == nil && t != nil {
			s.tagged.WithLabelValues(t.Tag.Method.Short(), boolLabel(t.Tag.Reason == Unclassified)).Inc()
		}
	}
	return errs
}

// queueForReview puts the contacts whose tag needs a person's check in
// the review bucket.
func (s *Service) queueForReview(ctx context.Context, tagged []*pb.ContactTagged) error {
	var writes []bus.KeyWrite
	for _, t := range tagged {
		if t.Tag.NeedsReview {
			item, _ := json.Marshal(reviewItem(t.Contact, t.Tag))
			writes = append(writes, bus.KeyWrite{Key: t.Contact.Id, Value: item, Overwrite: true})
		}
	}
	return firstKeyError(s.deps.Bus.WriteKeys(ctx, bus.BucketReview, writes))
}

// recordTags remembers where each contact's tag is in the stream, so the
// contact can be relabeled. A redelivered contact writes the same values.
func (s *Service) recordTags(ctx context.Context, tagged []*pb.ContactTagged, acks []*jetstream.PubAck) error {
	writes := make([]bus.KeyWrite, 0, len(tagged))
	for i, t := range tagged {
		st, _ := json.Marshal(tagState{Seq: acks[i].Sequence, Reason: t.Tag.Reason})
		writes = append(writes, bus.KeyWrite{Key: t.Contact.Id, Value: st, Overwrite: true})
	}
	return firstKeyError(s.deps.Bus.WriteKeys(ctx, bus.BucketContactTags, writes))
}

func firstKeyError(results []bus.KeyResult) error {
	for _, r := range results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

func protoUnmarshal(data []byte, m proto.Message) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("tagger: decode %s: %w", proto.MessageName(m), err)
	}
	return nil
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
