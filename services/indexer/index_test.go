package indexer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// t0 is the base time of the test contacts.
func t0() time.Time { return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC) }

func openTest(t *testing.T) *Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index", "contacts.bleve"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix
}

func mustIndex(t *testing.T, ix *Index, docs ...Doc) {
	t.Helper()
	if err := ix.Index(docs); err != nil {
		t.Fatalf("index: %v", err)
	}
}

func mustSearch(t *testing.T, ix *Index, q Query) Result {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func hitIDs(res Result) []string {
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// corpus is a small mixed English/Chinese set of contacts.
func corpus() []Doc {
	at := func(h int) time.Time { return t0().Add(time.Duration(h) * time.Hour) }
	return []Doc{
		{ID: "en-refunded", Reason: "refund.status", Channel: "email", Locale: "en", Source: "zendesk", Product: "shoes", ReceivedAt: at(0),
			Subject: "Where is my money", Text: "I returned the shoes two weeks ago and still have not been refunded."},
		{ID: "en-refunds", Reason: "refund.status", Channel: "chat", Locale: "en", Source: "zendesk", Product: "shirts", ReceivedAt: at(1),
			Subject: "Refunds", Text: "How long do refunds usually take to show on my card?"},
		{ID: "en-delivered", Reason: "delivery.missing", Channel: "email", Locale: "en", Source: "csv", Product: "shoes", ReceivedAt: at(2),
			Subject: "Parcel", Text: "The tracking says delivered but there is nothing at my door."},
		{ID: "en-late", Reason: "delivery.late", Channel: "phone", Locale: "en", Source: "csv", Product: "shirts", ReceivedAt: at(3),
			Subject: "Late order", Text: "My order is late, it was supposed to arrive on Monday."},
		{ID: "en-refund-late", Reason: "refund.status", Channel: "chat", Locale: "en", Source: "zendesk", Product: "shoes", ReceivedAt: at(4),
			Subject: "Refund request", Text: "The refund is late. Please refund me today."},
		{ID: "en-subject-only", Reason: "account.login", Channel: "email", Locale: "en", Source: "zendesk", Product: "app", ReceivedAt: at(5),
			Subject: "Password reset", Text: "I cannot log in since yesterday."},
		{ID: "zh-refund", Reason: "refund.status", Channel: "chat", Locale: "zh", Source: "zendesk", Product: "shoes", ReceivedAt: at(6),
			Subject: "退款", Text: "我想申请退款，订单号：１２３４５"},
		{ID: "zh-courier", Reason: "delivery.late", Channel: "chat", Locale: "zh", Source: "csv", Product: "shirts", ReceivedAt: at(7),
			Subject: "物流", Text: "快递还没到，已经等了一个星期了"},
		{ID: "zh-retreat", Reason: "other", Channel: "phone", Locale: "zh", Source: "csv", Product: "app", ReceivedAt: at(8),
			Subject: "", Text: "部队撤退了"},
		// Wrong locale on purpose: the text decides, not the label.
		{ID: "mixed", Reason: "refund.request", Channel: "email", Locale: "en", Source: "zendesk", Product: "shoes", ReceivedAt: at(9),
			Subject: "Order problem", Text: "My 快递 never arrived, I want a refund 退款 please."},
	}
}

func TestAnalyzer(t *testing.T) {
	im, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	an, err := resolveAnalyzers(im)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"Refunded refunds REFUND", []string{"refund", "refund", "refund"}},
		{"delivered deliver", []string{"deliv", "deliv"}},
		{"the customer's order", []string{"custom", "order"}},
		{"我想申请退款", []string{"我想", "想申", "申请", "请退", "退款"}},
		{"退", []string{"退"}},
		{"iPhone退款", []string{"iphon", "退款"}},
		// Full-width letters and digits fold to ASCII (the tokenizer alone drops １２３).
		{"订单号：１２３４５ ＡＢＣ", []string{"订单", "单号", "12345", "abc"}},
		// Bigrams that end in English-looking suffixes are not stemmed.
		{"发送 所有的", []string{"发送", "所有", "有的"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for _, tok := range an.text.Analyze([]byte(tt.in)) {
				got = append(got, string(tok.Term))
				if tt.in[tok.Start:tok.End] == "" {
					t.Errorf("token %q has empty offsets", tok.Term)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("terms = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFoldWidthOffsets(t *testing.T) {
	in := "a１ｂ　c"
	out, offs := foldWidth([]byte(in))
	if string(out) != "a1b c" {
		t.Fatalf("folded = %q", out)
	}
	if want := []int{0, 1, 4, 7, 10, len(in)}; !slices.Equal(offs, want) {
		t.Errorf("offsets = %v, want %v", offs, want)
	}
	if out, offs := foldWidth([]byte("plain 中文")); out != nil || offs != nil {
		t.Errorf("nothing to fold should return nil, got %q %v", out, offs)
	}
}

func TestSearchText(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	tests := []struct {
		name string
		q    string
		want []string
	}{
		{"stem finds inflections", "refund", []string{"en-refunded", "en-refunds", "en-refund-late", "mixed"}},
		{"inflection finds stem", "refunding", []string{"en-refunded", "en-refunds", "en-refund-late", "mixed"}},
		{"deliver finds delivered", "deliver", []string{"en-delivered"}},
		{"case insensitive", "REFUNDS", []string{"en-refunded", "en-refunds", "en-refund-late", "mixed"}},
		{"all words must match", "refund late", []string{"en-refund-late"}},
		{"words across subject and text", "password yesterday", []string{"en-subject-only"}},
		{"subject only", "password", []string{"en-subject-only"}},
		{"stop words ignored", "where is the refund", []string{"en-refunded", "en-refunds", "en-refund-late", "mixed"}},
		{"only stop words match nothing", "the of and", []string{}},
		{"chinese word", "退款", []string{"zh-refund", "mixed"}},
		{"chinese word in sentence", "快递", []string{"zh-courier", "mixed"}},
		{"chinese phrase with a gap", "快递没到", []string{"zh-courier"}},
		{"chinese sentence", "申请退款", []string{"zh-refund"}},
		{"chinese unrelated", "发票", []string{}},
		{"single chinese char starts a word", "退", []string{"zh-refund", "zh-retreat", "mixed"}},
		{"single chinese char ends a word", "到", []string{"zh-courier"}},
		{"mixed language query", "refund 退款", []string{"mixed"}},
		{"mixed doc english side", "arrived", []string{"mixed", "en-late"}},
		{"full-width digits found by ascii", "12345", []string{"zh-refund"}},
		{"quoted phrase", `"refund request"`, []string{"en-refund-late"}},
		{"quoted chinese needs every pair", `"快递没到"`, []string{}},
		{"unbalanced quote", `"refund late`, []string{"en-refund-late"}},
		{"chinese quotes", "“申请退款”", []string{"zh-refund"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustSearch(t, ix, Query{Q: tt.q})
			if got := sorted(hitIDs(res)); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("Search(%q) = %v, want %v", tt.q, got, sorted(tt.want))
			}
			if res.Total != uint64(len(tt.want)) {
				t.Errorf("Total = %d, want %d", res.Total, len(tt.want))
			}
		})
	}
}

func TestSearchRanksBetterMatchesFirst(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix,
		Doc{ID: "passing", ReceivedAt: t0().Add(2 * time.Hour), Subject: "Question",
			Text: "I have a question about sizes and colours of the new jackets, and by the way a refund from last year, and also about the shipping costs to Canada."},
		Doc{ID: "focused", ReceivedAt: t0(), Subject: "Refund", Text: "Refund not received, please send my refund."},
		Doc{ID: "middle", ReceivedAt: t0().Add(time.Hour), Subject: "Order", Text: "Where is the refund for my order?"},
	)
	res := mustSearch(t, ix, Query{Q: "refund"})
	if got := hitIDs(res); !slices.Equal(got, []string{"focused", "middle", "passing"}) {
		t.Errorf("hits = %v, want focused, middle, passing", got)
	}
	for i := 1; i < len(res.Hits); i++ {
		if res.Hits[i].Score > res.Hits[i-1].Score {
			t.Errorf("hits not by score: %+v", res.Hits)
		}
	}
}

func TestSearchFilters(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"reason", Query{Reason: "delivery.late"}, []string{"en-late", "zh-courier"}},
		{"channel", Query{Channel: "phone"}, []string{"en-late", "zh-retreat"}},
		{"locale", Query{Locale: "zh"}, []string{"zh-refund", "zh-courier", "zh-retreat"}},
		{"source", Query{Source: "csv"}, []string{"en-delivered", "en-late", "zh-courier", "zh-retreat"}},
		{"product", Query{Product: "app"}, []string{"en-subject-only", "zh-retreat"}},
		{"filters combine", Query{Channel: "chat", Product: "shoes"}, []string{"en-refund-late", "zh-refund"}},
		{"filter with text", Query{Q: "refund", Channel: "chat"}, []string{"en-refunds", "en-refund-late"}},
		{"filter with chinese text", Query{Q: "退款", Locale: "zh"}, []string{"zh-refund"}},
		{"filter is exact", Query{Reason: "refund"}, []string{}},
		{"unknown value", Query{Channel: "fax"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustSearch(t, ix, tt.q)
			if got := sorted(hitIDs(res)); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("hits = %v, want %v", got, sorted(tt.want))
			}
		})
	}
}

func TestSearchDateRange(t *testing.T) {
	ix := openTest(t)
	base := t0()
	var docs []Doc
	for i := range 4 {
		docs = append(docs, Doc{ID: fmt.Sprintf("c%d", i), ReceivedAt: base.Add(time.Duration(i) * time.Hour), Text: "refund"})
	}
	// One nanosecond before the second contact.
	docs = append(docs, Doc{ID: "c1-minus-1ns", ReceivedAt: base.Add(time.Hour - 1), Text: "refund"})
	mustIndex(t, ix, docs...)
	h := func(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"from is inclusive, to exclusive", h(1), h(3), []string{"c1", "c2"}},
		{"one second", h(1), h(1).Add(time.Second), []string{"c1"}},
		{"empty range", h(1), h(1), []string{}},
		{"reversed range", h(3), h(1), []string{}},
		{"bounds are truncated to the second", h(1).Add(-time.Second / 2), h(3).Add(time.Second / 2), []string{"c1-minus-1ns", "c1", "c2"}},
		{"wide range", h(-100000), h(100000), []string{"c0", "c1-minus-1ns", "c1", "c2", "c3"}},
		{"only from", h(2), time.Time{}, []string{"c2", "c3"}},
		{"only to", time.Time{}, h(1), []string{"c0", "c1-minus-1ns"}},
		{"other time zone", h(1).In(time.FixedZone("CST", 8*3600)), h(2).In(time.FixedZone("CST", 8*3600)), []string{"c1"}},
		{"out of range bounds are open", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), []string{"c0", "c1-minus-1ns", "c1", "c2", "c3"}},
		{"to before all time", time.Time{}, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), []string{}},
		{"from after all time", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, []string{}},
	}
	for _, tt := range tests {
		for _, q := range []string{"", "refund"} {
			t.Run(tt.name+"/q="+q, func(t *testing.T) {
				res := mustSearch(t, ix, Query{Q: q, From: tt.from, To: tt.to})
				if got := sorted(hitIDs(res)); !slices.Equal(got, sorted(tt.want)) {
					t.Errorf("hits = %v, want %v", got, sorted(tt.want))
				}
			})
		}
	}
}

func TestReindexReplaces(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	before, err := ix.Count()
	if err != nil {
		t.Fatal(err)
	}
	d := corpus()[0]
	d.Text = "Changed my mind, cancel the subscription."
	d.Reason = "subscription.cancel"
	mustIndex(t, ix, d)
	// Replaying the same event again changes nothing.
	mustIndex(t, ix, d)
	// The last of two versions in one batch wins.
	e1, e2 := corpus()[1], corpus()[1]
	e2.Text = "Second version about an invoice."
	mustIndex(t, ix, e1, e2)

	after, err := ix.Count()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("count = %d after re-index, want %d", after, before)
	}
	if ids := hitIDs(mustSearch(t, ix, Query{Q: "refunded"})); slices.Contains(ids, d.ID) {
		t.Errorf("old text still found: %v", ids)
	}
	if ids := hitIDs(mustSearch(t, ix, Query{Q: "subscription"})); !slices.Equal(ids, []string{d.ID}) {
		t.Errorf("new text hits = %v", ids)
	}
	if ids := hitIDs(mustSearch(t, ix, Query{Q: "invoice"})); !slices.Equal(ids, []string{e2.ID}) {
		t.Errorf("last in batch hits = %v", ids)
	}
	got, ok, err := ix.Get(d.ID)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if got != d {
		t.Errorf("Get = %+v, want %+v", got, d)
	}
}

func TestIndexRejectsInvalidBatch(t *testing.T) {
	ix := openTest(t)
	good := corpus()[0]
	tests := []struct {
		name string
		bad  Doc
	}{
		{"no id", Doc{ReceivedAt: t0(), Text: "x"}},
		{"no received_at", Doc{ID: "x", Text: "x"}},
		{"received_at out of range", Doc{ID: "x", ReceivedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ix.Index([]Doc{good, tt.bad})
			if !errors.Is(err, ErrInvalidDoc) {
				t.Fatalf("err = %v, want ErrInvalidDoc", err)
			}
			if n, _ := ix.Count(); n != 0 {
				t.Errorf("count = %d, want nothing indexed", n)
			}
		})
	}
	if err := ix.Index(nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func facet(res Result, name string) map[string]int {
	out := map[string]int{}
	for _, fc := range res.Facets[name] {
		out[fc.Term] = fc.Count
	}
	return out
}

func TestSetReason(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	orig, _, err := ix.Get("zh-courier")
	if err != nil {
		t.Fatal(err)
	}

	if err := ix.SetReason("zh-courier", "delivery.missing", "delivery", "review", 1); err != nil {
		t.Fatalf("set reason: %v", err)
	}

	res := mustSearch(t, ix, Query{})
	reasons := facet(res, FacetReason)
	if reasons["delivery.late"] != 1 || reasons["delivery.missing"] != 2 {
		t.Errorf("reason facet = %v, want delivery.late 1, delivery.missing 2", reasons)
	}
	if ids := sorted(hitIDs(mustSearch(t, ix, Query{Reason: "delivery.missing"}))); !slices.Equal(ids, []string{"en-delivered", "zh-courier"}) {
		t.Errorf("new reason filter = %v", ids)
	}
	if ids := hitIDs(mustSearch(t, ix, Query{Reason: "delivery.late"})); !slices.Equal(ids, []string{"en-late"}) {
		t.Errorf("old reason filter = %v", ids)
	}
	// The text is still searchable and everything else is kept.
	if ids := hitIDs(mustSearch(t, ix, Query{Q: "快递", Reason: "delivery.missing"})); !slices.Equal(ids, []string{"zh-courier"}) {
		t.Errorf("text after relabel = %v", ids)
	}
	got, _, err := ix.Get("zh-courier")
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	want.Reason, want.ReasonParent, want.Method, want.Confidence = "delivery.missing", "delivery", "review", 1
	if got != want {
		t.Errorf("after relabel Get = %+v, want %+v", got, want)
	}
	if n, _ := ix.Count(); n != uint64(len(corpus())) {
		t.Errorf("count = %d", n)
	}

	if err := ix.SetReason("nope", "x", "", "", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id err = %v, want ErrNotFound", err)
	}
}

func TestGet(t *testing.T) {
	ix := openTest(t)
	d := Doc{ID: "full", Reason: "r", ReasonParent: "p", Channel: "c", Locale: "zh", Source: "s", Product: "pr",
		CustomerID: "cust-1", OrderID: "ord-1", Method: "model", Confidence: 0.73,
		ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CST", 8*3600)), Subject: "主题", Text: "正文 <b>"}
	mustIndex(t, ix, d)
	got, ok, err := ix.Get("full")
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	want := d
	want.ReceivedAt = d.ReceivedAt.UTC()
	if got != want {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if _, ok, err := ix.Get("missing"); ok || err != nil {
		t.Errorf("missing: ok=%v err=%v", ok, err)
	}
}

func TestFacets(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	tests := []struct {
		name string
		q    Query
		want map[string]map[string]int
	}{
		{"all", Query{}, map[string]map[string]int{
			FacetReason:  {"refund.status": 4, "delivery.missing": 1, "delivery.late": 2, "account.login": 1, "other": 1, "refund.request": 1},
			FacetChannel: {"email": 4, "chat": 4, "phone": 2},
			FacetLocale:  {"en": 7, "zh": 3},
		}},
		{"text query", Query{Q: "refund"}, map[string]map[string]int{
			FacetReason:  {"refund.status": 3, "refund.request": 1},
			FacetChannel: {"email": 2, "chat": 2},
			FacetLocale:  {"en": 4},
		}},
		{"filtered", Query{Locale: "zh"}, map[string]map[string]int{
			FacetReason:  {"refund.status": 1, "delivery.late": 1, "other": 1},
			FacetChannel: {"chat": 2, "phone": 1},
			FacetLocale:  {"zh": 3},
		}},
		{"no match", Query{Q: "invoice"}, map[string]map[string]int{
			FacetReason: {}, FacetChannel: {}, FacetLocale: {},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustSearch(t, ix, tt.q)
			for name, want := range tt.want {
				if got := facet(res, name); !mapsEqual(got, want) {
					t.Errorf("facet %s = %v, want %v", name, got, want)
				}
				fcs := res.Facets[name]
				for i := 1; i < len(fcs); i++ {
					if fcs[i].Count > fcs[i-1].Count {
						t.Errorf("facet %s not by count: %v", name, fcs)
					}
				}
			}
			// Facets cover all hits, not just the page.
			small := tt.q
			small.Limit = 1
			if got := mustSearch(t, ix, small); !mapsEqual(facet(got, FacetChannel), tt.want[FacetChannel]) {
				t.Errorf("facets with limit 1 = %v", facet(got, FacetChannel))
			}
		})
	}
	// The second page counts the same contacts as the first.
	first := mustSearch(t, ix, Query{Limit: 3})
	second := mustSearch(t, ix, Query{Limit: 3, Cursor: first.NextCursor})
	for _, name := range []string{FacetReason, FacetChannel, FacetLocale} {
		if !mapsEqual(facet(first, name), facet(second, name)) {
			t.Errorf("facet %s: page 1 %v, page 2 %v", name, facet(first, name), facet(second, name))
		}
	}
	if res := mustSearch(t, ix, Query{NoFacets: true}); res.Facets != nil {
		t.Errorf("NoFacets returned %v", res.Facets)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestHighlights(t *testing.T) {
	ix := openTest(t)
	long := strings.Repeat("Lorem ipsum dolor sit amet. ", 20) + "Then the refund came. " + strings.Repeat("Consectetur adipiscing elit. ", 20) + "A second refund too."
	mustIndex(t, ix,
		Doc{ID: "xss", ReceivedAt: t0(), Text: `<script>alert("x")</script> I want a refund & more`},
		Doc{ID: "zh", ReceivedAt: t0(), Text: "您好，我想申请退款<img src=x>"},
		Doc{ID: "long", ReceivedAt: t0(), Text: long},
		Doc{ID: "subject", ReceivedAt: t0(), Subject: "Refund", Text: "see subject"},
	)
	tests := []struct {
		name string
		q    string
		id   string
		want []string
	}{
		{"escapes html, marks stem", "refunds", "xss", []string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; I want a <mark>refund</mark> &amp; more`}},
		{"chinese bigrams merge", "申请退款", "zh", []string{`您好，我想<mark>申请退款</mark>&lt;img src=x&gt;`}},
		{"single chinese char", "退", "zh", []string{`您好，我想申请<mark>退</mark>款&lt;img src=x&gt;`}},
		{"subject only match", "refund", "subject", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustSearch(t, ix, Query{Q: tt.q})
			for _, h := range res.Hits {
				if h.ID != tt.id {
					continue
				}
				if !slices.Equal(h.Highlights, tt.want) {
					t.Errorf("highlights = %q, want %q", h.Highlights, tt.want)
				}
				return
			}
			t.Fatalf("%s not found in %v", tt.id, hitIDs(res))
		})
	}

	t.Run("long text gives fragments around matches", func(t *testing.T) {
		res := mustSearch(t, ix, Query{Q: "refund", Limit: 10})
		var hl []string
		for _, h := range res.Hits {
			if h.ID == "long" {
				hl = h.Highlights
			}
		}
		if len(hl) != 2 {
			t.Fatalf("want 2 fragments, got %q", hl)
		}
		for _, f := range hl {
			if !strings.Contains(f, "<mark>refund</mark>") || !strings.HasPrefix(f, ellipsis) {
				t.Errorf("fragment %q", f)
			}
			if n := len([]rune(f)); n > fragmentRunes+40 {
				t.Errorf("fragment of %d runes: %q", n, f)
			}
		}
	})

	t.Run("empty query has no highlights", func(t *testing.T) {
		for _, h := range mustSearch(t, ix, Query{}).Hits {
			if h.Highlights != nil {
				t.Errorf("%s: %q", h.ID, h.Highlights)
			}
		}
	})
}

// assertHTMLSafe fails if s holds any tag other than <mark> and </mark>.
func assertHTMLSafe(t testing.TB, s string) {
	t.Helper()
	rest := strings.ReplaceAll(strings.ReplaceAll(s, "<mark>", ""), "</mark>", "")
	if strings.ContainsAny(rest, `<>"`) {
		t.Errorf("fragment not HTML-safe: %q", s)
	}
}

func TestLimitBounds(t *testing.T) {
	ix := openTest(t)
	docs := make([]Doc, 250)
	for i := range docs {
		docs[i] = Doc{ID: fmt.Sprintf("c%03d", i), ReceivedAt: t0().Add(time.Duration(i) * time.Minute), Text: "refund please"}
	}
	mustIndex(t, ix, docs...)
	tests := []struct {
		limit, want int
	}{
		{0, DefaultLimit}, {-5, DefaultLimit}, {1, 1}, {37, 37}, {200, 200}, {201, MaxLimit}, {100000, MaxLimit},
	}
	for _, tt := range tests {
		for _, q := range []string{"", "refund"} {
			t.Run(fmt.Sprintf("limit=%d/q=%s", tt.limit, q), func(t *testing.T) {
				res := mustSearch(t, ix, Query{Q: q, Limit: tt.limit})
				if len(res.Hits) != tt.want {
					t.Errorf("hits = %d, want %d", len(res.Hits), tt.want)
				}
				if res.Total != 250 {
					t.Errorf("total = %d", res.Total)
				}
				if res.NextCursor == "" {
					t.Error("no next cursor although more hits remain")
				}
			})
		}
	}
	if res := mustSearch(t, ix, Query{Limit: 250}); res.NextCursor == "" || len(res.Hits) != MaxLimit {
		t.Errorf("limit 250: %d hits, cursor %q", len(res.Hits), res.NextCursor)
	}
}

func TestCursorPaging(t *testing.T) {
	ix := openTest(t)
	var docs []Doc
	texts := []string{"refund please", "refund refund now", "where is my refund", "我要退款", "late parcel"}
	for i := range 157 {
		docs = append(docs, Doc{
			ID: fmt.Sprintf("c%03d", i),
			// Only 9 distinct times: many ties in received_at.
			ReceivedAt: t0().Add(time.Duration(i%9) * time.Hour),
			Channel:    []string{"email", "chat"}[i%2],
			// Identical texts: many ties in score too.
			Text: texts[i%len(texts)],
		})
	}
	mustIndex(t, ix, docs...)
	tests := []struct {
		name  string
		q     Query
		match func(d Doc) bool
	}{
		{"newest first", Query{Limit: 10}, func(Doc) bool { return true }},
		{"by score", Query{Q: "refund", Limit: 7}, func(d Doc) bool { return strings.Contains(d.Text, "refund") }},
		{"chinese by score", Query{Q: "退款", Limit: 5}, func(d Doc) bool { return strings.Contains(d.Text, "退款") }},
		{"with filter", Query{Channel: "chat", Limit: 6}, func(d Doc) bool { return d.Channel == "chat" }},
		{"with filter and text", Query{Q: "refund", Channel: "email", From: t0().Add(time.Hour), Limit: 4}, func(d Doc) bool {
			return strings.Contains(d.Text, "refund") && d.Channel == "email" && !d.ReceivedAt.Before(t0().Add(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, d := range docs {
				if tt.match(d) {
					want = append(want, d.ID)
				}
			}
			total := len(want)
			var ids []string
			var prev *Hit
			q := tt.q
			pages := 0
			for {
				res := mustSearch(t, ix, q)
				pages++
				if res.Total != uint64(total) {
					t.Fatalf("page %d: total = %d, want %d", pages, res.Total, total)
				}
				for i := range res.Hits {
					h := res.Hits[i]
					if prev != nil && !inOrder(tt.q.Q != "", *prev, h) {
						t.Errorf("out of order: %s (%v %v) after %s (%v %v)", h.ID, h.Score, h.ReceivedAt, prev.ID, prev.Score, prev.ReceivedAt)
					}
					prev = &h
					ids = append(ids, h.ID)
				}
				if res.NextCursor == "" {
					break
				}
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				q.Cursor = res.NextCursor
				q.NoFacets = true
			}
			if pages <= 3 {
				t.Errorf("only %d pages; the test wants more than 3", pages)
			}
			if got := sorted(ids); !slices.Equal(got, sorted(want)) {
				t.Errorf("paged %d hits (%d distinct), want the %d matching contacts exactly once", len(ids), len(slices.Compact(got)), total)
			}
		})
	}
}

// inOrder reports whether b may follow a: by score desc then id asc with a
// text query, else by received_at desc then id desc.
func inOrder(byScore bool, a, b Hit) bool {
	if byScore {
		return a.Score > b.Score || (a.Score == b.Score && a.ID < b.ID)
	}
	return a.ReceivedAt.After(b.ReceivedAt) || (a.ReceivedAt.Equal(b.ReceivedAt) && a.ID > b.ID)
}

func TestBadCursor(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	res := mustSearch(t, ix, Query{Q: "refund", Limit: 1})
	if res.NextCursor == "" {
		t.Fatal("no cursor")
	}
	tests := []struct {
		name string
		q    Query
	}{
		{"garbage", Query{Q: "refund", Cursor: "!!not base64!!"}},
		{"not json", Query{Q: "refund", Cursor: "bm90IGpzb24"}},
		{"other text", Query{Q: "late", Cursor: res.NextCursor}},
		{"other filter", Query{Q: "refund", Channel: "chat", Cursor: res.NextCursor}},
		{"other sort", Query{Cursor: res.NextCursor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ix.Search(context.Background(), tt.q); !errors.Is(err, ErrBadCursor) {
				t.Errorf("err = %v, want ErrBadCursor", err)
			}
		})
	}
	// The page size may change between pages.
	if _, err := ix.Search(context.Background(), Query{Q: "refund", Limit: 50, Cursor: res.NextCursor}); err != nil {
		t.Errorf("cursor with another limit: %v", err)
	}
}

func TestSearchSpecialCharacters(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	queries := []string{
		`+-&&||!(){}[]^"~*?:\/`,
		`"`, `"""`, `refund"`, `"refund`, `re"fund`,
		`refund AND late`, `refund OR late`, `NOT refund`, `-refund`, `+refund`,
		`reason:refund.status`, `text:refund`, `refund~2`, `ref*`, `/re.*/`, `refund^10`,
		`[a TO z]`, `{}`, `\`, `\\\\`, `(((`, `)))`, `*`, `?`,
		"\x00\x01", "\xff\xfe", "退\"款", "“", "“退款", `<script>alert(1)</script>`,
		strings.Repeat("refund ", 200), strings.Repeat("退款", 300),
	}
	for _, q := range queries {
		t.Run(q[:min(len(q), 30)], func(t *testing.T) {
			res, err := ix.Search(context.Background(), Query{Q: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			for _, h := range res.Hits {
				for _, f := range h.Highlights {
					assertHTMLSafe(t, f)
				}
			}
		})
	}
}

func TestSearchCanceled(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Search(ctx, Query{Q: "refund"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ix := openTest(t)
	mustIndex(t, ix, corpus()...)
	gen := newContactGen(5)
	batches := make([][]Doc, 8)
	for i := range batches {
		for range 50 {
			batches[i] = append(batches[i], gen.Doc(""))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, b := range batches {
		wg.Go(func() {
			if err := ix.Index(b); err != nil {
				errs <- err
			}
		})
	}
	for i := range 8 {
		wg.Go(func() {
			for _, q := range []Query{{Q: "refund"}, {Q: "退款", Limit: 5}, {Reason: "refund.status"}} {
				if _, err := ix.Search(context.Background(), q); err != nil {
					errs <- err
				}
			}
			if err := ix.SetReason(corpus()[i].ID, "relabeled", "", "review", 1); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := ix.Count(); n != uint64(len(corpus())+8*50) {
		t.Errorf("count = %d", n)
	}
	if res := mustSearch(t, ix, Query{Reason: "relabeled"}); res.Total != 8 {
		t.Errorf("relabeled = %d", res.Total)
	}
}

func TestCloseReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "contacts.bleve")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustIndex(t, ix, corpus()...)
	if err := ix.SetReason("mixed", "delivery.late", "delivery", "agent", 1); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	ix, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() { _ = ix.Close() }()
	if ix.Created() {
		t.Error("Created() = true for a reopened index")
	}
	if n, err := ix.Count(); err != nil || n != uint64(len(corpus())) {
		t.Errorf("count after reopen = %d, %v", n, err)
	}
	if ids := sorted(hitIDs(mustSearch(t, ix, Query{Q: "退款"}))); !slices.Equal(ids, []string{"mixed", "zh-refund"}) {
		t.Errorf("search after reopen = %v", ids)
	}
	if d, ok, err := ix.Get("mixed"); err != nil || !ok || d.Reason != "delivery.late" {
		t.Errorf("Get after reopen = %+v %v %v", d, ok, err)
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr error
	}{
		{"missing dir is created", func(t *testing.T, dir string) {}, nil},
		{"empty dir is used", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"foreign files", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "notes.txt"), "hello")
		}, ErrCorrupt},
		{"a file, not a dir", func(t *testing.T, dir string) {
			writeFile(t, dir, "hello")
		}, ErrCorrupt},
		{"corrupt metadata", func(t *testing.T, dir string) {
			createIndex(t, dir)
			writeFile(t, filepath.Join(dir, "index_meta.json"), "{not json")
		}, ErrCorrupt},
		{"corrupt root", func(t *testing.T, dir string) {
			createIndex(t, dir)
			writeFile(t, filepath.Join(dir, "store", "root.bolt"), strings.Repeat("garbage", 1000))
		}, ErrCorrupt},
		{"store lost", func(t *testing.T, dir string) {
			createIndex(t, dir)
			if err := os.RemoveAll(filepath.Join(dir, "store")); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
		{"other schema", func(t *testing.T, dir string) {
			bi, err := bleve.New(dir, bleve.NewIndexMapping())
			if err != nil {
				t.Fatal(err)
			}
			if err := bi.SetInternal([]byte(schemaKey), []byte("contacts-v0")); err != nil {
				t.Fatal(err)
			}
			if err := bi.Close(); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "index", "contacts.bleve")
			tt.prepare(t, dir)
			ix, err := Open(dir)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				// The caller's recovery: delete and open again.
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if ix, err = Open(dir); err != nil {
					t.Fatalf("open after removing: %v", err)
				}
			} else if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer func() { _ = ix.Close() }()
			if !ix.Created() {
				t.Error("Created() = false for a new index")
			}
			mustIndex(t, ix, corpus()[0])
			if n, _ := ix.Count(); n != 1 {
				t.Errorf("count = %d", n)
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "contacts.bleve")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ix.Close() }()
	_, err = OpenWithOptions(dir, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("second open err = %v, want ErrLocked and not ErrCorrupt", err)
	}
}

func createIndex(t *testing.T, dir string) {
	t.Helper()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustIndex(t, ix, corpus()...)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		in      string
		free    string
		phrases []string
	}{
		{`refund late`, `refund late`, nil},
		{`"refund request" late`, `  late`, []string{"refund request"}},
		{`a "b c" d "e"`, `a   d  `, []string{"b c", "e"}},
		{`"unbalanced`, ` unbalanced`, nil},
		{`a "b" "c`, `a    c`, []string{"b"}},
		{`“退款”申请`, ` 申请`, []string{"退款"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			free, phrases := splitQuoted(tt.in)
			if free != tt.free || !slices.Equal(phrases, tt.phrases) {
				t.Errorf("splitQuoted(%q) = %q, %q; want %q, %q", tt.in, free, phrases, tt.free, tt.phrases)
			}
		})
	}
}

// FuzzHighlight checks that any query and text give HTML-safe highlights
// whose text, without the marks, is the escaped original.
func FuzzHighlight(f *testing.F) {
	f.Add("refund", "<b>refund</b> & 退款")
	f.Add("退", "我想申请退款")
	f.Add(`"a b" c`, "a b c ＡＢＣ１２３")
	f.Add("x", strings.Repeat("x y ", 100))
	im, err := newMapping()
	if err != nil {
		f.Fatal(err)
	}
	an, err := resolveAnalyzers(im)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q, text string) {
		tq := parseText(q, an.text)
		h := &highlighter{an: an.text, terms: tq.terms, chars: tq.chars}
		for _, frag := range h.fragments(text) {
			assertHTMLSafe(t, frag)
			plain := strings.ReplaceAll(strings.ReplaceAll(frag, "<mark>", ""), "</mark>", "")
			plain = strings.TrimSuffix(strings.TrimPrefix(plain, ellipsis), ellipsis)
			if !strings.Contains(escapeForTest(text), plain) {
				t.Errorf("fragment %q is not part of the escaped text", frag)
			}
		}
	})
}

func escapeForTest(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;").Replace(s)
}

// FuzzDecodeCursor checks that no cursor string makes Search fail with
// anything but ErrBadCursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("")
	f.Add("eyJ2IjoxLCJxIjoxLCJhIjpbIngiLCJ5Il19")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		after, err := decodeCursor(s, sortNewest, 1)
		if err != nil && !errors.Is(err, ErrBadCursor) {
			t.Errorf("err = %v", err)
		}
		if err == nil && len(after) != 2 {
			t.Errorf("after = %q", after)
		}
	})
}

func TestSplitRange(t *testing.T) {
	max := rangeMax()
	cases := [][2]uint64{
		{0, 0}, {0, max}, {5, 5}, {0, 255}, {0, 256}, {1, 254}, {255, 256}, {256, 511},
		{1, max - 1}, {65535, 65536}, {1 << 20, 1<<20 + 1}, {123456789, 9876543210},
		{max - 300, max}, {7, 3},
	}
	r := newContactGen(3).r
	for range 300 {
		a, b := r.Uint64N(max+1), r.Uint64N(max+1)
		if r.IntN(3) == 0 { // narrow ranges too
			b = a + r.Uint64N(100000)
		}
		cases = append(cases, [2]uint64{min(a, b), min(max, b)})
	}
	type node struct {
		shift       uint
		first, last uint64
	}
	for _, c := range cases {
		lo, hi := c[0], c[1]
		var nodes []node
		terms := 0
		err := splitRange(lo, hi, func(shift uint, first, last uint64) error {
			if first > last {
				t.Errorf("[%d,%d]: empty run %d..%d at shift %d", lo, hi, first, last, shift)
			}
			nodes = append(nodes, node{shift, first, last})
			terms += int(last>>shift-first>>shift) + 1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if terms > 2*255*(rangeLevels-1)+4 {
			t.Errorf("[%d,%d]: %d terms", lo, hi, terms)
		}
		probes := []uint64{lo, hi, lo - 1, hi + 1, 0, max, (lo + hi) / 2}
		for range 50 {
			probes = append(probes, lo+r.Uint64N(hi-lo+1+2*256)-256)
		}
		for _, v := range probes {
			if v > max {
				continue
			}
			covered := 0
			for _, n := range nodes {
				if v>>n.shift >= n.first>>n.shift && v>>n.shift <= n.last>>n.shift {
					covered++
				}
			}
			want := 0
			if lo <= v && v <= hi {
				want = 1
			}
			if covered != want {
				t.Fatalf("[%d,%d]: value %d covered %d times, want %d (nodes %v)", lo, hi, v, covered, want, nodes)
			}
		}
	}
}
