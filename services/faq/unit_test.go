package faq

import (
	"strings"
	"testing"
	"time"
)

func TestMarkdownIsRenderedSafely(t *testing.T) {
	for _, tc := range []struct{ in, want, never string }{
		{"**bold** and *it*", "<p><strong>bold</strong> and <em>it</em></p>", ""},
		{"# Title\n\ntext", "<h2>Title</h2>", ""},
		{"- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>", ""},
		{"1. one\n2. two", "<ol>", ""},
		{"<script>alert(1)</script>", "&lt;script&gt;", "<script"},
		{"<img src=x onerror=alert(1)>", "&lt;img", "<img"},
		{"[x](javascript:alert(1))", "<p>x", "href"},
		{"[x](https://example.com/a?b=1&c=2)", `<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">x</a>`, ""},
		{"[x](\"onmouseover=alert(1))", "<p>x", "href"},
		{"`<b>`", "<code>&lt;b&gt;</code>", "<b>"},
		{"```\n<script>\n```", "&lt;script&gt;", "<script"},
	} {
		got := string(renderMarkdown(tc.in))
		if !strings.Contains(got, tc.want) || (tc.never != "" && strings.Contains(got, tc.never)) {
			t.Errorf("%q rendered %q, want %q without %q", tc.in, got, tc.want, tc.never)
		}
	}
}

func FuzzMarkdownEmitsOnlyKnownTags(f *testing.F) {
	for _, s := range []string{"<script>x</script>", "[a](javascript:x)", "**<b>**", "# <h1>", "`x`<i>", "[a](https://x.y/\"onclick=1)"} {
		f.Add(s)
	}
	allowed := map[string]bool{}
	for _, t := range []string{"p", "strong", "em", "code", "pre", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "a"} {
		allowed[t], allowed["/"+t] = true, true
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(renderMarkdown(s))
		for i := strings.IndexByte(out, '<'); i >= 0; i = strings.IndexByte(out[i+1:], '<') + i + 1 {
			rest := out[i+1:]
			name := rest[:strings.IndexAny(rest+">", " >")]
			if !allowed[name] {
				t.Fatalf("%q rendered a <%s> tag: %q", s, name, out)
			}
			if name == "a" {
				href := strings.TrimPrefix(rest, `a href="`)
				if !(strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "mailto:") || strings.HasPrefix(href, "/")) {
					t.Fatalf("%q rendered an unsafe link: %q", s, out)
				}
				if q := strings.IndexByte(href, '"'); q < 0 || !strings.HasPrefix(href[q:], `" rel="nofollow noopener">`) {
					t.Fatalf("%q broke out of the href: %q", s, out)
				}
			}
			if strings.IndexByte(out[i+1:], '<') < 0 {
				break
			}
		}
	})
}

func TestSnippetHighlightsAndEscapes(t *testing.T) {
	got := snippet("Refunds <b>are</b> paid in 5 days. "+strings.Repeat("filler ", 60)+"Late refund? Call us.", []string{"refund"})
	if !strings.HasPrefix(got, "<mark>Refunds</mark> &lt;b&gt;are&lt;/b&gt;") {
		t.Errorf("snippet %q", got)
	}
	zh := snippet("退款会在5个工作日内退回。", []string{"退款", "退"})
	if !strings.Contains(zh, "<mark>退款</mark>") {
		t.Errorf("chinese snippet %q", zh)
	}
}

func TestLimiterRefillsPerClient(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(Rate{PerSecond: 2, Burst: 2}, func() time.Time { return now })
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow("a"); ok != want {
			t.Fatalf("call %d: %v", i, ok)
		}
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another client is limited too")
	}
	_, wait := l.allow("a")
	if wait <= 0 || wait > time.Second {
		t.Errorf("retry after %s", wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Error("no token after refill")
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		lang string
		want string
	}{{24 * time.Hour, "en", "within 1 day"}, {48 * time.Hour, "zh", "2 天内"}, {4 * time.Hour, "en", "within 4 hours"}, {30 * time.Minute, "en", "within 30 minutes"}} {
		if got := humanDuration(tc.d, tc.lang); got != tc.want {
			t.Errorf("%s %s: %q", tc.d, tc.lang, got)
		}
	}
}
