package defects

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// tokens is an in-memory token store for the router.
type tokens map[string]auth.Principal

func (t tokens) Lookup(tok string) (auth.Principal, error) {
	if p, ok := t[tok]; ok {
		return p, nil
	}
	return auth.Principal{}, auth.ErrUnknownToken
}

var testTokens = tokens{
	"ops-token":   {Name: "ops-lead", Role: auth.RoleOps},
	"agent-token": {Name: "agent-7", Role: auth.RoleAgent},
}

// harness is a running defects service with its HTTP API.
type harness struct {
	t    *testing.T
	b    *bus.Bus
	svc  *Service
	srv  *httptest.Server
	reg  *prometheus.Registry
	stop func()
}

func startService(t *testing.T, b *bus.Bus, cfg Config) *harness {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0.Add(2 * time.Hour) }
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = time.Hour
	}
	cfg.Batch = 50
	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	log := tu.Logger(t)
	svc, err := New(ctx, cfg, Deps{Bus: b, Taxonomy: testTaxonomy(t), Metrics: bus.NewMetrics(reg), Log: log, Registry: reg})
	if err != nil {
		cancel()
		t.Fatalf("new service: %v", err)
	}
	router := httpx.NewRouter(testTokens, reg, log)
	svc.Routes(router)
	srv := httptest.NewServer(router.Handler())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	h := &harness{t: t, b: b, svc: svc, srv: srv, reg: reg}
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("service stopped with: %v", err)
			}
			srv.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// publish sends contacts as the tagger would.
func publish(t *testing.T, b *bus.Bus, cs ...Contact) {
	t.Helper()
	var evs []bus.Event
	for _, c := range cs {
		evs = append(evs, bus.Event{Subject: b.Subjects.ContactTagged, ID: "tagged:" + c.ID, Msg: &pb.ContactTagged{
			Meta: &pb.EventMeta{EventId: "tagged:" + c.ID, OccurredAt: timestamppb.Now(), SchemaVersion: 1, Producer: "test"},
			Contact: &pb.Contact{
				Id: c.ID, ExternalId: c.ExternalID, CustomerId: c.CustomerID, OrderId: c.OrderID, Channel: c.Channel, Product: c.Product,
				Text: c.Text, Metadata: c.Metadata, ReceivedAt: timestamppb.New(c.ReceivedAt),
			},
			Tag: &pb.Tag{Reason: c.Reason, Confidence: 0.9, Method: pb.TagMethod_TAG_METHOD_RULE},
		}})
	}
	if err := b.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) do(method, path, token string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			data = []byte(s)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

// list waits until GET /v1/defects answers n defects and returns them.
func (h *harness) list(query string, n int) []*Defect {
	h.t.Helper()
	var res ListResponse
	tu.Eventually(h.t, 20*time.Second, func() bool {
		res = ListResponse{}
		return h.do("GET", "/v1/defects"+query, "agent-token", nil, &res) == 200 && res.Total == n
	}, "GET /v1/defects%s: want %d defects, have %d", query, n, res.Total)
	return res.Defects
}

func TestServiceAPI(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b, Config{Detector: literal()})
	publish(t, b, contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)))
	got := h.list("", 1)
	id := got[0].ID
	if got[0].Title != "Damaged item: product MUG" || got[0].Occurrences != 2 || got[0].History != nil {
		t.Fatalf("listed %+v", got[0])
	}

	var detail DetailResponse
	if code := h.do("GET", "/v1/defects/"+id, "agent-token", nil, &detail); code != 200 {
		t.Fatalf("GET detail: %d", code)
	}
	if len(detail.Daily) != 1 || detail.Daily[0].Count != 2 || detail.CPX.Subject["during"] == nil || len(detail.History) != 1 {
		t.Errorf("detail %+v", detail)
	}
	// The record is in the shared bucket, and the opening was published.
	kv, err := b.KeyValue(context.Background(), BucketDefects)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(context.Background(), id); err != nil || !bytes.Contains(e.Value(), []byte(`"status":"open"`)) {
		t.Errorf("bucket entry: %v", err)
	}
	waitSubject(t, b, "nc.defect.opened", 1)
	waitSubject(t, b, "nc.defect.recurred", 0)

	var e apiError
	for _, c := range []struct {
		token  string
		body   any
		code   int
		errSub string
		field  string
	}{
		{"ops-token", `{"colour":"red"}`, 400, "unknown_field", "colour"},
		{"ops-token", `{}`, 400, "empty_patch", ""},
		{"ops-token", map[string]string{"status": "wontfix"}, 400, "invalid_value", "reason"},
		{"ops-token", map[string]string{"status": "verified"}, 409, "invalid_transition", "status"},
		{"ops-token", map[string]string{"owner": "nobody"}, 400, "invalid_value", "owner"},
		{"ops-token", map[string]string{"status": "fixed", "fixed_at": "yesterday"}, 400, "invalid_value", "fixed_at"},
		{"agent-token", map[string]string{"status": "acknowledged"}, 403, "forbidden", ""},
	} {
		e = apiError{}
		if code := h.do("PATCH", "/v1/defects/"+id, c.token, c.body, &e); code != c.code || e.Error.Code != c.errSub || e.Error.Field != c.field {
			t.Errorf("PATCH %v: %d %+v, want %d %s field %q", c.body, code, e.Error, c.code, c.errSub, c.field)
		}
	}

	var d Defect
	if code := h.do("PATCH", "/v1/defects/"+id, "ops-token", map[string]string{"status": "acknowledged", "owner": "quality", "note": "supplier asked", "public_notice": "Some mugs arrive broken."}, &d); code != 200 {
		t.Fatalf("acknowledge: %d", code)
	}
	if d.Status != StatusAcknowledged || d.Owner != "quality" || d.PublicNotice == "" || len(d.History) != 5 || d.History[1].Actor != "ops-lead" {
		t.Errorf("after PATCH %+v", d)
	}
	if code := h.do("PATCH", "/v1/defects/"+id, "ops-token", map[string]string{"status": "fixed", "fixed_at": t0.Add(90 * time.Minute).Format(time.RFC3339)}, &d); code != 200 || d.Status != StatusFixed {
		t.Fatalf("fix: %d %s", code, d.Status)
	}
	e = apiError{}
	if code := h.do("PATCH", "/v1/defects/"+id, "ops-token", map[string]string{"status": "fixing"}, &e); code != 409 || e.Error.Message != "cannot go from fixed to fixing (from fixed a defect may go to [open])" {
		t.Errorf("fixed -> fixing: %d %+v", code, e.Error)
	}
	waitSubject(t, b, "nc.defect.updated", 5) // four changes in the first PATCH, one in the second

	h.list("?status=fixed&owner=quality&biv=breakdown&sort=recent", 1)
	h.list("?status=open", 0)
	for q, field := range map[string]string{"?sort=loudest": "sort", "?status=done": "status", "?biv=oops": "biv", "?limit=0": "limit", "?colour=red": "colour"} {
		e = apiError{}
		if code := h.do("GET", "/v1/defects"+q, "agent-token", nil, &e); code != 400 || e.Error.Field != field {
			t.Errorf("GET %s: %d %+v", q, code, e.Error)
		}
	}
	if code := h.do("GET", "/v1/defects/nope", "agent-token", nil, &e); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
}

// waitSubject waits until the DEFECTS stream holds n messages on subject.
func waitSubject(t *testing.T, b *bus.Bus, subject string, n uint64) {
	t.Helper()
	var have uint64
	var lastErr error
	tu.Eventually(t, 10*time.Second, func() bool {
		st, err := b.JS.Stream(context.Background(), b.Stream(bus.StreamDefects))
		if err != nil {
			lastErr = err
			return false
		}
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(">"))
		if err != nil {
			lastErr = err
			return false
		}
		have = info.State.Subjects[subject]
		return have == n
	}, "%s: %d messages, want %d (%v)", subject, have, n, lastErr)
}

func TestServiceRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	b := tu.BusAt(t, dir)
	h := startService(t, b, Config{Detector: literal()})
	publish(t, b, contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)))
	id := h.list("", 1)[0].ID
	if code := h.do("PATCH", "/v1/defects/"+id, "ops-token", map[string]string{"status": "acknowledged"}, nil); code != 200 {
		t.Fatalf("acknowledge: %d", code)
	}
	h.stop()
	b.Close()

	// A clean restart resumes from the snapshot: the next contact attaches.
	b = tu.BusAt(t, dir)
	h = startService(t, b, Config{Detector: literal()})
	if got := h.list("", 1); got[0].ID != id || got[0].Status != StatusAcknowledged {
		t.Fatalf("after restart %+v", got[0])
	}
	publish(t, b, contact("c3", "carol", "o3", "MUG", t0.Add(2*time.Hour)))
	tu.Eventually(t, 10*time.Second, func() bool {
		var d Defect
		h.do("GET", "/v1/defects/"+id, "agent-token", nil, &d)
		return d.Occurrences == 3
	}, "the third contact did not attach after the restart")
	h.list("", 1)
	h.stop()

	// A crash loses the snapshot: the state is rebuilt from the stream,
	// the lifecycle from the bucket, and nothing is published twice.
	st, err := b.JS.ObjectStore(context.Background(), b.Bucket(BucketState))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(context.Background(), snapshotObject); err != nil {
		t.Fatal(err)
	}
	h = startService(t, b, Config{Detector: literal()})
	got := h.list("", 1)
	if got[0].ID != id || got[0].Occurrences != 3 || got[0].Status != StatusAcknowledged {
		t.Fatalf("after a rebuild %+v", got[0])
	}
	waitSubject(t, b, "nc.defect.opened", 1)
	waitSubject(t, b, "nc.defect.recurred", 1)
}

func TestServiceRedeliveryIsIdempotent(t *testing.T) {
	b := tu.Bus(t)
	h := startService(t, b, Config{Detector: literal()})
	c1, c2 := contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour))
	publish(t, b, c1, c2)
	id := h.list("", 1)[0].ID
	// The same contact tagged again (a new message for it) changes nothing.
	c2again := c2
	var evs []bus.Event
	evs = append(evs, bus.Event{Subject: b.Subjects.ContactTagged, ID: "retag:c2", Msg: &pb.ContactTagged{
		Contact: &pb.Contact{Id: c2again.ID, CustomerId: "bob", OrderId: "o2", Product: "MUG", Channel: "email", ReceivedAt: timestamppb.New(c2.ReceivedAt)},
		Tag:     &pb.Tag{Reason: "damaged_item"},
	}})
	if err := b.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	// And every message delivered again from the start (a consumer reset)
	// is skipped as already covered.
	h.stop()
	if err := b.JS.DeleteConsumer(context.Background(), b.Stream(bus.StreamContacts), "defects"); err != nil {
		t.Fatal(err)
	}
	h = startService(t, b, Config{Detector: literal()})
	tu.Eventually(t, 10*time.Second, func() bool {
		c, err := b.JS.Consumer(context.Background(), b.Stream(bus.StreamContacts), "defects")
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= 3
	}, "the reset consumer did not drain")
	var d Defect
	h.do("GET", "/v1/defects/"+id, "agent-token", nil, &d)
	if d.Occurrences != 2 || d.Customers != 2 {
		t.Fatalf("after redelivery: %d occurrences from %d customers, want 2 from 2", d.Occurrences, d.Customers)
	}
	h.list("", 1)
}

func TestAndonWebhook(t *testing.T) {
	secret := "s3cret"
	var calls atomic.Int32
	got := make(chan AndonAlert, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !VerifySignature([]byte(secret), body, r.Header.Get(SignatureHeader)) {
			t.Errorf("bad signature %q", r.Header.Get(SignatureHeader))
		}
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("X-Nocontact-Attempt") != "3" {
			t.Errorf("attempt header %q", r.Header.Get("X-Nocontact-Attempt"))
		}
		var a AndonAlert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Error(err)
		}
		got <- a
	}))
	defer hook.Close()
	b := tu.Bus(t)
	det := literal()
	det.AndonPerHour = 3
	h := startService(t, b, Config{Detector: det, Webhooks: []string{hook.URL}, WebhookSecret: secret, WebhookBackoff: 10 * time.Millisecond})
	publish(t, b,
		contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(10*time.Minute)),
		contact("c3", "carol", "o3", "MUG", t0.Add(20*time.Minute)))
	var a AndonAlert
	select {
	case a = <-got:
	case <-time.After(20 * time.Second):
		t.Fatalf("no webhook delivered (%d calls)", calls.Load())
	}
	if a.Type != "andon.pulled" || a.Cause != "spike" || a.LastHour != 3 || a.Owner != "warehouse" || a.OwnerContact != "warehouse@example.com" {
		t.Errorf("alert %+v", a)
	}
	waitSubject(t, b, "nc.andon.pulled", 1)
	want := fmt.Sprintf(`nocontact_andon_active{defect=%q,owner="warehouse"} 1`, a.DefectID)
	if text := scrape(t, h.reg); !strings.Contains(text, want) || !strings.Contains(text, `nocontact_defects{biv="breakdown",status="open"} 1`) ||
		!strings.Contains(text, `nocontact_defects_webhook_deliveries_total{result="retried"} 2`) {
		t.Errorf("metrics lack %s:\n%s", want, text)
	}
	// The owner takes the cord: the gauge goes.
	if code := h.do("PATCH", "/v1/defects/"+a.DefectID, "ops-token", map[string]string{"status": "acknowledged"}, nil); code != 200 {
		t.Fatal(code)
	}
	if text := scrape(t, h.reg); strings.Contains(text, "nocontact_andon_active{") {
		t.Errorf("andon still exported after acknowledgement")
	}
}

func TestWebhookGivesUp(t *testing.T) {
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer hook.Close()
	reg := prometheus.NewRegistry()
	m := newMetrics(&Service{})
	reg.MustRegister(m.webhooks)
	n := newNotifier(Config{Webhooks: []string{hook.URL}, WebhookSecret: "x", WebhookAttempts: 4, WebhookBackoff: time.Millisecond}, hook.Client(), m, tu.Logger(t))
	if err := n.deliver(context.Background(), hook.URL, AndonAlert{Type: "andon.pulled", DefectID: "d1"}); err == nil {
		t.Fatal("a 400 answer was taken for delivered")
	}
	if calls.Load() != 1 {
		t.Errorf("a 400 answer was retried: %d calls", calls.Load())
	}
}

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}
