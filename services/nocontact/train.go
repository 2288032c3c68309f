package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nocontact/nocontact/pkg/classify"
)

// classifyFlags are the training settings shared by train and eval.
type classifyFlags struct {
	seed     uint64
	oosLabel string
	oosPrior float64
}

func (c *classifyFlags) register(fs *flag.FlagSet) {
	fs.Uint64Var(&c.seed, "seed", 1, "random `seed`: the same data and seed give a byte-identical model")
	fs.StringVar(&c.oosLabel, "oos-label", "", "`label` of examples that fit no reason (learned as out of scope), e.g. oos")
	fs.Float64Var(&c.oosPrior, "oos-prior", 0, "expected `share` of out-of-scope texts the rejection threshold is tuned for (default 0.2 with --oos-label examples, else 0.5)")
}

func (c *classifyFlags) options(logf func(string, ...any)) classify.Options {
	return classify.Options{Seed: c.seed, OOSLabel: c.oosLabel, OOSPrior: c.oosPrior, Logf: logf}
}

// runTrain trains a reason classifier from a labelled file and writes the
// model file.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "labelled examples `file`: CSV with columns text,label or JSONL {\"text\",\"label\"}")
	out := fs.String("out", "model.ncm", "model `file` to write")
	verbose := fs.Bool("verbose", false, "log the cross-validation folds")
	var cf classifyFlags
	cf.register(fs)
	if err := parseExcept(fs, args, "data"); err != nil {
		return err
	}
	if *data == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("train: --data is required: %w", errUsage)
	}
	examples, err := classify.ReadExamples(*data)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	logf := func(string, ...any) {}
	if *verbose {
		logf = func(f string, a ...any) { fmt.Fprintf(stderr, "train: "+f+"\n", a...) }
	}
	start := time.Now()
	m, err := classify.Train(ctx, examples, cf.options(logf))
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	secs := time.Since(start).Seconds()
	if err := writeModel(*out, m); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cv := m.CrossValidation()
	fmt.Fprintf(stdout, "examples %d  labels %d  features %d  train %.1fs\n", len(examples), len(m.Labels()), m.Features(), secs)
	fmt.Fprintf(stdout, "cross-validated (%d folds): accuracy %.4f on %d  applied-and-right %.4f  out-of-scope recall %.4f on %d (real or held-out reasons)\n",
		cv.Folds, cv.Accuracy, cv.InScopeN, cv.InScopeAccuracy, cv.OOSRecall, cv.OOSN)
	fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, m.Version())
	return nil
}

// writeModel saves m to path through a temporary file renamed into place,
// so a reader never sees half a model.
func writeModel(path string, m *classify.Model) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(tmp.Name()))
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write model %s: %w", path, err)
	}
	if err := m.Save(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write model %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write model %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}
