package faq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/ingest"
)

const opsToken = "ops-token-for-tests"

// memTokens is an in-memory httpx.Tokens for tests.
type memTokens map[string]auth.Principal

func (m memTokens) Lookup(token string) (auth.Principal, error) {
	p, ok := m[token]
	if !ok {
		return auth.Principal{}, auth.ErrUnknownToken
	}
	return p, nil
}

// fakeKnownIssues is a KnownIssues whose issues the test sets.
type fakeKnownIssues struct {
	mu     sync.Mutex
	issues []KnownIssue
}

func (f *fakeKnownIssues) set(is ...KnownIssue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues = is
}

func (f *fakeKnownIssues) PublicIssues(context.Context) ([]KnownIssue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]KnownIssue(nil), f.issues...), nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// helpCentre is a running faq service (with ingest for escalations) on a
// real embedded JetStream, served by httptest.
type helpCentre struct {
	t      testing.TB
	svc    *Service
	bus    *bus.Bus
	url    string
	issues *fakeKnownIssues
	clock  *clock
}

func startHelpCentre(t testing.TB, mutate ...func(*Config)) *helpCentre {
	t.Helper()
	b := tu.Bus(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := tu.Logger(t)
	ctx, cancel := context.WithCancel(context.Background())
	ing, err := ingest.New(ctx, ingest.Config{}, ingest.Deps{Bus: b, Log: log, Registry: reg})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	issues := &fakeKnownIssues{}
	cfg := Config{Dir: t.TempDir(), RebuildDelay: 20 * time.Millisecond, ExpectedResponse: 4 * time.Hour,
		EscalateRate: Rate{PerSecond: 100, Burst: 100}, FeedbackRate: Rate{PerSecond: 100, Burst: 100}}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := New(ctx, cfg, Deps{Bus: b, Taxonomy: tax, Escalator: ing, KnownIssues: issues, Log: log, Registry: reg, Now: clk.now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	router := httpx.NewRouter(memTokens{opsToken: {Name: "ops", Role: auth.RoleOps}}, reg, log)
	svc.Routes(router)
	ing.Routes(router)
	srv := httptest.NewServer(router.Handler())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	tu.Eventually(t, 10*time.Second, func() bool { return svc.Ready() == nil }, "help centre not ready")
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("faq stopped with: %v", err)
		}
	})
	return &helpCentre{t: t, svc: svc, bus: b, url: srv.URL, issues: issues, clock: clk}
}

// do sends a request and decodes a JSON answer into out; it returns the
// status.
func (h *helpCentre) do(method, path, token string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d answer is not JSON: %v: %s", method, path, resp.StatusCode, err, data)
		}
	}
	return resp.StatusCode
}

// putArticles stores articles and waits until search sees them.
func (h *helpCentre) putArticles(arts ...Article) {
	h.t.Helper()
	var res ArticlesResult
	if st := h.do("POST", "/v1/articles", opsToken, arts, &res); st != http.StatusOK || res.Accepted != len(arts) {
		h.t.Fatalf("POST /v1/articles: %d %+v", st, res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.indexed(ctx); err != nil {
		h.t.Fatalf("index not rebuilt: %v", err)
	}
}

func (h *helpCentre) search(q, locale string) SearchResponse {
	h.t.Helper()
	var res SearchResponse
	path := "/v1/faq/search?q=" + urlQuery(q)
	if locale != "" {
		path += "&locale=" + locale
	}
	if st := h.do("GET", path, "", nil, &res); st != http.StatusOK {
		h.t.Fatalf("search %q: status %d", q, st)
	}
	return res
}

// sampleArticles is a small bilingual help centre.
func sampleArticles() []Article {
	return []Article{
		{ID: "faq-refund", Title: "How do I get a refund?", Locale: "en", Reasons: []string{"refund_status"},
			Questions: []string{"I want my money back", "Refund for a returned item"},
			Body:      "Refunds are paid to your original payment method within **5 working days** after we receive the return."},
		{ID: "faq-track-order", Title: "Where is my order?", Locale: "en", Reasons: []string{"where_is_my_order"},
			Questions: []string{"Track my parcel", "My delivery has not arrived"},
			Body:      "Open *My orders* and choose **Track** to see where your parcel is. Deliveries take 2-4 days."},
		{ID: "faq-password", Title: "I forgot my password", Locale: "en", Tags: []string{"login"},
			Body: "Use *Forgot password* on the sign-in page; we e-mail you a link to choose a new one."},
		{ID: "faq-refund-zh", Title: "如何申请退款？", Locale: "zh", Reasons: []string{"refund_status"},
			Questions: []string{"我想退货退款", "退款什么时候到账"},
			Body:      "退货收到后，退款会在5个工作日内退回原支付方式。"},
		{ID: "faq-invoice-zh", Title: "如何开发票？", Locale: "zh",
			Body: "在订单详情页点击申请发票，电子发票会发送到您的邮箱。"},
		{ID: "faq-draft", Title: "Secret upcoming sale", Locale: "en", Status: StatusDraft, Body: "Not public yet: the big sale."},
	}
}
