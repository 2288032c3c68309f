package indexer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// processCPU returns the CPU time (user+system) this process has used so far,
// from /proc/self/stat; ok is false where that is not available. On a shared
// machine docs per CPU-second is a steadier figure than docs per second.
func processCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields overall, in USER_HZ (100/s) ticks.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// cpuMeter reports work per CPU-second of the whole process (background
// segment merging and GC included).
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	c, ok := processCPU()
	return cpuMeter{start: c, ok: ok}
}

func (m cpuMeter) report(b *testing.B, work float64, unit string) {
	end, ok := processCPU()
	if !m.ok || !ok || end <= m.start {
		return
	}
	b.ReportMetric(work/(end-m.start).Seconds(), unit)
}

// contactGen makes realistic short support contacts: English, Chinese, and
// Chinese with English product names, the way they arrive from a helpdesk.
type contactGen struct {
	r *rand.Rand
	n int
}

func newContactGen(seed uint64) *contactGen {
	return &contactGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *contactGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// Doc returns the next contact. lang is "en", "zh" or "mixed"; "" draws one
// (45% English, 45% Chinese, 10% mixed).
func (g *contactGen) Doc(lang string) Doc {
	g.n++
	if lang == "" {
		switch p := g.r.IntN(100); {
		case p < 45:
			lang = "en"
		case p < 90:
			lang = "zh"
		default:
			lang = "mixed"
		}
	}
	reasons := []string{"refund.status", "refund.request", "delivery.late", "delivery.missing", "delivery.damaged",
		"order.change", "order.cancel", "payment.failed", "payment.double_charge", "account.login", "product.question", "return.label"}
	reason := g.pick(reasons)
	d := Doc{
		ID:           fmt.Sprintf("ct-%08d", g.n),
		Reason:       reason,
		ReasonParent: reason[:strings.IndexByte(reason, '.')],
		Channel:      g.pick([]string{"email", "chat", "phone", "webform", "social"}),
		Source:       g.pick([]string{"zendesk", "freshdesk", "csv", "api"}),
		Product:      g.pick([]string{"shoes", "jackets", "shirts", "bags", "app", "gift-card"}),
		CustomerID:   fmt.Sprintf("cu-%06d", g.r.IntN(200000)),
		OrderID:      fmt.Sprintf("or-%07d", g.r.IntN(5000000)),
		Method:       g.pick([]string{"rule", "model", "agent"}),
		Confidence:   g.r.Float64(),
		ReceivedAt:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.r.IntN(180*24*3600)) * time.Second),
	}
	switch lang {
	case "en":
		d.Locale = "en"
		d.Subject = g.pick([]string{"Where is my order", "Refund request", "Problem with my order", "Cancel order", "Payment issue", "Login problem", "Question", "Damaged item", "Return"})
		d.Text = fmt.Sprintf("%s I ordered %s on %s %s. %s %s Order number %d. %s",
			g.pick([]string{"Hi,", "Hello,", "Dear support,", "Hey there,", ""}),
			g.pick([]string{"a pair of running shoes", "the blue rain jacket", "two cotton shirts", "a leather bag", "a gift card", "the winter boots"}),
			g.pick([]string{"Monday", "Tuesday", "the 3rd", "last week", "March 12", "Black Friday"}),
			g.pick([]string{"and it still has not arrived", "but the parcel was delivered to the wrong address", "and I was charged twice", "and the package arrived damaged", "but I need to change the size", "and I would like to cancel it"}),
			g.pick([]string{"The tracking page says delivered but there is nothing at my door.", "I returned it two weeks ago and have not been refunded yet.", "Your app keeps logging me out when I try to pay.", "The courier never showed up.", "The colour is different from the photos.", ""}),
			g.pick([]string{"Can you please refund me?", "Please send a replacement.", "When will it be delivered?", "I want my money back.", "Can you help?", "Please cancel the order and refund the payment."}),
			g.r.IntN(9000000)+1000000,
			g.pick([]string{"Thanks, Anna", "Regards", "Thank you!", "Best, Tom", ""}))
	case "zh":
		d.Locale = "zh"
		d.Subject = g.pick([]string{"退款", "快递没到", "订单问题", "取消订单", "支付失败", "无法登录", "咨询", "商品损坏", "退货"})
		d.Text = fmt.Sprintf("%s我在%s买的%s%s。%s%s订单号：%d。%s",
			g.pick([]string{"你好，", "您好，", "客服你好，", ""}),
			g.pick([]string{"上周", "周一", "三月十二号", "双十一", "前天"}),
			g.pick([]string{"跑步鞋", "蓝色雨衣", "两件棉衬衫", "皮包", "礼品卡", "冬季靴子"}),
			g.pick([]string{"到现在还没到", "被送到了错误的地址", "被扣了两次款", "收到的时候已经坏了", "尺码不对需要换", "想取消"}),
			g.pick([]string{"物流显示已签收但是我没有收到。", "我两周前就退货了，还没有收到退款。", "付款的时候应用一直闪退。", "快递员一直没来。", "颜色和图片不一样。", ""}),
			g.pick([]string{"请尽快给我退款。", "请给我补发一个。", "什么时候能送到？", "我要退钱。", "麻烦帮我处理一下。", "请取消订单并退款。"}),
			g.r.IntN(9000000)+1000000,
			g.pick([]string{"谢谢！", "谢谢", "急！", ""}))
	default:
		d.Locale = g.pick([]string{"zh", "en"})
		d.Subject = g.pick([]string{"iPhone case 退款", "Order 没到", "Nike 鞋子尺码"})
		d.Text = fmt.Sprintf("%s %s，%s. Order %d",
			g.pick([]string{"我的 Nike Air Max", "Apple Watch 表带", "Adidas hoodie", "Kindle 保护套"}),
			g.pick([]string{"还没到", "坏了", "size 不对", "被 charge 了两次"}),
			g.pick([]string{"please refund", "请退款", "can you check the tracking", "帮我查一下物流"}),
			g.r.IntN(9000000)+1000000)
	}
	return d
}

// BenchmarkIndexBatch indexes batches of 500 new contacts, the indexer's
// consumer batch size, and reports docs/s. Each Index call returns only once
// its batch is persisted, and background segment merging runs concurrently,
// so run it for tens of thousands of docs (-benchtime=60x) to see the
// sustained rate.
func BenchmarkIndexBatch(b *testing.B) {
	const batchSize = 500
	for _, lang := range []string{"mixed", "en", "zh"} {
		b.Run(lang, func(b *testing.B) {
			gen := newContactGen(7)
			genLang := lang
			if lang == "mixed" {
				genLang = ""
			}
			pool := make([]Doc, 20*batchSize)
			for i := range pool {
				pool[i] = gen.Doc(genLang)
			}
			ix, err := Open(filepath.Join(b.TempDir(), "contacts.bleve"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = ix.Close() }()
			batch := make([]Doc, batchSize)
			var docs, bytes int
			cpu := startCPU()
			for i := 0; b.Loop(); i++ {
				for j := range batch {
					batch[j] = pool[(i*batchSize+j)%len(pool)]
					batch[j].ID = fmt.Sprintf("b%05d-%03d", i, j)
					bytes += len(batch[j].Subject) + len(batch[j].Text)
				}
				if err := ix.Index(batch); err != nil {
					b.Fatal(err)
				}
				docs += batchSize
			}
			cpu.report(b, float64(docs), "docs/cpu-s")
			b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
			b.SetBytes(int64(bytes / max(docs/batchSize, 1)))
		})
	}
}

// BenchmarkSearch runs typical agent searches against 20,000 mixed contacts
// and reports searches/s. Hits include highlights; facets are on unless the
// name says otherwise.
func BenchmarkSearch(b *testing.B) {
	ix, err := Open(filepath.Join(b.TempDir(), "contacts.bleve"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ix.Close() }()
	gen := newContactGen(11)
	for range 40 {
		batch := make([]Doc, 500)
		for j := range batch {
			batch[j] = gen.Doc("")
		}
		if err := ix.Index(batch); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	page2 := func(q Query) Query {
		res, err := ix.Search(ctx, q)
		if err != nil || res.NextCursor == "" {
			b.Fatalf("first page: %v", err)
		}
		q.Cursor, q.NoFacets = res.NextCursor, true
		return q
	}
	cases := []struct {
		name string
		q    Query
	}{
		{"newest", Query{}},
		{"newest-nofacets", Query{NoFacets: true}},
		{"newest-filtered", Query{Reason: "delivery.late", Channel: "chat"}},
		{"en-word", Query{Q: "refund"}},
		{"en-word-nofacets", Query{Q: "refund", NoFacets: true}},
		{"en-words", Query{Q: "parcel delivered wrong address"}},
		{"zh-word", Query{Q: "退款"}},
		{"zh-sentence", Query{Q: "快递还没到"}},
		{"zh-char", Query{Q: "退"}},
		{"phrase", Query{Q: `"charged twice"`}},
		{"text-filter-range", Query{Q: "refund", Channel: "email", From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)}},
		{"en-word-page2", page2(Query{Q: "refund"})},
		{"newest-page2", page2(Query{})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var hits, n int
			cpu := startCPU()
			for b.Loop() {
				n++
				res, err := ix.Search(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				hits += int(res.Total)
			}
			if hits == 0 {
				b.Fatal("no hits")
			}
			cpu.report(b, float64(n), "searches/cpu-s")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "searches/s")
		})
	}
}
