package tagger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/textproc"
)

// Reason modes: whether the tagger's rule and model tags of a reason are
// applied as they are, or only suggested and sent to review.
const (
	ModeAuto    = "auto"
	ModeSuggest = "suggest"
)

// tagState is what the contact-tags bucket holds per contact.
type tagState struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// ReviewItem is one contact waiting for a person to confirm its reason.
type ReviewItem struct {
	ID           string        `json:"id"`
	Reason       string        `json:"reason"`
	Confidence   float64       `json:"confidence"`
	Method       string        `json:"method"`
	ModelVersion string        `json:"model_version,omitempty"`
	Alternatives []ReasonScore `json:"alternatives"`
	Channel      string        `json:"channel,omitempty"`
	Locale       string        `json:"locale,omitempty"`
	ReceivedAt   time.Time     `json:"received_at"`
	Subject      string        `json:"subject,omitempty"`
	Text         string        `json:"text"`
	Matched      []string      `json:"matched,omitempty"`
}

// ReasonScore is a candidate reason and its score.
type ReasonScore struct {
	Reason string  `json:"reason"`
	Score  float64 `json:"score"`
}

// reviewItem builds the review entry of a tagged contact: text masked and
// cut to 1,000 characters (the full text is in the stream and the index).
func reviewItem(c *pb.Contact, tag *pb.Tag) ReviewItem {
	it := ReviewItem{
		ID: c.GetId(), Reason: tag.GetReason(), Confidence: tag.GetConfidence(), Method: tag.GetMethod().Short(),
		ModelVersion: tag.GetModelVersion(), Channel: c.GetChannel(), Locale: c.GetLocale(),
		ReceivedAt: c.GetReceivedAt().AsTime(), Subject: cut(textproc.MaskPII(c.GetSubject()), 300),
		Text: cut(textproc.MaskPII(c.GetText()), 1000), Matched: tag.GetMatched(), Alternatives: []ReasonScore{},
	}
	for _, a := range tag.GetAlternatives() {
		it.Alternatives = append(it.Alternatives, ReasonScore{Reason: a.Reason, Score: a.Score})
	}
	return it
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// modes keeps the reason modes in step with their bucket.
type modes struct {
	mu sync.RWMutex
	m  map[string]string
}

func (m *modes) get(reason string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v, ok := m.m[reason]; ok {
		return v
	}
	return ModeAuto
}

func (m *modes) all() map[string]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]string, len(m.m))
	for k, v := range m.m {
		out[k] = v
	}
	return out
}

// watch loads the bucket and follows its updates until ctx ends.
func (m *modes) watch(ctx context.Context, kv jetstream.KeyValue) error {
	return bus.FollowKeys(ctx, kv, func(e jetstream.KeyValueEntry) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if e.Operation() == jetstream.KeyValuePut {
			m.m[e.Key()] = string(e.Value())
		} else {
			delete(m.m, e.Key())
		}
	})
}

// ErrContactNotFound is returned when no tagged contact has the id.
var ErrContactNotFound = errors.New("contact not found")

// ErrUnknownReason is returned for a reason code the taxonomy lacks.
var ErrUnknownReason = errors.New("unknown reason")

// Relabeled is the result of a relabel.
type Relabeled struct {
	ID             string `json:"id"`
	Reason         string `json:"reason"`
	PreviousReason string `json:"previous_reason"`
	Changed        bool   `json:"changed"`
}

// Relabel sets a contact's reason as a person decided: it publishes
// nc.contact.relabeled with the whole contact (every consumer moves the
// contact from its old reason to the new one), removes the contact from
// the review queue, and makes the correction training data.
func (s *Service) Relabel(ctx context.Context, id, reason, actor string) (Relabeled, error) {
	r, ok := s.deps.Decider.tax.Resolve(reason)
	if !ok {
		return Relabeled{}, fmt.Errorf("%w %q", ErrUnknownReason, reason)
	}
	reason = r.Code
	entry, err := s.tags.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Relabeled{}, ErrContactNotFound
	}
	if err != nil {
		return Relabeled{}, fmt.Errorf("tagger: read tag of %s: %w", id, err)
	}
	var st tagState
	if err := json.Unmarshal(entry.Value(), &st); err != nil {
		return Relabeled{}, fmt.Errorf("tagger: tag state of %s: %w", id, err)
	}
	contact, err := s.contactAt(ctx, st.Seq)
	if err != nil {
		return Relabeled{}, err
	}
	out := Relabeled{ID: id, Reason: reason, PreviousReason: st.Reason, Changed: st.Reason != reason}
	ev := &pb.ContactRelabeled{
		Meta:           &pb.EventMeta{EventId: fmt.Sprintf("relabeled:%s:%d:%s", id, st.Seq, reason), OccurredAt: timestamppb.Now(), SchemaVersion: 1, Producer: "tagger", CorrelationId: id},
		Contact:        contact,
		PreviousReason: st.Reason,
		Tag:            &pb.Tag{Reason: reason, Confidence: 1, Method: pb.TagMethod_TAG_METHOD_REVIEW, ModelVersion: "review"},
		Actor:          actor,
	}
	acks, err := s.deps.Bus.PublishAcks(ctx, bus.Event{Subject: s.deps.Bus.Subjects.ContactRelabeled, ID: ev.Meta.EventId, Msg: ev})
	if err != nil {
		return Relabeled{}, err
	}
	state, _ := json.Marshal(tagState{Seq: acks[0].Sequence, Reason: reason})
	if _, err := s.tags.Update(ctx, id, state, entry.Revision()); err != nil {
		// Another relabel of the same contact won the race; its event is
		// later in the stream, so every consumer ends with that one.
		s.log.Warn().Err(err).Str("contact_id", id).Msg("relabel raced another")
	}
	if err := s.review.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.log.Warn().Err(err).Str("contact_id", id).Msg("remove from review")
	}
	s.relabeled.Inc()
	return out, nil
}

// contactAt reads the contact of the tagged or relabeled event at seq.
func (s *Service) contactAt(ctx context.Context, seq uint64) (*pb.Contact, error) {
	stream, err := s.deps.Bus.JS.Stream(ctx, s.deps.Bus.Stream(bus.StreamContacts))
	if err != nil {
		return nil, fmt.Errorf("tagger: contacts stream: %w", err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("tagger: read event %d: %w", seq, err)
	}
	if strings.HasSuffix(raw.Subject, ".contact.relabeled") {
		var ev pb.ContactRelabeled
		if err := protoUnmarshal(raw.Data, &ev); err != nil {
			return nil, err
		}
		return ev.Contact, nil
	}
	var ev pb.ContactTagged
	if err := protoUnmarshal(raw.Data, &ev); err != nil {
		return nil, err
	}
	return ev.Contact, nil
}

// ReviewPage is one page of the review queue.
type ReviewPage struct {
	// Total is the number of contacts in the whole queue.
	Total      int          `json:"total"`
	Items      []ReviewItem `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// ReviewQueue lists contacts waiting for review, newest first, optionally
// only those whose suggested reason is reason ("unclassified" for those
// with none). cursor is the id to continue after.
func (s *Service) ReviewQueue(ctx context.Context, reason string, limit int, cursor string) (ReviewPage, error) {
	lister, err := s.review.ListKeys(ctx)
	if err != nil {
		return ReviewPage{}, fmt.Errorf("tagger: list review: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	// Ids are time-ordered: newest first.
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	page := ReviewPage{Total: len(keys), Items: []ReviewItem{}}
	for _, k := range keys {
		if cursor != "" && k >= cursor {
			continue
		}
		if len(page.Items) == limit {
			page.NextCursor = page.Items[limit-1].ID
			break
		}
		e, err := s.review.Get(ctx, k)
		if err != nil {
			continue // reviewed meanwhile
		}
		var it ReviewItem
		if json.Unmarshal(e.Value(), &it) != nil || reason != "" && it.Reason != reason {
			continue
		}
		page.Items = append(page.Items, it)
	}
	return page, nil
}
