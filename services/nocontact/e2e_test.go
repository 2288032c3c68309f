package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/nocontact/nocontact/pkg/bus"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/ingest"
)

const testAdmin = "test-admin-token-0123456789"

// testServer is a `nocontact serve` running in this process.
type testServer struct {
	t    testing.TB
	url  string
	srv  *server
	stop func()
}

func startServer(t testing.TB, dir string, mutate ...func(*serveConfig)) *testServer {
	t.Helper()
	cfg := serveConfig{
		HTTP: "127.0.0.1:0", Data: dir, SubjectPrefix: "nc", MaxItems: 10000, MaxBodyBytes: 10 << 20,
		IndexerDurable: "indexer", RuleConfidence: 0.5, AdminToken: testAdmin,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, tu.Logger(t), io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once bool
	ts := &testServer{t: t, url: "http://" + srv.Addr(), srv: srv}
	ts.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

// call sends a request and decodes the JSON answer; it returns the status.
func (ts *testServer) call(method, path, token, contentType string, body []byte, out any) int {
	ts.t.Helper()
	return call(ts.t, ts.url, method, path, token, contentType, body, out)
}

func call(t testing.TB, base, method, path, token, contentType string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %v: %s", method, path, resp.StatusCode, err, data)
		}
	}
	return resp.StatusCode
}

type ingestResult struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	IDs        []string `json:"ids"`
}

type searchResult struct {
	Total int `json:"total"`
	Hits  []struct {
		ID         string    `json:"id"`
		Reason     string    `json:"reason"`
		Channel    string    `json:"channel"`
		ReceivedAt time.Time `json:"received_at"`
		Text       string    `json:"text"`
		Highlights []string  `json:"highlights"`
	} `json:"hits"`
	Facets map[string][]struct {
		Term  string `json:"term"`
		Count int    `json:"count"`
	} `json:"facets"`
	NextCursor string `json:"next_cursor"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Item    *int   `json:"item"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (ts *testServer) post(path string, v any) (int, ingestResult) {
	ts.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		ts.t.Fatal(err)
	}
	var res ingestResult
	st := ts.call(http.MethodPost, path, testAdmin, "application/json", data, &res)
	return st, res
}

func (ts *testServer) search(query string) searchResult {
	ts.t.Helper()
	var res searchResult
	if st := ts.call(http.MethodGet, "/v1/contacts?"+query, testAdmin, "", nil, &res); st != http.StatusOK {
		ts.t.Fatalf("search %q: status %d", query, st)
	}
	return res
}

// waitSearchable waits until the query finds want contacts.
func (ts *testServer) waitSearchable(query string, want int) searchResult {
	ts.t.Helper()
	var res searchResult
	tu.Eventually(ts.t, 30*time.Second, func() bool {
		res = ts.search(query)
		return res.Total == want
	}, "search %q found %d, want %d", query, res.Total, want)
	return res
}

func (ts *testServer) streamCount(subject string) uint64 {
	ts.t.Helper()
	ctx := context.Background()
	s, err := ts.srv.bus.JS.Stream(ctx, bus.StreamContacts)
	if err != nil {
		ts.t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		ts.t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

var contacts = []map[string]any{
	{"external_id": "e1", "source": "zendesk", "channel": "email", "customer_id": "c1", "order_id": "o1", "locale": "en",
		"subject": "Where is my order?", "text": "Hi, where is my order? I would like the tracking number for the blender I bought. My email is jane.doe@example.com"},
	{"external_id": "e2", "source": "zendesk", "channel": "chat", "customer_id": "c2",
		"text": "The mug I received was broken, the box was crushed and the handle snapped off."},
	{"external_id": "e3", "source": "zendesk", "channel": "phone", "customer_id": "c3",
		"text": "I still have not been refunded for the shoes. When will my refund arrive?"},
	{"external_id": "z1", "source": "zendesk", "channel": "chat", "customer_id": "c4",
		"text": "我的快递怎么还没到？物流信息一直没有更新。"},
	{"external_id": "z2", "source": "zendesk", "channel": "social", "customer_id": "c5",
		"text": "收到的杯子是坏的，包装也破损了。"},
	{"external_id": "a1", "source": "zendesk", "channel": "phone", "customer_id": "c6", "reason": "payment_billing",
		"text": "Customer called about something on their statement."},
}

func TestContactsFlowFromIngestToSearchWithReasons(t *testing.T) {
	ts := startServer(t, t.TempDir())
	st, res := ts.post("/v1/contacts", contacts)
	if st != http.StatusAccepted || res.Accepted != len(contacts) || res.Duplicates != 0 || len(res.IDs) != len(contacts) {
		t.Fatalf("ingest: status %d, %+v", st, res)
	}
	all := ts.waitSearchable("limit=50", len(contacts))
	c := newClient(clientFlags{url: ts.url, token: testAdmin})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.waitIdle(ctx, 20*time.Millisecond); err != nil {
		t.Fatalf("pipeline never idle: %v", err)
	}
	var status pipelineStatus
	ts.call(http.MethodGet, "/v1/status", testAdmin, "", nil, &status)
	for _, cs := range status.Consumers {
		if cs.Pending != 0 || cs.AckPending != 0 {
			t.Errorf("idle pipeline has consumer %+v with work", cs)
		}
	}
	if len(status.Consumers) < 2 {
		t.Errorf("status lists %d consumers, want tagger and indexer", len(status.Consumers))
	}
	reasons := map[string]string{}
	for _, h := range all.Hits {
		reasons[h.ID] = h.Reason
	}
	want := []string{"where_is_my_order", "damaged_item", "refund_status", "where_is_my_order", "damaged_item", "payment_billing"}
	for i, id := range res.IDs {
		if reasons[id] != want[i] {
			t.Errorf("contact %d (%q): reason %q, want %q", i, contacts[i]["text"], reasons[id], want[i])
		}
	}

	// An English stem finds its inflections; Chinese finds Chinese.
	if r := ts.search("q=refund"); r.Total != 1 || r.Hits[0].ID != res.IDs[2] {
		t.Errorf("q=refund found %+v, want contact 2 (\"refunded\")", r.Hits)
	}
	if r := ts.search("q=" + url.QueryEscape("快递")); r.Total != 1 || r.Hits[0].ID != res.IDs[3] {
		t.Errorf("q=快递 found %d hits, want the Chinese delivery contact", r.Total)
	}
	if r := ts.search("q=" + url.QueryEscape("坏的")); r.Total != 1 || r.Hits[0].ID != res.IDs[4] {
		t.Errorf("q=坏的 found %d hits, want the Chinese damaged contact", r.Total)
	}
	// Filters and facets.
	if r := ts.search("reason=damaged_item"); r.Total != 2 {
		t.Errorf("reason=damaged_item found %d, want 2", r.Total)
	}
	if r := ts.search("channel=phone"); r.Total != 2 {
		t.Errorf("channel=phone found %d, want 2", r.Total)
	}
	facetCount := func(r searchResult, facet, term string) int {
		for _, f := range r.Facets[facet] {
			if f.Term == term {
				return f.Count
			}
		}
		return 0
	}
	if got := facetCount(all, "reason", "where_is_my_order"); got != 2 {
		t.Errorf("reason facet where_is_my_order = %d, want 2", got)
	}
	var raw map[string]json.RawMessage
	ts.call(http.MethodGet, "/v1/contacts?limit=1", testAdmin, "", nil, &raw)
	if !strings.Contains(string(raw["facets"]), `"term":`) || !strings.Contains(string(raw["facets"]), `"count":`) {
		t.Errorf("facets are not spelled {\"term\",\"count\"}: %s", raw["facets"])
	}
	// Personal data is masked before indexing.
	for _, h := range all.Hits {
		if strings.Contains(h.Text, "jane.doe@example.com") {
			t.Errorf("email not masked in indexed text: %q", h.Text)
		}
	}
	if r := ts.search("q=" + url.QueryEscape("jane.doe@example.com")); r.Total != 0 {
		t.Errorf("searching the email address found %d contacts, want 0", r.Total)
	}
}

func TestDuplicatesAreNotPublishedTwiceAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	_, first := ts.post("/v1/contacts", contacts[:3])
	st, again := ts.post("/v1/contacts", contacts[:3])
	if st != http.StatusAccepted || again.Accepted != 0 || again.Duplicates != 3 {
		t.Fatalf("repeat: status %d %+v, want 3 duplicates", st, again)
	}
	for i := range first.IDs {
		if first.IDs[i] != again.IDs[i] {
			t.Errorf("item %d: id %s then %s, want the same id", i, first.IDs[i], again.IDs[i])
		}
	}
	// The same item twice in one request.
	_, inOne := ts.post("/v1/contacts", []map[string]any{contacts[3], contacts[3]})
	if inOne.Accepted != 1 || inOne.Duplicates != 1 || inOne.IDs[0] != inOne.IDs[1] {
		t.Errorf("same item twice in a request: %+v", inOne)
	}
	ts.waitSearchable("", 4)
	ts.stop()

	ts = startServer(t, dir)
	_, after := ts.post("/v1/contacts", contacts[:3])
	if after.Accepted != 0 || after.Duplicates != 3 || after.IDs[0] != first.IDs[0] {
		t.Fatalf("after restart: %+v, want 3 duplicates with the first ids", after)
	}
	if n := ts.streamCount("nc.contact.received"); n != 4 {
		t.Errorf("received events in the stream: %d, want 4", n)
	}
	// Same external id from another source is another contact.
	other := map[string]any{"external_id": "e1", "source": "freshdesk", "text": "Where is my order?"}
	if _, r := ts.post("/v1/contacts", other); r.Accepted != 1 {
		t.Errorf("same external id, other source: %+v, want accepted", r)
	}
}

func TestDataSurvivesRestartAndIndexRebuilds(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	ts.post("/v1/contacts", contacts)
	before := ts.waitSearchable("limit=50", len(contacts))
	ts.stop()

	ts = startServer(t, dir)
	if r := ts.search("limit=50"); r.Total != len(contacts) {
		t.Fatalf("after restart: %d contacts searchable, want %d", r.Total, len(contacts))
	}
	ts.stop()

	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, dir)
	after := ts.waitSearchable("limit=50", len(contacts))
	got := map[string]string{}
	for _, h := range after.Hits {
		got[h.ID] = h.Reason
	}
	for _, h := range before.Hits {
		if got[h.ID] != h.Reason {
			t.Errorf("rebuilt index: contact %s reason %q, want %q", h.ID, got[h.ID], h.Reason)
		}
	}
	if n := ts.streamCount("nc.contact.tagged"); n != uint64(len(contacts)) {
		t.Errorf("tagged events: %d, want %d (the rebuild must not re-tag)", n, len(contacts))
	}
}

func TestBadInputIsRejectedAndNothingPublished(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *serveConfig) { c.MaxItems = 5; c.MaxBodyBytes = 64 << 10 })
	long := strings.Repeat("a", 20001)
	many := make([]map[string]any, 6)
	for i := range many {
		many[i] = map[string]any{"text": "hello"}
	}
	manyJSON, _ := json.Marshal(many)
	cases := []struct {
		name        string
		contentType string
		body        string
		status      int
		code, field string
		item        int // -1: no item
	}{
		{"malformed JSON", "application/json", `{"text": "x"`, 400, "", "", -1},
		{"wrong type", "application/json", `[{"text":"ok"},{"text":"x","handle_seconds":"abc"}]`, 400, "", "handle_seconds", 1},
		{"missing text", "application/json", `[{"channel":"email"}]`, 400, "", "text", 0},
		{"over-long text", "application/json", `{"text":"` + long + `"}`, 400, "", "text", 0},
		{"too many items", "application/json", string(manyJSON), 413, "", "", -2},
		{"oversize body", "application/json", `{"text":"` + strings.Repeat("b", 70<<10) + `"}`, 413, "", "", -2},
		{"invalid UTF-8", "application/json", "{\"text\":\"caf\xe9\"}", 400, "invalid_utf8", "text", 0},
		{"unknown channel", "application/json", `{"text":"x","channel":"pigeon"}`, 400, "", "channel", 0},
		{"unknown field", "application/json", `{"text":"x","recieved_at":"2026-01-01T00:00:00Z"}`, 400, "unknown_field", "recieved_at", 0},
		{"bad NDJSON line", "application/x-ndjson", "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\",\"channel\":1}\n", 400, "", "channel", 2},
		{"unsupported media type", "text/plain", `hello`, 415, "", "", -2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e errorBody
			st := ts.call(http.MethodPost, "/v1/contacts", testAdmin, c.contentType, []byte(c.body), &e)
			if st != c.status {
				t.Fatalf("status %d, want %d (%+v)", st, c.status, e.Error)
			}
			if e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("error body lacks code or message: %+v", e.Error)
			}
			if c.code != "" && e.Error.Code != c.code {
				t.Errorf("code %q, want %q", e.Error.Code, c.code)
			}
			if e.Error.Field != c.field {
				t.Errorf("field %q, want %q", e.Error.Field, c.field)
			}
			if c.item >= 0 && (e.Error.Item == nil || *e.Error.Item != c.item) {
				t.Errorf("item %v, want %d", e.Error.Item, c.item)
			}
		})
	}
	// A good request after the bad ones goes through; only it is published.
	if st, r := ts.post("/v1/contacts", map[string]any{"text": "where is my parcel"}); st != http.StatusAccepted || r.Accepted != 1 {
		t.Fatalf("good request: %d %+v", st, r)
	}
	if n := ts.streamCount("nc.contact.received"); n != 1 {
		t.Errorf("received events: %d, want 1 (nothing from rejected requests)", n)
	}
	var e errorBody
	if st := ts.call(http.MethodGet, "/v1/contacts?limit=0", testAdmin, "", nil, &e); st != 400 || e.Error.Field != "limit" {
		t.Errorf("limit=0: %d %+v", st, e.Error)
	}
	if st := ts.call(http.MethodGet, "/v1/contacts?from=yesterday", testAdmin, "", nil, &e); st != 400 || e.Error.Field != "from" {
		t.Errorf("from=yesterday: %d %+v", st, e.Error)
	}
}

func TestOrdersAreIngestedAndDeduplicated(t *testing.T) {
	ts := startServer(t, t.TempDir())
	orders := []map[string]any{
		{"order_id": "o1", "customer_id": "c1", "products": []string{"blender"}, "channel": "web", "amount": 59.9, "placed_at": "2026-11-01T10:00:00Z"},
		{"order_id": "o2", "customer_id": "c2", "products": []string{"mug", "plate"}, "amount": 12},
	}
	st, r := ts.post("/v1/orders", orders)
	if st != http.StatusAccepted || r.Accepted != 2 || r.IDs[0] != "o1" {
		t.Fatalf("orders: %d %+v", st, r)
	}
	if _, r := ts.post("/v1/orders", orders[0]); r.Duplicates != 1 {
		t.Errorf("repeated order: %+v, want a duplicate", r)
	}
	var e errorBody
	if st := ts.call(http.MethodPost, "/v1/orders", testAdmin, "application/json", []byte(`{"customer_id":"c"}`), &e); st != 400 || e.Error.Field != "order_id" {
		t.Errorf("order without id: %d %+v", st, e.Error)
	}
	ctx := context.Background()
	s, _ := ts.srv.bus.JS.Stream(ctx, bus.StreamOrders)
	info, _ := s.Info(ctx)
	if info.State.Msgs != 2 {
		t.Errorf("order events: %d, want 2", info.State.Msgs)
	}
}

func TestAuthentication(t *testing.T) {
	ts := startServer(t, t.TempDir())
	var tok struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	body := []byte(`{"name":"collector","role":"ingest"}`)
	if st := ts.call(http.MethodPost, "/v1/tokens", testAdmin, "application/json", body, &tok); st != http.StatusCreated || tok.Token == "" {
		t.Fatalf("create token: %d %+v", st, tok)
	}
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "GET", "/v1/contacts", "", 401},
		{"unknown token", "GET", "/v1/contacts", "nct_not-a-real-token", 401},
		{"ingest role may not search", "GET", "/v1/contacts", tok.Token, 403},
		{"ingest role may not create tokens", "POST", "/v1/tokens", tok.Token, 403},
		{"ingest role may read reasons", "GET", "/v1/reasons", tok.Token, 200},
		{"admin may search", "GET", "/v1/contacts", testAdmin, 200},
		{"healthz is public", "GET", "/healthz", "", 200},
		{"readyz is public", "GET", "/readyz", "", 200},
		{"metrics are public", "GET", "/metrics", "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, ts.url+c.path, strings.NewReader(`{"name":"x","role":"agent"}`))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status >= 400 {
				var e errorBody
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Code == "" {
					t.Errorf("error answer is not a JSON error: %v %+v", err, e)
				}
			}
		})
	}
	// The ingest token can send contacts.
	st := call(t, ts.url, "POST", "/v1/contacts", tok.Token, "application/json", []byte(`{"text":"hello"}`), nil)
	if st != http.StatusAccepted {
		t.Errorf("ingest token posting a contact: %d", st)
	}
}

func TestFirstStartCreatesAndPrintsAnAdminToken(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cfg := serveConfig{HTTP: "127.0.0.1:0", Data: dir, SubjectPrefix: "nc", MaxItems: 10, MaxBodyBytes: 1 << 20, IndexerDurable: "indexer", RuleConfidence: 0.5}
	srv, err := newServer(context.Background(), cfg, tu.Logger(t), &out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var token string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "nct_") {
			token = f
		}
	}
	if token == "" {
		t.Fatalf("no token printed: %q", out.String())
	}
	if st := call(t, "http://"+srv.Addr(), "GET", "/v1/reasons", token, "", nil, nil); st != 200 {
		t.Errorf("printed token: status %d", st)
	}
	cancel()
	<-done
	out.Reset()
	srv, err = newServer(context.Background(), cfg, tu.Logger(t), &out)
	if err != nil {
		t.Fatal(err)
	}
	srv.close()
	if strings.Contains(out.String(), "nct_") {
		t.Errorf("second start printed a token again: %q", out.String())
	}
}

func TestReasonsAPI(t *testing.T) {
	ts := startServer(t, t.TempDir())
	var out struct {
		Reasons []struct {
			Code  string            `json:"code"`
			Names map[string]string `json:"names"`
			Owner string            `json:"owner"`
			BIV   string            `json:"biv"`
			// MergedInto marks a retired reason, which needs no owner or kind.
			MergedInto string `json:"merged_into"`
		} `json:"reasons"`
	}
	if st := ts.call("GET", "/v1/reasons", testAdmin, "", nil, &out); st != 200 {
		t.Fatalf("status %d", st)
	}
	codes := map[string]bool{}
	for _, r := range out.Reasons {
		codes[r.Code] = true
		if r.Names["en"] == "" || r.Names["zh"] == "" || r.MergedInto == "" && (r.Owner == "" || r.BIV == "") {
			t.Errorf("reason %s lacks names, owner or biv: %+v", r.Code, r)
		}
	}
	for _, c := range []string{"where_is_my_order", "damaged_item", "refund_status", "unclassified"} {
		if !codes[c] {
			t.Errorf("reason %s missing", c)
		}
	}
}

// A claim left pending by a request whose publish never happened (the
// process died in between) does not turn the retry into a "duplicate" of
// a contact nobody stored: the retry publishes it under the claimed id.
func TestPendingClaimIsPublishedOnRetry(t *testing.T) {
	ts := startServer(t, t.TempDir())
	ctx := context.Background()
	kv, err := ts.srv.bus.KeyValue(ctx, bus.BucketContactIDs)
	if err != nil {
		t.Fatal(err)
	}
	const claimed = "01kpendingpendingpending00"
	if _, err := kv.Create(ctx, ingest.DedupKey("zendesk", "lost-1"), []byte("p:"+claimed)); err != nil {
		t.Fatal(err)
	}
	st, res := ts.post("/v1/contacts", map[string]any{"external_id": "lost-1", "source": "zendesk", "text": "Where is my order?"})
	if st != http.StatusAccepted || res.Accepted != 1 || res.IDs[0] != claimed {
		t.Fatalf("retry of a pending claim: %d %+v, want accepted under id %s", st, res, claimed)
	}
	ts.waitSearchable("q=order", 1)
	if _, again := ts.post("/v1/contacts", map[string]any{"external_id": "lost-1", "source": "zendesk", "text": "Where is my order?"}); again.Duplicates != 1 || again.IDs[0] != claimed {
		t.Errorf("after the retry: %+v, want a duplicate of %s", again, claimed)
	}
}
