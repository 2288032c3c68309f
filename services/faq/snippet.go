package faq

import (
	"html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/textproc"
	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// snippetRunes is the length of a snippet in characters; scanLimit is
// how far into an article matches are looked for.
const (
	snippetRunes = 180
	scanLimit    = 8 << 10
)

type span struct{ start, end int }

// matchSpans finds the byte spans of text that match the query terms:
// English words whose term is one of them, and Chinese terms as
// substrings.
func matchSpans(text string, terms []string) []span {
	var spans []span
	var cjk []string
	for _, t := range terms {
		r, _ := utf8.DecodeRuneInString(t)
		if textproc.IsCJK(r) {
			cjk = append(cjk, t)
		}
	}
	// Only words that start like a term are stemmed (a stem is a prefix of
	// its words, but for the few irregular forms); this keeps snippets of
	// long articles cheap.
	prefixes := map[string]bool{}
	for _, t := range terms {
		if len(t) >= 3 {
			prefixes[t[:3]] = true
		} else if t != "" {
			prefixes[t] = true
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || textproc.IsCJK(r) {
			i += size
			continue
		}
		start := i
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || textproc.IsCJK(r) {
				break
			}
			i += size
		}
		w := text[start:i]
		p := w
		if len(p) > 3 {
			p = p[:3]
		}
		if !prefixes[strings.ToLower(p)] {
			continue
		}
		match, ok := seen[w]
		if !ok {
			t := retrieval.WordTerm(w)
			match = t != "" && slices.Contains(terms, t)
			seen[w] = match
		}
		if match {
			spans = append(spans, span{start, i})
		}
	}
	for _, t := range cjk {
		for off := 0; ; {
			j := strings.Index(text[off:], t)
			if j < 0 {
				break
			}
			spans = append(spans, span{off + j, off + j + len(t)})
			off += j + len(t)
		}
	}
	return mergeSpans(spans)
}

// mergeSpans sorts spans by start and merges the overlapping ones
// (Chinese bigrams overlap).
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// snippet returns an HTML-safe excerpt of text around the densest cluster
// of matches, with the matches wrapped in <mark>; the text's start when
// nothing matches.
func snippet(text string, terms []string) string {
	scan := text
	if len(scan) > scanLimit {
		scan = scan[:scanLimit]
	}
	return snippetAt(text, matchSpans(scan, terms))
}

// snippetAt is snippet with the matches' spans already found.
func snippetAt(text string, spans []span) string {
	// Choose the window start (a span start) covering the most spans.
	best, bestN := 0, 0
	for i, s := range spans {
		n := 0
		for _, t := range spans[i:] {
			// Bytes stand in for characters (a Chinese one is 3 bytes):
			// the window is only chosen, not cut, by this.
			if t.end-s.start > 2*snippetRunes {
				break
			}
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	start := 0
	if bestN > 0 {
		// Back up a little for context, to a word boundary.
		start = spans[best].start
		for k := 0; k < 30 && start > 0; k++ {
			_, size := utf8.DecodeLastRuneInString(text[:start])
			start -= size
		}
		if sp := strings.IndexByte(text[start:spans[best].start], ' '); sp >= 0 && start > 0 {
			start += sp + 1
		}
	}
	end := start
	for n := 0; end < len(text) && n < snippetRunes; n++ {
		_, size := utf8.DecodeRuneInString(text[end:])
		end += size
	}
	if end < len(text) {
		if sp := strings.LastIndexByte(text[start:end], ' '); sp > snippetRunes/2 {
			end = start + sp
		}
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("… ")
	}
	pos := start
	for _, s := range spans {
		if s.end <= start || s.start >= end {
			continue
		}
		ss, se := max(s.start, start), min(s.end, end)
		b.WriteString(html.EscapeString(text[pos:ss]))
		b.WriteString("<mark>" + html.EscapeString(text[ss:se]) + "</mark>")
		pos = se
	}
	b.WriteString(html.EscapeString(text[pos:end]))
	if end < len(text) {
		b.WriteString(" …")
	}
	return b.String()
}

// A snippetText is an article's plain text with the words of its first
// scanLimit bytes found and analysed once, when the snapshot is built, so
// that a search finds its matches without re-tokenising and re-stemming
// the text: the same spans as matchSpans, by term number.
type snippetText struct {
	text  string
	words []wordAt
}

// wordAt is one word of a snippetText: its byte offset and length and the
// number of its term (retrieval.WordTerm) in the snapshot's snippetTerms,
// -1 for a word without a term (stop word).
type wordAt struct {
	start int32
	n     uint16
	term  int32
}

// snippetTerms numbers the terms of the words of a snapshot's articles;
// byWord caches each word's term number while the snapshot is built.
type snippetTerms struct {
	ids    map[string]int32
	byWord map[string]int32
}

func newSnippetTerms() *snippetTerms {
	return &snippetTerms{ids: map[string]int32{}, byWord: map[string]int32{}}
}

// prepare finds the words of text's first scanLimit bytes exactly as
// matchSpans scans them.
func (st *snippetTerms) prepare(text string) *snippetText {
	scan := text
	if len(scan) > scanLimit {
		scan = scan[:scanLimit]
	}
	out := &snippetText{text: text}
	for i := 0; i < len(scan); {
		r, size := utf8.DecodeRuneInString(scan[i:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || textproc.IsCJK(r) {
			i += size
			continue
		}
		start := i
		for i < len(scan) {
			r, size = utf8.DecodeRuneInString(scan[i:])
			if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || textproc.IsCJK(r) {
				break
			}
			i += size
		}
		w := scan[start:i]
		id, ok := st.byWord[w]
		if !ok {
			id = -1
			if t := retrieval.WordTerm(w); t != "" {
				if id, ok = st.ids[t]; !ok {
					id = int32(len(st.ids))
					st.ids[t] = id
				}
			}
			st.byWord[strings.Clone(w)] = id
		}
		out.words = append(out.words, wordAt{start: int32(start), n: uint16(i - start), term: id})
	}
	out.words = slices.Clip(out.words)
	return out
}

// snippet is snippet(st.text, terms), with the words found beforehand;
// ids is the snapshot's term numbering (snippetTerms.ids).
func (st *snippetText) snippet(ids map[string]int32, terms []string) string {
	if st == nil {
		return snippet("", terms)
	}
	return snippetAt(st.text, st.matchSpans(ids, terms))
}

// matchSpans is matchSpans of the text's first scanLimit bytes.
func (st *snippetText) matchSpans(ids map[string]int32, terms []string) []span {
	var want []int32
	var cjk []string
	for _, t := range terms {
		if id, ok := ids[t]; ok && !slices.Contains(want, id) {
			want = append(want, id)
		}
		r, _ := utf8.DecodeRuneInString(t)
		if textproc.IsCJK(r) {
			cjk = append(cjk, t)
		}
	}
	var spans []span
	if len(want) > 0 {
		// matchSpans looks only at words that start like a term.
		var prefixes []string
		for _, t := range terms {
			if len(t) >= 3 {
				prefixes = append(prefixes, t[:3])
			} else if t != "" {
				prefixes = append(prefixes, t)
			}
		}
		for _, w := range st.words {
			if w.term < 0 || !slices.Contains(want, w.term) {
				continue
			}
			start, end := int(w.start), int(w.start)+int(w.n)
			p := st.text[start:end]
			if len(p) > 3 {
				p = p[:3]
			}
			if slices.Contains(prefixes, strings.ToLower(p)) {
				spans = append(spans, span{start, end})
			}
		}
	}
	if len(cjk) > 0 {
		scan := st.text
		if len(scan) > scanLimit {
			scan = scan[:scanLimit]
		}
		for _, t := range cjk {
			for off := 0; ; {
				j := strings.Index(scan[off:], t)
				if j < 0 {
					break
				}
				spans = append(spans, span{off + j, off + j + len(t)})
				off += j + len(t)
			}
		}
	}
	return mergeSpans(spans)
}
