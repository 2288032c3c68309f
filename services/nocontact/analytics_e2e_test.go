package main

import (
	"net/http"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// Contacts per order through the whole binary: ingest, tagger and
// analytics wired by serve.
func TestContactsPerOrderThroughServe(t *testing.T) {
	ts := startServer(t, t.TempDir())
	var orders []map[string]any
	for i := range 8 {
		orders = append(orders, map[string]any{"order_id": "o" + string(rune('a'+i)), "placed_at": "2026-11-02T09:00:00Z"})
	}
	ts.post("/v1/orders", orders)
	ts.post("/v1/contacts", []map[string]any{
		{"external_id": "p1", "received_at": "2026-11-02T10:00:00Z", "channel": "email", "text": "Where is my order? I need the tracking number."},
		{"external_id": "p2", "received_at": "2026-11-02T11:00:00Z", "channel": "chat", "text": "The mug I received was broken."},
	})
	type cpx struct {
		Overall struct {
			Points []struct {
				Period   string   `json:"period"`
				Contacts int64    `json:"contacts"`
				Units    int64    `json:"units"`
				CPX      *float64 `json:"cpx"`
			} `json:"points"`
		} `json:"overall"`
	}
	var got cpx
	tu.Eventually(t, 30*time.Second, func() bool {
		got = cpx{}
		st := ts.call(http.MethodGet, "/v1/metrics/cpx?from=2026-11-02&to=2026-11-02&interval=day", testAdmin, "", nil, &got)
		p := got.Overall.Points
		return st == http.StatusOK && len(p) == 1 && p[0].Contacts == 2 && p[0].Units == 8
	}, "cpx = %+v, want 2 contacts over 8 orders on 2026-11-02", got)
	if c := got.Overall.Points[0].CPX; c == nil || *c != 0.25 {
		t.Errorf("cpx = %v, want 0.25", c)
	}
}
