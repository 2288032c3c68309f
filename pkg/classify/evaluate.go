package classify

import (
	"sort"
)

// Report holds the quality figures of a model on labelled test texts.
type Report struct {
	// N is the number of test texts.
	N int
	// Correct is the number predicted correctly.
	Correct int
	// Accuracy is Correct/N. With an out-of-scope label, a text of that
	// label counts as correct when the model finds it out of scope, and an
	// in-scope text counts as correct only when its reason is applied.
	Accuracy float64
	// MacroF1 is the F1 score averaged over the labels that occur in the
	// truth or the predictions, out of scope counting as one label.
	MacroF1 float64
	// InScopeN and InScopeAccuracy count the texts not labelled out of
	// scope.
	InScopeN        int
	InScopeAccuracy float64
	// OOSN and OOSRecall count the texts labelled out of scope and the
	// share of them the model found out of scope.
	OOSN      int
	OOSRecall float64
	// Rejected is the number of texts the model found out of scope.
	Rejected int
	// Unseen counts the test texts whose label the model never learned, by
	// label; they always count as errors.
	Unseen map[string]int
}

// Outcome is one test text's truth and prediction, as Evaluate scores it.
type Outcome struct {
	// Truth is the test label.
	Truth string
	// Predicted is the label the model gave: a reason, or Unclassified.
	Predicted string
	// Correct is whether Predicted counts as right for Truth.
	Correct bool
}

// Score decides how a prediction counts against a truth label. With an
// oosLabel, a prediction found out of scope reads as Unclassified and is
// right for a text of that label; without one the test is closed-set and
// the best reason (Top[0]) is scored whatever the model's confidence.
func Score(p Prediction, truth, oosLabel string) Outcome {
	pred := p.Label
	if oosLabel == "" && len(p.Top) > 0 {
		pred = p.Top[0].Label
	}
	correct := pred == truth
	if oosLabel != "" && truth == oosLabel {
		correct = pred == Unclassified || pred == oosLabel
	}
	return Outcome{Truth: truth, Predicted: pred, Correct: correct}
}

// Evaluate predicts every test text with m and scores the predictions
// (see Score).
func Evaluate(m *Model, test []Example, oosLabel string) Report {
	outs := make([]Outcome, len(test))
	rejected := 0
	for i, e := range test {
		p := m.Predict(e.Text)
		if p.OutOfScope {
			rejected++
		}
		outs[i] = Score(p, e.Label, oosLabel)
	}
	r := Summarize(outs, oosLabel, m.Labels())
	r.Rejected = rejected
	return r
}

// Summarize computes the report of scored outcomes; known lists the
// labels the model learned (to count unseen test labels).
func Summarize(outs []Outcome, oosLabel string, known []string) Report {
	r := Report{N: len(outs), Unseen: map[string]int{}}
	isKnown := map[string]bool{}
	for _, l := range known {
		isKnown[l] = true
	}
	// Per-label counts for F1; out of scope counts as one label.
	canon := func(l string) string {
		if oosLabel != "" && (l == oosLabel || l == Unclassified) {
			return "\x00oos"
		}
		return l
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	var inRight, oosRight int
	for _, o := range outs {
		isOOS := oosLabel != "" && o.Truth == oosLabel
		if !isOOS && !isKnown[o.Truth] {
			r.Unseen[o.Truth]++
		}
		if o.Correct {
			r.Correct++
			if isOOS {
				oosRight++
			} else {
				inRight++
			}
		}
		if isOOS {
			r.OOSN++
		} else {
			r.InScopeN++
		}
		t, p := canon(o.Truth), canon(o.Predicted)
		if o.Correct {
			tp[t]++
		} else {
			fn[t]++
			fp[p]++
		}
	}
	if r.N > 0 {
		r.Accuracy = float64(r.Correct) / float64(r.N)
	}
	if r.InScopeN > 0 {
		r.InScopeAccuracy = float64(inRight) / float64(r.InScopeN)
	}
	if r.OOSN > 0 {
		r.OOSRecall = float64(oosRight) / float64(r.OOSN)
	}
	labels := map[string]bool{}
	for _, m := range []map[string]int{tp, fp, fn} {
		for l := range m {
			labels[l] = true
		}
	}
	names := make([]string, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	sort.Strings(names)
	var sum float64
	for _, l := range names {
		if d := 2*tp[l] + fp[l] + fn[l]; d > 0 {
			sum += 2 * float64(tp[l]) / float64(d)
		}
	}
	if len(names) > 0 {
		r.MacroF1 = sum / float64(len(names))
	}
	return r
}
