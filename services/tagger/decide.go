package tagger

import (
	"context"
	"fmt"

	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Unclassified is the reason of a contact no rule or model could place.
const Unclassified = "unclassified"

// Classifier proposes a reason for a contact. It returns ok=false when it
// has no answer it is confident enough to apply; the tag it returns then
// may still carry alternatives that help a reviewer. Implementations must
// be safe for concurrent use. The keyword rules are one Classifier; the
// learned model is another, placed after them in the chain.
type Classifier interface {
	Classify(ctx context.Context, c *pb.Contact) (tag *pb.Tag, ok bool)
}

// Decider turns a contact into a tag: a valid agent code first, then each
// classifier of the chain in order, else unclassified (sent to review).
type Decider struct {
	tax   *taxonomy.Taxonomy
	chain []Classifier
}

// NewDecider returns a decider over the taxonomy and classifier chain.
func NewDecider(tax *taxonomy.Taxonomy, chain ...Classifier) *Decider {
	return &Decider{tax: tax, chain: chain}
}

// Decide tags one contact.
func (d *Decider) Decide(ctx context.Context, c *pb.Contact) *pb.Tag {
	if code := c.GetAgentReason(); code != "" {
		if r, ok := d.tax.Resolve(code); ok {
			return &pb.Tag{Reason: r.Code, Confidence: 1, Method: pb.TagMethod_TAG_METHOD_AGENT, ModelVersion: "agent"}
		}
	}
	var best *pb.Tag
	for _, cl := range d.chain {
		tag, ok := cl.Classify(ctx, c)
		if ok && tag != nil && tag.Reason != "" {
			return tag
		}
		if tag != nil && (best == nil || topScore(tag) > topScore(best)) {
			best = tag
		}
	}
	out := &pb.Tag{Reason: Unclassified, Method: pb.TagMethod_TAG_METHOD_RULE, ModelVersion: d.version(), NeedsReview: true}
	if best != nil {
		out.Method, out.ModelVersion = best.Method, best.ModelVersion
		out.Alternatives = best.Alternatives
		if best.Reason != "" && best.Reason != Unclassified {
			out.Alternatives = append([]*pb.ReasonScore{{Reason: best.Reason, Score: best.Confidence}}, best.Alternatives...)
			if len(out.Alternatives) > 3 {
				out.Alternatives = out.Alternatives[:3]
			}
		}
	}
	return out
}

func (d *Decider) version() string { return fmt.Sprintf("rules:taxonomy-v%d", d.tax.Version) }

func topScore(t *pb.Tag) float64 {
	s := t.Confidence
	for _, a := range t.Alternatives {
		s = max(s, a.Score)
	}
	return s
}

// Rules classifies by the taxonomy's keywords and phrases.
type Rules struct {
	m *taxonomy.Matcher
	// MinConfidence is the confidence a rule match needs to be applied.
	MinConfidence float64
	version       string
}

// NewRules returns the keyword-rule classifier of a taxonomy.
func NewRules(tax *taxonomy.Taxonomy, minConfidence float64) *Rules {
	return &Rules{m: taxonomy.NewMatcher(tax), MinConfidence: minConfidence, version: fmt.Sprintf("rules:taxonomy-v%d", tax.Version)}
}

// Classify implements Classifier.
func (r *Rules) Classify(_ context.Context, c *pb.Contact) (*pb.Tag, bool) {
	text := c.GetText()
	if s := c.GetSubject(); s != "" {
		text = s + "\n" + text
	}
	res := r.m.Match(text, c.GetLocale())
	tag := &pb.Tag{Reason: res.Reason, Confidence: res.Confidence, Method: pb.TagMethod_TAG_METHOD_RULE, ModelVersion: r.version, Matched: res.Matched}
	for i, a := range res.Alternatives {
		if i == 3 {
			break
		}
		tag.Alternatives = append(tag.Alternatives, &pb.ReasonScore{Reason: a.Reason, Score: a.Score})
	}
	return tag, res.Reason != "" && res.Confidence >= r.MinConfidence
}
