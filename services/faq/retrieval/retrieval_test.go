package retrieval

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

func small() []Article {
	return []Article{
		{ID: "refund", Locale: "en", Title: "How do I get a refund?", Questions: []string{"I want my money back"}, Body: "Refunds are paid within 5 days."},
		{ID: "track", Locale: "en", Title: "Where is my order?", Questions: []string{"Track my parcel"}, Body: "Open My orders to track deliveries."},
		{ID: "password", Locale: "en", Title: "I forgot my password", Body: "Use the reset link on the sign-in page."},
		{ID: "refund-zh", Locale: "zh", Title: "如何申请退款？", Questions: []string{"退款什么时候到账"}, Body: "退款会在5个工作日内退回。"},
	}
}

func TestSearchRanksTheRightArticleFirst(t *testing.T) {
	ix := Build(small(), Options{})
	for _, tc := range []struct{ q, want string }{
		{"refunded", "refund"},           // stemming
		{"tracking parcels", "track"},    // stemming on questions
		{"pasword", "password"},          // typo, one edit
		{"forgoten passwrd", "password"}, // typos
		{"money back", "refund"},         // alternative question
		{"退款", "refund-zh"},              // Chinese bigram
		{"退", "refund-zh"},               // a Chinese character alone
		{"kids", ""},                     // nothing relevant: whatever comes, not asserted
	} {
		hits := ix.Search(Query{Text: tc.q})
		if tc.want == "" {
			continue
		}
		if len(hits) == 0 || hits[0].ID != tc.want {
			t.Errorf("%q: hits %v, want %s first", tc.q, hits, tc.want)
		}
	}
	if hits := ix.Search(Query{Text: "refund", Locales: []string{"zh"}}); len(hits) != 0 && hits[0].ID != "refund-zh" {
		t.Errorf("locale filter: %v", hits)
	}
}

func TestSynonymsAreConfigurable(t *testing.T) {
	arts := []Article{{ID: "a", Title: "Parcel lockers", Body: "Collect from a locker."}, {ID: "b", Title: "Gift cards", Body: "Cards never expire."}}
	if hits := Build(arts, Options{Synonyms: Synonyms{}}).Search(Query{Text: "package"}); len(hits) > 0 && len(hits[0].Matched) > 0 {
		t.Errorf("without synonyms 'package' matched %v", hits)
	}
	hits := Build(arts, Options{Synonyms: Synonyms{"package": {"parcel"}}}).Search(Query{Text: "package"})
	if len(hits) == 0 || hits[0].ID != "a" {
		t.Errorf("with a synonym: %v", hits)
	}
}

type fixedReasons map[string]float64

func (f fixedReasons) ScoreReasons(string) map[string]float64 { return f }

func TestReasonModelRanksTheReasonsArticlesFirst(t *testing.T) {
	arts := []Article{
		{ID: "a", Title: "Delivery times", Body: "Orders arrive in 2 days.", Reasons: []string{"late"}},
		{ID: "b", Title: "Order changes", Body: "Change an order before it ships.", Reasons: []string{"change"}},
	}
	ix := Build(arts, Options{Reasons: fixedReasons{"change": 0.9}})
	if hits := ix.Search(Query{Text: "my order"}); hits[0].ID != "b" {
		t.Errorf("hits %v, want the reason's article first", hits)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"refund", "refund", 0}, {"refnud", "refund", 1}, {"refun", "refund", 1}, {"rfnd", "refund", 2}, {"abc", "xyz", 3}} {
		if got := editDistance([]rune(tc.a), []rune(tc.b), 3); got != tc.want {
			t.Errorf("%s/%s: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestQualityFloors checks retrieval on the shared FAQ sets stays above
// the floors with margin: covid dev queries, and Banking77
// training rows that are not article questions (no history).
func TestQualityFloors(t *testing.T) {
	shared := tu.SharedDir(t)
	m, err := EvalFiles(context.Background(), EvalConfig{
		Articles: filepath.Join(shared, "data/faq/covid/articles.jsonl"),
		Queries:  filepath.Join(shared, "data/faq/covid/queries_dev.csv"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("covid dev: %+v", m)
	if m.PAt1 < 0.65 || m.MRR < 0.74 {
		t.Errorf("covid dev P@1 %.3f MRR %.3f below 0.65/0.74", m.PAt1, m.MRR)
	}
	arts, err := ReadArticles(filepath.Join(shared, "data/faq/banking77/articles.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadPairs(filepath.Join(shared, "data/intents/banking77/train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	inArticles := map[string]bool{}
	for _, a := range arts {
		for _, q := range a.Questions {
			inArticles[q] = true
		}
	}
	var qs []LabeledQuery
	rng := rand.New(rand.NewPCG(7, 7))
	for _, r := range rows {
		if !inArticles[r[0]] && rng.IntN(3) == 0 {
			qs = append(qs, LabeledQuery{Text: r[0], ArticleID: r[1]})
		}
	}
	bix, err := New(arts, Options{Bleve: true, Dir: filepath.Join(t.TempDir(), "bleve")})
	if err != nil {
		t.Fatal(err)
	}
	defer bix.Close()
	b := Evaluate(bix, qs)
	t.Logf("banking77 (no history, %d training rows): %+v", len(qs), b)
	if b.PAt1 < 0.67 {
		t.Errorf("banking77 P@1 %.3f below 0.67", b.PAt1)
	}
}

// BenchmarkSearch10k measures one search over 10,000 synthetic articles
// (English with a Zipfian vocabulary of 5,000 words, a tenth Chinese)
// without a first stage, and reports the 50th and 99th percentiles of the
// time per search and the P@1 of 1,000 synthetic queries (the load test's).
func BenchmarkSearch10k(b *testing.B) {
	arts := Synthetic(10000, 1)
	benchSearch(b, arts, Build(arts, Options{}))
}

// BenchmarkSearch10kMemory is BenchmarkSearch10k with the in-memory first
// stage (the high-throughput option) in front of the fused views.
func BenchmarkSearch10kMemory(b *testing.B) {
	arts := Synthetic(10000, 1)
	benchSearch(b, arts, Build(arts, FirstStageMemory.Options(Options{})))
}

// BenchmarkSearch10kBleve is BenchmarkSearch10k with the Bleve first
// stage (the help centre's default, on disk) in front of the fused views.
func BenchmarkSearch10kBleve(b *testing.B) {
	arts := Synthetic(10000, 1)
	ix, err := New(arts, FirstStageBleve.Options(Options{Dir: filepath.Join(b.TempDir(), "bleve")}))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	benchSearch(b, arts, ix)
}

func benchSearch(b *testing.B, arts []Article, ix *Index) {
	queries := SyntheticQueries(arts, 500, 2)
	var times []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		ix.Search(Query{Text: queries[i%len(queries)], Limit: 10})
		times = append(times, time.Since(start))
		i++
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(Evaluate(ix, SyntheticLabeledQueries(arts, 1000, 3)).PAt1, "P@1")
}

func BenchmarkBuild10kBleve(b *testing.B) {
	arts := Synthetic(10000, 1)
	for b.Loop() {
		ix, err := New(arts, Options{Bleve: true, Dir: filepath.Join(b.TempDir(), "bleve")})
		if err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
}

func BenchmarkBuild10k(b *testing.B) {
	arts := Synthetic(10000, 1)
	for b.Loop() {
		Build(arts, Options{})
	}
}

// TestBleveFirstStage checks the Bleve index alone (per-locale analysis,
// fuzzy terms, synonyms), the fused ranking over its candidates, and that
// Close removes the index from disk.
func TestBleveFirstStage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bleve")
	ix, err := New(small(), Options{Bleve: true, Dir: dir, Synonyms: Synonyms{"package": {"parcel"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("index not on disk: %v", err)
	}
	id := func(s string) int32 {
		for d, a := range ix.arts {
			if a.ID == s {
				return int32(d)
			}
		}
		t.Fatalf("no article %s", s)
		return -1
	}
	candidates := func(q string, locales []string) (map[int32]bool, bool) {
		c := map[int32]bool{}
		ok := ix.bl.candidates(q, locales, func(d int32) { c[d] = true })
		return c, ok
	}
	for _, tc := range []struct {
		q, want string
		locales []string
	}{
		{"refunded", "refund", nil},             // English stemming
		{"pasword", "password", nil},            // fuzzy: one edit
		{"package", "track", nil},               // synonym of parcel
		{"退款", "refund-zh", nil},                // Chinese bigram
		{"什么时候到账", "refund-zh", []string{"zh"}}, // Chinese question field
	} {
		c, ok := candidates(tc.q, tc.locales)
		if !ok || !c[id(tc.want)] {
			t.Errorf("%q: candidates %v, want %s", tc.q, c, tc.want)
		}
	}
	if c, _ := candidates("refund", []string{"zh"}); c[id("refund")] {
		t.Errorf("locale zh found the English article: %v", c)
	}
	for _, tc := range []struct{ q, want string }{
		{"refunded", "refund"}, {"forgoten passwrd", "password"}, {"money back", "refund"}, {"退款", "refund-zh"},
	} {
		if hits := ix.Search(Query{Text: tc.q}); len(hits) == 0 || hits[0].ID != tc.want {
			t.Errorf("%q: hits %v, want %s first", tc.q, hits, tc.want)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("index dir left after Close: %v", err)
	}
	// A closed index still answers, from the in-memory views.
	if hits := ix.Search(Query{Text: "refund"}); len(hits) == 0 || hits[0].ID != "refund" {
		t.Errorf("after Close: %v", hits)
	}
}

// TestPickReadsOnlyTheCandidatesPostings checks that both ways of reading
// a posting list for a candidate set (a scan of a short list, binary
// search of a long one) return exactly the candidates' postings, in order.
func TestPickReadsOnlyTheCandidatesPostings(t *testing.T) {
	var post []posting
	for id := int32(0); id < 1000; id += 3 {
		post = append(post, posting{id, float32(id)})
	}
	s := newScratch(1000, 0)
	for _, ids := range [][]int32{nil, {0}, {999}, {2, 3, 4}, {0, 3, 600, 601, 997}, {5, 300, 301, 302, 303}} {
		marked := make([]bool, 1000)
		var want []posting
		for _, id := range ids {
			marked[id] = true
		}
		for _, p := range post {
			if marked[p.id] {
				want = append(want, p)
			}
		}
		// Long list (binary search), then the same ids against a short
		// list (scan).
		if got := s.pick(post, ids, marked); !slices.Equal(got, want) {
			t.Errorf("ids %v: picked %v, want %v", ids, got, want)
		}
		short := post[:min(len(post), 8*len(ids))]
		var wantShort []posting
		for _, p := range short {
			if marked[p.id] {
				wantShort = append(wantShort, p)
			}
		}
		if got := s.pick(short, ids, marked); !slices.Equal(got, wantShort) {
			t.Errorf("ids %v, short list: picked %v, want %v", ids, got, wantShort)
		}
	}
}

// TestDefaultFirstStageIsBleve checks that the zero FirstStage builds the
// Bleve first stage, that each stage's index reports the stage it searches
// with, and that a closed Bleve index hands over to the in-memory stage.
func TestDefaultFirstStageIsBleve(t *testing.T) {
	for _, tc := range []struct{ stage, want FirstStage }{
		{"", FirstStageBleve}, {FirstStageBleve, FirstStageBleve}, {FirstStageMemory, FirstStageMemory}, {FirstStageNone, FirstStageNone},
	} {
		ix, err := New(small(), tc.stage.Options(Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if got := ix.FirstStage(); got != tc.want {
			t.Errorf("first stage %q: index searches with %q, want %q", tc.stage, got, tc.want)
		}
		if hits := ix.Search(Query{Text: "money back"}); len(hits) == 0 || hits[0].ID != "refund" {
			t.Errorf("first stage %q: hits %v, want refund first", tc.stage, hits)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		if want := map[FirstStage]FirstStage{FirstStageBleve: FirstStageMemory}[tc.want]; want != "" && ix.FirstStage() != want {
			t.Errorf("first stage %q after Close: %q, want %q", tc.stage, ix.FirstStage(), want)
		}
	}
	if FirstStage("elastic").Valid() {
		t.Error("an unknown first stage is valid")
	}
}
