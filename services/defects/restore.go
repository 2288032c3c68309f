package defects

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
)

// restore loads the latest snapshot, takes the lifecycle changes stored
// after it, and replays what the durable consumers acknowledged after the
// snapshot was taken (a crash between snapshots), so that the detector
// starts exactly where the consumers resume.
func (s *Service) restore(ctx context.Context) error {
	began := time.Now()
	data, err := s.state.GetBytes(ctx, snapshotObject)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
	case err != nil:
		return fmt.Errorf("defects: load snapshot: %w", err)
	default:
		if err := s.det.ReadSnapshot(bytes.NewReader(data)); err != nil {
			// An unreadable snapshot is rebuilt from the streams.
			s.log.Warn().Err(err).Msg("snapshot unreadable, rebuilding from the streams")
			fresh, ferr := NewDetector(s.cfg.Detector, s.deps.Taxonomy, s.cfg.Now)
			if ferr != nil {
				return ferr
			}
			s.mu.Lock()
			s.det = fresh
			s.mu.Unlock()
		}
	}
	adopted, err := s.adoptStored(ctx)
	if err != nil {
		return err
	}
	replayed := 0
	for _, r := range []struct {
		stream, durable, cover string
		subjects               []string
	}{
		{bus.StreamContacts, s.cfg.Durable, coverContacts, []string{s.deps.Bus.Subjects.ContactTagged, s.deps.Bus.Subjects.ContactRelabeled}},
		{bus.StreamOrders, s.cfg.Durable + "-orders", coverOrders, []string{s.deps.Bus.Subjects.OrderCreated}},
	} {
		n, err := s.replay(ctx, r.stream, r.durable, r.cover, r.subjects)
		if err != nil {
			return err
		}
		replayed += n
	}
	// Defects the replay created again take their stored lifecycle too.
	more, err := s.adoptStored(ctx)
	if err != nil {
		return err
	}
	adopted += more
	s.mu.Lock()
	s.stage(nil, true)
	s.mu.Unlock()
	if err := s.flush(ctx); err != nil {
		return err
	}
	s.log.Info().Int("defects", len(s.det.defects)).Int("adopted", adopted).Int("replayed", replayed).
		Uint64("contacts_seq", s.det.Covered(coverContacts)).Dur("took", time.Since(began)).Msg("defects restored")
	return nil
}

// adoptStored takes from the bucket the defects' lifecycle changes newer
// than the snapshot (a PATCH after it).
func (s *Service) adoptStored(ctx context.Context) (int, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("defects: list stored defects: %w", err)
	}
	n := 0
	for key := range lister.Keys() {
		e, err := s.kv.Get(ctx, key)
		if err != nil {
			continue
		}
		var d Defect
		if json.Unmarshal(e.Value(), &d) != nil {
			continue
		}
		if s.det.Adopt(&d) {
			n++
		}
	}
	return n, nil
}

// replay applies, without publishing anything again, the events a durable
// consumer has acknowledged beyond what the detector covers.
func (s *Service) replay(ctx context.Context, stream, durable, cover string, subjects []string) (int, error) {
	b := s.deps.Bus
	cons, err := b.JS.Consumer(ctx, b.Stream(stream), durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("defects: consumer %s: %w", durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("defects: consumer %s: %w", durable, err)
	}
	upTo := info.AckFloor.Stream
	from := s.det.Covered(cover)
	if upTo <= from {
		return 0, nil
	}
	oc, err := b.JS.OrderedConsumer(ctx, b.Stream(stream), jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from + 1,
	})
	if err != nil {
		return 0, fmt.Errorf("defects: replay %s: %w", stream, err)
	}
	n := 0
	for {
		batch, err := oc.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return n, fmt.Errorf("defects: replay %s: %w", stream, err)
		}
		got := 0
		done := false
		s.mu.Lock()
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > upTo {
				done = true
				continue
			}
			if cover == coverOrders {
				var ev pb.OrderCreated
				if proto.Unmarshal(msg.Data(), &ev) == nil && ev.GetOrder().GetPlacedAt() != nil {
					s.det.CountOrder(ev.Order.PlacedAt.AsTime())
				}
			} else if _, err := s.apply(msg.Subject(), msg.Data()); err != nil {
				s.log.Warn().Err(err).Uint64("seq", seq).Msg("replay: message skipped")
			}
			s.det.SetCovered(cover, seq)
			n++
			if seq == upTo {
				done = true
			}
		}
		s.det.Verify()
		s.mu.Unlock()
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return n, fmt.Errorf("defects: replay %s: %w", stream, err)
		}
		if done || got == 0 {
			return n, nil
		}
	}
}

func decode(data []byte, m proto.Message) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("decode %s: %w", proto.MessageName(m), err)
	}
	return nil
}

func jsonOf(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		// Defect holds only plain values: marshalling cannot fail.
		return []byte("{}")
	}
	return data
}
