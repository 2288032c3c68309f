package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// runFAQ dispatches the help-centre subcommands (faq eval).
func runFAQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "eval" {
		fmt.Fprintln(stderr, "usage: nocontact faq eval --articles FILE.jsonl --queries FILE.csv [--history TRAIN.csv] [--first-stage bleve|memory|none]")
		return fmt.Errorf("faq: want the subcommand eval: %w", errUsage)
	}
	return runFAQEval(ctx, args[1:], stdout, stderr)
}

// runFAQEval builds a help centre from an articles file offline, runs
// labelled queries against it and prints the retrieval figures; the last
// line is JSON: {"n","p_at_1","mrr","recall_at_5"}.
func runFAQEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg retrieval.EvalConfig
	fs := newFlagSet("faq eval", stderr)
	fs.StringVar(&cfg.Articles, "articles", "", "articles `file` (JSONL: id, title, body, questions, locale, reasons)")
	fs.StringVar(&cfg.Queries, "queries", "", "labelled queries `file` (CSV with header: query,article_id)")
	fs.StringVar(&cfg.History, "history", "", "past contacts `file` (CSV with header: text,label) whose labels are reason codes the articles link to")
	firstStageVar(fs, &cfg.FirstStage, "first-stage", "`stage` that finds the candidates the ranking re-scores: bleve (the help centre's default), memory or none")
	quiet := fs.Bool("quiet", false, "print only the JSON line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Articles == "" || cfg.Queries == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("faq eval: --articles and --queries are required: %w", errUsage)
	}
	if !*quiet {
		cfg.Logf = func(f string, a ...any) { fmt.Fprintf(stderr, "faq eval: "+f+"\n", a...) }
	}
	m, err := retrieval.EvalFiles(ctx, cfg)
	if err != nil {
		return fmt.Errorf("faq eval: %w", err)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "queries %d  P@1 %.3f  MRR %.3f  recall@5 %.3f\n", m.N, m.PAt1, m.MRR, m.RecallAt5)
	}
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("faq eval: %w", err)
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}
