package analytics

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// testTokens is an in-memory token table: one token per role.
type testTokens map[string]auth.Principal

func (m testTokens) Lookup(token string) (auth.Principal, error) {
	p, ok := m[token]
	if !ok {
		return auth.Principal{}, auth.ErrUnknownToken
	}
	return p, nil
}

var roleTokens = testTokens{
	"ops-token":    {Name: "ops", Role: auth.RoleOps},
	"agent-token":  {Name: "agent", Role: auth.RoleAgent},
	"ingest-token": {Name: "ingest", Role: auth.RoleIngest},
}

// testNow is the clock of the service tests: 3 November 2026, 12:00 in
// Shanghai, so the trailing 7 days are 28 October to 3 November.
func testNow() time.Time { return time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC) }

// harness is an analytics service on a real embedded JetStream, with its
// routes and /metrics on an httptest server.
type harness struct {
	t    testing.TB
	bus  *bus.Bus
	svc  *Service
	url  string
	stop func()
}

func startService(t testing.TB, b *bus.Bus, mutate ...func(*Config)) *harness {
	t.Helper()
	cfg := Config{TimeZone: testZone, SnapshotEvery: time.Hour, Batch: 64}
	for _, m := range mutate {
		m(&cfg)
	}
	reg := prometheus.NewRegistry()
	log := tu.Logger(t)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := New(ctx, cfg, Deps{Bus: b, Taxonomy: testTaxonomy(t), Metrics: bus.NewMetrics(reg), Log: log, Registry: reg, Now: testNow})
	if err != nil {
		cancel()
		t.Fatalf("new analytics: %v", err)
	}
	router := httpx.NewRouter(roleTokens, reg, log)
	svc.Routes(router)
	router.Handle("GET /metrics", nil, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(router.Handler())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	h := &harness{t: t, bus: b, svc: svc, url: srv.URL}
	stopped := false
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("analytics stopped with: %v", err)
		}
		srv.Close()
	}
	t.Cleanup(h.stop)
	return h
}

// get calls a route with a role's token and returns the status and body.
func (h *harness) get(path, token, accept string) (int, []byte) {
	h.t.Helper()
	return h.do(http.MethodGet, path, token, accept, nil)
}

func (h *harness) do(method, path, token, accept string, body []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, data
}

func (h *harness) getJSON(path string, out any) {
	h.t.Helper()
	st, body := h.get(path, "ops-token", "")
	if st != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, st, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		h.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// publish sends events the way their producers do: tags with the id
// "tagged:<contact>", orders with "order:<id>"; an event whose meta has no
// event id is sent without one, so JetStream keeps every copy.
func publish(t testing.TB, b *bus.Bus, events ...proto.Message) {
	t.Helper()
	var out []bus.Event
	for _, ev := range events {
		var subject, id string
		switch e := ev.(type) {
		case *pb.ContactTagged:
			subject, id = b.Subjects.ContactTagged, e.GetMeta().GetEventId()
		case *pb.ContactRelabeled:
			subject, id = b.Subjects.ContactRelabeled, e.GetMeta().GetEventId()
		case *pb.OrderCreated:
			subject, id = b.Subjects.OrderCreated, e.GetMeta().GetEventId()
		case *pb.UnitsRecorded:
			subject = unitSubject(b)
		}
		out = append(out, bus.Event{Subject: subject, ID: id, Msg: ev})
	}
	if err := b.Publish(context.Background(), out...); err != nil {
		t.Fatal(err)
	}
}

// reports fetches every report of 1-9 November, as the figures a user
// sees; two calls compare equal when nothing changed.
func (h *harness) reports() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, p := range []string{
		"/v1/metrics/cpx?from=2026-11-01&to=2026-11-09&by=reason",
		"/v1/metrics/cpx?from=2026-11-01&to=2026-11-09&by=product&interval=week",
		"/v1/metrics/cpx?from=2026-11-01&to=2026-11-03&unit=shipments",
		"/v1/metrics/pareto?from=2026-11-01&to=2026-11-09",
		"/v1/metrics/matrix?from=2026-11-01&to=2026-11-09",
		"/v1/metrics/cost?from=2026-11-01&to=2026-11-09&by=owner",
		"/v1/metrics/repeat?from=2026-11-01&to=2026-11-09&window=8d",
	} {
		st, body := h.get(p, "ops-token", "")
		if st != http.StatusOK {
			h.t.Fatalf("GET %s: %d %s", p, st, body)
		}
		out[p] = string(body)
	}
	return out
}

// waitReports waits until every report equals want.
func (h *harness) waitReports(t *testing.T, step string, want map[string]string) {
	t.Helper()
	var got map[string]string
	tu.Eventually(t, 10*time.Second, func() bool {
		got = h.reports()
		for p, w := range want {
			if got[p] != w {
				return false
			}
		}
		return true
	}, "%s: reports did not reach the expected figures", step)
}

func sameReports(t *testing.T, step string, got, want map[string]string) {
	t.Helper()
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %s changed:\n got %s\nwant %s", step, p, got[p], w)
		}
	}
}

// waitCounted waits until the aggregate covers the last event of both
// streams.
func (h *harness) waitCounted() {
	h.t.Helper()
	ctx := context.Background()
	last := func(base string) uint64 {
		s, err := h.bus.JS.Stream(ctx, h.bus.Stream(base))
		if err != nil {
			h.t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		return info.State.LastSeq
	}
	wantC, wantO := last(bus.StreamContacts), last(bus.StreamOrders)
	tu.Eventually(h.t, 20*time.Second, func() bool {
		c := h.svc.Cursor()
		return c.Contacts >= wantC && c.Orders >= wantO
	}, "analytics did not count up to contacts %d, orders %d (at %+v)", wantC, wantO, h.svc.Cursor())
}

func publishDataset(t testing.TB, b *bus.Bus) {
	t.Helper()
	orders, contacts := dataset()
	publish(t, b, orders...)
	// contacts ends with a copy of c1 (same event id: JetStream drops it)
	// and the relabel of c5. Send c1 once more without an id: the stream
	// keeps it and the aggregate must recognise the contact.
	publish(t, b, contacts...)
	dup := tagged(datasetContacts()[0])
	dup.Meta.EventId = ""
	publish(t, b, dup)
}

type cpxAnswer struct {
	Overall struct {
		Points []Point `json:"points"`
		Total  Totals  `json:"total"`
	} `json:"overall"`
	Series []struct {
		Key    string  `json:"key"`
		Points []Point `json:"points"`
		Total  Totals  `json:"total"`
		Change Change  `json:"change"`
	} `json:"series"`
}

func TestServiceCountsTheDatasetAndSurvivesRestarts(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b)
	publishDataset(t, b)
	st, body := h.do(http.MethodPost, "/v1/units", "ingest-token", "", []byte(`{"unit":"shipments","counts":[{"day":"2026-11-01","count":10},{"day":"2026-11-02","count":4},{"day":"2026-11-03","count":5}]}`))
	if st != http.StatusAccepted || !strings.Contains(string(body), `"accepted":3`) {
		t.Fatalf("POST /v1/units: %d %s", st, body)
	}
	// A correction of 2 November replaces the first count.
	st, body = h.do(http.MethodPost, "/v1/units", "ops-token", "", []byte(`[{"unit":"shipments","counts":[{"day":"2026-11-02","count":5}]}]`))
	if st != http.StatusAccepted {
		t.Fatalf("POST /v1/units: %d %s", st, body)
	}
	h.waitCounted()

	var cpx cpxAnswer
	h.getJSON("/v1/metrics/cpx?unit=order&interval=day&from=2026-11-01&to=2026-11-03&by=reason", &cpx)
	checkPoints(t, "overall", cpx.Overall.Points, []wantPoint{
		{"2026-11-01", 2, 3, f64(2.0 / 3)}, {"2026-11-02", 2, 2, f64(1)}, {"2026-11-03", 2, 3, f64(2.0 / 3)},
	})
	if cpx.Overall.Total.Contacts != 6 || !sameRatio(cpx.Overall.Total.CPX, f64(0.75)) {
		t.Fatalf("overall %+v", cpx.Overall.Total)
	}
	byKey := map[string]int64{}
	for _, s := range cpx.Series {
		byKey[s.Key] = s.Total.Contacts
	}
	if len(byKey) != 4 || byKey["where_is_my_order"] != 3 || byKey["late_delivery"] != 1 || byKey["payment_failed"] != 1 || byKey["product_quality"] != 1 {
		t.Fatalf("by reason %v: want the relabel moved c5 and the duplicate of c1 not counted", byKey)
	}
	checkPoints(t, "where_is_my_order", cpx.Series[0].Points, []wantPoint{
		{"2026-11-01", 1, 3, f64(1.0 / 3)}, {"2026-11-02", 1, 2, f64(0.5)}, {"2026-11-03", 1, 3, f64(1.0 / 3)},
	})
	var ship cpxAnswer
	h.getJSON("/v1/metrics/cpx?unit=shipments&from=2026-11-01&to=2026-11-03", &ship)
	checkPoints(t, "shipments", ship.Overall.Points, []wantPoint{
		{"2026-11-01", 2, 10, f64(0.2)}, {"2026-11-02", 2, 5, f64(0.4)}, {"2026-11-03", 2, 5, f64(0.4)},
	})
	var repeat RepeatReport
	h.getJSON("/v1/metrics/repeat?from=2026-11-01&to=2026-11-09&window=8d", &repeat)
	if repeat.Window != "8d" || repeat.WindowHours != 192 || repeat.Overall.Contacts != 7 || repeat.Overall.Repeats != 2 {
		t.Fatalf("repeat %+v", repeat)
	}
	var cost CostReport
	h.getJSON("/v1/metrics/cost?by=owner&from=2026-11-01&to=2026-11-03", &cost)
	if !near(cost.Cost, 26) || cost.Rows[0].Key != "logistics" || !near(cost.Rows[0].Cost, 16) {
		t.Fatalf("cost %+v", cost)
	}
	want := h.reports()

	t.Log("step: redelivered events are skipped")
	{
		// Hand every stored event to the consumer's handler again, as
		// NATS does after a lost acknowledgement.
		for _, s := range []struct {
			kind int
			base string
		}{{streamContacts, bus.StreamContacts}, {streamOrders, bus.StreamOrders}} {
			msgs := fetchAll(t, b, s.base)
			for i, err := range h.svc.apply(s.kind, msgs) {
				if err != nil {
					t.Fatalf("%s message %d: %v", s.base, i, err)
				}
			}
		}
		sameReports(t, "after redelivery", h.reports(), want)
	}

	t.Log("step: graceful restart")
	{
		h.stop()
		h = startService(t, b)
		// The snapshot is loaded in New: the figures are there at once.
		sameReports(t, "after restart", h.reports(), want)
	}

	t.Log("step: crash after unsaved events")
	{
		publish(t, b, tagged(contactSpec{"c8", "2026-11-03T03:00:00Z", "web", "invoice", "u8", "", "", "en", 0}),
			order("o9", "2026-11-03T08:00:00Z"))
		h.waitCounted()
		want = h.reports()
		if !strings.Contains(want["/v1/metrics/pareto?from=2026-11-01&to=2026-11-09"], `"invoice"`) {
			t.Fatal("c8 not counted")
		}
		h.svc.skipFinalSnapshot = true
		h.stop()
		h = startService(t, b)
		// The snapshot predates c8 and o9; the consumers were given them
		// (and acked them): they are read again before consuming resumes.
		h.waitReports(t, "after the crash", want)
	}

	t.Log("step: consumers recreated")
	{
		h.stop()
		for _, base := range []string{bus.StreamContacts, bus.StreamOrders} {
			if err := b.JS.DeleteConsumer(context.Background(), b.Stream(base), "analytics"); err != nil {
				t.Fatal(err)
			}
		}
		h = startService(t, b)
		// The new consumers deliver every event again; all are at or below
		// the snapshot's sequences.
		tu.Eventually(t, 10*time.Second, func() bool {
			return promtest.ToFloat64(h.svc.m.events.WithLabelValues("any", "redelivered")) >= 10
		}, "events were not redelivered")
		sameReports(t, "after the consumers were recreated", h.reports(), want)
	}

	t.Log("step: snapshot lost")
	{
		h.stop()
		if err := h.svc.store.Delete(context.Background(), "analytics"); err != nil {
			t.Fatal(err)
		}
		h = startService(t, b)
		h.waitCounted()
		sameReports(t, "rebuilt from the streams", h.reports(), want)
	}

	t.Log("step: another time zone rebuilds")
	{
		h.stop()
		h = startService(t, b, func(c *Config) { c.TimeZone = "UTC" })
		h.waitCounted()
		var utc cpxAnswer
		h.getJSON("/v1/metrics/cpx?from=2026-11-01&to=2026-11-01", &utc)
		// In UTC 1 November holds c1, c2, c3 and o2, o3, o4.
		checkPoints(t, "utc", utc.Overall.Points, []wantPoint{{"2026-11-01", 3, 3, f64(1)}})
	}
}

// fetchAll reads every message the analytics consumers filter from a
// stream, as real JetStream messages.
func fetchAll(t testing.TB, b *bus.Bus, base string) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	cons, err := b.JS.OrderedConsumer(ctx, b.Stream(base), jetstream.OrderedConsumerConfig{
		FilterSubjects: map[string][]string{
			bus.StreamContacts: {b.Subjects.ContactTagged, b.Subjects.ContactRelabeled},
			bus.StreamOrders:   {b.Subjects.OrderCreated, unitSubject(b)},
		}[base],
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for {
		mb, err := cons.Fetch(100, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range mb.Messages() {
			out = append(out, m)
			n++
		}
		if n == 0 {
			return out
		}
	}
}

func TestCSVAnswers(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b)
	publishDataset(t, b)
	h.waitCounted()
	tests := []struct {
		path   string
		header string
		rows   int
		row    []string
	}{
		{"/v1/metrics/cpx?from=2026-11-01&to=2026-11-03&by=channel", "series,period,contacts,units,cpx", 1 + 3 + 9, []string{"(overall)", "2026-11-02", "2", "2", "1"}},
		{"/v1/metrics/pareto?from=2026-11-01&to=2026-11-03", "reason,name,owner,contacts,share,cumulative_share,cost,vital_few", 1 + 4, []string{"where_is_my_order", "Where is my order", "logistics", "3", "0.5", "0.5", "12", "true"}},
		{"/v1/metrics/matrix?from=2026-11-01&to=2026-11-03", "action,customer_value,company_value,reason,name,owner,contacts,cpx", 1 + 4, []string{"eliminate", "low", "low", "where_is_my_order", "Where is my order", "logistics", "3", "0.375"}},
		{"/v1/metrics/cost?from=2026-11-01&to=2026-11-03&by=reason", "reason,name,owner,contacts,handle_minutes,cost,share", 1 + 4, []string{"where_is_my_order", "Where is my order", "logistics", "3", "5", "12", "0.46153846153846156"}},
		{"/v1/metrics/repeat?from=2026-11-01&to=2026-11-03", "reason,name,contacts,repeats,rate", 1 + 1 + 4, []string{"(overall)", "", "6", "1", "0.16666666666666666"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			st, body := h.get(tt.path, "agent-token", "text/csv")
			if st != http.StatusOK {
				t.Fatalf("%d %s", st, body)
			}
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != tt.header || len(rows) != tt.rows {
				t.Fatalf("header %v, %d rows; want %s, %d:\n%s", rows[0], len(rows), tt.header, tt.rows, body)
			}
			found := false
			for _, r := range rows {
				found = found || strings.Join(r, "\x00") == strings.Join(tt.row, "\x00")
			}
			if !found {
				t.Fatalf("no row %v in:\n%s", tt.row, body)
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b)
	tests := []struct {
		path   string
		token  string
		status int
		field  string
	}{
		{"/v1/metrics/cpx?from=2026-11-01&to=2026-11-03", "agent-token", 200, ""},
		{"/v1/metrics/cpx", "ops-token", 200, ""},
		{"/v1/metrics/cpx", "ingest-token", 403, ""},
		{"/v1/metrics/cpx", "", 401, ""},
		{"/v1/metrics/cpx?form=2026-11-01", "ops-token", 400, "form"},
		{"/v1/metrics/cpx?from=2026-11-01&from=2026-11-02", "ops-token", 400, "from"},
		{"/v1/metrics/cpx?from=2026-13-01", "ops-token", 400, "from"},
		{"/v1/metrics/cpx?from=2026-11-01T00:00:00Z", "ops-token", 400, "from"},
		{"/v1/metrics/cpx?to=1%20Nov", "ops-token", 400, "to"},
		{"/v1/metrics/cpx?from=2026-11-03&to=2026-11-01", "ops-token", 400, "to"},
		{"/v1/metrics/cpx?from=2020-01-01&to=2026-11-01", "ops-token", 400, "from"},
		{"/v1/metrics/cpx?from=2023-11-03&to=2026-11-02", "ops-token", 200, ""},
		{"/v1/metrics/cpx?interval=year", "ops-token", 400, "interval"},
		{"/v1/metrics/cpx?by=customer", "ops-token", 400, "by"},
		{"/v1/metrics/cpx?unit=shipments", "ops-token", 400, "unit"},
		{"/v1/metrics/cpx?limit=0", "ops-token", 400, "limit"},
		{"/v1/metrics/pareto?by=reason", "ops-token", 400, "by"},
		{"/v1/metrics/matrix?unit=order", "ops-token", 200, ""},
		{"/v1/metrics/cost?by=channel", "ops-token", 400, "by"},
		{"/v1/metrics/cost?by=reason", "ops-token", 200, ""},
		{"/v1/metrics/repeat?window=7", "ops-token", 400, "window"},
		{"/v1/metrics/repeat?window=7w", "ops-token", 400, "window"},
		{"/v1/metrics/repeat?window=0d", "ops-token", 400, "window"},
		{"/v1/metrics/repeat?window=31d", "ops-token", 400, "window"},
		{"/v1/metrics/repeat?window=24h", "ops-token", 200, ""},
		{"/v1/metrics/repeat?window=30d", "ops-token", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.token, func(t *testing.T) {
			st, body := h.get(tt.path, tt.token, "")
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			if tt.field != "" {
				var e struct {
					Error httpx.Error `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Field != tt.field {
					t.Fatalf("error %s, want field %q", body, tt.field)
				}
			}
		})
	}
}

func TestPostUnitsValidation(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b, func(c *Config) { c.MaxUnits = 2 })
	tests := []struct {
		name   string
		token  string
		body   string
		status int
		field  string
		item   int
	}{
		{"one unit", "ingest-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","count":1}]}`, 202, "", -1},
		{"array", "ops-token", `[{"unit":"active_customers","counts":[{"day":"2026-11-01","count":0}]}]`, 202, "", -1},
		{"agent may not", "agent-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","count":1}]}`, 403, "", -1},
		{"unknown field", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","cnt":1}]}`, 400, "cnt", -1},
		{"orders", "ops-token", `{"unit":"order","counts":[{"day":"2026-11-01","count":1}]}`, 400, "unit", -1},
		{"bad name", "ops-token", `{"unit":"Shipments","counts":[{"day":"2026-11-01","count":1}]}`, 400, "unit", -1},
		{"no counts", "ops-token", `{"unit":"shipments"}`, 400, "counts", -1},
		{"bad day", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-31","count":1}]}`, 400, "day", -1},
		{"day twice", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","count":1},{"day":"2026-11-01","count":2}]}`, 400, "day", -1},
		{"negative", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","count":-1}]}`, 400, "count", -1},
		{"fraction", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-01","count":1.5}]}`, 400, "count", -1},
		{"missing count", "ops-token", `{"unit":"shipments","counts":[{"day":"2026-11-01"}]}`, 400, "count", -1},
		{"second item", "ops-token", `[{"unit":"shipments","counts":[{"day":"2026-11-01","count":1}]},{"unit":"x","counts":[{"day":"2026-11-01","count":"1"}]}]`, 400, "count", 1},
		{"malformed", "ops-token", `{"unit":`, 400, "", -1},
		{"empty", "ops-token", ``, 400, "", -1},
		{"third kind", "ops-token", `{"unit":"tickets","counts":[{"day":"2026-11-01","count":1}]}`, 400, "unit", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := h.do(http.MethodPost, "/v1/units", tt.token, "", []byte(tt.body))
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			if st == 202 {
				// Wait for the consumer, so the kinds count for later cases.
				h.waitCounted()
				return
			}
			var e struct {
				Error httpx.Error `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || tt.field != "" && e.Error.Field != tt.field {
				t.Fatalf("error %s, want field %q", body, tt.field)
			}
			if tt.item >= 0 && (e.Error.Item == nil || *e.Error.Item != tt.item) {
				t.Fatalf("error %s, want item %d", body, tt.item)
			}
		})
	}
}
