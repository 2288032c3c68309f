package classify

import (
	"context"
	"sync/atomic"

	"github.com/nocontact/nocontact/pkg/pb"
)

// ReasonClassifier puts a Model in the tagger's classifier chain: it has
// the tagger's Classify method and lets a newly trained model replace the
// current one while contacts are being classified. It is safe for
// concurrent use.
type ReasonClassifier struct {
	model         atomic.Pointer[Model]
	minConfidence float64
}

// NewReasonClassifier returns a classifier that applies the model's reason
// when the text is in scope and the reason's calibrated probability is at
// least minConfidence. m may be nil until a model is swapped in.
func NewReasonClassifier(m *Model, minConfidence float64) *ReasonClassifier {
	rc := &ReasonClassifier{minConfidence: minConfidence}
	rc.model.Store(m)
	return rc
}

// Swap makes m the model of every later Classify call and returns the
// previous one. Calls already running finish with the model they started
// with.
func (rc *ReasonClassifier) Swap(m *Model) *Model { return rc.model.Swap(m) }

// Model returns the current model, or nil.
func (rc *ReasonClassifier) Model() *Model { return rc.model.Load() }

// Classify tags a contact from its subject and text. The tag carries the
// most probable reason, its calibrated probability, method
// TAG_METHOD_MODEL, the model's version and up to three runners-up. ok is
// false, so that the contact goes to review, when the model finds the
// text out of scope, when the probability is below the minimum confidence,
// or when there is no model (the tag is then nil).
func (rc *ReasonClassifier) Classify(_ context.Context, c *pb.Contact) (*pb.Tag, bool) {
	m := rc.model.Load()
	if m == nil {
		return nil, false
	}
	text := c.GetText()
	if s := c.GetSubject(); s != "" {
		text = s + "\n" + text
	}
	p := m.predict(text, 4)
	if len(p.Top) == 0 {
		return nil, false
	}
	tag := &pb.Tag{
		Reason:       p.Top[0].Label,
		Confidence:   p.Confidence,
		Method:       pb.TagMethod_TAG_METHOD_MODEL,
		ModelVersion: m.Version(),
	}
	for _, s := range p.Top[1:] {
		tag.Alternatives = append(tag.Alternatives, &pb.ReasonScore{Reason: s.Label, Score: s.Probability})
	}
	return tag, !p.OutOfScope && p.Confidence >= rc.minConfidence
}
