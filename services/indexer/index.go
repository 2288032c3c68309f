package indexer

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrCorrupt is returned (wrapped) by Open when the directory holds something
// that cannot be opened as a contact index of this version: damaged files, a
// foreign directory, or an index built with another schema. The index is a
// projection, so the caller deletes the directory and rebuilds it from the
// stream.
var ErrCorrupt = errors.New("contact index corrupt or outdated")

// ErrLocked is returned (wrapped) by Open when another process holds the index
// open. Unlike ErrCorrupt the directory must not be deleted.
var ErrLocked = errors.New("contact index locked by another process")

// ErrInvalidDoc is returned (wrapped) by Index and Doc.Validate for a contact
// that cannot be indexed (no ID, no or impossible ReceivedAt). Index rejects
// the whole batch, so callers validate each contact first and dead-letter the
// bad ones.
var ErrInvalidDoc = errors.New("invalid contact")

// ErrNotFound is returned (wrapped) by SetReason for an ID that is not in the
// index.
var ErrNotFound = errors.New("contact not in index")

// ErrBadCursor is returned (wrapped) by Search for a cursor that is not one
// Search produced, or that was produced for a different query or filters.
var ErrBadCursor = errors.New("invalid search cursor")

// Page sizes for Search.
const (
	// DefaultLimit is the page size when Query.Limit is zero or negative.
	DefaultLimit = 20
	// MaxLimit is the largest page size; larger limits are lowered to it.
	MaxLimit = 200
	// FacetSize is the number of terms returned per facet.
	FacetSize = 20
)

// Facet names in Result.Facets.
const (
	FacetReason  = fieldReason
	FacetChannel = fieldChannel
	FacetLocale  = fieldLocale
)

// Doc is one contact as indexed. Text and Subject are already PII-masked by
// the caller. ReceivedAt is required and comes back in UTC.
type Doc struct {
	ID           string
	Reason       string
	ReasonParent string
	Channel      string
	Locale       string
	Source       string
	Product      string
	CustomerID   string
	OrderID      string
	// Method says how the reason was decided (agent, rule, model, review).
	Method string
	// Confidence of the reason, in [0,1].
	Confidence float64
	ReceivedAt time.Time
	Subject    string
	Text       string
}

// Validate reports, wrapping ErrInvalidDoc, why d cannot be indexed: an empty
// ID, or a ReceivedAt that is zero or outside the years 1700-2199.
func (d Doc) Validate() error {
	if d.ID == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidDoc)
	}
	if d.ReceivedAt.IsZero() {
		return fmt.Errorf("%w: contact %s: no received_at", ErrInvalidDoc, d.ID)
	}
	if y := d.ReceivedAt.UTC().Year(); y < 1700 || y >= 2200 {
		return fmt.Errorf("%w: contact %s: received_at %s out of range", ErrInvalidDoc, d.ID, d.ReceivedAt.Format(time.RFC3339))
	}
	return nil
}

// Options tune OpenWithOptions. The zero value gives the defaults used by Open.
type Options struct {
	// LockTimeout bounds how long Open waits for another process that holds
	// the index; then it fails with ErrLocked. Default 5s.
	LockTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
}

// Index is the contact index, a projection of the CONTACTS stream that can be
// deleted and rebuilt by replaying it (which is why Open reports damage with
// ErrCorrupt rather than repairing anything). It is safe for concurrent use:
// searches run in parallel with each other and with writes; writes (Index,
// SetReason) are serialised so a relabel never interleaves with a re-index of
// the same contact.
type Index struct {
	bi       bleve.Index
	an       analyzers
	keywords []keywordField
	dir      string
	created  bool

	writeMu sync.Mutex
}

// Open opens the contact index at dir, or creates an empty one if dir does
// not exist or is an empty directory (parents are created). It fails wrapping
// ErrCorrupt when dir holds anything else, and ErrLocked when another process
// has it open.
func Open(dir string) (*Index, error) {
	return OpenWithOptions(dir, Options{})
}

// OpenWithOptions is Open with explicit options.
func OpenWithOptions(dir string, opts Options) (*Index, error) {
	opts.setDefaults()
	im, err := newMapping()
	if err != nil {
		return nil, err
	}
	an, err := resolveAnalyzers(im)
	if err != nil {
		return nil, err
	}
	fresh, err := isFresh(dir)
	if err != nil {
		return nil, err
	}

	var bi bleve.Index
	if fresh {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("create index parent %s: %w", dir, err)
		}
		bi, err = bleve.New(dir, im)
		if err != nil {
			return nil, fmt.Errorf("create index %s: %w", dir, err)
		}
		if err := bi.SetInternal([]byte(schemaKey), []byte(schemaVersion)); err != nil {
			_ = bi.Close()
			return nil, fmt.Errorf("write schema version to index %s: %w", dir, err)
		}
	} else {
		bi, err = bleve.OpenUsing(dir, map[string]interface{}{
			"bolt_timeout": opts.LockTimeout.String(),
		})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open index %s: %w", dir, ErrLocked)
		}
		if err != nil {
			return nil, fmt.Errorf("open index %s: %w: %w", dir, ErrCorrupt, err)
		}
		v, err := bi.GetInternal([]byte(schemaKey))
		if err != nil {
			_ = bi.Close()
			return nil, fmt.Errorf("read schema version of index %s: %w: %w", dir, ErrCorrupt, err)
		}
		if string(v) != schemaVersion {
			_ = bi.Close()
			return nil, fmt.Errorf("open index %s: schema %q, want %q: %w", dir, v, schemaVersion, ErrCorrupt)
		}
	}
	return &Index{bi: bi, an: an, keywords: keywordFields(), dir: dir, created: fresh}, nil
}

// Created reports whether Open created this index empty (the directory was
// missing or empty) rather than opening an existing one, i.e. whether the
// caller must replay the stream from the start to fill it.
func (ix *Index) Created() bool { return ix.created }

// isFresh reports whether dir is missing or an empty directory, i.e. whether
// Open should create a new index there.
func isFresh(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		st, serr := os.Stat(dir)
		if serr == nil && !st.IsDir() {
			return false, fmt.Errorf("open index %s: not a directory: %w", dir, ErrCorrupt)
		}
		return false, fmt.Errorf("read index dir %s: %w", dir, err)
	}
	return len(entries) == 0, nil
}

// Close flushes pending segments to disk and closes the index.
func (ix *Index) Close() error {
	if err := ix.bi.Close(); err != nil {
		return fmt.Errorf("close index %s: %w", ix.dir, err)
	}
	return nil
}

// Index adds or replaces the given contacts in one Bleve batch: a contact
// whose ID is already indexed is replaced, so replaying a stream is
// idempotent. Within docs, the last contact with a given ID wins. If any
// contact fails Validate, nothing is indexed.
func (ix *Index) Index(docs []Doc) error {
	if len(docs) == 0 {
		return nil
	}
	for i := range docs {
		if err := docs[i].Validate(); err != nil {
			return fmt.Errorf("index batch: %w", err)
		}
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	return ix.indexLocked(docs)
}

func (ix *Index) indexLocked(docs []Doc) error {
	b := ix.bi.NewBatch()
	for i := range docs {
		doc, err := buildDocument(&docs[i], ix.an, ix.keywords)
		if err != nil {
			return fmt.Errorf("index batch: %w", err)
		}
		if err := b.IndexAdvanced(doc); err != nil {
			return fmt.Errorf("index batch: add contact %s: %w", docs[i].ID, err)
		}
	}
	if err := ix.bi.Batch(b); err != nil {
		return fmt.Errorf("index batch of %d contacts: %w", len(docs), err)
	}
	return nil
}

// SetReason relabels an indexed contact: it replaces Reason, ReasonParent,
// Method and Confidence and keeps everything else, rebuilding the contact from
// the index's stored copy so the caller need not pass the text again. It
// returns an error wrapping ErrNotFound for an unknown ID.
func (ix *Index) SetReason(id, reason, parent, method string, confidence float64) error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	d, ok, err := ix.Get(id)
	if err != nil {
		return fmt.Errorf("relabel: %w", err)
	}
	if !ok {
		return fmt.Errorf("relabel contact %s: %w", id, ErrNotFound)
	}
	d.Reason, d.ReasonParent, d.Method, d.Confidence = reason, parent, method, confidence
	if err := ix.indexLocked([]Doc{d}); err != nil {
		return fmt.Errorf("relabel contact %s: %w", id, err)
	}
	return nil
}

// Get returns the indexed contact with the given ID, and false if there is
// none.
func (ix *Index) Get(id string) (Doc, bool, error) {
	doc, err := ix.bi.Document(id)
	if err != nil {
		return Doc{}, false, fmt.Errorf("get contact %s: %w", id, err)
	}
	if doc == nil {
		return Doc{}, false, nil
	}
	var src []byte
	doc.VisitFields(func(f index.Field) {
		if f.Name() == fieldStored {
			src = f.Value()
		}
	})
	if src == nil {
		return Doc{}, false, fmt.Errorf("get contact %s: no stored source", id)
	}
	d, err := decodeStored(id, src)
	if err != nil {
		return Doc{}, false, fmt.Errorf("get: %w", err)
	}
	return d, true, nil
}

// Count returns the number of contacts in the index.
func (ix *Index) Count() (uint64, error) {
	n, err := ix.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("count contacts in %s: %w", ix.dir, err)
	}
	return n, nil
}

// Query is one contact search. All set fields must match.
//
// Q is what an agent types. It is never parsed as query syntax, so any input
// is safe. It is analysed like the indexed text (English stems, Chinese
// bigrams) and every word must occur in the subject or the text; a run of
// Chinese characters must share at least two thirds of its character pairs
// with the contact (快递没到 finds 快递还没到); a lone Chinese character matches
// any word containing it. A "quoted part" is stricter: every pair of its
// Chinese characters must occur too. Word order is not checked, as the index
// keeps no positions (that would cost ~15% of indexing throughput). English
// stop words are ignored; a Q with nothing searchable left matches nothing.
// An empty Q matches every contact that passes the filters.
type Query struct {
	Q string
	// Exact-match filters; empty means any.
	Reason, Channel, Locale, Source, Product string
	// From (inclusive) and To (exclusive) bound ReceivedAt; zero means open.
	From, To time.Time
	// Limit is the page size: DefaultLimit when <= 0, at most MaxLimit.
	Limit int
	// Cursor is Result.NextCursor from the previous page of the same query.
	Cursor string
	// NoFacets skips computing facets, e.g. for the second and later pages
	// whose facets equal the first page's.
	NoFacets bool
}

// Result is one page of search results.
type Result struct {
	// Total counts every contact matching the query, not just this page.
	Total uint64
	// Hits are ordered by relevance (then ID) when Q is set, else newest first
	// (then ID descending).
	Hits []Hit
	// Facets maps FacetReason, FacetChannel and FacetLocale to their top
	// FacetSize terms over all matching contacts, most frequent first.
	Facets map[string][]FacetCount
	// NextCursor fetches the next page; empty on the last page. Cursors are
	// stable while the index does not change; relevance-ordered pages may
	// shift if contacts are indexed in between.
	NextCursor string
}

// Hit is one matching contact.
type Hit struct {
	ID     string
	Reason string
	// Method and Confidence say how the reason was decided (agent, rule,
	// model, review).
	Method     string
	Confidence float64
	Channel    string
	Locale     string
	ReceivedAt time.Time
	Subject    string
	Text       string
	Score      float64
	// Highlights are up to three fragments of Text around the matched words,
	// each match wrapped in <mark></mark>. Everything else is HTML-escaped, so
	// a fragment can be inserted into a page as is. Empty when Q is empty or
	// only the subject matched.
	Highlights []string
}

// FacetCount is one facet term and the number of matching contacts with it.
type FacetCount struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

// sortMode is how a search orders hits; it is part of the cursor.
type sortMode byte

const (
	sortNewest sortMode = 'n'
	sortScore  sortMode = 's'
)

// Search runs q and returns one page of hits with facets.
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	var tq *textQuery
	mode := sortNewest
	if strings.TrimSpace(q.Q) != "" {
		tq = parseText(q.Q, ix.an.text)
		mode = sortScore
	}
	fp := fingerprint(mode, q)
	var after []string
	if q.Cursor != "" {
		var err error
		after, err = decodeCursor(q.Cursor, mode, fp)
		if err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
	}

	req := bleve.NewSearchRequestOptions(ix.bleveQuery(tq, q), limit+1, 0, false)
	req.Fields = []string{fieldStored}
	if mode == sortScore {
		req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}, &search.SortDocID{}})
	} else {
		req.SortByCustom(search.SortOrder{
			&search.SortField{Field: fieldReceivedAt, Type: search.SortFieldAsDate, Desc: true},
			&search.SortDocID{Desc: true},
		})
		req.Score = "none"
	}
	req.SearchAfter = after
	if !q.NoFacets {
		for _, f := range []string{FacetReason, FacetChannel, FacetLocale} {
			req.AddFacet(f, bleve.NewFacetRequest(f, FacetSize))
		}
	}

	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("search contacts: %w", err)
	}

	out := Result{Total: res.Total}
	hits := res.Hits
	if len(hits) > limit {
		hits = hits[:limit]
		out.NextCursor, err = encodeCursor(fp, sortAfter(mode, hits[len(hits)-1]))
		if err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
	}
	var hl *highlighter
	if tq != nil && tq.query != nil {
		hl = &highlighter{an: ix.an.text, terms: tq.terms, chars: tq.chars}
	}
	out.Hits = make([]Hit, 0, len(hits))
	for _, h := range hits {
		src, _ := h.Fields[fieldStored].(string)
		d, err := decodeStored(h.ID, []byte(src))
		if err != nil {
			return Result{}, fmt.Errorf("search hit: %w", err)
		}
		hit := Hit{
			ID:         d.ID,
			Reason:     d.Reason,
			Method:     d.Method,
			Confidence: d.Confidence,
			Channel:    d.Channel,
			Locale:     d.Locale,
			ReceivedAt: d.ReceivedAt,
			Subject:    d.Subject,
			Text:       d.Text,
			Score:      h.Score,
		}
		if hl != nil {
			hit.Highlights = hl.fragments(d.Text)
		}
		out.Hits = append(out.Hits, hit)
	}
	if !q.NoFacets {
		out.Facets = make(map[string][]FacetCount, len(res.Facets))
		for name, fr := range res.Facets {
			terms := fr.Terms.Terms()
			fcs := make([]FacetCount, 0, len(terms))
			for _, t := range terms {
				fcs = append(fcs, FacetCount{Term: t.Term, Count: t.Count})
			}
			out.Facets[name] = fcs
		}
	}
	return out, nil
}

// sortAfter returns the SearchAfter values that resume after hit h.
func sortAfter(mode sortMode, h *search.DocumentMatch) []string {
	if mode == sortScore {
		return []string{strconv.FormatFloat(h.Score, 'g', -1, 64), h.ID}
	}
	return []string{h.DecodedSort[0], h.ID}
}

// bleveQuery combines the text query and the filters. With text, the filters
// go into a non-scoring filter clause so they do not change the relevance
// order; without text, the filters themselves drive the search.
func (ix *Index) bleveQuery(tq *textQuery, q Query) query.Query {
	var filters []query.Query
	for _, f := range []struct{ field, value string }{
		{fieldReason, q.Reason},
		{fieldChannel, q.Channel},
		{fieldLocale, q.Locale},
		{fieldSource, q.Source},
		{fieldProduct, q.Product},
	} {
		if f.value == "" {
			continue
		}
		tq := query.NewTermQuery(f.value)
		tq.SetField(f.field)
		filters = append(filters, tq)
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		filters = append(filters, newReceivedRange(q.From, q.To))
	}

	var filter query.Query
	switch len(filters) {
	case 0:
	case 1:
		filter = filters[0]
	default:
		filter = query.NewConjunctionQuery(filters)
	}

	switch {
	case tq == nil && filter == nil:
		return query.NewMatchAllQuery()
	case tq == nil:
		return filter
	case tq.query == nil:
		return query.NewMatchNoneQuery()
	case filter == nil:
		return tq.query
	default:
		bq := query.NewBooleanQuery([]query.Query{tq.query}, nil, nil)
		bq.AddFilter(filter)
		return bq
	}
}

// subjectBoost weighs a match in the subject over one in the body text.
const subjectBoost = 1.5

// textQuery is Query.Q analysed into a Bleve query plus what the highlighter
// needs to mark.
type textQuery struct {
	// query is nil when Q holds nothing searchable.
	query query.Query
	// terms are the analysed terms (stems, bigrams) to mark.
	terms map[string]struct{}
	// chars are lone CJK characters, marked wherever they occur.
	chars []string
}

// parseText splits s into quoted parts and free words and builds the query
// described on Query.
func parseText(s string, an analysis.Analyzer) *textQuery {
	tq := &textQuery{terms: map[string]struct{}{}}
	var clauses []query.Query
	free, phrases := splitQuoted(s)
	clauses = append(clauses, tq.clauses(free, an, false)...)
	for _, p := range phrases {
		clauses = append(clauses, tq.clauses(p, an, true)...)
	}
	switch len(clauses) {
	case 0:
	case 1:
		tq.query = clauses[0]
	default:
		tq.query = query.NewConjunctionQuery(clauses)
	}
	return tq
}

// clauses returns one required clause per word of s. In strict mode (quoted
// parts) every bigram of a Chinese run is required on its own.
func (tq *textQuery) clauses(s string, an analysis.Analyzer, strict bool) []query.Query {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	toks := an.Analyze([]byte(s))
	var out []query.Query
	seen := map[string]bool{}
	for i := 0; i < len(toks); {
		t := toks[i]
		switch t.Type {
		case analysis.Double:
			// A run of overlapping bigrams is one Chinese "word".
			j := i + 1
			for j < len(toks) && toks[j].Type == analysis.Double && toks[j].Start < toks[j-1].End {
				j++
			}
			run := make([]query.Query, 0, j-i)
			for _, bt := range toks[i:j] {
				term := string(bt.Term)
				tq.terms[term] = struct{}{}
				run = append(run, fieldsTerm(term))
			}
			i = j
			if strict {
				out = append(out, run...)
				continue
			}
			if len(run) == 1 {
				out = append(out, run[0])
				continue
			}
			dq := query.NewDisjunctionQuery(run)
			dq.SetMin(float64(len(run) - len(run)/3))
			out = append(out, dq)
		case analysis.Single:
			ch := string(t.Term)
			i++
			if seen[ch] {
				continue
			}
			seen[ch] = true
			tq.chars = append(tq.chars, ch)
			out = append(out, fieldsChar(ch))
		default:
			term := string(t.Term)
			i++
			if seen[term] {
				continue
			}
			seen[term] = true
			tq.terms[term] = struct{}{}
			out = append(out, fieldsTerm(term))
		}
	}
	return out
}

// fieldsTerm matches an analysed term in the subject or the text.
func fieldsTerm(term string) query.Query {
	subj := query.NewTermQuery(term)
	subj.SetField(fieldSubject)
	subj.SetBoost(subjectBoost)
	text := query.NewTermQuery(term)
	text.SetField(fieldText)
	return query.NewDisjunctionQuery([]query.Query{subj, text})
}

// fieldsChar matches every indexed term holding the single CJK character ch:
// the bigrams it starts or ends and the lone unigram.
func fieldsChar(ch string) query.Query {
	q := regexp.QuoteMeta(ch)
	re := q + ".?|." + q
	subj := query.NewRegexpQuery(re)
	subj.SetField(fieldSubject)
	subj.SetBoost(subjectBoost)
	text := query.NewRegexpQuery(re)
	text.SetField(fieldText)
	return query.NewDisjunctionQuery([]query.Query{subj, text})
}

// splitQuoted returns s without its quoted parts, and the quoted parts. ASCII
// and Chinese quotation marks both count; an unbalanced quote is ignored.
func splitQuoted(s string) (string, []string) {
	isQuote := func(r rune) bool { return r == '"' || r == '“' || r == '”' }
	var free strings.Builder
	var phrases []string
	for {
		open := strings.IndexFunc(s, isQuote)
		if open < 0 {
			break
		}
		_, w := utf8.DecodeRuneInString(s[open:])
		rest := s[open+w:]
		end := strings.IndexFunc(rest, isQuote)
		if end < 0 {
			free.WriteString(s[:open])
			free.WriteByte(' ')
			s = rest
			break
		}
		free.WriteString(s[:open])
		free.WriteByte(' ')
		phrases = append(phrases, rest[:end])
		_, w = utf8.DecodeRuneInString(rest[end:])
		s = rest[end+w:]
	}
	free.WriteString(s)
	return free.String(), phrases
}

// Highlighting. Bleve's own highlighter needs the text stored as its own
// field with term vectors, which slows indexing (see index_bench_test.go); the
// fragments are instead computed from the stored text by re-analysing it with
// the same analyzer, which costs a few microseconds per hit.
const (
	fragmentRunes   = 160 // target fragment length
	fragmentContext = 40  // runes kept before the first match of a fragment
	maxFragments    = 3
	ellipsis        = "…"
)

// highlighter marks the query's terms in a contact's text.
type highlighter struct {
	an    analysis.Analyzer
	terms map[string]struct{}
	chars []string
}

// span is a byte range [start, end) of the text to mark.
type span struct{ start, end int }

// fragments returns up to maxFragments HTML-safe fragments of text with the
// query's terms marked, in text order; nil if nothing matches.
func (h *highlighter) fragments(text string) []string {
	spans := h.spans(text)
	if len(spans) == 0 {
		return nil
	}
	if utf8.RuneCountInString(text) <= fragmentRunes {
		return []string{markFragment(text, 0, len(text), spans)}
	}
	var out []string
	prevEnd := 0
	for i := 0; i < len(spans) && len(out) < maxFragments; {
		start := max(backRunes(text, spans[i].start, fragmentContext), prevEnd)
		if start > prevEnd {
			// Start at a word boundary if one is near.
			if sp := strings.IndexByte(text[start:spans[i].start], ' '); sp >= 0 && sp < 24 {
				start += sp + 1
			}
		}
		end := fwdRunes(text, start, fragmentRunes)
		j := i
		for j < len(spans) && spans[j].start < end {
			end = max(end, spans[j].end)
			j++
		}
		if end < len(text) {
			// End at a word boundary if one is near and no mark is cut.
			if sp := strings.LastIndexByte(text[spans[j-1].end:end], ' '); sp >= 0 && end-(spans[j-1].end+sp) < 24 {
				end = spans[j-1].end + sp
			}
		}
		out = append(out, markFragment(text, start, end, spans[i:j]))
		prevEnd = end
		i = j
	}
	return out
}

// spans finds the byte ranges of text holding a query term, merged where they
// overlap (as consecutive Chinese bigrams do).
func (h *highlighter) spans(text string) []span {
	var spans []span
	if len(h.terms) > 0 {
		for _, t := range h.an.Analyze([]byte(text)) {
			if _, ok := h.terms[string(t.Term)]; ok {
				spans = append(spans, span{t.Start, t.End})
			}
		}
	}
	for _, ch := range h.chars {
		for off := 0; ; {
			i := strings.Index(text[off:], ch)
			if i < 0 {
				break
			}
			spans = append(spans, span{off + i, off + i + len(ch)})
			off += i + len(ch)
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// markFragment renders text[start:end] escaped, with spans (all inside the
// range) wrapped in <mark>, and an ellipsis where the text was cut.
func markFragment(text string, start, end int, spans []span) string {
	var b strings.Builder
	if start > 0 {
		b.WriteString(ellipsis)
	}
	cur := start
	for _, s := range spans {
		b.WriteString(html.EscapeString(text[cur:s.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[s.start:s.end]))
		b.WriteString("</mark>")
		cur = s.end
	}
	b.WriteString(html.EscapeString(text[cur:end]))
	if end < len(text) {
		b.WriteString(ellipsis)
	}
	return b.String()
}

// backRunes moves n runes back from byte offset i.
func backRunes(s string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, w := utf8.DecodeLastRuneInString(s[:i])
		i -= w
	}
	return i
}

// fwdRunes moves n runes forward from byte offset i.
func fwdRunes(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i
}
