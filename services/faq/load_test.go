package faq

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// load generator (wrk, see docs/faq.md); it writes the wrk Lua script of
// search paths to NOCONTACT_FAQ_LOAD_SCRIPT. Skipped unless the address is
// set. Rate limits are off.
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
	svc, err := New(context.Background(), Config{Dir: t.TempDir(), SearchRate: off, PageRate: off}, Deps{Bus: b, Taxonomy: tax, Log: tu.Logger(t), Registry: reg})
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
	t.Logf("indexed %d articles in %s", len(all), time.Since(start))
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
	srv := &http.Server{Handler: router.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	t.Logf("serving on %s for %ds", ln.Addr(), secs)
	_ = srv.Serve(ln)
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
