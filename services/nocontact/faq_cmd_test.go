package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFAQEvalPrintsFiguresAsItsLastLine(t *testing.T) {
	dir := t.TempDir()
	arts := filepath.Join(dir, "articles.jsonl")
	queries := filepath.Join(dir, "queries.csv")
	history := filepath.Join(dir, "history.csv")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(arts, `{"id":"refund","title":"How do I get a refund?","body":"Refunds take 5 days.","questions":["money back"],"locale":"en","reasons":["refund_status"]}
{"id":"track","title":"Where is my order?","body":"Track your parcel in the app.","locale":"en","reasons":["where_is_my_order"]}
{"id":"draft","title":"Secret","body":"x","status":"draft"}
`)
	write(queries, "query,article_id\nI want my money back,refund\nwhere is my parcel,track\n")
	write(history, "text,label\nrefund please,refund_status\nmy refund is late,refund_status\nparcel not here,where_is_my_order\nwhere is my package,where_is_my_order\n")
	for _, args := range [][]string{
		{"eval", "--articles", arts, "--queries", queries},
		{"eval", "--articles", arts, "--queries", queries, "--history", history, "--quiet"},
		{"eval", "--articles", arts, "--queries", queries, "--first-stage", "bleve"},
		{"eval", "--articles", arts, "--queries", queries, "--first-stage", "memory", "--quiet"},
		{"eval", "--articles", arts, "--queries", queries, "--first-stage", "none", "--quiet"},
	} {
		var out bytes.Buffer
		if err := runFAQ(context.Background(), args, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var m struct {
			N    int     `json:"n"`
			PAt1 float64 `json:"p_at_1"`
			MRR  float64 `json:"mrr"`
			R5   float64 `json:"recall_at_5"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
			t.Fatalf("last line %q is not the JSON figures: %v", lines[len(lines)-1], err)
		}
		if m.N != 2 || m.PAt1 != 1 || m.MRR != 1 || m.R5 != 1 {
			t.Errorf("%v: figures %+v", args, m)
		}
	}
	if err := runFAQ(context.Background(), []string{"eval", "--articles", arts}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("missing --queries: %v, want a usage error", err)
	}
	var stderr bytes.Buffer
	if err := runFAQ(context.Background(), []string{"eval", "--articles", arts, "--queries", queries, "--first-stage", "elastic"}, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), "first-stage") || !strings.Contains(err.Error(), `"elastic"`) {
		t.Errorf("--first-stage elastic: %v, want an error naming the flag and the value", err)
	}
	// Without --first-stage the evaluation ranks as the help centre does:
	// over the Bleve first stage.
	stderr.Reset()
	if err := runFAQ(context.Background(), []string{"eval", "--articles", arts, "--queries", queries}, io.Discard, &stderr); err != nil || !strings.Contains(stderr.String(), "first stage bleve") {
		t.Errorf("default first stage: %v, log %q, want bleve", err, stderr.String())
	}
	if err := runFAQ(context.Background(), nil, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("no subcommand: %v, want a usage error", err)
	}
}
