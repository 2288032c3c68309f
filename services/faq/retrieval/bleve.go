package retrieval

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// The Bleve first stage: every article is a Bleve document whose text
// fields are analysed per locale (English: Porter stemming and stop words;
// Chinese: width folding and character bigrams; other languages take the
// English analysis). Field names carry the analysis group ("title_en",
// "title_zh"), so a query searches each group with its own analyzer.
const (
	analyzerEN = "faq_en"
	analyzerZH = "faq_zh"
	fieldSrc   = "src"
)

// bleveBudget is about the most postings one first-stage query reads.
const bleveBudget = 1200

// bleveGroups are the analysis groups and their analyzers.
var bleveGroups = [...]struct{ group, analyzer string }{{"en", analyzerEN}, {"zh", analyzerZH}}

// bleveFields are the searched fields and their default boosts.
var bleveFields = [...]string{"title", "questions", "body"}

func group(locale string) string {
	if locale == "zh" {
		return "zh"
	}
	return "en"
}

func newBleveMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	if err := im.AddCustomAnalyzer(analyzerEN, map[string]any{
		"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{lowercase.Name, en.PossessiveName, en.StopName, porter.Name},
	}); err != nil {
		return nil, fmt.Errorf("retrieval: analyzer %s: %w", analyzerEN, err)
	}
	if err := im.AddCustomAnalyzer(analyzerZH, map[string]any{
		"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{cjk.WidthName, lowercase.Name, cjk.BigramName},
	}); err != nil {
		return nil, fmt.Errorf("retrieval: analyzer %s: %w", analyzerZH, err)
	}
	im.DefaultAnalyzer = analyzerEN
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	im.ScoringModel = index.BM25Scoring
	dm := mapping.NewDocumentStaticMapping()
	for _, g := range bleveGroups {
		for _, f := range bleveFields {
			fm := mapping.NewTextFieldMapping()
			fm.Analyzer = g.analyzer
			fm.Store = false
			fm.IncludeTermVectors = false
			fm.IncludeInAll = false
			fm.DocValues = false
			dm.AddFieldMappingsAt(f+"_"+g.group, fm)
		}
	}
	// The article's title, stored and not indexed (the whole article
	// stays in the service's projection, which rebuilds this index).
	src := mapping.NewTextFieldMapping()
	src.Index = false
	src.Store = true
	src.IncludeInAll = false
	src.DocValues = false
	dm.AddFieldMappingsAt(fieldSrc, src)
	im.DefaultMapping = dm
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("retrieval: bleve mapping: %w", err)
	}
	return im, nil
}

// bleveStage is the Bleve index of one Index and what its queries need.
type bleveStage struct {
	mu     sync.RWMutex // Close waits for searches in flight
	bi     bleve.Index
	dir    string
	closed bool
	ans    [len(bleveGroups)]analysis.Analyzer
	// syn maps an analysed English term to its analysed synonyms.
	syn map[string][]string
	ids map[string]int32
	// fieldDF is each field's document frequency per term (per group and
	// field), read from Bleve's term dictionaries after indexing: the
	// query reads rare terms first within a postings budget, and asks for
	// fuzzy matches only of words the articles do not contain. fields are
	// the fields' names.
	fieldDF [len(bleveGroups)][len(bleveFields)]map[string]int
	fields  [len(bleveGroups)][len(bleveFields)]string
	k       int
	boost   [len(bleveFields)]float64
}

// openBleve indexes arts in a new Bleve index at dir ("" for memory only).
func openBleve(dir string, arts []Article, locales []string, syn Synonyms, k int, boost [3]float64) (*bleveStage, error) {
	im, err := newBleveMapping()
	if err != nil {
		return nil, err
	}
	var bi bleve.Index
	if dir == "" {
		bi, err = bleve.NewMemOnly(im)
	} else {
		bi, err = bleve.New(dir, im)
	}
	if err != nil {
		return nil, fmt.Errorf("retrieval: create bleve index %q: %w", dir, err)
	}
	st := &bleveStage{bi: bi, dir: dir, ids: make(map[string]int32, len(arts)), k: k, boost: boost}
	for i, g := range bleveGroups {
		st.ans[i] = im.AnalyzerNamed(g.analyzer)
	}
	b := bi.NewBatch()
	for d, a := range arts {
		st.ids[a.ID] = int32(d)
		g := group(locales[d])
		doc := map[string]any{
			"title_" + g:     a.Title + " " + strings.Join(a.Tags, " "),
			"questions_" + g: a.Questions,
			"body_" + g:      a.Body,
			fieldSrc:         a.Title,
		}
		if err := b.Index(a.ID, doc); err != nil {
			_ = st.close()
			return nil, fmt.Errorf("retrieval: index article %s: %w", a.ID, err)
		}
		// Large batches: 10,000 articles in one batch make one segment,
		// and a query then looks each term up once instead of once per
		// segment (p50 1.8 ms -> 1.1 ms at 10,000 articles).
		if b.Size() >= 20000 {
			if err := bi.Batch(b); err != nil {
				_ = st.close()
				return nil, fmt.Errorf("retrieval: index batch: %w", err)
			}
			b.Reset()
		}
	}
	if err := bi.Batch(b); err != nil {
		_ = st.close()
		return nil, fmt.Errorf("retrieval: index batch: %w", err)
	}
	for gi, g := range bleveGroups {
		for fi, f := range bleveFields {
			field := f + "_" + g.group
			st.fields[gi][fi] = field
			dict, err := bi.FieldDict(field)
			if err != nil {
				_ = st.close()
				return nil, fmt.Errorf("retrieval: read dictionary %s: %w", field, err)
			}
			m := map[string]int{}
			for e, err := dict.Next(); e != nil && err == nil; e, err = dict.Next() {
				m[e.Term] = int(e.Count)
			}
			_ = dict.Close()
			st.fieldDF[gi][fi] = m
		}
	}
	st.syn = map[string][]string{}
	for w, ss := range syn {
		for _, t := range st.terms(0, w) {
			for _, s := range ss {
				st.syn[t] = append(st.syn[t], st.terms(0, s)...)
			}
		}
	}
	return st, nil
}

// terms analyses text with the analyzer of group g.
func (st *bleveStage) terms(g int, text string) []string {
	var out []string
	for _, tok := range st.ans[g].Analyze([]byte(text)) {
		out = append(out, string(tok.Term))
	}
	return out
}

// candidates passes the articles of the top k Bleve hits for the query to
// add: a disjunction over the boosted fields of each analysis group of
// exact terms, their synonyms and, for words of four or more letters that
// no article contains, fuzzy terms within one edit (typo tolerance). It
// returns false when Bleve could not answer (closed index), and the caller
// falls back to the in-memory first stage (or none).
func (st *bleveStage) candidates(text string, locales []string, add func(d int32)) bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.closed {
		return false
	}
	type clause struct {
		field, term string
		boost       float64
		fuzzy       bool
		df          int
	}
	var cs []clause
	hasCJK := false
	for _, r := range text {
		if textproc.IsCJK(r) {
			hasCJK = true
			break
		}
	}
	for gi, g := range bleveGroups {
		if locales != nil && !groupWanted(g.group, locales) {
			continue
		}
		if g.group == "zh" && !hasCJK && locales == nil {
			// An English query searches Chinese articles only when asked to
			// (their Latin words are rare; it halves the query's clauses).
			continue
		}
		ts := st.terms(gi, text)
		// Repeated terms: a scan of the few before, a map for long queries.
		var seen map[string]bool
		if len(ts) > 32 {
			seen = make(map[string]bool, len(ts))
		}
		for ti, t := range ts {
			if seen != nil {
				if seen[t] {
					continue
				}
				seen[t] = true
			} else if slices.Contains(ts[:ti], t) {
				continue
			}
			known := false
			for fi := range bleveFields {
				field, dfs := st.fields[gi][fi], st.fieldDF[gi][fi]
				if df := dfs[t]; df > 0 {
					known = true
					cs = append(cs, clause{field, t, st.boost[fi], false, df})
				}
				if g.group == "en" {
					for _, sy := range st.syn[t] {
						if df := dfs[sy]; df > 0 {
							cs = append(cs, clause{field, sy, st.boost[fi] * 0.5, false, df})
						}
					}
				}
			}
			// Typo tolerance: a word no article contains matches indexed
			// words within one edit (same first letter) in titles and
			// questions.
			if !known && g.group == "en" && utf8.RuneCountInString(t) >= 4 {
				for fi := range bleveFields[:2] {
					cs = append(cs, clause{st.fields[gi][fi], t, st.boost[fi] * 0.5, true, 0})
				}
			}
		}
	}
	// Rarest first; common terms beyond the postings budget are left to
	// the re-ranking views (they hardly change which articles are found).
	slices.SortStableFunc(cs, func(a, b clause) int { return a.df - b.df })
	var clauses []query.Query
	budget := bleveBudget
	for _, c := range cs {
		if c.df > budget && len(clauses) > 0 {
			continue
		}
		budget -= c.df
		if c.fuzzy {
			q := query.NewFuzzyQuery(c.term)
			q.SetField(c.field)
			q.SetFuzziness(1)
			q.SetPrefix(1)
			q.SetBoost(c.boost)
			clauses = append(clauses, q)
			continue
		}
		q := query.NewTermQuery(c.term)
		q.SetField(c.field)
		q.SetBoost(c.boost)
		clauses = append(clauses, q)
	}
	if len(clauses) == 0 {
		return true
	}
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery(clauses), st.k, 0, false)
	res, err := st.bi.Search(req)
	if err != nil {
		return false
	}
	for _, h := range res.Hits {
		if d, ok := st.ids[h.ID]; ok {
			add(d)
		}
	}
	return true
}

func groupWanted(g string, locales []string) bool {
	for _, l := range locales {
		if group(l) == g {
			return true
		}
	}
	return false
}

// open reports whether the index is not closed yet.
func (st *bleveStage) open() bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return !st.closed
}

// close closes the Bleve index once searches in flight are done and
// removes its directory.
func (st *bleveStage) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	err := st.bi.Close()
	if st.dir != "" {
		if rerr := os.RemoveAll(st.dir); err == nil {
			err = rerr
		}
	}
	return err
}
