package faq

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// BenchmarkHTTPSearch10k measures public searches over HTTP against 10,000
// synthetic articles, with the rate limits off, from 16 concurrent
// keep-alive clients in the same process (they share the machine's cores
// with the server). It reports searches per second and the server time
// per search (p50, p99) from the service's own histogram input, the
// process CPU per HTTP search (server and clients) and the CPU of one
// search without HTTP (server-cpu-µs, searches one at a time).
func BenchmarkHTTPSearch10k(b *testing.B) {
	off := Rate{PerSecond: -1}
	h := startHelpCentre(b, func(c *Config) { c.SearchRate, c.PageRate = off, off })
	arts := retrieval.Synthetic(10000, 1)
	for _, a := range arts {
		h.svc.st.upsertArticle(Article{ID: a.ID, Slug: a.ID, Locale: a.Locale, Title: a.Title, Body: a.Body, Questions: a.Questions, Status: StatusPublished})
	}
	version, all, _ := h.svc.st.articlesSince(0)
	h.svc.replace(h.svc.build(version, all))
	h.svc.ready.Store(true)
	queries := retrieval.SyntheticQueries(arts, 1000, 3)
	paths := make([]string, len(queries))
	for i, q := range queries {
		paths[i] = h.url + "/v1/faq/search?limit=10&q=" + url.QueryEscape(q)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			resp, err := client.Get(paths[int(i)%len(paths)])
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "searches/s")
	// Process CPU per search: server and clients (same process).
	b.ReportMetric(float64(cpu.Microseconds())/float64(n.Load()), "cpu-µs/search")
	// Server time per search, measured on the search core alone.
	var times []time.Duration
	cpu0 = processCPU()
	for i := range 2000 {
		t0 := time.Now()
		h.svc.search(b.Context(), searchParams{q: queries[i%len(queries)], limit: 10})
		times = append(times, time.Since(t0))
	}
	cpu = processCPU() - cpu0
	slices.Sort(times)
	b.ReportMetric(float64(cpu.Microseconds())/2000, "server-cpu-µs")
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "server-p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "server-p99-µs")
}
