package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nocontact/nocontact/pkg/classify"
)

// evalResult is the last line `eval` prints, as JSON. The out-of-scope
// fields are present only with --oos-label (or --holdout-labels).
type evalResult struct {
	N                    int      `json:"n"`
	Accuracy             float64  `json:"accuracy"`
	MacroF1              float64  `json:"macro_f1"`
	InScopeAccuracy      *float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall            *float64 `json:"oos_recall,omitempty"`
	UnclassifiedShare    float64  `json:"unclassified_share"`
	Unseen               int      `json:"unseen"`
	TrainSeconds         float64  `json:"train_seconds"`
	PredictionsPerSecond float64  `json:"predictions_per_second"`
}

// evalConfig is what `nocontact eval` is told.
type evalConfig struct {
	train, test string
	folds       int
	holdout     float64
	quiet       bool
	cf          classifyFlags
}

// runEval trains on one labelled file and scores the predictions on
// another, or cross-validates on one file, without any server.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c evalConfig
	fs := newFlagSet("eval", stderr)
	fs.StringVar(&c.train, "train", "", "training examples `file` (CSV text,label or JSONL)")
	fs.StringVar(&c.test, "test", "", "test examples `file`; without it, cross-validate on --train")
	fs.IntVar(&c.folds, "cv", 5, "cross-validation `folds` when there is no --test")
	fs.Float64Var(&c.holdout, "holdout-labels", 0, "with --cv: hide this `share` of the reasons from each fold's training and score their texts as out of scope (estimates out-of-scope handling without out-of-scope data)")
	fs.BoolVar(&c.quiet, "quiet", false, "print only the JSON line")
	c.cf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if c.train == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("eval: --train is required: %w", errUsage)
	}
	switch {
	case c.test == "" && c.folds < 2:
		return fmt.Errorf("eval: --cv %d: need at least 2 folds: %w", c.folds, errUsage)
	case c.holdout < 0 || c.holdout >= 1:
		return fmt.Errorf("eval: --holdout-labels %g: need a share in [0, 1): %w", c.holdout, errUsage)
	case c.holdout > 0 && c.test != "":
		return fmt.Errorf("eval: --holdout-labels works with cross-validation, not with --test: %w", errUsage)
	}
	res, err := evaluate(ctx, c, stdout, stderr)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	line, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}

// evalRun accumulates the outcomes and timings of one or more train and
// predict rounds.
type evalRun struct {
	outs        []classify.Outcome
	known       map[string]bool
	rejected    int
	trainSecs   []float64
	predictSecs float64
}

// round trains on train, predicts test and records the outcomes.
func (r *evalRun) round(ctx context.Context, train, test []classify.Example, opts classify.Options, oosLabel string) error {
	start := time.Now()
	m, err := classify.Train(ctx, train, opts)
	if err != nil {
		return err
	}
	r.trainSecs = append(r.trainSecs, time.Since(start).Seconds())
	for _, l := range m.Labels() {
		r.known[l] = true
	}
	preds := make([]classify.Prediction, len(test))
	start = time.Now()
	for i, e := range test {
		preds[i] = m.Predict(e.Text)
	}
	r.predictSecs += time.Since(start).Seconds()
	for i, e := range test {
		if preds[i].OutOfScope {
			r.rejected++
		}
		r.outs = append(r.outs, classify.Score(preds[i], e.Label, oosLabel))
	}
	return nil
}

func evaluate(ctx context.Context, c evalConfig, stdout, stderr io.Writer) (*evalResult, error) {
	train, err := classify.ReadExamples(c.train)
	if err != nil {
		return nil, err
	}
	logf := func(string, ...any) {}
	if !c.quiet {
		logf = func(f string, a ...any) { fmt.Fprintf(stderr, "eval: "+f+"\n", a...) }
	}
	opts := c.cf.options(nil)
	oosLabel := c.cf.oosLabel
	run := &evalRun{known: map[string]bool{}}
	if c.test != "" {
		test, err := classify.ReadExamples(c.test)
		if err != nil {
			return nil, err
		}
		if err := run.round(ctx, train, test, opts, oosLabel); err != nil {
			return nil, err
		}
		logf("trained on %d, tested on %d in %.1fs", len(train), len(test), run.trainSecs[0])
	} else {
		if c.holdout > 0 && oosLabel == "" {
			oosLabel = "oos"
		}
		folds := classify.Folds(train, c.folds, c.cf.seed)
		for f := 0; f < c.folds; f++ {
			hidden := heldOutLabels(train, c.holdout, oosLabel, c.cf.seed+uint64(f))
			var tr, te []classify.Example
			for i, e := range train {
				switch {
				case folds[i] == f && hidden[e.Label]:
					te = append(te, classify.Example{Text: e.Text, Label: oosLabel})
				case folds[i] == f:
					te = append(te, e)
				case !hidden[e.Label]:
					tr = append(tr, e)
				}
			}
			if err := run.round(ctx, tr, te, opts, oosLabel); err != nil {
				return nil, fmt.Errorf("fold %d: %w", f+1, err)
			}
			logf("fold %d/%d: trained on %d (%d reasons hidden), tested on %d in %.1fs", f+1, c.folds, len(tr), len(hidden), len(te), run.trainSecs[f])
		}
	}
	known := make([]string, 0, len(run.known))
	for l := range run.known {
		known = append(known, l)
	}
	rep := classify.Summarize(run.outs, oosLabel, known)
	if len(rep.Unseen) > 0 {
		var names []string
		n := 0
		for l, k := range rep.Unseen {
			names = append(names, fmt.Sprintf("%s (%d)", l, k))
			n += k
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "eval: %d test texts have labels the model never learned (counted as errors): %s\n", n, strings.Join(names, ", "))
	}
	res := &evalResult{
		N:                 rep.N,
		Accuracy:          round4(rep.Accuracy),
		MacroF1:           round4(rep.MacroF1),
		UnclassifiedShare: round4(float64(run.rejected) / float64(max(rep.N, 1))),
		TrainSeconds:      round4(mean(run.trainSecs)),
	}
	for _, n := range rep.Unseen {
		res.Unseen += n
	}
	if run.predictSecs > 0 {
		res.PredictionsPerSecond = float64(int(float64(rep.N) / run.predictSecs))
	}
	if oosLabel != "" {
		in, rec := round4(rep.InScopeAccuracy), round4(rep.OOSRecall)
		res.InScopeAccuracy, res.OOSRecall = &in, &rec
	}
	if !c.quiet {
		fmt.Fprintf(stdout, "texts %d  accuracy %.4f  macro-F1 %.4f", rep.N, rep.Accuracy, rep.MacroF1)
		if oosLabel != "" {
			fmt.Fprintf(stdout, "  in-scope %.4f (%d)  out-of-scope recall %.4f (%d)", rep.InScopeAccuracy, rep.InScopeN, rep.OOSRecall, rep.OOSN)
		}
		fmt.Fprintf(stdout, "\nunclassified %.1f%%  train %.1fs  %.0f predictions/s\n", 100*res.UnclassifiedShare, res.TrainSeconds, res.PredictionsPerSecond)
	}
	return res, nil
}

// heldOutLabels picks share of the labels (never the out-of-scope one) to
// hide from a fold's training, in an order fixed by seed.
func heldOutLabels(ex []classify.Example, share float64, oosLabel string, seed uint64) map[string]bool {
	hidden := map[string]bool{}
	if share <= 0 {
		return hidden
	}
	set := map[string]bool{}
	for _, e := range ex {
		if e.Label != oosLabel {
			set[e.Label] = true
		}
	}
	labels := make([]string, 0, len(set))
	for l := range set {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	rng := rand.New(rand.NewPCG(seed, 0x401d))
	rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	n := int(share*float64(len(labels)) + 0.5)
	// Keep at least two reasons to train on.
	n = min(n, len(labels)-2)
	for _, l := range labels[:max(n, 0)] {
		hidden[l] = true
	}
	return hidden
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func round4(x float64) float64 { return float64(int64(x*10000+0.5)) / 10000 }
