package faq

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// TestServeForLoad serves a help centre of 10,000 synthetic articles on
// NOCONTACT_FAQ_LOAD_ADDR for NOCONTACT_FAQ_LOAD_SECONDS, for an external
// load generator (TestLoadOpenLoop, or wrk: see docs/faq.md); it writes the
// wrk Lua script of search paths to NOCONTACT_FAQ_LOAD_SCRIPT. Skipped
// unless the address is set. Rate limits are off.
// NOCONTACT_FAQ_LOAD_FIRST_STAGE picks the first stage (default bleve,
// its index on disk as serve keeps it; memory; none). When it stops it logs
// the server time of every search request (handler start to response
// written) as percentiles, and the service's search histogram.
func TestServeForLoad(t *testing.T) {
	addr := os.Getenv("NOCONTACT_FAQ_LOAD_ADDR")
	if addr == "" {
		t.Skip("set NOCONTACT_FAQ_LOAD_ADDR to serve the load-test help centre")
	}
	secs, _ := strconv.Atoi(os.Getenv("NOCONTACT_FAQ_LOAD_SECONDS"))
	if secs <= 0 {
		secs = 60
	}
	b := tu.Bus(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	off := Rate{PerSecond: -1}
	reg := prometheus.NewRegistry()
	// An index on disk, as `nocontact serve` keeps it.
	stage := retrieval.FirstStage(os.Getenv("NOCONTACT_FAQ_LOAD_FIRST_STAGE"))
	svc, err := New(context.Background(), Config{Dir: t.TempDir(), FirstStage: stage, SearchRate: off, PageRate: off}, Deps{Bus: b, Taxonomy: tax, Log: tu.Logger(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	arts := retrieval.Synthetic(10000, 1)
	for _, a := range arts {
		svc.st.upsertArticle(Article{ID: a.ID, Slug: a.ID, Locale: a.Locale, Title: a.Title, Body: a.Body, Questions: a.Questions, Status: StatusPublished})
	}
	version, all, _ := svc.st.articlesSince(0)
	start := time.Now()
	svc.replace(svc.build(version, all))
	svc.ready.Store(true)
	t.Logf("indexed %d articles in %s (first stage %s)", len(all), time.Since(start), svc.snap.Load().ix.FirstStage())
	if script := os.Getenv("NOCONTACT_FAQ_LOAD_SCRIPT"); script != "" {
		var b strings.Builder
		b.WriteString("local paths = {\n")
		for _, q := range retrieval.SyntheticQueries(arts, 1000, 3) {
			fmt.Fprintf(&b, "  %q,\n", "/v1/faq/search?limit=10&q="+url.QueryEscape(q))
		}
		b.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
		if err := os.WriteFile(filepath.Clean(script), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	router := httpx.NewRouter(memTokens{opsToken: {Name: "ops", Role: auth.RoleOps}}, reg, tu.Logger(t))
	svc.Routes(router)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	go func() { _ = svc.Run(ctx) }()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	times := &serverTimes{}
	// The process's CPU time at the first and the last search answered.
	var firstCPU, lastCPU atomic.Int64
	handler := router.Handler()
	timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		handler.ServeHTTP(w, r)
		if r.URL.Path == "/v1/faq/search" {
			times.add(time.Since(start))
			cpu := int64(processCPU())
			firstCPU.CompareAndSwap(0, cpu)
			lastCPU.Store(cpu)
		}
	})
	srv := &http.Server{Handler: timed, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	t.Logf("serving on %s for %ds", ln.Addr(), secs)
	_ = srv.Serve(ln)
	t.Logf("server time per search request: %s", times.summary())
	if n := times.count(); n > 1 {
		cpu := time.Duration(lastCPU.Load() - firstCPU.Load())
		t.Logf("process CPU from the first to the last search: %.1f s, %.3f ms per search (HTTP, search, events, GC)", cpu.Seconds(), float64(cpu.Microseconds())/1000/float64(n-1))
	}
	// Server-side search time from the service's histogram.
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "nocontact_faq_search_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			t.Logf("searches %d, mean server time %.3f ms", h.GetSampleCount(), 1000*h.GetSampleSum()/float64(h.GetSampleCount()))
			for _, bk := range h.GetBucket() {
				t.Logf("  <= %.4fs: %d", bk.GetUpperBound(), bk.GetCumulativeCount())
			}
		}
	}
}

// serverTimes collects the server time of each request.
type serverTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *serverTimes) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *serverTimes) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *serverTimes) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return percentiles(s.d)
}

// percentiles formats the count, p50, p90, p99, p99.9 and max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(q float64) string {
		return fmt.Sprintf("%.2fms", float64(ds[min(int(q*float64(len(ds))), len(ds)-1)].Microseconds())/1000)
	}
	return fmt.Sprintf("n %d, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s", len(ds), at(0.5), at(0.9), at(0.99), at(0.999), at(1))
}

// TestLoadOpenLoop offers searches at a constant rate to the help centre
// at NOCONTACT_FAQ_LOAD_URL (TestServeForLoad in another process):
// NOCONTACT_FAQ_LOAD_RATE searches per second (default 1,000) for
// NOCONTACT_FAQ_LOAD_SECONDS (default 20), each sent at its scheduled time
// whether or not earlier ones have been answered (an open loop, unlike
// wrk's closed loop, so a slow answer cannot hold back the load it is
// measured under). Latency counts from the scheduled time, so time spent
// waiting for a free connection counts too. The queries are the same
// 1,000 synthetic article questions (a fifth with a typo) as the wrk
// script's. Skipped unless the URL is set.
func TestLoadOpenLoop(t *testing.T) {
	base := os.Getenv("NOCONTACT_FAQ_LOAD_URL")
	if base == "" {
		t.Skip("set NOCONTACT_FAQ_LOAD_URL to load a help centre served by TestServeForLoad")
	}
	rate, _ := strconv.ParseFloat(os.Getenv("NOCONTACT_FAQ_LOAD_RATE"), 64)
	if rate <= 0 {
		rate = 1000
	}
	secs, _ := strconv.Atoi(os.Getenv("NOCONTACT_FAQ_LOAD_SECONDS"))
	if secs <= 0 {
		secs = 20
	}
	queries := retrieval.SyntheticQueries(retrieval.Synthetic(10000, 1), 1000, 3)
	paths := make([]string, len(queries))
	for i, q := range queries {
		paths[i] = base + "/v1/faq/search?limit=10&q=" + url.QueryEscape(q)
	}
	const workers = 256
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 10 * time.Second}
	// Warm the connections and the server.
	for i := range 200 {
		resp, err := client.Get(paths[i%len(paths)])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	type job struct {
		i   int
		due time.Time
	}
	n := int(rate * float64(secs))
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	jobs := make(chan job, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				resp, err := client.Get(paths[j.i%len(paths)])
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
				}
				lat[j.i] = time.Since(j.due)
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- job{i, due}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("offered %.0f searches/s for %ds: %d sent in %s (%.0f/s), %d failed", rate, secs, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), failed.Load())
	t.Logf("client latency from the scheduled time: %s", percentiles(lat))
}
