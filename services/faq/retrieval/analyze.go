// Package retrieval is the help centre's search engine: an in-memory index
// of FAQ articles that ranks them for a customer's question in English or
// Chinese. It knows nothing of HTTP or NATS, so it is tested and evaluated
// (`nocontact faq eval`) on its own.
//
// Ranking fuses several views of the same question, each normalised to its
// best hit and weighted (Weights):
//
//   - BM25F over Snowball stems (English) and character bigrams (Chinese),
//     with the title, the alternative questions and the body as boosted
//     fields, and configurable synonyms;
//   - the best single question (or title): BM25 of the query against each
//     question on its own, so one close paraphrase is enough;
//   - character n-gram TF-IDF cosine against each question and against the
//     whole article, which tolerates typos and word-form changes;
//   - optionally a reason model (ReasonScorer): a classifier trained on past
//     contacts whose reasons the articles link to;
//   - optionally a prior per article (helpfulness, reason volume).
package retrieval

import (
	"strings"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// isStop reports English function words (as Snowball stems) and Chinese
// particles, left out of the word views: they carry no topic and only add
// noise to short texts.
func isStop(stem string) bool {
	switch stem {
	case "a", "an", "the", "and", "or", "but", "if", "to", "of", "in", "on", "at", "by", "for", "with",
		"from", "as", "is", "are", "was", "were", "be", "been", "am", "do", "did", "doe", "have", "has", "had",
		"i", "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these", "those",
		"he", "she", "they", "them", "their", "what", "which", "who", "how", "when", "where", "why",
		"can", "could", "would", "should", "will", "shall", "may", "might", "must", "so",
		"there", "here", "about", "pleas", "please", "hi", "hello", "thank", "thanks", "just", "im",
		"any", "some", "all", "also", "too", "than", "then", "veri", "realli", "s", "t",
		"的", "了", "是", "我", "你", "吗", "呢", "吧", "啊", "在", "和", "也", "就", "都", "还", "请":
		return true
	}
	return false
}

// irregular maps an irregular English word form, which stemming cannot
// reach, to the stem of its base form.
func irregular(w string) (string, bool) {
	switch w {
	case "got", "gotten":
		return "get", true
	case "sent":
		return "send", true
	case "lost":
		return "lose", true
	case "paid":
		return "pay", true
	case "bought":
		return "buy", true
	case "made":
		return "make", true
	case "took", "taken":
		return "take", true
	case "gave", "given":
		return "give", true
	case "went", "gone":
		return "go", true
	case "came":
		return "come", true
	case "saw", "seen":
		return "see", true
	case "found":
		return "find", true
	case "left":
		return "leav", true
	case "kept":
		return "keep", true
	case "told":
		return "tell", true
	case "said":
		return "say", true
	case "spent":
		return "spend", true
	case "stole", "stolen":
		return "steal", true
	case "knew", "known":
		return "know", true
	case "brought":
		return "bring", true
	case "thought":
		return "think", true
	case "felt":
		return "feel", true
	case "held":
		return "hold", true
	case "caught":
		return "catch", true
	case "ran":
		return "run", true
	case "wrote", "written":
		return "write", true
	case "forgot", "forgotten":
		return "forget", true
	case "chose", "chosen":
		return "choos", true
	case "sold":
		return "sell", true
	case "broke", "broken":
		return "break", true
	case "won":
		return "win", true
	case "withdrew", "withdrawn":
		return "withdraw", true
	case "children":
		return "child", true
	case "people":
		return "person", true
	case "men":
		return "man", true
	case "women":
		return "woman", true
	}
	return "", false
}

// words returns the word terms of a text: English stems without stop
// words, numbers, and Chinese characters and character bigrams.
func words(text string) []string {
	toks := textproc.Tokens(text)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		switch t.Kind {
		case textproc.TokenWord:
			stem := t.Stem
			if l, ok := irregular(t.Text); ok {
				stem = l
			}
			if !isStop(stem) {
				out = append(out, stem)
			}
		case textproc.TokenNumber:
			out = append(out, t.Text)
		case textproc.TokenCJKBigram:
			out = append(out, t.Text)
		case textproc.TokenCJKUnigram:
			if !isStop(t.Text) {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

// analyzer is words with a cache of each distinct word's term, for
// building an index (stemming is most of the cost of analysis).
type analyzer struct {
	terms map[string]string
}

func (an *analyzer) words(text string) []string {
	toks := textproc.Tokens(text)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		switch t.Kind {
		case textproc.TokenWord:
			term, ok := an.terms[t.Text]
			if !ok {
				term = t.Stem
				if l, irr := irregular(t.Text); irr {
					term = l
				}
				if isStop(term) {
					term = ""
				}
				an.terms[t.Text] = term
			}
			if term != "" {
				out = append(out, term)
			}
		case textproc.TokenNumber, textproc.TokenCJKBigram:
			out = append(out, t.Text)
		case textproc.TokenCJKUnigram:
			if !isStop(t.Text) {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

// grams appends the character n-grams (minN..maxN) of each English word,
// padded with '#' at both ends, to out. Chinese text contributes its
// characters and bigrams (already in words), so it is skipped here.
func grams(text string, minN, maxN int, out []string) []string {
	for _, t := range textproc.Tokens(text) {
		switch t.Kind {
		case textproc.TokenWord, textproc.TokenNumber:
			w := "#" + t.Text + "#"
			r := []rune(w)
			for n := minN; n <= maxN; n++ {
				for i := 0; i+n <= len(r); i++ {
					out = append(out, string(r[i:i+n]))
				}
			}
		case textproc.TokenCJKUnigram, textproc.TokenCJKBigram:
			out = append(out, t.Text)
		}
	}
	return out
}

// Synonyms maps a word to words that mean the same for searching. Keys
// and values are plain words; they are stemmed when an index is built. A
// query word with synonyms also matches them, at a lower weight.
type Synonyms map[string][]string

// stemmed returns the synonyms keyed and valued by stems, made symmetric.
func (s Synonyms) stemmed() map[string][]string {
	out := map[string][]string{}
	add := func(a, b string) {
		if a == b || a == "" || b == "" {
			return
		}
		for _, x := range out[a] {
			if x == b {
				return
			}
		}
		out[a] = append(out[a], b)
	}
	for k, vs := range s {
		ks := words(k)
		if len(ks) != 1 {
			continue
		}
		for _, v := range vs {
			vw := words(v)
			if len(vw) != 1 {
				continue
			}
			add(ks[0], vw[0])
			add(vw[0], ks[0])
		}
	}
	return out
}

// DefaultSynonyms are general English equivalences that help centres
// commonly need; a deployment adds its own vocabulary through
// configuration.
func DefaultSynonyms() Synonyms {
	return Synonyms{
		"kid":      {"child"},
		"children": {"child"},
		"refund":   {"reimburse", "reimbursement"},
		"cancel":   {"cancellation"},
		"deliver":  {"delivery", "shipping", "ship"},
		"parcel":   {"package"},
		"purchase": {"buy"},
		"cost":     {"price", "fee"},
		"charge":   {"fee"},
		"phone":    {"mobile"},
		"email":    {"e-mail", "mail"},
		"account":  {"profile"},
		"password": {"passcode"},
		"covid":    {"coronavirus", "corona"},
	}
}

// Terms returns the word terms the index matches a text on: English
// stems (irregular forms folded, stop words left out), numbers, and
// Chinese characters and bigrams.
func Terms(text string) []string { return words(text) }

// WordTerm returns the term of one English word as Terms would, or ""
// for a stop word.
func WordTerm(word string) string {
	w := strings.ToLower(word)
	stem := textproc.Stem(w)
	if l, ok := irregular(w); ok {
		stem = l
	}
	if isStop(stem) {
		return ""
	}
	return stem
}
