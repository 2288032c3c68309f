package taxonomy

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// maxAlternatives is how many runners-up a RuleResult carries.
const maxAlternatives = 3

// Matcher tags text with a reason by the keywords of a taxonomy. It is built once
// per taxonomy version and safe for concurrent use.
type Matcher struct {
	reasons []string // reason codes in file order; keywords point here by index
	depth   []int    // number of ancestors of each reason

	phrases     []phrase
	byFirstStem map[string][]int // first stem of a phrase -> indexes into phrases

	// Typo tolerance: the stems of keyword words (typoMinLen letters or
	// more), and each of them with an inner double letter typed once.
	stems     map[string]bool
	dedoubled map[string][]string

	cjk         []cjkKeyword
	byFirstRune map[rune][]int // first rune of a CJK keyword -> indexes into cjk
}

// phrase is an English (or other space-separated) keyword: consecutive stems.
type phrase struct {
	keyword string
	stems   []string
	reason  int
	weight  float64
}

// cjkKeyword is a keyword matched as a substring of the normalised text.
type cjkKeyword struct {
	keyword string
	text    string
	locale  string
	reason  int
	weight  float64
}

// RuleResult is the outcome of matching one text.
type RuleResult struct {
	// Reason is the code of the best reason, or "" when no keyword matched.
	// Keywords of a retired reason count for the reason it was merged into.
	Reason string
	// Confidence is in [0,1]; see Matcher.Match for the formula.
	Confidence float64
	// Matched are the keywords of Reason found in the text, in text order.
	Matched []string
	// Alternatives are up to three runners-up, best first.
	Alternatives []Scored
	// Locale is the locale the text was matched as.
	Locale string
}

// OK reports whether a keyword matched, that is whether Reason is set.
func (r RuleResult) OK() bool { return r.Reason != "" }

// Scored is a reason and its keyword score.
type Scored struct {
	// Reason is the reason code.
	Reason string
	// Score is the sum of the weights of the reason's distinct keywords found.
	Score float64
}

// NewMatcher precompiles the keywords of t, which should be valid (see
// Validate). Keywords with CJK characters are matched as substrings of the
// normalised text, all others as sequences of stemmed words. A nil taxonomy
// gives a matcher that matches nothing.
func NewMatcher(t *Taxonomy) *Matcher {
	m := &Matcher{
		byFirstStem: make(map[string][]int),
		byFirstRune: make(map[rune][]int),
		stems:       make(map[string]bool),
		dedoubled:   make(map[string][]string),
	}
	if t == nil {
		return m
	}
	at := make(map[string]int, len(t.Reasons))
	for i, r := range t.Reasons {
		m.reasons = append(m.reasons, r.Code)
		at[r.Code] = i
		depth := 0
		for p := r.Parent; p != "" && depth <= len(t.Reasons); depth++ {
			parent, _ := t.Reason(p)
			p = parent.Parent
		}
		m.depth = append(m.depth, depth)
	}
	seen := make(map[string]bool)
	for _, r := range t.Reasons {
		target := r.Code
		if resolved, ok := t.Resolve(r.Code); ok {
			target = resolved.Code
		}
		reason := at[target]
		for locale, list := range sortedKeywords(r.Keywords) {
			for _, kw := range list {
				m.add(kw, locale, reason, seen)
			}
		}
	}
	return m
}

func (m *Matcher) add(kw, locale string, reason int, seen map[string]bool) {
	key, ok := keywordKey(kw)
	if !ok || seen[key] {
		return
	}
	seen[key] = true
	if hasCJK(key) {
		runes := utf8.RuneCountInString(key)
		first, _ := utf8.DecodeRuneInString(key)
		m.byFirstRune[first] = append(m.byFirstRune[first], len(m.cjk))
		m.cjk = append(m.cjk, cjkKeyword{
			keyword: kw, text: key, locale: baseLocale(locale), reason: reason,
			weight: max(1, float64(runes)/2),
		})
		return
	}
	stems := strings.Split(key, " ")
	for _, st := range stems {
		m.addStem(st)
	}
	m.byFirstStem[stems[0]] = append(m.byFirstStem[stems[0]], len(m.phrases))
	m.phrases = append(m.phrases, phrase{keyword: kw, stems: stems, reason: reason, weight: float64(len(stems))})
}

// typoMinLen is the shortest keyword stem a typo is corrected to: shorter
// words are too close to each other ("card", "cart") to guess.
const typoMinLen = 5

// typoMinInput is the shortest word stem that is read as a typo: short
// words are too often real words or chat shorthand ("back", "chat",
// "uhelp") one letter away from a keyword.
const typoMinInput = 6

// addStem indexes a keyword word's stem for typo tolerance: the stem, and
// the stem with one letter of an inner double dropped ("address" ->
// "adress").
func (m *Matcher) addStem(st string) {
	if m.stems[st] || len(st) < typoMinLen || !asciiLower(st) {
		return
	}
	m.stems[st] = true
	for i := 1; i+1 < len(st)-1; i++ {
		if st[i] != st[i+1] {
			continue
		}
		d := st[:i] + st[i+1:]
		if !slices.Contains(m.dedoubled[d], st) {
			m.dedoubled[d] = append(m.dedoubled[d], st)
		}
	}
}

func asciiLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// corrected returns the keyword stem a word's stem is a typo of, for the
// slips that rarely make another real word: an inner letter doubled
// ("retturn", "vouchher"), a double letter typed once ("adress",
// "acount") or two inner letters swapped ("reutrn", "cnacel"); the first
// and the last letter are kept. Letters added or dropped anywhere else are
// not guessed at: "contract" is no "contact", "though" no "through",
// "monkey" no "money". A stem shorter than typoMinInput, a keyword stem
// itself, or one that could be a typo of two different keyword stems is
// left as it is.
func (m *Matcher) corrected(st string) (string, bool) {
	if len(st) < typoMinInput || m.stems[st] || !asciiLower(st) {
		return "", false
	}
	found, ambiguous := "", false
	take := func(c string) {
		if found != "" && found != c {
			ambiguous = true
		}
		found = c
	}
	var buf [64]byte
	if len(st) > len(buf) {
		return "", false
	}
	for i := 1; i < len(st)-1 && !ambiguous; i++ {
		// st[i] doubled: drop the second of the pair.
		if st[i] == st[i-1] {
			b := append(append(buf[:0], st[:i]...), st[i+1:]...)
			if m.stems[string(b)] {
				take(string(b))
			}
		}
		// st[i] and st[i+1] swapped, both inner letters.
		if i+1 < len(st)-1 && st[i] != st[i+1] {
			b := append(buf[:0], st...)
			b[i], b[i+1] = b[i+1], b[i]
			if m.stems[string(b)] {
				take(string(b))
			}
		}
	}
	for _, c := range m.dedoubled[st] {
		take(c)
	}
	if found == "" || ambiguous {
		return "", false
	}
	return found, true
}

// hit is one keyword occurrence, as a byte span of the normalised text.
type hit struct {
	start, end int
	reason     int
	keyword    string
	key        int // phrase index, or -1 - cjk index for CJK keywords
	weight     float64
}

// Match scores every reason by the keywords found in text and returns the best.
// locale is the text's locale ("en", "zh" ...); "" detects it with
// textproc.DetectLocale. English keywords match whole stemmed words, a phrase
// only consecutive words within one clause. CJK keywords match substrings of
// the normalised text and apply when their locale is the text's, or when the
// text is not detected as CJK (English with a few Chinese words).
//
// A keyword weighs its number of words, or half its number of CJK characters
// (at least 1). An occurrence inside a longer matched keyword does not count
// (so "refund" inside "where is my refund" only counts for the phrase), and a
// keyword counts once however often it occurs. A reason's score is the sum of
// its keywords' weights. With s1 the best score and s2 the runner-up's,
//
//	Confidence = s1/(s1+1) × (1 + (s1-s2)/s1) / 2
//
// so one single-word keyword alone gives 0.5, a three-word phrase alone 0.75,
// and a tie halves the strength. Ties go to the reason with the heavier single
// keyword, then to the deeper (more specific) reason, then to the one earlier in
// the file.
func (m *Matcher) Match(text, locale string) RuleResult {
	norm := textproc.Normalize(text)
	if locale == "" {
		locale = textproc.DetectLocale(norm)
	}
	res := RuleResult{Locale: locale}
	if norm == "" {
		return res
	}
	hits := m.phraseHits(norm, nil)
	hits = m.cjkHits(norm, baseLocale(locale), hits)
	if len(hits) == 0 {
		return res
	}
	hits = outermost(hits)

	type total struct {
		reason   int
		score    float64
		heaviest float64
	}
	totals := make(map[int]*total)
	counted := make(map[int]bool)
	for _, h := range hits {
		if counted[h.key] {
			continue
		}
		counted[h.key] = true
		tt := totals[h.reason]
		if tt == nil {
			tt = &total{reason: h.reason}
			totals[h.reason] = tt
		}
		tt.score += h.weight
		tt.heaviest = max(tt.heaviest, h.weight)
	}
	ranked := make([]*total, 0, len(totals))
	for _, tt := range totals {
		ranked = append(ranked, tt)
	}
	slices.SortFunc(ranked, func(a, b *total) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.heaviest, a.heaviest); c != 0 {
			return c
		}
		if c := cmp.Compare(m.depth[b.reason], m.depth[a.reason]); c != 0 {
			return c
		}
		return cmp.Compare(a.reason, b.reason)
	})
	best := ranked[0]
	second := 0.0
	if len(ranked) > 1 {
		second = ranked[1].score
	}
	res.Reason = m.reasons[best.reason]
	res.Confidence = best.score / (best.score + 1) * (1 + (best.score-second)/best.score) / 2
	for _, h := range hits {
		if h.reason == best.reason && !slices.Contains(res.Matched, h.keyword) {
			res.Matched = append(res.Matched, h.keyword)
		}
	}
	for _, tt := range ranked[1:min(len(ranked), 1+maxAlternatives)] {
		res.Alternatives = append(res.Alternatives, Scored{Reason: m.reasons[tt.reason], Score: tt.score})
	}
	return res
}

// phraseHits appends the occurrences of word keywords in norm.
func (m *Matcher) phraseHits(norm string, hits []hit) []hit {
	var words []textproc.Token
	for _, tok := range textproc.Tokenize(norm) {
		if tok.Kind == textproc.TokenWord || tok.Kind == textproc.TokenNumber {
			if tok.Kind == textproc.TokenWord {
				if c, ok := m.corrected(tok.Stem); ok {
					tok.Stem = c
				}
			}
			words = append(words, tok)
		}
	}
	for i, w := range words {
		for _, pi := range m.byFirstStem[w.Stem] {
			p := m.phrases[pi]
			n := len(p.stems)
			if i+n > len(words) {
				continue
			}
			match := true
			for j := 1; j < n && match; j++ {
				match = words[i+j].Stem == p.stems[j] && words[i+j].Pos == w.Pos+j
			}
			if match {
				hits = append(hits, hit{
					start: w.Start, end: words[i+n-1].End, reason: p.reason,
					keyword: p.keyword, key: pi, weight: p.weight,
				})
			}
		}
	}
	return hits
}

// cjkHits appends the occurrences of CJK keywords in norm that apply to locale.
func (m *Matcher) cjkHits(norm, locale string, hits []hit) []hit {
	if len(m.cjk) == 0 {
		return hits
	}
	cjkLocale := locale == "zh" || locale == "ja" || locale == "ko"
	for i, r := range norm {
		if r < 0x1100 {
			continue
		}
		for _, ci := range m.byFirstRune[r] {
			kw := m.cjk[ci]
			if cjkLocale && kw.locale != locale {
				continue
			}
			if strings.HasPrefix(norm[i:], kw.text) {
				hits = append(hits, hit{
					start: i, end: i + len(kw.text), reason: kw.reason,
					keyword: kw.keyword, key: -1 - ci, weight: kw.weight,
				})
			}
		}
	}
	return hits
}

// outermost drops every hit whose span lies inside a longer hit, and returns
// the rest in text order.
func outermost(hits []hit) []hit {
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(b.end, a.end)
	})
	out := hits[:0]
	maxStart, maxEnd := -1, -1
	for _, h := range hits {
		if h.end < maxEnd || h.end == maxEnd && h.start > maxStart {
			continue
		}
		if h.end > maxEnd {
			maxStart, maxEnd = h.start, h.end
		}
		out = append(out, h)
	}
	return out
}

// baseLocale returns the language part of a locale tag: "zh" for "zh-hant".
func baseLocale(locale string) string {
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	return lang
}
