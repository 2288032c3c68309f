package retrieval

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// LabeledQuery is a question with the article that answers it.
type LabeledQuery struct {
	// Text is the question.
	Text string
	// ArticleID is the id of the article that answers it.
	ArticleID string
}

// Metrics are retrieval quality figures over labelled queries.
type Metrics struct {
	// N is the number of queries scored.
	N int `json:"n"`
	// PAt1 is the share of queries whose first hit is the right article.
	PAt1 float64 `json:"p_at_1"`
	// MRR is the mean reciprocal rank of the right article (0 when it is
	// not among the first 100 hits).
	MRR float64 `json:"mrr"`
	// RecallAt5 is the share of queries with the right article in the
	// first five hits.
	RecallAt5 float64 `json:"recall_at_5"`
}

// Evaluate runs every query against the index and scores the rankings.
func Evaluate(ix *Index, queries []LabeledQuery) Metrics {
	var m Metrics
	for _, q := range queries {
		hits := ix.Search(Query{Text: q.Text, Limit: 100})
		m.N++
		for r, h := range hits {
			if h.ID != q.ArticleID {
				continue
			}
			if r == 0 {
				m.PAt1++
			}
			if r < 5 {
				m.RecallAt5++
			}
			m.MRR += 1 / float64(r+1)
			break
		}
	}
	if m.N > 0 {
		n := float64(m.N)
		m.PAt1 /= n
		m.MRR /= n
		m.RecallAt5 /= n
	}
	return m
}

// articleJSON is one line of an articles.jsonl file.
type articleJSON struct {
	ID        string   `json:"id"`
	Slug      string   `json:"slug"`
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	Questions []string `json:"questions"`
	Locale    string   `json:"locale"`
	Reasons   []string `json:"reasons"`
	Tags      []string `json:"tags"`
	Status    string   `json:"status"`
}

// ReadArticles reads a JSONL file of articles ({"id","title","body",
// "questions","locale","reasons","tags","status"} a line). Draft articles
// are left out.
func ReadArticles(path string) ([]Article, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read articles: %w", err)
	}
	defer f.Close()
	return DecodeArticles(f)
}

// DecodeArticles reads articles as ReadArticles does, from r.
func DecodeArticles(r io.Reader) ([]Article, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	var out []Article
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var a articleJSON
		if err := json.Unmarshal([]byte(text), &a); err != nil {
			return nil, fmt.Errorf("articles line %d: %w", line, err)
		}
		if a.ID == "" {
			a.ID = a.Slug
		}
		if a.ID == "" {
			return nil, fmt.Errorf("articles line %d: no id", line)
		}
		if strings.EqualFold(a.Status, "draft") {
			continue
		}
		out = append(out, Article{ID: a.ID, Locale: a.Locale, Title: a.Title, Questions: a.Questions, Body: a.Body, Reasons: a.Reasons, Tags: a.Tags})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("articles: %w", err)
	}
	return out, nil
}

// ReadPairs reads a CSV file with a header of two columns, the text and
// its label (query,article_id or text,label), skipping empty texts.
func ReadPairs(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: header: %w", path, err)
	}
	if len(header) < 2 {
		return nil, fmt.Errorf("read %s: want two columns (text,label), have %d", path, len(header))
	}
	var out [][2]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(rec) < 2 || strings.TrimSpace(rec[0]) == "" || strings.TrimSpace(rec[1]) == "" {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])})
	}
	return out, nil
}

// EvalConfig names the files of an offline evaluation.
type EvalConfig struct {
	// Articles is a JSONL file of articles.
	Articles string
	// Queries is a CSV file "query,article_id" (with a header).
	Queries string
	// History, when set, is a CSV file "text,label" of past contacts
	// labelled with the reason codes that articles link to: a reason
	// model is trained on it and the contacts become ways of asking.
	History string
	// Weights tune ranking (zero: defaults).
	Weights Weights
	// FirstStage picks the candidates the fused views re-rank (default
	// bleve, as the help centre does; memory and none for comparison).
	FirstStage FirstStage
	// Logf receives progress lines (may be nil).
	Logf func(format string, args ...any)
}

// EvalFiles builds a help centre from files and scores its rankings of
// the labelled queries, as `nocontact faq eval` does.
func EvalFiles(ctx context.Context, cfg EvalConfig) (Metrics, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	arts, err := ReadArticles(cfg.Articles)
	if err != nil {
		return Metrics{}, err
	}
	if len(arts) == 0 {
		return Metrics{}, fmt.Errorf("articles %s: no published article", cfg.Articles)
	}
	pairs, err := ReadPairs(cfg.Queries)
	if err != nil {
		return Metrics{}, err
	}
	queries := make([]LabeledQuery, len(pairs))
	for i, p := range pairs {
		queries[i] = LabeledQuery{Text: p[0], ArticleID: p[1]}
	}
	opts := Options{Weights: cfg.Weights}
	if cfg.History != "" {
		rows, err := ReadPairs(cfg.History)
		if err != nil {
			return Metrics{}, err
		}
		for _, r := range rows {
			opts.History = append(opts.History, Example{Text: r[0], Reason: r[1]})
		}
		logf("training the reason model on %d past contacts", len(opts.History))
		sc, err := TrainReasons(ctx, opts.History, nil)
		if err != nil {
			return Metrics{}, err
		}
		opts.Reasons = sc
	}
	if !cfg.FirstStage.Valid() {
		return Metrics{}, fmt.Errorf("unknown first stage %q: want bleve, memory or none", cfg.FirstStage)
	}
	opts = cfg.FirstStage.Options(opts)
	ix, err := New(arts, opts)
	if err != nil {
		return Metrics{}, err
	}
	defer ix.Close()
	logf("indexed %d articles (first stage %s); running %d queries", ix.Len(), ix.FirstStage(), len(queries))
	return Evaluate(ix, queries), nil
}
