package indexer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
)

// schemaVersion is stored inside the index. Bump it whenever the mapping, the
// analyzer or the stored-source encoding below changes: Open then reports
// ErrCorrupt for an index built by an older version, and the service rebuilds
// it by replaying the stream.
const schemaVersion = "contacts-v1"

// schemaKey is the internal (non-document) key holding schemaVersion.
const schemaKey = "nocontact.schema"

// textAnalyzer is the one analyzer used for subject and text, at index and at
// query time. It copes with English and Chinese in any mix:
//
//	(widthFolding)     full-width ASCII -> ASCII, before tokenizing (see there)
//	unicode tokenizer  words by UAX#29; Han characters come out one by one
//	to_lower
//	cjk_bigram         Han runs -> overlapping bigrams (退款申请 -> 退款 款申 申请);
//	                   a lone Han character stays a unigram
//	possessive_en      customer's -> customer
//	stop_en            drops English stop words (the, is, my, ...)
//	stemmer_porter     refunded, refunds -> refund; delivered -> deliv
//
// The Porter stemmer only rewrites ASCII suffixes, so CJK bigrams pass through
// unchanged (TestAnalyzer checks this). Bleve's cjk_width token filter is left
// out: widthFolding already did its work for English and Chinese (it would
// only add half-width katakana), and it cost 3% of indexing CPU.
const textAnalyzer = "nocontact_text"

// Field names in the index. Only subject and text are analyzed; the facet and
// filter fields are single keyword terms.
const (
	fieldSubject = "subject"
	fieldText    = "text"
	fieldReason  = "reason"
	fieldChannel = "channel"
	fieldLocale  = "locale"
	fieldSource  = "source"
	fieldProduct = "product"
	// fieldReceivedAt orders hits: one prefix-coded nanosecond term per
	// contact, with docvalues, read by Bleve's date sort.
	fieldReceivedAt = "received_at"
	// fieldReceivedRange answers From/To filters: a trie of whole seconds
	// (see receivedRangeQuery).
	fieldReceivedRange = "received_range"
	// fieldStored holds the whole Doc, JSON-encoded, stored and not indexed.
	// One stored field instead of fourteen keeps indexing cheap, and Get and
	// search hits decode it in one step.
	fieldStored = "src"
)

// keywordField describes one exact-match field: facets need docvalues,
// plain filters do not.
type keywordField struct {
	name      string
	docValues bool
	value     func(d *Doc) string
}

// keywordFields lists the exact-match fields in the order they are indexed.
func keywordFields() []keywordField {
	return []keywordField{
		{fieldReason, true, func(d *Doc) string { return d.Reason }},
		{fieldChannel, true, func(d *Doc) string { return d.Channel }},
		{fieldLocale, true, func(d *Doc) string { return d.Locale }},
		{fieldSource, false, func(d *Doc) string { return d.Source }},
		{fieldProduct, false, func(d *Doc) string { return d.Product }},
	}
}

// newMapping builds the index mapping. Documents are built by buildDocument
// (Batch.IndexAdvanced) and queries from pre-analysed terms, so Bleve itself
// never analyses through the mapping: it is where the text analyzer is defined
// and resolved from, it sets the scoring model (BM25, which ranks short
// contacts better than TF-IDF), and it documents in index_meta.json what
// buildDocument writes. Dynamic mapping is off and nothing goes to _all.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	err := im.AddCustomAnalyzer(textAnalyzer, map[string]interface{}{
		"type":      custom.Name,
		"tokenizer": unicode.Name,
		"token_filters": []interface{}{
			lowercase.Name,
			cjk.BigramName,
			en.PossessiveName,
			en.StopName,
			porter.Name,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add analyzer %s: %w", textAnalyzer, err)
	}
	im.DefaultAnalyzer = textAnalyzer
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	im.ScoringModel = index.BM25Scoring

	dm := mapping.NewDocumentStaticMapping()
	for _, name := range []string{fieldSubject, fieldText} {
		fm := mapping.NewTextFieldMapping()
		fm.Analyzer = textAnalyzer
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		dm.AddFieldMappingsAt(name, fm)
	}
	for _, kf := range keywordFields() {
		fm := mapping.NewKeywordFieldMapping()
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = kf.docValues
		dm.AddFieldMappingsAt(kf.name, fm)
	}
	// The two time fields are written by buildDocument with their own
	// encodings; Bleve only ever sees them as opaque keyword terms.
	for _, f := range []struct {
		name      string
		docValues bool
	}{{fieldReceivedAt, true}, {fieldReceivedRange, false}} {
		fm := mapping.NewKeywordFieldMapping()
		fm.Store = false
		fm.IncludeInAll = false
		fm.DocValues = f.docValues
		dm.AddFieldMappingsAt(f.name, fm)
	}
	src := mapping.NewTextFieldMapping()
	src.Index = false
	src.Store = true
	src.IncludeTermVectors = false
	src.IncludeInAll = false
	src.DocValues = false
	dm.AddFieldMappingsAt(fieldStored, src)
	im.DefaultMapping = dm

	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("validate mapping: %w", err)
	}
	return im, nil
}

// analyzers holds the analyzers resolved once from the mapping.
type analyzers struct {
	text    analysis.Analyzer
	keyword analysis.Analyzer
}

func resolveAnalyzers(im mapping.IndexMapping) (analyzers, error) {
	text := im.AnalyzerNamed(textAnalyzer)
	kw := im.AnalyzerNamed(keyword.Name)
	if text == nil || kw == nil {
		return analyzers{}, fmt.Errorf("resolve analyzers %s, %s: not in mapping", textAnalyzer, keyword.Name)
	}
	return analyzers{text: widthFolding{text}, keyword: kw}, nil
}

// widthFolding folds full-width ASCII (ＡＢＣ１２３：) and the ideographic space
// to ASCII before the wrapped analyzer runs, and maps token offsets back to
// the original text. The unicode tokenizer drops full-width digits entirely
// (its word-break tables predate them), which would lose order numbers typed
// with a Chinese IME; the cjk_width token filter comes too late to help.
//
// Documents and queries are both analysed through this wrapper (buildDocument
// and parseText never let Bleve analyse), so index and query terms agree.
type widthFolding struct {
	inner analysis.Analyzer
}

// Analyze implements analysis.Analyzer.
func (w widthFolding) Analyze(input []byte) analysis.TokenStream {
	folded, offs := foldWidth(input)
	if offs == nil {
		return w.inner.Analyze(input)
	}
	toks := w.inner.Analyze(folded)
	for _, t := range toks {
		t.Start, t.End = offs[t.Start], offs[t.End]
	}
	return toks
}

// foldWidth returns in with U+FF01-U+FF5E mapped to ASCII and U+3000 to a
// space, and for each byte of the result (plus one past the end) its offset in
// in. It returns nil offsets, and does no work, when there is nothing to fold.
func foldWidth(in []byte) ([]byte, []int) {
	first := -1
	for i := 0; i+2 < len(in); i++ {
		// U+FF01-U+FF5E are EF BC 81-BF and EF BD 80-9E; U+3000 is E3 80 80.
		if (in[i] == 0xEF && (in[i+1] == 0xBC || in[i+1] == 0xBD)) || (in[i] == 0xE3 && in[i+1] == 0x80 && in[i+2] == 0x80) {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, nil
	}
	out := make([]byte, 0, len(in))
	offs := make([]int, 0, len(in)+1)
	out = append(out, in[:first]...)
	for i := range first {
		offs = append(offs, i)
	}
	for i := first; i < len(in); {
		r, size := utf8.DecodeRune(in[i:])
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			out = append(out, byte(r-0xFF01+0x21))
			offs = append(offs, i)
		case r == 0x3000:
			out = append(out, ' ')
			offs = append(offs, i)
		default:
			out = append(out, in[i:i+size]...)
			for k := range size {
				offs = append(offs, i+k)
			}
		}
		i += size
	}
	offs = append(offs, len(in))
	return out, offs
}

// Indexing options per field kind.
const (
	textOptions    = index.IndexField
	keywordOptions = index.IndexField
	facetOptions   = index.IndexField | index.DocValues
	sortOptions    = index.IndexField | index.DocValues
	storedOptions  = index.StoreField
)

// storedDoc is the JSON form of Doc kept in fieldStored. Short keys keep the
// stored bytes small; the zero values are omitted.
type storedDoc struct {
	Reason       string    `json:"r,omitempty"`
	ReasonParent string    `json:"rp,omitempty"`
	Channel      string    `json:"c,omitempty"`
	Locale       string    `json:"l,omitempty"`
	Source       string    `json:"s,omitempty"`
	Product      string    `json:"p,omitempty"`
	CustomerID   string    `json:"cu,omitempty"`
	OrderID      string    `json:"o,omitempty"`
	Method       string    `json:"m,omitempty"`
	Confidence   float64   `json:"cf,omitempty"`
	ReceivedAt   time.Time `json:"t"`
	Subject      string    `json:"su,omitempty"`
	Text         string    `json:"x,omitempty"`
}

func encodeStored(d *Doc) ([]byte, error) {
	b, err := json.Marshal(storedDoc{
		Reason:       d.Reason,
		ReasonParent: d.ReasonParent,
		Channel:      d.Channel,
		Locale:       d.Locale,
		Source:       d.Source,
		Product:      d.Product,
		CustomerID:   d.CustomerID,
		OrderID:      d.OrderID,
		Method:       d.Method,
		Confidence:   d.Confidence,
		ReceivedAt:   d.ReceivedAt.UTC(),
		Subject:      d.Subject,
		Text:         d.Text,
	})
	if err != nil {
		return nil, fmt.Errorf("encode contact %s: %w", d.ID, err)
	}
	return b, nil
}

func decodeStored(id string, b []byte) (Doc, error) {
	var s storedDoc
	if err := json.Unmarshal(b, &s); err != nil {
		return Doc{}, fmt.Errorf("decode stored contact %s: %w", id, err)
	}
	return Doc{
		ID:           id,
		Reason:       s.Reason,
		ReasonParent: s.ReasonParent,
		Channel:      s.Channel,
		Locale:       s.Locale,
		Source:       s.Source,
		Product:      s.Product,
		CustomerID:   s.CustomerID,
		OrderID:      s.OrderID,
		Method:       s.Method,
		Confidence:   s.Confidence,
		ReceivedAt:   s.ReceivedAt.UTC(),
		Subject:      s.Subject,
		Text:         s.Text,
	}, nil
}

// buildDocument turns a validated Doc into a Bleve document without going
// through the reflection-based mapper. Empty keyword values are left out, so
// facets count them as missing rather than as a "" term.
func buildDocument(d *Doc, an analyzers, kws []keywordField) (*document.Document, error) {
	src, err := encodeStored(d)
	if err != nil {
		return nil, err
	}
	doc := document.NewDocument(d.ID)
	doc.Fields = make([]document.Field, 0, 5+len(kws))
	if d.Subject != "" {
		doc.AddField(document.NewTextFieldCustom(fieldSubject, nil, []byte(d.Subject), textOptions, an.text))
	}
	if d.Text != "" {
		doc.AddField(document.NewTextFieldCustom(fieldText, nil, []byte(d.Text), textOptions, an.text))
	}
	for _, kf := range kws {
		v := kf.value(d)
		if v == "" {
			continue
		}
		opts := keywordOptions
		if kf.docValues {
			opts = facetOptions
		}
		doc.AddField(document.NewTextFieldCustom(kf.name, nil, []byte(v), opts, an.keyword))
	}
	ns, err := numeric.NewPrefixCodedInt64(d.ReceivedAt.UnixNano(), 0)
	if err != nil {
		return nil, fmt.Errorf("contact %s received_at: %w", d.ID, err)
	}
	doc.AddField(document.NewTextFieldCustom(fieldReceivedAt, nil, ns, sortOptions, nil))
	var sec [8]byte
	binary.BigEndian.PutUint64(sec[:], rangeValue(d.ReceivedAt))
	doc.AddField(document.NewTextFieldCustom(fieldReceivedRange, nil, sec[:], keywordOptions, rangeTrie{}))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldStored, nil, src, storedOptions))
	return doc, nil
}

// The received time is indexed twice. Bleve's own date field writes 16 trie
// terms per value (precision step 4, hard-coded in its range searcher), which
// made it cost about 40% of all indexing CPU. Instead:
//
//   - received_at holds the exact time as one prefix-coded nanosecond term
//     with docvalues; Bleve's date sort and SearchAfter read it as usual.
//   - received_range holds rangeLevels trie terms of the whole second
//     (precision step rangeStep), and receivedRangeQuery decomposes a From/To
//     range into at most 2*255 terms per level, looking up only the terms
//     that exist.
//
// Filters are therefore exact to the second: From and To are truncated to
// whole seconds, which changes nothing for bounds without a sub-second part.
const (
	rangeStep   = 8
	rangeLevels = 5 // 5 x 8 bits >= 34 bits: seconds in 1700-2199
)

// rangeEpoch is the smallest indexable second, 1700-01-01 UTC; Doc.Validate
// keeps ReceivedAt in [1700, 2200).
func rangeEpoch() int64 { return time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC).Unix() }

// rangeValue is the trie value of t: whole seconds since rangeEpoch.
func rangeValue(t time.Time) uint64 { return uint64(t.Unix() - rangeEpoch()) }

// rangeMax is the largest trie value (just before 2200-01-01).
func rangeMax() uint64 {
	return rangeValue(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) - 1
}

// rangeTerm encodes the trie node of value v at the given shift: the shift
// byte, then v>>shift as 5 big-endian bytes, so that within one level terms
// sort like the values.
func rangeTerm(shift uint, v uint64) []byte {
	v >>= shift
	return []byte{byte(shift), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// rangeTrie is the analyzer of received_range: its input is a big-endian
// uint64 rangeValue and its tokens are that value's trie terms.
type rangeTrie struct{}

// Analyze implements analysis.Analyzer.
func (rangeTrie) Analyze(input []byte) analysis.TokenStream {
	if len(input) != 8 {
		return nil
	}
	v := binary.BigEndian.Uint64(input)
	toks := make(analysis.TokenStream, rangeLevels)
	for i := range toks {
		toks[i] = &analysis.Token{
			Term:     rangeTerm(uint(i*rangeStep), v),
			Start:    0,
			End:      len(input),
			Position: i + 1,
			Type:     analysis.Numeric,
		}
	}
	return toks
}

// splitRange calls emit with the fewest trie nodes, as (shift, first, last)
// runs of one level, that exactly cover the values lo..hi (inclusive). It is
// the classic precision-step decomposition: peel the unaligned ends off at
// each level and hand the aligned middle to the next level up.
func splitRange(lo, hi uint64, emit func(shift uint, first, last uint64) error) error {
	for level := range rangeLevels {
		if lo > hi {
			return nil
		}
		shift := uint(level * rangeStep)
		if level == rangeLevels-1 {
			return emit(shift, lo, hi)
		}
		mask := uint64(1)<<(shift+rangeStep) - 1 // bits below the next level
		nextLo := lo
		if lo&mask != 0 {
			nextLo = (lo | mask) + 1
		}
		nextHi := hi
		if hi&mask != mask {
			nextHi = hi&^mask - 1
			if hi&^mask == 0 { // no aligned block below hi
				nextHi, nextLo = 0, 1
			}
		}
		if nextLo > nextHi || nextLo < lo {
			// No whole node of the next level fits: cover lo..hi here.
			return emit(shift, lo, hi)
		}
		if lo < nextLo {
			if err := emit(shift, lo, nextLo-1); err != nil {
				return err
			}
		}
		if nextHi < hi {
			if err := emit(shift, nextHi+1, hi); err != nil {
				return err
			}
		}
		lo, hi = nextLo, nextHi
	}
	return nil
}

// receivedRangeQuery matches contacts whose received second is in lo..hi
// (inclusive rangeValues). It scores nothing on its own merit: every match
// gets the same weight, and Search uses it as a filter.
type receivedRangeQuery struct {
	lo, hi uint64
}

// newReceivedRange returns the query for From (inclusive) and To (exclusive),
// truncated to whole seconds; zero means unbounded. Bounds outside the
// indexable years are open (or make the range empty) as they should.
func newReceivedRange(from, to time.Time) receivedRangeQuery {
	empty := receivedRangeQuery{lo: 1, hi: 0}
	minT := time.Unix(rangeEpoch(), 0)
	maxT := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	q := receivedRangeQuery{lo: 0, hi: rangeMax()}
	if !from.IsZero() && from.After(minT) {
		if !from.Before(maxT) {
			return empty
		}
		q.lo = rangeValue(from)
	}
	if !to.IsZero() && to.Before(maxT) {
		v := uint64(0)
		if to.After(minT) {
			v = rangeValue(to)
		}
		if v == 0 {
			return empty
		}
		q.hi = v - 1
	}
	return q
}

// Searcher implements query.Query: the existing trie terms covering the range
// become one disjunction.
func (q receivedRangeQuery) Searcher(ctx context.Context, r index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	var terms [][]byte
	err := splitRange(q.lo, q.hi, func(shift uint, first, last uint64) error {
		fd, err := r.FieldDictRange(fieldReceivedRange, rangeTerm(shift, first), rangeTerm(shift, last))
		if err != nil {
			return fmt.Errorf("received range terms: %w", err)
		}
		for {
			de, err := fd.Next()
			if err != nil {
				_ = fd.Close()
				return fmt.Errorf("received range terms: %w", err)
			}
			if de == nil {
				break
			}
			terms = append(terms, []byte(de.Term))
		}
		if err := fd.Close(); err != nil {
			return fmt.Errorf("received range terms: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		return searcher.NewMatchNoneSearcher(r)
	}
	return searcher.NewMultiTermSearcherBytes(ctx, r, terms, fieldReceivedRange, 1, opts, true)
}
