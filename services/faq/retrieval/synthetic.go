package retrieval

import (
	"fmt"
	mrand "math/rand"
	"math/rand/v2"
	"strings"
)

// serviceWords are common help-centre words mixed into synthetic text.
func serviceWords() []string {
	return strings.Fields(`refund order parcel delivery address password card payment declined abroad
cancel subscription fee damaged item return label invoice account email phone store voucher discount size
exchange warranty repair battery screen shipping cost track late missing wrong colour gift wrap loyalty points
login app update bank transfer currency limit pin reset`)
}

// zhWords are Chinese help-centre words for synthetic text.
func zhWords() []string {
	return strings.Fields("退款 订单 包裹 配送 地址 密码 支付 取消 发票 账户 退货 物流 优惠券 保修 会员 积分 快递 发货 换货 客服")
}

// vocabulary makes n distinct pronounceable words.
func vocabulary(n int, rng *rand.Rand) []string {
	cons, vows := "bcdfghjklmnprstvwz", "aeiou"
	seen := map[string]bool{}
	sw := serviceWords()
	out := make([]string, 0, n+len(sw))
	out = append(out, sw...)
	for len(out) < n+len(sw) {
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteByte(cons[rng.IntN(len(cons))])
			b.WriteByte(vows[rng.IntN(len(vows))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Synthetic makes n articles for benchmarks: English text drawn from a
// Zipfian vocabulary of 5,000 words (help-centre words most common), and
// every tenth article Chinese.
func Synthetic(n int, seed uint64) []Article {
	rng := rand.New(rand.NewPCG(seed, seed))
	vocab := vocabulary(5000, rng)
	zipf := mrand.NewZipf(mrand.New(mrand.NewSource(int64(seed))), 1.1, 2, uint64(len(vocab)-1))
	words := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = vocab[zipf.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	zw := zhWords()
	zh := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteString(zw[rng.IntN(len(zw))])
		}
		return b.String()
	}
	out := make([]Article, n)
	for i := range out {
		a := Article{ID: fmt.Sprintf("a%05d", i), Locale: "en"}
		if i%10 == 0 {
			a.Locale = "zh"
			a.Title = zh(3) + "怎么办？"
			a.Body = zh(60)
			a.Questions = []string{zh(4), zh(4)}
		} else {
			a.Title = "How do I " + words(5) + "?"
			a.Body = words(150)
			a.Questions = []string{words(7), words(7), words(7)}
		}
		out[i] = a
	}
	return out
}

// SyntheticQueries makes n benchmark queries from articles' questions,
// one in five with a typo (two letters swapped).
func SyntheticQueries(arts []Article, n int, seed uint64) []string {
	lq := SyntheticLabeledQueries(arts, n, seed)
	out := make([]string, n)
	for i, q := range lq {
		out[i] = q.Text
	}
	return out
}

// SyntheticLabeledQueries is SyntheticQueries with the article each query
// was made from.
func SyntheticLabeledQueries(arts []Article, n int, seed uint64) []LabeledQuery {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]LabeledQuery, n)
	for i := range out {
		a := arts[rng.IntN(len(arts))]
		q := a.Title
		if len(a.Questions) > 0 {
			q = a.Questions[rng.IntN(len(a.Questions))]
		}
		if r := []rune(q); i%5 == 0 && len(r) > 6 && a.Locale == "en" {
			j := 1 + rng.IntN(len(r)-3)
			r[j], r[j+1] = r[j+1], r[j]
			q = string(r)
		}
		out[i] = LabeledQuery{Text: q, ArticleID: a.ID}
	}
	return out
}
