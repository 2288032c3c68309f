package textproc

import (
	"reflect"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"  Where IS   my\torder?\n", "where is my order?"},
		{"ＡＢＣ１２３　全角", "abc123 全角"},
		{"我的快递（订单）怎么还没到？", "我的快递(订单)怎么还没到?"},
		{"It\u2019s \u201cbroken\u201d", "it's \"broken\""},
		{"zero\u200bwidth\ufeff", "zerowidth"},
		{"Ⅻ ﬁle", "xii file"},
		{"\x00ctrl\x07chars", "ctrl chars"},
		{"bad \xff utf8", "bad utf8"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDetectLocale(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"12345 !!", ""},
		{"Where is my order?", "en"},
		{"我的快递怎么还没到", "zh"},
		{"我的iPhone坏了", "zh"},
		{"Order from 上海 please", "en"},
		{"注文した商品がまだ届きません", "ja"},
		{"주문한 상품이 아직 도착하지 않았어요", "ko"},
		{"Où est ma commande ?", "en"},
	}
	for _, tt := range tests {
		if got := DetectLocale(tt.in); got != tt.want {
			t.Errorf("DetectLocale(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsCJK(t *testing.T) {
	for _, r := range "中文ひらカナー한글" {
		if !IsCJK(r) {
			t.Errorf("IsCJK(%q) = false, want true", r)
		}
	}
	for _, r := range "aZ9 ,。é" {
		if IsCJK(r) {
			t.Errorf("IsCJK(%q) = true, want false", r)
		}
	}
}

func TestStem(t *testing.T) {
	groups := [][]string{
		{"refund", "refunds", "refunded", "refunding", "Refunded"},
		{"deliver", "delivered", "delivering", "delivers"},
		{"charge", "charged", "charges", "charging"},
		{"cancel", "cancelled", "cancels", "cancelling"},
		{"arrive", "arrived", "arriving", "arrives"},
		{"hasn't", "hasnt", "Hasn\u2019t"},
	}
	for _, g := range groups {
		want := Stem(g[0])
		for _, w := range g[1:] {
			if got := Stem(w); got != want {
				t.Errorf("Stem(%q) = %q, want %q (as %q)", w, got, want, g[0])
			}
		}
	}
	for in, want := range map[string]string{"": "", "TV": "tv", "快递": "快递", "is": "is"} {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenize(t *testing.T) {
	text := Normalize("My parcel hasn't arrived, order 12345! 快递没到")
	got := Tokenize(text)
	type tok struct {
		Kind TokenKind
		Text string
		Stem string
		Pos  int
	}
	var short []tok
	for _, tk := range got {
		short = append(short, tok{tk.Kind, tk.Text, tk.Stem, tk.Pos})
		if text[tk.Start:tk.End] != tk.Text {
			t.Errorf("token %q has offsets [%d,%d) = %q", tk.Text, tk.Start, tk.End, text[tk.Start:tk.End])
		}
	}
	want := []tok{
		{TokenWord, "my", "my", 0},
		{TokenWord, "parcel", "parcel", 1},
		{TokenWord, "hasn't", "hasnt", 2},
		{TokenWord, "arrived", "arriv", 3},
		{TokenWord, "order", "order", 5}, // the comma leaves a gap
		{TokenNumber, "12345", "12345", 6},
		{TokenCJKUnigram, "快", "快", 8},
		{TokenCJKBigram, "快递", "快递", 8},
		{TokenCJKUnigram, "递", "递", 9},
		{TokenCJKBigram, "递没", "递没", 9},
		{TokenCJKUnigram, "没", "没", 10},
		{TokenCJKBigram, "没到", "没到", 10},
		{TokenCJKUnigram, "到", "到", 11},
	}
	if !reflect.DeepEqual(short, want) {
		t.Errorf("Tokenize(%q)\n got  %+v\n want %+v", text, short, want)
	}
}

func TestTokensEdgeCases(t *testing.T) {
	tests := []struct {
		in   string
		want []string // stems
	}{
		{"", nil},
		{"!!! ... ???", nil},
		{"e-mail 'quoted' rock'n'roll", []string{"e", "mail", "quot", "rocknrol"}},
		{"iPhone15 PS5", []string{"iphone15", "ps5"}},
		{"Café naïve", []string{"café", "naïv"}},
		{"单", []string{"单"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range Tokens(tt.in) {
			got = append(got, tk.Stem)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tokens(%q) stems = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkTokens(b *testing.B) {
	en := "Hi, I ordered a blender two weeks ago and it still hasn't arrived. Can you track it and tell me when it will be delivered? "
	zh := "你好，我两周前买的搅拌机到现在还没收到，能帮我查一下物流吗？什么时候能送到？"
	for _, bc := range []struct{ name, text string }{
		{"en_short", en},
		{"zh_short", zh},
		{"en_20k", strings.Repeat(en, 20000/len(en))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				_ = Tokens(bc.text)
			}
		})
	}
}
