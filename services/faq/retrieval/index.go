package retrieval

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// Article is what the index knows of a help-centre article.
type Article struct {
	// ID identifies the article; hits carry it.
	ID string
	// Locale is the language tag of the article ("en", "zh", "zh-CN").
	Locale string
	// Title is the article's title, usually itself a question.
	Title string
	// Questions are other ways customers ask what the article answers.
	Questions []string
	// Body is the answer as plain text (Markdown markup is fine: its
	// punctuation is ignored).
	Body string
	// Reasons are the contact reason codes the article answers.
	Reasons []string
	// Tags are free keywords, searched like the title.
	Tags []string
}

// Weights are the tunable parts of ranking. The zero value means the
// defaults (DefaultWeights), field by field.
type Weights struct {
	// K1 and B are the BM25 parameters of the whole-article view.
	K1, B float64
	// Title, Questions, Body and Tags boost each field in BM25F.
	Title, Questions, Body, Tags float64
	// Synonym scales the weight of a synonym of a query word.
	Synonym float64
	// Article is the weight of the whole-article BM25F view.
	Article float64
	// Best is the weight of the best single question (BM25 per question).
	Best float64
	// Grams is the weight of the best question by character n-gram cosine.
	Grams float64
	// GramsArticle is the weight of the character n-gram cosine against
	// the whole article (title, questions and body together).
	GramsArticle float64
	// Reason is the weight of the reason model's probability, when the
	// index has one.
	Reason float64
	// Prior is the weight of the per-article prior, when one is given.
	Prior float64
	// GramMin and GramMax bound the character n-grams (default 3 and 5).
	GramMin, GramMax int
}

// DefaultWeights are the weights tuned on the covid development queries
// and on Banking77 training rows that are not article questions (see
// docs/faq.md).
func DefaultWeights() Weights {
	return Weights{
		K1: 1.2, B: 0.5,
		Title: 3, Questions: 0.5, Body: 1, Tags: 1.5,
		Synonym: 0.5,
		Article: 1, Best: 0.6, Grams: 0.3, GramsArticle: 0.2,
		Reason: 3, Prior: 0.1,
		GramMin: 3, GramMax: 4,
	}
}

func (w *Weights) setDefaults() {
	d := DefaultWeights()
	def := func(v *float64, dv float64) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&w.K1, d.K1)
	def(&w.B, d.B)
	def(&w.Title, d.Title)
	def(&w.Questions, d.Questions)
	def(&w.Body, d.Body)
	def(&w.Tags, d.Tags)
	def(&w.Synonym, d.Synonym)
	def(&w.Article, d.Article)
	def(&w.Best, d.Best)
	def(&w.Grams, d.Grams)
	def(&w.GramsArticle, d.GramsArticle)
	def(&w.Reason, d.Reason)
	def(&w.Prior, d.Prior)
	if w.GramMin == 0 {
		w.GramMin = d.GramMin
	}
	if w.GramMax == 0 {
		w.GramMax = d.GramMax
	}
}

// gramBudget is the most unit postings one search reads for the
// character n-gram views (half as many for the article view).
const gramBudget = 6000

// wordBudget is the most postings one search reads per word view; rare
// terms are read first.
const wordBudget = 8000

// Negative weights switch a view off; this helper reads them.
func on(w float64) float64 { return max(w, 0) }

// ReasonScorer gives the probability of each reason for a query, as a
// classifier trained on past contacts does. It must be safe for
// concurrent use.
type ReasonScorer interface {
	ScoreReasons(text string) map[string]float64
}

// Options configure Build.
type Options struct {
	// Weights tune ranking.
	Weights Weights
	// Synonyms expand query words (nil: DefaultSynonyms; an empty map:
	// none).
	Synonyms Synonyms
	// Reasons, when set, adds the reason model's view.
	Reasons ReasonScorer
	// History are past contacts labelled with their reason. Each becomes
	// one more way of asking for the articles that link to its reason, in
	// the per-question views (never shown to anyone).
	History []Example
	// Bleve, with New, makes a Bleve index the store and first stage of
	// retrieval: the fused views re-rank only its top Candidates hits
	// (and the reason model's articles). FirstStageBleve (the help
	// centre's default) sets it.
	Bleve bool
	// Dir is the directory of the Bleve index; New creates it and Close
	// removes it. Empty: the Bleve index is in memory only.
	Dir string
	// Candidates is how many first-stage candidates are re-ranked (default
	// 100 with Bleve, 200 with the in-memory first stage).
	Candidates int
	// MemoryFirstStage, without Bleve (or once its index is closed), makes
	// the whole-article BM25F view the first stage: the other views
	// re-rank only its best Candidates articles (and the reason model's).
	MemoryFirstStage bool
}

// FirstStage names how the articles the fused views re-rank are found.
// The zero value is the default, FirstStageBleve.
type FirstStage string

// First stages.
const (
	// FirstStageBleve (the default): a Bleve index with per-locale
	// analysis, boosted fields, fuzzy terms and synonyms picks them
	// (Options.Bleve).
	FirstStageBleve FirstStage = "bleve"
	// FirstStageMemory: the in-memory whole-article BM25F view picks the
	// candidates (Options.MemoryFirstStage). It costs about 40% less CPU
	// per search than the Bleve stage, for high-throughput deployments, at
	// the price of Bleve's analysis (see docs/faq.md).
	FirstStageMemory FirstStage = "memory"
	// FirstStageNone: every article a view finds is ranked.
	FirstStageNone FirstStage = "none"
)

// FirstStages lists the first stages, the default first.
var FirstStages = []FirstStage{FirstStageBleve, FirstStageMemory, FirstStageNone}

// Valid reports whether f is a known first stage (empty is the default,
// bleve).
func (f FirstStage) Valid() bool {
	switch f {
	case "", FirstStageMemory, FirstStageBleve, FirstStageNone:
		return true
	}
	return false
}

// OrDefault returns f, or FirstStageBleve when f is empty.
func (f FirstStage) OrDefault() FirstStage {
	if f == "" {
		return FirstStageBleve
	}
	return f
}

// Options returns opts set for the first stage f (empty: bleve).
func (f FirstStage) Options(opts Options) Options {
	f = f.OrDefault()
	opts.Bleve = f == FirstStageBleve
	// With Bleve, the in-memory first stage takes over once its index is
	// closed (a search still on a replaced index).
	opts.MemoryFirstStage = f != FirstStageNone
	return opts
}

// Example is a past contact's text and its reason code.
type Example struct {
	Text   string
	Reason string
}

// posting is one (document or unit, weight) entry of an inverted list.
type posting struct {
	id int32
	w  float32
}

// Index is an immutable search index over a set of articles. It is safe
// for concurrent use; build a new one when articles change.
type Index struct {
	arts     []Article
	locales  []string // base language per article ("en", "zh")
	w        Weights
	syn      map[string][]string
	reasons  ReasonScorer
	byReason map[string][]int32

	// Whole-article BM25F: term -> (doc, saturated-free pseudo tf).
	docTerms map[string]int32
	docPost  [][]posting
	docIDF   []float32
	// Per-question BM25: units are the title and each question.
	unitDoc   []int32
	unitTerms map[string]int32
	unitPost  [][]posting
	unitIDF   []float32
	// Character n-gram cosine, per unit and per article; postings hold
	// tf-idf weights divided by the vector's norm.
	gramTerms   map[string]int32
	gramIDF     []float32
	gramUnit    [][]posting
	gramArticle [][]posting

	pool sync.Pool
	an   *analyzer // caches, while building
	// byFirst lists the indexed word terms by their first letter, for
	// typo corrections.
	byFirst map[rune][]string
	// bl is the Bleve first stage, or nil.
	bl *bleveStage
	// memFirst is how many articles the whole-article view picks as
	// candidates when it is the first stage (0: it is not).
	memFirst int
}

// New builds the index like Build and, with opts.Bleve, a Bleve index of
// the articles as the first retrieval stage. Close the index when it is
// replaced.
func New(articles []Article, opts Options) (*Index, error) {
	ix := Build(articles, opts)
	if !opts.Bleve {
		return ix, nil
	}
	k := opts.Candidates
	if k <= 0 {
		k = 100
	}
	syn := opts.Synonyms
	if syn == nil {
		syn = DefaultSynonyms()
	}
	bl, err := openBleve(opts.Dir, ix.arts, ix.locales, syn, k, [3]float64{3, 2, 1})
	if err != nil {
		return nil, err
	}
	ix.bl = bl
	return ix, nil
}

// FirstStage reports the first stage that picks the candidates of a
// search now: bleve while the index has an open Bleve index, memory when
// the whole-article view does (also once a Bleve index is closed), none
// otherwise.
func (ix *Index) FirstStage() FirstStage {
	if ix.bl != nil && ix.bl.open() {
		return FirstStageBleve
	}
	if ix.memFirst > 0 && on(ix.w.Article) > 0 {
		return FirstStageMemory
	}
	return FirstStageNone
}

// Close releases the Bleve index (and removes its directory), once the
// searches in flight are done. Later searches rank without the first
// stage. Close is safe on an index without one.
func (ix *Index) Close() error {
	if ix == nil || ix.bl == nil {
		return nil
	}
	return ix.bl.close()
}

// base returns the language part of a locale tag, lower-cased.
func base(locale string) string {
	l := strings.ToLower(locale)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	return l
}

// Build indexes articles. Articles without an ID are skipped; a later
// article with the same ID replaces an earlier one.
func Build(articles []Article, opts Options) *Index {
	w := opts.Weights
	w.setDefaults()
	syn := opts.Synonyms
	if syn == nil {
		syn = DefaultSynonyms()
	}
	seen := map[string]int{}
	var arts []Article
	for _, a := range articles {
		if a.ID == "" {
			continue
		}
		if i, ok := seen[a.ID]; ok {
			arts[i] = a
			continue
		}
		seen[a.ID] = len(arts)
		arts = append(arts, a)
	}
	ix := &Index{arts: arts, w: w, syn: syn.stemmed(), reasons: opts.Reasons, byReason: map[string][]int32{}}
	ix.locales = make([]string, len(arts))
	for i, a := range arts {
		l := base(a.Locale)
		if l == "" {
			l = textproc.DetectLocale(a.Title + " " + a.Body)
		}
		ix.locales[i] = l
		for _, r := range a.Reasons {
			ix.byReason[r] = append(ix.byReason[r], int32(i))
		}
	}
	ix.an = &analyzer{terms: map[string]string{}}
	ix.buildArticleView()
	ix.buildUnitViews(opts.History)
	ix.an = nil
	if opts.MemoryFirstStage {
		ix.memFirst = opts.Candidates
		if ix.memFirst <= 0 {
			ix.memFirst = 200
		}
	}
	n := len(arts)
	ix.pool.New = func() any { return newScratch(n, len(ix.unitDoc)) }
	return ix
}

// fieldTerms is one article's terms per BM25F field.
type fieldTerms struct {
	title, questions, body, tags []string
}

func (ix *Index) buildArticleView() {
	fields := make([]fieldTerms, len(ix.arts))
	var sum [4]float64
	for i, a := range ix.arts {
		f := &fields[i]
		f.title = ix.an.words(a.Title)
		for _, q := range a.Questions {
			f.questions = append(f.questions, ix.an.words(q)...)
		}
		f.body = ix.an.words(a.Body)
		f.tags = ix.an.words(strings.Join(a.Tags, " "))
		sum[0] += float64(len(f.title))
		sum[1] += float64(len(f.questions))
		sum[2] += float64(len(f.body))
		sum[3] += float64(len(f.tags))
	}
	n := float64(max(len(ix.arts), 1))
	var avg [4]float64
	for k := range avg {
		avg[k] = max(sum[k]/n, 1)
	}
	boosts := [4]float64{ix.w.Title, ix.w.Questions, ix.w.Body, ix.w.Tags}
	ix.docTerms = map[string]int32{}
	for d := range fields {
		f := &fields[d]
		tf := map[string]float64{}
		for k, terms := range [4][]string{f.title, f.questions, f.body, f.tags} {
			if len(terms) == 0 {
				continue
			}
			norm := 1 - ix.w.B + ix.w.B*float64(len(terms))/avg[k]
			for _, t := range terms {
				tf[t] += boosts[k] / norm
			}
		}
		for t, v := range tf {
			id, ok := ix.docTerms[t]
			if !ok {
				id = int32(len(ix.docPost))
				ix.docTerms[t] = id
				ix.docPost = append(ix.docPost, nil)
			}
			ix.docPost[id] = append(ix.docPost[id], posting{int32(d), float32(v)})
		}
	}
	ix.docIDF = idfs(ix.docPost, len(ix.arts))
	ix.byFirst = map[rune][]string{}
	for t := range ix.docTerms {
		r, _ := utf8.DecodeRuneInString(t)
		if len(t) >= 3 && !textproc.IsCJK(r) {
			ix.byFirst[r] = append(ix.byFirst[r], t)
		}
	}
	for _, ts := range ix.byFirst {
		slices.Sort(ts)
	}
}

// idfs returns the BM25 idf of each term from its posting list length.
func idfs(post [][]posting, n int) []float32 {
	out := make([]float32, len(post))
	for i, p := range post {
		df := float64(len(p))
		out[i] = float32(math.Log(1 + (float64(n)-df+0.5)/(df+0.5)))
	}
	return out
}

func (ix *Index) buildUnitViews(history []Example) {
	var unitTexts []string
	for d, a := range ix.arts {
		for _, t := range append([]string{a.Title}, a.Questions...) {
			if strings.TrimSpace(t) == "" {
				continue
			}
			ix.unitDoc = append(ix.unitDoc, int32(d))
			unitTexts = append(unitTexts, t)
		}
	}
	nArticleUnits := len(unitTexts)
	for _, h := range history {
		if strings.TrimSpace(h.Text) == "" {
			continue
		}
		for _, d := range ix.byReason[h.Reason] {
			ix.unitDoc = append(ix.unitDoc, d)
			unitTexts = append(unitTexts, h.Text)
		}
	}
	// Per-unit BM25 (k1 1.2, b 0.75 over unit lengths).
	unitWords := make([][]string, len(unitTexts))
	total := 0
	for i, t := range unitTexts {
		unitWords[i] = ix.an.words(t)
		total += len(unitWords[i])
	}
	avg := max(float64(total)/float64(max(len(unitTexts), 1)), 1)
	ix.unitTerms = map[string]int32{}
	for u, ws := range unitWords {
		tf := map[string]float64{}
		norm := 1 - 0.75 + 0.75*float64(len(ws))/avg
		for _, t := range ws {
			tf[t] += 1 / norm
		}
		for t, v := range tf {
			id, ok := ix.unitTerms[t]
			if !ok {
				id = int32(len(ix.unitPost))
				ix.unitTerms[t] = id
				ix.unitPost = append(ix.unitPost, nil)
			}
			ix.unitPost[id] = append(ix.unitPost[id], posting{int32(u), float32(v)})
		}
	}
	ix.unitIDF = idfs(ix.unitPost, len(unitTexts))

	// Character n-grams: idf over units; vectors per unit and per article.
	// The grams of each distinct word are computed once (gramCache).
	ix.gramTerms = map[string]int32{}
	var df []int
	cache := map[string][]int32{}
	var buf []string
	wordGrams := func(word string, register bool) []int32 {
		if ids, ok := cache[word]; ok {
			return ids
		}
		buf = grams(word, ix.w.GramMin, ix.w.GramMax, buf[:0])
		ids := make([]int32, 0, len(buf))
		for _, g := range buf {
			id, ok := ix.gramTerms[g]
			if !ok {
				if !register {
					continue
				}
				id = int32(len(df))
				ix.gramTerms[g] = id
				df = append(df, 0)
			}
			ids = append(ids, id)
		}
		cache[word] = ids
		return ids
	}
	textGrams := func(text string, register bool, out []int32) []int32 {
		for _, t := range textproc.Tokens(text) {
			switch t.Kind {
			case textproc.TokenWord, textproc.TokenNumber:
				out = append(out, wordGrams(t.Text, register)...)
			case textproc.TokenCJKUnigram, textproc.TokenCJKBigram:
				id, ok := ix.gramTerms[t.Text]
				if !ok && register {
					id, ok = int32(len(df)), true
					ix.gramTerms[t.Text] = id
					df = append(df, 0)
				}
				if ok {
					out = append(out, id)
				}
			}
		}
		return out
	}
	unitGrams := make([][]int32, len(unitTexts))
	seen := map[int32]bool{}
	for u, t := range unitTexts {
		ids := textGrams(t, true, nil)
		clear(seen)
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				df[id]++
			}
		}
		unitGrams[u] = ids
	}
	// Bodies are read against the units' grams only, with a body-specific
	// cache (grams unknown to the units are dropped).
	cache = map[string][]int32{}
	nu := float64(max(len(unitTexts), 1))
	ix.gramIDF = make([]float32, len(df))
	for g, c := range df {
		ix.gramIDF[g] = float32(math.Log((nu + 1) / (float64(c) + 1)))
	}
	ix.gramUnit = make([][]posting, len(df))
	ix.gramArticle = make([][]posting, len(df))
	acc := make([]float64, len(df))
	var touched []int32
	add := func(ids []int32, w float64) {
		for _, g := range ids {
			if acc[g] == 0 {
				touched = append(touched, g)
			}
			acc[g] += w
		}
	}
	emit := func(post [][]posting, id int32) {
		var norm float64
		for _, g := range touched {
			x := (1 + math.Log(max(acc[g], 0.5))) * float64(ix.gramIDF[g])
			norm += x * x
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for _, g := range touched {
				if x := (1 + math.Log(max(acc[g], 0.5))) * float64(ix.gramIDF[g]) / norm; x > 0 {
					post[g] = append(post[g], posting{id, float32(x)})
				}
			}
		}
		for _, g := range touched {
			acc[g] = 0
		}
		touched = touched[:0]
	}
	for u, ids := range unitGrams {
		add(ids, 1)
		emit(ix.gramUnit, int32(u))
	}
	// Article vectors: its units' grams, plus its body's at half weight.
	// Units of an article are consecutive, and history units come last.
	u := 0
	var bodyIDs []int32
	for d, a := range ix.arts {
		for ; u < nArticleUnits && ix.unitDoc[u] == int32(d); u++ {
			add(unitGrams[u], 1)
		}
		if a.Body != "" {
			bodyIDs = textGrams(a.Body, false, bodyIDs[:0])
			add(bodyIDs, 0.5)
		}
		emit(ix.gramArticle, int32(d))
	}
}

// Len returns the number of articles in the index.
func (ix *Index) Len() int { return len(ix.arts) }

// nViews is the number of ranking views (see scratch.views).
const nViews = 5

// scratch is the per-search working memory, reused through a pool.
type scratch struct {
	views   []float32 // per article: article, best, grams, gramsArticle, reason
	touched []int32
	mark    []bool
	unit    []float32
	utouch  []int32
	// cand marks the first stage's candidates (and the reason model's
	// articles), listed in cands, when the views are restricted to them.
	cand  []bool
	cands []int32
	// sorted, picked and heap are buffers for sortedCandidatesFound, the
	// postings a view reads, and pickCandidates.
	sorted []int32
	picked []posting
	heap   []int32
}

func newScratch(docs, units int) *scratch {
	s := &scratch{mark: make([]bool, docs), unit: make([]float32, units), cand: make([]bool, docs)}
	s.views = make([]float32, docs*nViews)
	return s
}

func (s *scratch) touch(d int32) {
	if !s.mark[d] {
		s.mark[d] = true
		s.touched = append(s.touched, d)
	}
}

func (s *scratch) reset() {
	for _, d := range s.touched {
		s.mark[d] = false
		clear(s.views[int(d)*nViews : int(d)*nViews+nViews])
	}
	s.touched = s.touched[:0]
	for _, u := range s.utouch {
		s.unit[u] = 0
	}
	s.utouch = s.utouch[:0]
	for _, d := range s.cands {
		s.cand[d] = false
	}
	s.cands = s.cands[:0]
}

// pick returns the postings of post whose id is in the sorted ids, which
// marked marks: by a scan of a short list, or by binary search of a long
// one (each view reads only the candidates' entries of long lists). The
// postings keep their order. The result is valid until the next pick.
func (s *scratch) pick(post []posting, ids []int32, marked []bool) []posting {
	out := s.picked[:0]
	if len(post) <= 8*len(ids) {
		for _, p := range post {
			if marked[p.id] {
				out = append(out, p)
			}
		}
	} else {
		rest := post
		for _, id := range ids {
			lo, hi := 0, len(rest)
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				if rest[m].id < id {
					lo = m + 1
				} else {
					hi = m
				}
			}
			if lo < len(rest) && rest[lo].id == id {
				out = append(out, rest[lo])
				lo++
			}
			rest = rest[lo:]
			if len(rest) == 0 {
				break
			}
		}
	}
	s.picked = out
	return out
}

// sortedCandidatesFound returns the touched candidates sorted, in a
// scratch buffer.
func (s *scratch) sortedCandidatesFound() []int32 {
	s.sorted = s.sorted[:0]
	for _, d := range s.cands {
		if s.mark[d] {
			s.sorted = append(s.sorted, d)
		}
	}
	return s.sorted
}

// candidate marks article d as a candidate.
func (s *scratch) candidate(d int32) {
	if !s.cand[d] {
		s.cand[d] = true
		s.cands = append(s.cands, d)
	}
}

// Query is one search.
type Query struct {
	// Text is the customer's question.
	Text string
	// Locales restricts hits to articles whose base language is one of
	// these; empty means every language.
	Locales []string
	// Limit is the most hits returned (default 10).
	Limit int
	// Prior, when set, gives each article a prior in [0, 1] (for example
	// its helpfulness and its reason's contact volume).
	Prior func(id string) float64
	// Allow, when set, drops articles it returns false for (drafts).
	Allow func(id string) bool
}

// Hit is one ranked article.
type Hit struct {
	// ID is the article's id.
	ID string
	// Score is the fused score: higher is better; only the order matters.
	Score float64
	// Matched are the query's word terms (and their synonyms and typo
	// corrections) the article contains, for highlighting.
	Matched []string
	// Similarity is the best character n-gram cosine of the query with
	// one of the article's questions or the whole article, in [0, 1]: a
	// hit without Matched terms and with a low Similarity is weak.
	Similarity float64
	// Reason is the reason model's probability for the article's reasons.
	Reason float64
}

// queryTerm is one word of the query with its weight (1, or the synonym
// weight).
type queryTerm struct {
	term string
	w    float64
}

func (ix *Index) expand(ws []string) []queryTerm {
	out := make([]queryTerm, 0, len(ws)*2)
	seen := map[string]int{}
	add := func(t string, w float64) {
		if i, ok := seen[t]; ok {
			out[i].w = max(out[i].w, w)
			return
		}
		seen[t] = len(out)
		out = append(out, queryTerm{t, w})
	}
	for _, t := range ws {
		add(t, 1)
	}
	for _, t := range ws {
		for _, s := range ix.syn[t] {
			add(s, ix.w.Synonym)
		}
		if _, known := ix.docTerms[t]; !known {
			for _, c := range ix.corrections(t) {
				add(c, ix.w.Synonym)
			}
		}
	}
	// Duplicate query words count more than once in BM25; keep the count.
	counts := map[string]int{}
	for _, t := range ws {
		counts[t]++
	}
	for i := range out {
		if c := counts[out[i].term]; c > 1 {
			out[i].w *= 1 + 0.5*float64(c-1)
		}
	}
	return out
}

// Search ranks the articles for a query.
func (ix *Index) Search(q Query) []Hit {
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	if len(ix.arts) == 0 {
		return nil
	}
	ws := words(q.Text)
	terms := ix.expand(ws)
	// Rarest terms first, so that the posting budgets drop the commonest.
	sort.SliceStable(terms, func(i, j int) bool { return ix.df(terms[i].term) < ix.df(terms[j].term) })
	ws = ws[:0:0]
	for _, t := range terms {
		ws = append(ws, t.term)
	}
	s := ix.pool.Get().(*scratch)
	defer func() { s.reset(); ix.pool.Put(s) }()
	w := ix.w
	// With a first stage (Bleve's hits, or the best articles of the
	// whole-article view), only its candidates and the reason model's
	// articles can be hits: the other views skip every other article's
	// postings (they read the same lists, within the same budgets, so the
	// candidates score as if every article were scored, and far fewer
	// articles are touched and fused).
	restrict := false
	if ix.bl != nil {
		restrict = ix.bl.candidates(q.Text, q.Locales, s.candidate)
	}
	memFirst := !restrict && ix.memFirst > 0 && on(w.Article) > 0
	// Reason model: scored first, as the articles it gives a probability
	// are candidates too; they are touched (found) after the n-gram views,
	// which only refine articles the word views found.
	var reasons map[string]float64
	if ix.reasons != nil && on(w.Reason) > 0 {
		reasons = ix.reasons.ScoreReasons(q.Text)
		for r, p := range reasons {
			for _, d := range ix.byReason[r] {
				s.views[int(d)*nViews+4] += float32(p)
				if float32(p) != 0 {
					s.candidate(d)
				}
			}
		}
	}
	if memFirst {
		ix.articleView(s, terms, func(post []posting) []posting { return post })
		ix.pickCandidates(s, q, ix.memFirst)
		restrict = true
	}
	// docPosts and unitPosts are the postings a view reads of a list.
	docPosts, unitPosts := func(post []posting) []posting { return post }, func(post []posting) []posting { return post }
	if restrict {
		slices.Sort(s.cands)
		docPosts = func(post []posting) []posting { return s.pick(post, s.cands, s.cand) }
		// The candidates' units are too many for binary searches to pay.
		unitPosts = func(post []posting) []posting {
			out := s.picked[:0]
			for _, p := range post {
				if s.cand[ix.unitDoc[p.id]] {
					out = append(out, p)
				}
			}
			s.picked = out
			return out
		}
	}

	// Whole-article BM25F.
	if on(w.Article) > 0 && !memFirst {
		ix.articleView(s, terms, docPosts)
	}
	// Best question by BM25.
	if on(w.Best) > 0 {
		budget := wordBudget
		for _, qt := range terms {
			id, ok := ix.unitTerms[qt.term]
			if !ok || budget <= 0 {
				continue
			}
			budget -= len(ix.unitPost[id])
			idf := float64(ix.unitIDF[id]) * qt.w
			for _, p := range unitPosts(ix.unitPost[id]) {
				tf := float64(p.w)
				if s.unit[p.id] == 0 {
					s.utouch = append(s.utouch, p.id)
				}
				s.unit[p.id] += float32(idf * tf * 2.2 / (tf + 1.2))
			}
		}
		for _, u := range s.utouch {
			d := ix.unitDoc[u]
			if v := s.unit[u]; v > s.views[int(d)*nViews+1] {
				s.views[int(d)*nViews+1] = v
				s.touch(d)
			}
			s.unit[u] = 0
		}
		s.utouch = s.utouch[:0]
	}
	// Character n-grams.
	if on(w.Grams) > 0 || on(w.GramsArticle) > 0 {
		g := grams(q.Text, w.GramMin, w.GramMax, nil)
		tf := map[int32]float64{}
		for _, x := range g {
			if id, ok := ix.gramTerms[x]; ok {
				tf[id]++
			}
		}
		var norm float64
		// The query's norm counts unknown grams too, as a typo should
		// lower the similarity a little, not be ignored.
		unknown := 0.0
		for _, x := range g {
			if _, ok := ix.gramTerms[x]; !ok {
				unknown++
			}
		}
		maxIDF := math.Log(float64(len(ix.unitDoc)+1) / 1)
		norm += unknown * maxIDF * maxIDF * 0.25
		type qgram struct {
			id int32
			x  float64
			df int
		}
		qv := make([]qgram, 0, len(tf))
		for id, v := range tf {
			x := (1 + math.Log(v)) * float64(ix.gramIDF[id])
			qv = append(qv, qgram{id, x, len(ix.gramUnit[id])})
			norm += x * x
		}
		// Rarest grams first; common grams (low idf, long lists) are
		// skipped once a view has read its budget of postings, which bounds
		// the cost of a search on a large help centre.
		sort.Slice(qv, func(i, j int) bool {
			if qv[i].df != qv[j].df {
				return qv[i].df < qv[j].df
			}
			return qv[i].id < qv[j].id
		})
		if norm > 0 {
			norm = math.Sqrt(norm)
			unitBudget, artBudget := gramBudget, gramBudget/2
			if on(w.Grams) > 0 {
				for _, g := range qv {
					if unitBudget <= 0 {
						break
					}
					x := g.x / norm
					post := ix.gramUnit[g.id]
					unitBudget -= len(post)
					for _, p := range unitPosts(post) {
						if s.unit[p.id] == 0 {
							s.utouch = append(s.utouch, p.id)
						}
						s.unit[p.id] += float32(x) * p.w
					}
				}
				for _, u := range s.utouch {
					d := ix.unitDoc[u]
					if v := s.unit[u]; v > s.views[int(d)*nViews+2] {
						s.views[int(d)*nViews+2] = v
						s.touch(d)
					}
					s.unit[u] = 0
				}
				s.utouch = s.utouch[:0]
			}
			// The whole-article n-gram view only refines articles another
			// view found: it is the weakest, and touching every article that
			// shares a common trigram would make the fusion slow.
			if on(w.GramsArticle) > 0 {
				var found []int32
				if restrict {
					found = s.sortedCandidatesFound()
				}
				for _, g := range qv {
					if artBudget <= 0 {
						break
					}
					x := g.x / norm
					post := ix.gramArticle[g.id]
					artBudget -= len(post)
					if !restrict {
						for _, p := range post {
							if s.mark[p.id] {
								s.views[int(p.id)*nViews+3] += float32(x) * p.w
							}
						}
						continue
					}
					for _, p := range s.pick(post, found, s.mark) {
						s.views[int(p.id)*nViews+3] += float32(x) * p.w
					}
				}
			}
		}
	}
	for r := range reasons {
		for _, d := range ix.byReason[r] {
			s.touch(d)
		}
	}
	return ix.fuse(s, q, ws, limit, restrict)
}

// articleView scores the whole-article BM25F view of the postings posts
// picks.
func (ix *Index) articleView(s *scratch, terms []queryTerm, posts func([]posting) []posting) {
	k1 := ix.w.K1
	budget := wordBudget
	for _, qt := range terms {
		id, ok := ix.docTerms[qt.term]
		if !ok || budget <= 0 {
			continue
		}
		budget -= len(ix.docPost[id])
		idf := float64(ix.docIDF[id]) * qt.w
		for _, p := range posts(ix.docPost[id]) {
			tf := float64(p.w)
			s.views[int(p.id)*nViews+0] += float32(idf * tf * (k1 + 1) / (tf + k1))
			s.touch(p.id)
		}
	}
}

// pickCandidates marks as candidates the k articles the query may see
// that score best in the whole-article view (ties: lower index first).
func (ix *Index) pickCandidates(s *scratch, q Query, k int) {
	// A min-heap of the best k: heap[0] is the weakest kept.
	h := s.heap[:0]
	weaker := func(a, b int32) bool {
		va, vb := s.views[int(a)*nViews], s.views[int(b)*nViews]
		if va != vb {
			return va < vb
		}
		return a > b
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && weaker(h[r], h[l]) {
				m = r
			}
			if !weaker(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for _, d := range s.touched {
		if s.views[int(d)*nViews] == 0 || len(h) == k && !weaker(h[0], d) || !ix.allowed(d, q) {
			continue
		}
		if len(h) < k {
			h = append(h, d)
			for i := len(h) - 1; i > 0; {
				parent := (i - 1) / 2
				if !weaker(h[i], h[parent]) {
					break
				}
				h[i], h[parent] = h[parent], h[i]
				i = parent
			}
			continue
		}
		if weaker(h[0], d) {
			h[0] = d
			down(0)
		}
	}
	for _, d := range h {
		s.candidate(d)
	}
	s.heap = h
}

// fuse combines the views of the touched articles into the top hits.
// With restrict, only candidates can be hits.
func (ix *Index) fuse(s *scratch, q Query, ws []string, limit int, restrict bool) []Hit {
	w := ix.w
	weights := [5]float64{on(w.Article), on(w.Best), on(w.Grams), on(w.GramsArticle), on(w.Reason)}
	var maxes [5]float64
	allowed := s.touched[:0:0]
	found := s.touched
	if restrict {
		// Only candidates can be hits: fewer than the articles touched.
		found = s.sortedCandidatesFound()
	}
	for _, d := range found {
		if !ix.allowed(d, q) {
			continue
		}
		allowed = append(allowed, d)
		for v := range maxes {
			maxes[v] = max(maxes[v], float64(s.views[int(d)*nViews+v]))
		}
	}
	// The reason view is a probability already; the others are scaled so
	// the best article of the query scores 1.
	maxes[4] = 1
	type scored struct {
		d int32
		s float64
	}
	out := make([]scored, 0, len(allowed))
	for _, d := range allowed {
		var sc float64
		for v := range maxes {
			if maxes[v] > 0 {
				sc += weights[v] * float64(s.views[int(d)*nViews+v]) / maxes[v]
			}
		}
		out = append(out, scored{d, sc})
	}
	better := func(a, b scored) bool {
		if a.s != b.s {
			return a.s > b.s
		}
		return a.d < b.d
	}
	// Keep the best hits with a bounded insertion (limit is small),
	// instead of sorting every touched article. The prior (at most its
	// weight) only reorders the leaders, so it is applied to a few more
	// than the limit.
	keep := limit
	if q.Prior != nil && on(w.Prior) > 0 {
		keep = 3*limit + 10
	}
	top := make([]scored, 0, keep+1)
	for _, o := range out {
		if len(top) == keep && !better(o, top[keep-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return better(o, top[i]) })
		top = append(top, scored{})
		copy(top[i+1:], top[i:])
		top[i] = o
		if len(top) > keep {
			top = top[:keep]
		}
	}
	if keep > limit {
		for i := range top {
			top[i].s += on(w.Prior) * q.Prior(ix.arts[top[i].d].ID)
		}
		sort.Slice(top, func(i, j int) bool { return better(top[i], top[j]) })
		top = top[:min(limit, len(top))]
	}
	out = top
	hits := make([]Hit, len(out))
	for i, o := range out {
		hits[i] = Hit{ID: ix.arts[o.d].ID, Score: o.s, Matched: ix.matched(o.d, ws),
			Similarity: float64(max(s.views[int(o.d)*nViews+2], s.views[int(o.d)*nViews+3])), Reason: float64(s.views[int(o.d)*nViews+4])}
	}
	return hits
}

func (ix *Index) allowed(d int32, q Query) bool {
	if q.Locales != nil && !slices.Contains(q.Locales, ix.locales[d]) {
		return false
	}
	if q.Allow != nil && !q.Allow(ix.arts[d].ID) {
		return false
	}
	return true
}

// df is the number of articles a term occurs in.
func (ix *Index) df(term string) int {
	if id, ok := ix.docTerms[term]; ok {
		return len(ix.docPost[id])
	}
	return 0
}

// corrections returns up to three indexed terms within a small edit
// distance of an unknown query term (one edit up to 5 letters, two
// beyond), so a typo still finds its word.
func (ix *Index) corrections(t string) []string {
	r := []rune(t)
	if len(r) < 4 || textproc.IsCJK(r[0]) {
		return nil
	}
	maxD := 1
	if len(r) > 5 {
		maxD = 2
	}
	type cand struct {
		term string
		d    int
		df   int
	}
	var cs []cand
	// Candidates share the first letter (typos there are rare); the
	// buckets keep a correction cheap on a large vocabulary.
	for _, term := range ix.byFirst[r[0]] {
		if l := utf8.RuneCountInString(term) - len(r); l > maxD || l < -maxD {
			continue
		}
		id := ix.docTerms[term]
		tr := []rune(term)
		if d := editDistance(r, tr, maxD); d <= maxD {
			cs = append(cs, cand{term, d, len(ix.docPost[id])})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		if cs[i].df != cs[j].df {
			return cs[i].df > cs[j].df
		}
		return cs[i].term < cs[j].term
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].term)
	}
	return out
}

// editDistance is the optimal-string-alignment distance of a and b, or
// limit+1 as soon as it must exceed limit.
func editDistance(a, b []rune, limit int) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// matched returns the query's word terms that occur in article d.
func (ix *Index) matched(d int32, ws []string) []string {
	var out []string
	for _, t := range ws {
		id, ok := ix.docTerms[t]
		if !ok || slices.Contains(out, t) {
			continue
		}
		post := ix.docPost[id]
		i := sort.Search(len(post), func(i int) bool { return post[i].id >= d })
		if i < len(post) && post[i].id == d {
			out = append(out, t)
		}
	}
	return out
}
