package defects

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// A new defect brings new wording: customers describe what went wrong in
// words the reason's everyday contacts do not use ("no padding at all in
// the box", "keeps pushing the date"). Each reason keeps the document
// frequencies of its contacts' terms (word stems and adjacent pairs,
// Chinese characters and character pairs) over the baseline days, lagged
// by the longest test window so that a defect's own first days do not make
// its wording usual; so does the shop as a whole, and each subject value
// (product, carrier ...) for the terms rare in the shop. A contact is
// unusual, judged once on arrival, when at least two of its terms are
// rare for its reason and in the shop, are not the words of its own
// subject values (a product's name, a city) and are no misspellings of
// usual words. The unusual test then asks of a subject how surprising its
// customers in a window and the unusual ones among them are, given its
// everyday rate and the share of the reason's contacts that are unusual.

// Unusual wording parameters.
const (
	// unusualRareShare: a term is rare for a reason when at most this share
	// of the reason's baseline contacts use it (none, below a thousand).
	unusualRareShare = 0.001
	// unusualShopShare: a term used by more than this share of all the
	// shop's contacts is no rare wording, whatever the reason: product
	// names, cities, greetings and sign-offs are everyday in the shop.
	unusualShopShare = 0.001
	// unusualMinDocs is how many baseline contacts a reason needs before
	// its wording is judged (the warm-up).
	unusualMinDocs = 100
	// unusualMinJudged is how many judged contacts of the reason the
	// baseline days need for its unusual share to be measured.
	unusualMinJudged = 100
	// unusualMinRare is how many rare terms make a contact unusual: one
	// is a typo or a rare name, several are a new way of saying it.
	unusualMinRare = 2
	// unusualPairShare: a pair of usual terms is rare only when it is
	// used less than this share of what its terms' own frequencies
	// predict if they were independent, so that substitution words
	// meeting a template ("杯" of a product name before "摔") stay usual.
	unusualPairShare = 0.5
	// unusualValueShare: a rare term that three of a subject value's
	// contacts (any reason) used on the baseline days, or two and at least
	// this share of them, is the value's own vocabulary (a product's
	// name, its cities), not new wording.
	unusualValueShare = 0.02
	// unusualDayTerms caps the distinct terms counted per reason and day.
	unusualDayTerms = 20000
	// unusualMinCustomers is how many customers with unusual contacts
	// the test needs: one may be a rare everyday phrasing.
	unusualMinCustomers = 2
	// unusualMaxWindow is the longest test window the unusual test uses:
	// over days, rare everyday phrasings meet on a busy subject.
	unusualMaxWindow = day
	// unusualNoteTerms is how many rare terms a contact keeps for notes.
	unusualNoteTerms = 4
)

// termDay is one day's document frequencies of a reason's terms.
type termDay struct {
	Docs int32
	DF   map[uint64]int32
}

// termModel is the everyday wording of a reason, of the shop or of a
// subject value: per-day document frequencies and their sum over the
// baseline days before anchor.
type termModel struct {
	days   map[int32]*termDay
	agg    map[uint64]int32
	docs   int32
	anchor int32
	span   int32 // days summed before anchor
	built  bool
}

func newTermModel() *termModel { return &termModel{days: map[int32]*termDay{}} }

// warm reports whether the model has seen enough contacts to judge by.
func (m *termModel) warm() bool { return m.docs >= unusualMinDocs }

// term is one feature of a contact's wording.
type term struct {
	h      uint64
	pos    int    // token position (a pair's first), for runs of rare words
	a, b   uint64 // a pair's two terms (0 for a single term)
	text   string
	isPair bool
}

// FNV-1a, written out so that hashing a term allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashTerm hashes a single term (a stem or a character).
func hashTerm(s string) uint64 { return fnvAdd(fnvAdd(fnvOffset, "1\x00"), s) }

// hashPair hashes a pair of terms.
func hashPair(a, sep, b string) uint64 {
	return fnvAdd(fnvAdd(fnvAdd(fnvAdd(fnvOffset, "2\x00"), a), sep), b)
}

// wordingTerms returns the distinct terms of a text: English stems and
// pairs of adjacent stems within a clause, Chinese characters and pairs of
// adjacent characters. Numbers, words with digits (ids), masked personal
// data and the words of the contact's subject values are left out and
// break pairs.
func wordingTerms(text string, exclude []string) []term {
	norm := textproc.Normalize(textproc.MaskPII(text))
	toks := textproc.Tokenize(norm)
	out := make([]term, 0, 2*len(toks))
	seen := make(map[uint64]struct{}, 2*len(toks))
	addTerm := func(t term) {
		if _, ok := seen[t.h]; !ok {
			seen[t.h] = struct{}{}
			out = append(out, t)
		}
	}
	var prev string
	var prevH uint64
	prevPos, prevStart := -10, 0
	for _, t := range toks {
		switch t.Kind {
		case textproc.TokenCJKUnigram:
			prev = ""
			addTerm(term{h: hashTerm(t.Text), text: t.Text, pos: t.Pos})
		case textproc.TokenCJKBigram:
			prev = ""
			_, n := utf8.DecodeRuneInString(t.Text)
			addTerm(term{h: hashPair(t.Text[:n], "", t.Text[n:]), a: hashTerm(t.Text[:n]), b: hashTerm(t.Text[n:]), text: t.Text, isPair: true, pos: t.Pos})
		case textproc.TokenWord:
			masked := t.Start > 0 && norm[t.Start-1] == '[' && t.End < len(norm) && norm[t.End] == ']'
			if masked || hasDigit(t.Text) || slices.Contains(exclude, t.Stem) {
				prev = ""
				continue
			}
			h := hashTerm(t.Stem)
			addTerm(term{h: h, text: t.Text, pos: t.Pos})
			if prev != "" && t.Pos == prevPos+1 {
				addTerm(term{h: hashPair(prev, " ", t.Stem), a: prevH, b: h, text: norm[prevStart:t.End], isPair: true, pos: prevPos})
			}
			prev, prevH, prevPos, prevStart = t.Stem, h, t.Pos, t.Start
		default:
			prev = ""
		}
	}
	return out
}

func hasDigit(s string) bool {
	return strings.IndexFunc(s, unicode.IsDigit) >= 0
}

// excludedStems returns the stems of the words of a contact's subject
// values: a carrier or a promo code says which subject, not how.
func (d *Detector) excludedStems(subj [][2]string) []string {
	var out []string
	for _, kv := range subj {
		stems, ok := d.valueStems[kv[1]]
		if !ok {
			for _, t := range textproc.Tokens(kv[1]) {
				if t.Kind == textproc.TokenWord {
					stems = append(stems, t.Stem)
				}
			}
			if len(d.valueStems) >= 10000 {
				clear(d.valueStems)
			}
			d.valueStems[kv[1]] = stems
		}
		out = append(out, stems...)
	}
	return out
}

// termLag is how many days the wording model lags behind the latest day:
// the longest test window, so a defect's own contacts in any window are
// not yet part of what is usual.
func (d *Detector) termLag() int32 {
	w := d.wins[len(d.wins)-1]
	return int32((w + day - 1) / day)
}

// termModelFor returns the reason's model with its sum over the baseline
// days before the current anchor.
func (d *Detector) termModelFor(reason string) *termModel {
	m := d.terms[reason]
	if m == nil {
		m = newTermModel()
		d.terms[reason] = m
	}
	anchor := dayOf(d.watermark) - d.termLag()
	if !m.built || m.anchor != anchor {
		m.rebuild(anchor, int32(d.cfg.BaselineDays))
	}
	return m
}

func (m *termModel) rebuild(anchor, days int32) {
	if m.built && m.span == days && anchor == m.anchor+1 {
		// A day on: add the newest day, drop the oldest.
		m.addDay(m.anchor, 1)
		m.addDay(m.anchor-days, -1)
		m.anchor = anchor
		return
	}
	m.agg = map[uint64]int32{}
	m.docs = 0
	for dd := anchor - days; dd < anchor; dd++ {
		td := m.days[dd]
		if td == nil {
			continue
		}
		m.docs += td.Docs
		for h, n := range td.DF {
			m.agg[h] += n
		}
	}
	m.anchor, m.span, m.built = anchor, days, true
}

// addDay adds (sign 1) or takes out (-1) one day's counts from the sum.
func (m *termModel) addDay(dd, sign int32) {
	td := m.days[dd]
	if td == nil {
		return
	}
	m.docs += sign * td.Docs
	for h, n := range td.DF {
		if v := m.agg[h] + sign*n; v > 0 {
			m.agg[h] = v
		} else {
			delete(m.agg, h)
		}
	}
}

// count adds (delta 1) or removes (-1) a contact's terms on its day.
func (m *termModel) count(dd int32, terms []term, delta int32) {
	td := m.days[dd]
	if td == nil {
		if delta < 0 {
			return
		}
		td = &termDay{DF: map[uint64]int32{}}
		m.days[dd] = td
	}
	// A change to a day already summed changes the sum too.
	summed := m.built && dd < m.anchor && dd >= m.anchor-m.span
	td.Docs += delta
	if summed {
		m.docs += delta
	}
	for _, t := range terms {
		if delta > 0 && len(td.DF) >= unusualDayTerms && td.DF[t.h] == 0 {
			continue
		}
		td.DF[t.h] += delta
		if td.DF[t.h] <= 0 {
			delete(td.DF, t.h)
		}
		if summed {
			if v := m.agg[t.h] + delta; v > 0 {
				m.agg[t.h] = v
			} else {
				delete(m.agg, t.h)
			}
		}
	}
}

// rareTerms returns the contact's terms that are rare for the reason
// (m) and in the shop (shop, every reason's contacts).
func (m *termModel) rareTerms(terms []term, shop *termModel) []term {
	cut := int32(unusualRareShare * float64(m.docs))
	shopCut := max(cut, int32(unusualShopShare*float64(shop.docs)))
	n := float64(m.docs)
	var out []term
	for _, t := range terms {
		df := m.agg[t.h]
		if df > cut || shop.agg[t.h] > shopCut {
			continue
		}
		if !t.isPair {
			if !misspelt(t.text, shop) {
				out = append(out, t)
			}
			continue
		}
		// A pair counts only when both its terms are usual (a rare word
		// counts once, not again in its pairs) and the pair is much rarer
		// than its terms' frequencies predict.
		da, db := m.agg[t.a], m.agg[t.b]
		if da <= cut || db <= cut {
			continue
		}
		if float64(df+1) <= unusualPairShare*float64(da)*float64(db)/n {
			out = append(out, t)
		}
	}
	return out
}

// misspelt reports whether a rare word is a usual word of the shop
// misspelt: two letters swapped, one doubled or one dropped ("arived",
// "pacakge", "delivvery"). A typo says nothing about the issue.
func misspelt(word string, shop *termModel) bool {
	w := strings.ToLower(word)
	if len(w) < 4 || strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return false
	}
	cut := max(1, int32(unusualShopShare*float64(shop.docs)))
	usual := func(v string) bool { return shop.agg[hashTerm(textproc.Stem(v))] > cut }
	b := []byte(w)
	for i := 0; i+1 < len(b); i++ {
		if b[i] == b[i+1] {
			continue
		}
		b[i], b[i+1] = b[i+1], b[i]
		ok := usual(string(b))
		b[i], b[i+1] = b[i+1], b[i]
		if ok {
			return true
		}
	}
	for i := range len(w) {
		if i > 0 && w[i] == w[i-1] {
			continue
		}
		if usual(w[:i] + w[i+1:]) {
			return true
		}
	}
	for i := 1; i < len(w); i++ {
		for c := byte('a'); c <= 'z'; c++ {
			if usual(w[:i] + string(c) + w[i:]) {
				return true
			}
		}
	}
	return false
}

// rareUnits counts a contact's rare terms, a run of adjacent rare words
// or characters as one: a name the reason has not seen ("长沙", "building
// blocks") is one new thing, not several.
func rareUnits(rare []term) int {
	n := 0
	last := -10
	for _, t := range rare {
		if t.isPair {
			n++
			continue
		}
		if t.pos != last+1 {
			n++
		}
		last = t.pos
	}
	return n
}

// rareSample returns up to n of the rare terms for notes, a run of rare
// words or characters as one ("长沙", "building blocks").
func rareSample(rare []term, n int) []string {
	var out []string
	last, at := -10, -1
	for _, t := range rare {
		switch {
		case !t.isPair && t.pos == last+1 && at >= 0:
			sep := " "
			if r := []rune(t.text); len(r) == 1 && r[0] >= 0x2e80 {
				sep = ""
			}
			out[at] += sep + t.text
		case len(out) < n:
			out = append(out, t.text)
			if !t.isPair {
				at = len(out) - 1
			}
		default:
			return out
		}
		if !t.isPair {
			last = t.pos
		}
	}
	return out
}

// rareInShop returns the terms that are rare in the shop or nearly so
// (four times unusualShopShare: the share moves from day to day).
func (m *termModel) rareInShop(terms []term) []term {
	cut := max(1, int32(4*unusualShopShare*float64(m.docs)))
	var out []term
	for _, t := range terms {
		if m.agg[t.h] <= cut {
			out = append(out, t)
		}
	}
	return out
}

// usual reports whether a subject value's contacts use a term on the
// baseline days: at least unusualValueShare of them, two at least.
func (m *termModel) usual(h uint64) bool {
	df := m.agg[h]
	return df >= 3 || df >= 2 && float64(df) >= unusualValueShare*float64(m.docs)
}

// contactValues returns the values a contact carries whatever its reason's
// subject keys (product, metadata); those of keys some reason has as a
// subject key have models of their own words.
func contactValues(c Contact) [][2]string {
	var out [][2]string
	if v := strings.TrimSpace(c.Product); v != "" {
		out = append(out, [2]string{"product", v})
	}
	for _, k := range slices.Sorted(maps.Keys(c.Metadata)) {
		switch k {
		case "order_id", "customer_id", "product", "channel":
			continue
		}
		if v := strings.TrimSpace(c.Metadata[k]); v != "" && len(v) <= 64 {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// valueTerms is the key of a subject value's model.
func valueTerms(kv [2]string) string { return "\x00" + kv[0] + "=" + kv[1] }

// judgeWording decides on arrival whether a contact's wording is unusual
// for its reason (when the reason's and the shop's models are warm) and
// counts its terms in the models of the reason, the shop and its values.
func (d *Detector) judgeWording(o *occ, text string, subj, values [][2]string) {
	m, shop := d.termModelFor(o.reason), d.termModelFor(shopTerms)
	terms := wordingTerms(text, d.excludedStems(subj))
	var vals []*termModel
	for _, kv := range values {
		if d.valueKeys[kv[0]] {
			vals = append(vals, d.termModelFor(valueTerms(kv)))
		}
	}
	ownWords := func(t term) bool {
		for _, v := range vals {
			if v.usual(t.h) {
				return true
			}
		}
		return false
	}
	if m.warm() && shop.warm() {
		o.judged = true
		rare := slices.DeleteFunc(m.rareTerms(terms, shop), ownWords)
		if rareUnits(rare) >= unusualMinRare {
			o.unusual = true
			o.rare = rareSample(rare, unusualNoteTerms)
		}
	}
	// The values learn only the terms rare in the shop: those are the
	// ones asked about.
	if len(vals) > 0 {
		shopRare := shop.rareInShop(terms)
		for _, v := range vals {
			v.count(dayOf(o.at), shopRare, 1)
		}
	}
	m.count(dayOf(o.at), terms, 1)
	shop.count(dayOf(o.at), terms, 1)
}

// unjudge takes a removed contact's terms out of its reason's and the
// shop's models (its values keep them: a value's words do not depend on
// the reason).
func (d *Detector) unjudge(o *occ, subj [][2]string) {
	terms := wordingTerms(o.text, d.excludedStems(subj))
	for _, r := range []string{o.reason, shopTerms} {
		if m := d.terms[r]; m != nil {
			m.count(dayOf(o.at), terms, -1)
		}
	}
}

// pruneTerms forgets days no baseline needs.
func (d *Detector) pruneTerms(keepDay int32) {
	for r, m := range d.terms {
		for dd := range m.days {
			if dd < keepDay-d.termLag() {
				delete(m.days, dd)
			}
		}
		if len(m.days) == 0 {
			delete(d.terms, r)
		}
	}
}

// shopTerms is the key of the model of every reason's contacts.
const shopTerms = ""

func unusualKey(sigKey string) string { return "~unusual|" + sigKey }

func judgedKey(reason string) string { return "~judged|" + reason }

// unusualSig reports whether the unusual test may run on a signature: a
// subject, not the channel (how a contact came says nothing of its words).
func unusualSig(s *signature) bool {
	if s.kind != KindSubject {
		return false
	}
	for _, kv := range s.subject {
		if kv[0] == "channel" {
			return false
		}
	}
	return true
}

// testUnusual is the unusual test of one signature at a contact, run
// while an unusual contact is within a day: in each window of up to a
// day, the distinct customers (not yet claimed) n and those among them
// whose contacts are unusual u (two at least), against a Poisson count of
// the subject's expected contacts in the window (as the opening test
// computes them) each unusual at the reason's share on its baseline days.
// The p-value is the smaller of P(N >= n, U >= u) and P(U >= u): unusual
// customers among more customers than usual, or more unusual customers
// than usual.
func (d *Detector) testUnusual(s *signature, at int64) (verdict, bool) {
	if !unusualSig(s) || d.cfg.Alpha >= 1 || s.lastUnusual == 0 || at-s.lastUnusual > unusualMaxWindow {
		return verdict{}, false
	}
	var best verdict
	found := false
	for _, w := range d.wins {
		if w > unusualMaxWindow {
			break
		}
		from := at - w
		i := sort.Search(len(s.recent), func(i int) bool { return s.recent[i].at > from })
		u := distinctUnusual(s.recent[i:], at)
		if u < unusualMinCustomers {
			continue
		}
		n := distinctUnclaimed(s.recent[i:], at)
		if n < 2 {
			continue
		}
		anchor := dayOf(from)
		covered, ok := d.baselineSpan(anchor)
		if !ok {
			continue
		}
		// The share of the reason's judged contacts on the baseline days
		// that were unusual.
		judged := float64(sumCounter(d.counters[judgedKey(s.reason)], anchor, covered))
		if judged < unusualMinJudged {
			continue
		}
		share := (float64(sumCounter(d.counters[unusualKey(s.reason)], anchor, covered)) + d.cfg.PriorContacts) / (judged + 2*d.cfg.PriorContacts)
		count := d.baseline(s, anchor, covered)
		vw, volume := d.reasonVolume(s.reason, anchor, covered, from, at)
		if volume <= 0 {
			continue
		}
		base := max(float64(count), d.expectedBaseline(s, anchor, covered, from, at)) + d.cfg.PriorContacts
		lambda := base * vw / volume
		// The customers and the unusual ones among them: how surprising
		// are u unusual contacts among n or more, or u unusual ones at all?
		p := min(jointTail(n, u, lambda, share), jointTail(u, u, lambda, share))
		a := windowAlpha(d.cfg.UnusualAlpha, w)
		if p <= a && (!found || p/a < best.p/best.alpha) {
			best = verdict{sig: s, window: w, p: p, n: u, all: n, expect: lambda * share, excess: float64(u) - lambda*share, alpha: a, unusual: true, share: share}
			found = true
		}
	}
	return best, found
}

// jointTail is P(N >= n and U >= u) for N ~ Poisson(lambda) contacts of
// which U ~ Binomial(N, share) are unusual.
func jointTail(n, u int, lambda, share float64) float64 {
	if lambda <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(float64(n) + 1)
	pmf := math.Exp(-lambda + float64(n)*math.Log(lambda) - lg)
	sum := 0.0
	for m := n; m < n+1000; m++ {
		term := pmf * binomialTail(u, float64(m), share)
		sum += term
		pmf *= lambda / float64(m+1)
		if float64(m) > lambda && pmf < sum*1e-9 {
			break
		}
	}
	return math.Min(1, sum)
}

// distinctUnusual counts the distinct customers, not yet claimed, whose
// occurrence until at is unusual.
func distinctUnusual(occs []*occ, until int64) int {
	var seen []string
	for _, o := range occs {
		if o.at > until || o.claimedBy != "" || !o.unusual {
			continue
		}
		if k := o.customerKey(); !slices.Contains(seen, k) {
			seen = append(seen, k)
		}
	}
	return len(seen)
}

// unusualNote explains a defect the unusual test opened, with the rare
// terms of the contacts that opened it.
func unusualNote(v verdict, at int64) string {
	var terms []string
	from := at - v.window
	for _, o := range v.sig.recent {
		if o.at <= from || o.at > at || !o.unusual || o.claimedBy != "" {
			continue
		}
		for _, t := range o.rare {
			if !slices.Contains(terms, t) && len(terms) < 8 {
				terms = append(terms, t)
			}
		}
	}
	return fmt.Sprintf("; %d of %d customers describe it in words rare for this reason (%s; %.2g%% of its contacts are worded unusually, %.2g expected)",
		v.n, v.all, quoteAll(terms), 100*v.share, v.expect)
}

func quoteAll(terms []string) string {
	q := make([]string, len(terms))
	for i, t := range terms {
		q[i] = fmt.Sprintf("%q", t)
	}
	return strings.Join(q, ", ")
}

// snapTerms is a wording model as saved: its days.
type snapTerms struct {
	Days map[int32]termDay
}

func (d *Detector) snapTerms() map[string]snapTerms {
	out := map[string]snapTerms{}
	for r, m := range d.terms {
		st := snapTerms{Days: map[int32]termDay{}}
		for dd, td := range m.days {
			st.Days[dd] = *td
		}
		out[r] = st
	}
	return out
}

func (d *Detector) restoreTerms(s map[string]snapTerms) {
	for r, st := range s {
		m := newTermModel()
		for dd, td := range st.Days {
			td.DF = orEmpty(td.DF)
			m.days[dd] = &td
		}
		d.terms[r] = m
	}
}

// sigSubjects returns the subject key values of a contact's signatures.
func sigSubjects(sigs []*signature) [][2]string {
	var out [][2]string
	for _, s := range sigs {
		out = mergeSubject(out, s.subject)
	}
	return out
}

func mergeSubject(into, subj [][2]string) [][2]string {
	for _, kv := range subj {
		if !slices.Contains(into, kv) {
			into = append(into, kv)
		}
	}
	return into
}
