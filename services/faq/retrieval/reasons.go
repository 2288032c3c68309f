package retrieval

import (
	"context"
	"fmt"

	"github.com/nocontact/nocontact/pkg/classify"
)

// ModelScorer adapts a trained reason classifier to ReasonScorer: the
// calibrated probabilities of its top reasons.
type ModelScorer struct {
	// Model is the trained classifier.
	Model *classify.Model
}

// ScoreReasons implements ReasonScorer.
func (s ModelScorer) ScoreReasons(text string) map[string]float64 {
	p := s.Model.Predict(text)
	out := make(map[string]float64, len(p.Top))
	for _, t := range p.Top {
		out[t.Label] = t.Probability
	}
	return out
}

// TrainReasons trains a reason classifier on past contacts (text and
// reason code) for the reason view of an index.
func TrainReasons(ctx context.Context, history []Example, logf func(string, ...any)) (ModelScorer, error) {
	ex := make([]classify.Example, 0, len(history))
	for _, h := range history {
		ex = append(ex, classify.Example{Text: h.Text, Label: h.Reason})
	}
	m, err := classify.Train(ctx, ex, classify.Options{Seed: 1, Logf: logf})
	if err != nil {
		return ModelScorer{}, fmt.Errorf("train reason model on %d contacts: %w", len(ex), err)
	}
	return ModelScorer{Model: m}, nil
}

// CurrentModel adapts a model that may be replaced while the service runs
// (the tagger retrains and swaps its model) to ReasonScorer: each call
// uses the model the func returns, and scores nothing while it is nil.
type CurrentModel func() *classify.Model

// ScoreReasons implements ReasonScorer.
func (f CurrentModel) ScoreReasons(text string) map[string]float64 {
	m := f()
	if m == nil {
		return nil
	}
	return ModelScorer{Model: m}.ScoreReasons(text)
}
