package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
)

// Unclassified is the label of a prediction that fits no reason well
// enough, as in the tagger's taxonomy.
const Unclassified = "unclassified"

// Scored is a reason with its calibrated probability.
type Scored struct {
	// Label is the reason code.
	Label string
	// Probability is the calibrated probability that the text has this
	// reason, in [0, 1].
	Probability float64
}

// Prediction is what a model says about one text.
type Prediction struct {
	// Label is the decided reason: the most probable one, or Unclassified
	// when OutOfScope.
	Label string
	// Confidence is the calibrated probability of the most probable reason
	// (Top[0]), whether or not it was applied.
	Confidence float64
	// OutOfScope is true when the text fits none of the model's reasons:
	// the out-of-scope class won, or Confidence is below the threshold
	// learned by cross-validation.
	OutOfScope bool
	// Top holds up to three most probable reasons, best first. It never
	// holds the out-of-scope class, so Top[0] is the best guess even for an
	// out-of-scope text.
	Top []Scored
}

// Model is a trained reason classifier. It is immutable and safe for
// concurrent use; Train or Load make one.
type Model struct {
	labels []string
	oos    int // index of the out-of-scope class, or -1
	fc     featureConfig
	vz     *vectorizer
	lin    *linear
	// net's logits, times blend, are added to lin's scores; nil when the
	// model has no network.
	net         *mlp
	blend       float64
	temperature float64
	// det and threshold decide when a text is out of scope: det's
	// probability of rejection above threshold. det is nil when training
	// had nothing to learn it from.
	det       *detector
	threshold float64
	cv        CVStats
	version   string
	scratch   sync.Pool
}

// scratch is the per-call working memory of Predict.
type scratch struct {
	h      hashes
	counts []uint16
	x      sparse
	acc    []float32
	scores []float64
	net    netScratch
	logits []float64
	mixed  []float64
	probs  []float64
}

// Labels returns the reasons the model knows, in sorted order, including
// the out-of-scope label when it was trained with one.
func (m *Model) Labels() []string { return slices.Clone(m.labels) }

// OOSLabel returns the label learned as out of scope, or "" when the
// training data had none.
func (m *Model) OOSLabel() string {
	if m.oos < 0 {
		return ""
	}
	return m.labels[m.oos]
}

// Threshold returns the probability, estimated by the model's
// out-of-scope detector, that a prediction is out of scope or wrong above
// which the text is reported out of scope. It is 1 when training had no
// out-of-scope text to learn from (real or simulated).
func (m *Model) Threshold() float64 { return m.threshold }

// Version identifies the model by its content: "model-" and the first 8 hex
// digits of the SHA-256 of its saved form, so the same model always has the
// same version and two different models practically never share one.
func (m *Model) Version() string { return m.version }

// CrossValidation returns the figures of the cross-validation that
// calibrated the model (zero when training skipped it).
func (m *Model) CrossValidation() CVStats { return m.cv }

// Features returns the number of features in the model's dictionary.
func (m *Model) Features() int { return len(m.vz.voc.keys) }

// seal computes the version from the encoded body. The network section is
// hashed only when there is a network, so a model without one keeps the
// version it had in format version 1.
func (m *Model) seal() error {
	h := sha256.New()
	if err := m.encodeBody(h); err != nil {
		return fmt.Errorf("hash model: %w", err)
	}
	if m.net != nil {
		if err := m.encodeNet(h); err != nil {
			return fmt.Errorf("hash model: %w", err)
		}
	}
	m.version = "model-" + hex.EncodeToString(h.Sum(nil))[:8]
	return nil
}

// Predict classifies one text.
func (m *Model) Predict(text string) Prediction { return m.predict(text, 3) }

// predict classifies one text, keeping the k most probable reasons.
func (m *Model) predict(text string, k int) Prediction {
	s, _ := m.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	defer m.scratch.Put(s)
	s.h.reset()
	m.fc.extract(text, &s.h)
	var coverage float64
	if len(s.counts) != len(m.vz.voc.keys) {
		s.counts = make([]uint16, len(m.vz.voc.keys))
	}
	s.x, coverage = m.vz.vectorize(&s.h, s.counts, s.x)
	s.acc, s.scores = m.lin.scores(s.x, s.acc, s.scores)
	mixed := s.scores
	if m.net != nil {
		if len(s.logits) != m.net.k {
			s.logits = make([]float64, m.net.k)
		}
		m.net.logits(s.x, &s.net, s.logits)
		s.mixed = s.mixed[:0]
		for c, v := range s.logits {
			s.mixed = append(s.mixed, s.scores[c]+m.blend*v)
		}
		mixed = s.mixed
	}
	s.probs = softmax(mixed, m.temperature, s.probs)
	return m.decide(s.probs, s.scores, coverage, k)
}

// decide turns class probabilities into a prediction; scores are the
// SVM scores alone, which the out-of-scope detector reads.
func (m *Model) decide(p, scores []float64, coverage float64, k int) Prediction {
	var buf [8]int
	top, rejected := m.rank(p, scores, coverage, buf[:min(max(k, 1), len(buf))])
	pred := Prediction{Top: make([]Scored, len(top))}
	for i, c := range top {
		pred.Top[i] = Scored{Label: m.labels[c], Probability: p[c]}
	}
	if len(top) > 0 {
		pred.Label, pred.Confidence = pred.Top[0].Label, pred.Top[0].Probability
	}
	if rejected {
		pred.Label, pred.OutOfScope = Unclassified, true
	}
	return pred
}

// rank fills top with the most probable in-scope classes, best first
// (ties keep the lower class), and reports whether the text is out of
// scope: the out-of-scope class wins, or the detector's probability of
// rejection is above the threshold.
func (m *Model) rank(p, scores []float64, coverage float64, top []int) ([]int, bool) {
	n := 0
	for c, pc := range p {
		if c == m.oos {
			continue
		}
		pos := n
		if n == len(top) {
			if pc <= p[top[n-1]] {
				continue
			}
			pos = n - 1
		} else {
			n++
		}
		for pos > 0 && p[top[pos-1]] < pc {
			top[pos] = top[pos-1]
			pos--
		}
		top[pos] = c
	}
	top = top[:n]
	if n == 0 {
		return top, true
	}
	rejected := (m.oos >= 0 && p[m.oos] > p[top[0]]) ||
		(m.det != nil && m.det.prob(makeCues(p, scores, m.oos, coverage)) > m.threshold)
	return top, rejected
}
