package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/defects"
)

type defectsTestTokens struct{}

func (defectsTestTokens) Lookup(tok string) (auth.Principal, error) {
	if tok == testAdmin {
		return auth.Principal{Name: "admin", Role: auth.RoleAdmin}, nil
	}
	return auth.Principal{}, auth.ErrUnknownToken
}

// TestDefectsEval runs `defects eval --mark-fixed` against a defects
// service fed with one planted defect, one genuine repeat and background
// contacts that move event time past the verification window.
func TestDefectsEval(t *testing.T) {
	b := tu.Bus(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := defects.New(ctx, defects.Config{Detector: defects.DetectorConfig{Alpha: 1}, Now: func() time.Time { return t0.AddDate(0, 1, 0) }},
		defects.Deps{Bus: b, Taxonomy: tax, Metrics: bus.NewMetrics(reg), Log: tu.Logger(t), Registry: reg})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	router := httpx.NewRouter(defectsTestTokens{}, reg, tu.Logger(t))
	svc.Routes(router)
	// The pipeline is idle once the defects consumer has nothing pending.
	router.HandleFunc("GET /v1/status", []auth.Role{auth.RoleOps}, func(w http.ResponseWriter, r *http.Request) {
		c, err := b.JS.Consumer(r.Context(), b.Stream(bus.StreamContacts), "defects")
		idle := false
		if err == nil {
			if info, err := c.Info(r.Context()); err == nil {
				idle = info.NumPending == 0 && info.NumAckPending == 0
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"idle": idle})
	})
	srv := httptest.NewServer(router.Handler())
	defer srv.Close()

	type c struct {
		id, customer, order, reason, product string
		at                                   time.Time
	}
	cs := []c{
		{"m1", "alice", "o1", "damaged_item", "MUG", t0},
		{"m2", "bob", "o2", "damaged_item", "MUG", t0.Add(time.Hour)},
		{"m3", "carol", "o3", "damaged_item", "MUG", t0.Add(2 * time.Hour)},
		{"r1", "erin", "o9", "where_is_my_order", "", t0},
		{"r2", "erin", "o9", "where_is_my_order", "", t0.Add(24 * time.Hour)},
	}
	for day := 1; day <= 20; day++ {
		cs = append(cs, c{fmt.Sprint("bg", day), fmt.Sprint("bg", day), "", "unclassified", "", t0.AddDate(0, 0, day)})
	}
	var evs []bus.Event
	for _, x := range cs {
		evs = append(evs, bus.Event{Subject: b.Subjects.ContactTagged, Msg: &pb.ContactTagged{
			Contact: &pb.Contact{Id: "id-" + x.id, ExternalId: x.id, CustomerId: x.customer, OrderId: x.order, Product: x.product,
				Channel: "chat", Text: "text of " + x.id, ReceivedAt: timestamppb.New(x.at)},
			Tag: &pb.Tag{Reason: x.reason, Confidence: 1},
		}})
	}
	if err := b.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	truth := map[string]any{
		"seed": 1, "start": "2025-03-03", "days": 21, "source": "test",
		"defects": []map[string]any{{
			"key": "mug", "reason": "damaged_item", "subject": map[string]string{"product": "MUG"},
			"first_date": "2025-03-03", "fix_date": "2025-03-04", "contact_ids": []string{"m1", "m2", "m3"},
		}},
		"repeats": []map[string]string{{"contact_id": "r2", "repeat_of": "r1", "reason": "where_is_my_order"}},
	}
	path := filepath.Join(t.TempDir(), "truth.json")
	data, _ := json.Marshal(truth)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"defects", "eval", "--truth", path, "--url", srv.URL, "--token", testAdmin, "--mark-fixed"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("defects eval: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	want := `{"planted":1,"detected":1,"recall":1,"precision":1,"median_detection_occurrence":2,"verified_after_fix":1}`
	if last != want {
		t.Fatalf("last line\n%s\nwant\n%s\n(output:\n%s%s)", last, want, stdout.String(), stderr.String())
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"defects", "list", "--url", srv.URL, "--token", testAdmin, "--status", "verified"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "Damaged item: product MUG") || strings.Contains(stdout.String(), "Rework") {
		t.Errorf("defects list --status verified:\n%s", stdout.String())
	}
}
