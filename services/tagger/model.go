package tagger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/classify"
	"github.com/nocontact/nocontact/pkg/pb"
)

// modelObject is the name of the current reason model in the models
// object store. Every tagger replica watches it and swaps the new model in
// as soon as it is stored.
const modelObject = "reason-model"

// ModelInfo describes the reason model in use and the last training.
type ModelInfo struct {
	Version   string    `json:"version,omitempty"`
	Labels    []string  `json:"labels,omitempty"`
	Examples  int       `json:"examples,omitempty"`
	TrainedAt time.Time `json:"trained_at,omitzero"`
	Source    string    `json:"source,omitempty"`
	Training  Training  `json:"training"`
}

// Training is the state of the latest training started by this process.
type Training struct {
	State      string    `json:"state"` // idle, training, done, failed
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Examples   int       `json:"examples,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// ErrTrainingRunning is returned when a training is already under way.
var ErrTrainingRunning = errors.New("a training is already running")

// models loads, watches, trains and stores the reason model.
type models struct {
	s     *Service
	rc    *classify.ReasonClassifier
	store jetstream.ObjectStore

	mu       sync.Mutex
	meta     map[string]string
	training Training
}

// start loads the current model and follows later ones until ctx ends.
func (m *models) start(ctx context.Context) error {
	w, err := m.store.Watch(ctx)
	if err != nil {
		return fmt.Errorf("tagger: watch models: %w", err)
	}
	loaded := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		var once sync.Once
		for {
			select {
			case <-ctx.Done():
				return
			case info, ok := <-w.Updates():
				if !ok {
					return
				}
				if info == nil {
					once.Do(func() { close(loaded) })
					continue
				}
				if info.Name != modelObject || info.Deleted {
					continue
				}
				if err := m.load(ctx, info); err != nil {
					m.s.log.Error().Err(err).Msg("load reason model")
				}
			}
		}
	}()
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return errors.New("tagger: models not loaded after 30s")
	}
}

func (m *models) load(ctx context.Context, info *jetstream.ObjectInfo) error {
	data, err := m.store.GetBytes(ctx, modelObject)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	model, err := classify.Load(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("decode model: %w", err)
	}
	if cur := m.rc.Model(); cur != nil && cur.Version() == model.Version() {
		return nil
	}
	m.rc.Swap(model)
	m.mu.Lock()
	m.meta = info.Metadata
	m.mu.Unlock()
	m.s.log.Info().Str("model_version", model.Version()).Int("labels", len(model.Labels())).Msg("reason model in use")
	return nil
}

// info reports the model in use and the last training.
func (m *models) info() ModelInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := ModelInfo{Training: m.training}
	if out.Training.State == "" {
		out.Training.State = "idle"
	}
	if cur := m.rc.Model(); cur != nil {
		out.Version, out.Labels = cur.Version(), cur.Labels()
	}
	out.Examples, _ = strconv.Atoi(m.meta["examples"])
	out.TrainedAt, _ = time.Parse(time.RFC3339, m.meta["trained_at"])
	out.Source = m.meta["source"]
	return out
}

// publish stores a model as the current one; every replica swaps it in.
func (m *models) publish(ctx context.Context, model *classify.Model, examples int, source string) error {
	var buf bytes.Buffer
	if err := model.Save(&buf); err != nil {
		return fmt.Errorf("tagger: encode model: %w", err)
	}
	meta := map[string]string{
		"version":    model.Version(),
		"examples":   strconv.Itoa(examples),
		"trained_at": time.Now().UTC().Format(time.RFC3339),
		"source":     source,
	}
	info, err := m.store.Put(ctx, jetstream.ObjectMeta{Name: modelObject, Description: "reason classifier", Metadata: meta}, &buf)
	if err != nil {
		return fmt.Errorf("tagger: store model: %w", err)
	}
	// Swap here too, so the caller sees the model at once; the watch finds
	// the same version and leaves it.
	m.rc.Swap(model)
	m.mu.Lock()
	m.meta = info.Metadata
	m.mu.Unlock()
	return nil
}

// retrain starts a training on the confirmed contacts in the background.
func (m *models) retrain(ctx context.Context) error {
	m.mu.Lock()
	if m.training.State == "training" {
		m.mu.Unlock()
		return ErrTrainingRunning
	}
	m.training = Training{State: "training", StartedAt: time.Now().UTC()}
	m.mu.Unlock()
	go func() {
		n, err := m.train(ctx)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.training.FinishedAt, m.training.Examples = time.Now().UTC(), n
		if err != nil {
			m.training.State, m.training.Error = "failed", err.Error()
			m.s.log.Warn().Err(err).Msg("retrain")
			return
		}
		m.training.State = "done"
	}()
	return nil
}

// MinTrainingExamples is the fewest confirmed contacts a training needs.
const MinTrainingExamples = 20

func (m *models) train(ctx context.Context) (int, error) {
	examples, err := m.s.TrainingExamples(ctx)
	if err != nil {
		return 0, err
	}
	if len(examples) < MinTrainingExamples {
		return len(examples), fmt.Errorf("%d confirmed contacts (agent codes or reviews); training needs at least %d", len(examples), MinTrainingExamples)
	}
	// Contacts reach the model only when no rule placed them, and the
	// review queue catches what it rejects: tune rejection for a modest
	// share of out-of-scope contacts rather than the conservative default.
	model, err := classify.Train(ctx, examples, classify.Options{Seed: 1, OOSPrior: 0.15})
	if err != nil {
		return len(examples), fmt.Errorf("train on %d confirmed contacts: %w", len(examples), err)
	}
	return len(examples), m.publish(ctx, model, len(examples), "history")
}

// TrainingExamples reads the contacts whose reason a person confirmed
// (an agent's valid disposition code, or a review) from the CONTACTS
// stream; a contact's latest confirmation wins.
func (s *Service) TrainingExamples(ctx context.Context) ([]classify.Example, error) {
	b := s.deps.Bus
	stream, err := b.JS.Stream(ctx, b.Stream(bus.StreamContacts))
	if err != nil {
		return nil, fmt.Errorf("tagger: contacts stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("tagger: contacts stream: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.Subjects.ContactTagged, b.Subjects.ContactRelabeled},
	})
	if err != nil {
		return nil, fmt.Errorf("tagger: read contacts: %w", err)
	}
	latest := map[string]int{}
	var examples []classify.Example
	add := func(c *pb.Contact, reason string) {
		text := strings.TrimSpace(c.GetSubject() + "\n" + c.GetText())
		if text == "" || reason == "" || reason == Unclassified {
			return
		}
		ex := classify.Example{Text: text, Label: reason}
		if i, ok := latest[c.GetId()]; ok {
			examples[i] = ex
			return
		}
		latest[c.GetId()] = len(examples)
		examples = append(examples, ex)
	}
	for {
		mb, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, fmt.Errorf("tagger: read contacts: %w", err)
		}
		var seq uint64
		n := 0
		for msg := range mb.Messages() {
			n++
			if md, err := msg.Metadata(); err == nil {
				seq = md.Sequence.Stream
			}
			if strings.HasSuffix(msg.Subject(), ".contact.relabeled") {
				var ev pb.ContactRelabeled
				if protoUnmarshal(msg.Data(), &ev) == nil && ev.Contact != nil {
					add(ev.Contact, ev.GetTag().GetReason())
				}
				continue
			}
			var ev pb.ContactTagged
			if protoUnmarshal(msg.Data(), &ev) == nil && ev.Contact != nil && ev.GetTag().GetMethod() == pb.TagMethod_TAG_METHOD_AGENT {
				add(ev.Contact, ev.GetTag().GetReason())
			}
		}
		if n == 0 || seq >= last {
			break
		}
	}
	return examples, nil
}

// due reports whether a scheduled retrain should run now: no model yet,
// or one older than every.
func (m *models) due(every time.Duration, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.training.State == "training" {
		return false
	}
	trained, err := time.Parse(time.RFC3339, m.meta["trained_at"])
	return err != nil || now.Sub(trained) >= every
}
