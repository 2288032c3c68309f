package faq

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// TestPreparedSnippetsMatchTheWordScan checks that snippets from the words
// found at build time (snippetText) are the same text as snippet's word
// scan, on synthetic articles (English and Chinese) with the terms real
// searches report and random terms, and on edge cases.
func TestPreparedSnippetsMatchTheWordScan(t *testing.T) {
	arts := retrieval.Synthetic(1500, 5)
	texts := []string{
		"",
		"Refunds <b>are</b> paid in 5 days. " + strings.Repeat("filler ", 60) + "Late refund? Call us & we'll REFUND it.",
		"I got my card. He went home; the children's cards were cancelled. Got it? GOT IT.",
		"Café crème, naïve résumé, İstanbul ẞtraße KELVIN sign K, ǅemal, 2fa codes, 3-D secure, v2.1",
		"退款会在5个工作日内退回。退款 refund 退货，ＡＢＣ full width ＲＥＦＵＮＤ，如何申请退款？",
		"a an the it is go goes going gone went be was were been",
		strings.Repeat("payment card transfer ", 500) + "refundable refunding",
		strings.Repeat("x", scanLimit-3) + " refund refund",
		strings.Repeat("退款", scanLimit/6+1) + "退款退款",
		"bad \xff\xfe utf8 refund \xe9\x80 退款",
	}
	for _, a := range arts {
		texts = append(texts, strings.Join(strings.Fields(plainText(a.Body)), " "))
	}
	st := newSnippetTerms()
	prepared := make([]*snippetText, len(texts))
	for i, text := range texts {
		prepared[i] = st.prepare(text)
	}

	var docs []retrieval.Article
	for _, a := range arts {
		docs = append(docs, retrieval.Article{ID: a.ID, Locale: a.Locale, Title: a.Title, Body: a.Body, Questions: a.Questions})
	}
	ix := retrieval.Build(docs, retrieval.Options{})
	byID := map[string]int{}
	for i, a := range arts {
		byID[a.ID] = i + len(texts) - len(arts)
	}
	compared, marked := 0, 0
	check := func(i int, terms []string) {
		t.Helper()
		want := snippet(texts[i], terms)
		got := prepared[i].snippet(st.ids, terms)
		if got != want {
			t.Fatalf("text %d, terms %q:\nprepared %q\nword scan %q", i, terms, got, want)
		}
		compared++
		if strings.Contains(want, "<mark>") {
			marked++
		}
	}
	for _, q := range retrieval.SyntheticQueries(arts, 400, 9) {
		for _, h := range ix.Search(retrieval.Query{Text: q, Limit: 10}) {
			check(byID[h.ID], h.Matched)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	extra := []string{"get", "go", "child", "refund", "退款", "退", "款", "abc", "ab", "a", "", "caf", "istanbul", "k", "kelvin", "2fa", "secur", "x"}
	for i, text := range texts {
		ws := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '.' || r == ',' })
		for range 20 {
			var terms []string
			for range 1 + rng.IntN(5) {
				switch k := rng.IntN(4); {
				case k == 0 && len(ws) > 0:
					terms = append(terms, retrieval.WordTerm(ws[rng.IntN(len(ws))]))
				case k == 1 && len(ws) > 0:
					// A Chinese character or bigram of the text.
					w := []rune(ws[rng.IntN(len(ws))])
					if j := rng.IntN(len(w)); utf8.RuneLen(w[j]) == 3 {
						terms = append(terms, string(w[j:min(j+1+rng.IntN(2), len(w))]))
					}
				default:
					terms = append(terms, extra[rng.IntN(len(extra))])
				}
			}
			check(i, terms)
		}
		check(i, nil)
	}
	if compared < 5000 || marked < compared/3 {
		t.Fatalf("compared %d snippets, %d with a match: too few", compared, marked)
	}
	t.Logf("compared %d snippets, %d with a match", compared, marked)
	if got := (*snippetText)(nil).snippet(st.ids, []string{"refund"}); got != "" {
		t.Errorf("missing article: snippet %q", got)
	}
}

// BenchmarkSnippets10k compares snippets by word scan (snippet) with
// snippets from the words found at build time (snippetText) on the top 10
// hits of 1,000 synthetic queries over 10,000 synthetic articles; ns/op is
// per snippet.
func BenchmarkSnippets10k(b *testing.B) {
	arts := retrieval.Synthetic(10000, 1)
	var docs []retrieval.Article
	st := newSnippetTerms()
	prepared := map[string]*snippetText{}
	for _, a := range arts {
		docs = append(docs, retrieval.Article{ID: a.ID, Locale: a.Locale, Title: a.Title, Body: a.Body, Questions: a.Questions})
		prepared[a.ID] = st.prepare(strings.Join(strings.Fields(plainText(a.Body)), " "))
	}
	ix := retrieval.Build(docs, retrieval.Options{MemoryFirstStage: true})
	type hit struct {
		p     *snippetText
		terms []string
	}
	var hits []hit
	for _, q := range retrieval.SyntheticQueries(arts, 1000, 3) {
		for _, h := range ix.Search(retrieval.Query{Text: q, Limit: 10}) {
			hits = append(hits, hit{prepared[h.ID], h.Matched})
		}
	}
	b.Run("scan", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			h := hits[i%len(hits)]
			_ = snippet(h.p.text, h.terms)
		}
	})
	b.Run("prepared", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			h := hits[i%len(hits)]
			_ = h.p.snippet(st.ids, h.terms)
		}
	})
}
