package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/demo"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// The twice rule through the whole binary: two customers whose coupon
// code fails open one owned defect; marked public, it shows on the help
// centre as a known issue.
func TestDefectOpensAndShowsAsKnownIssue(t *testing.T) {
	ts := startServer(t, t.TempDir())
	// A short demo history: a fresh installation learns its everyday
	// contacts for a week before it calls anything a defect, and the
	// history plants a coupon code that fails for three days.
	g, err := demo.New(demo.Config{Seed: 1, Days: 40, OrdersPerDay: 400})
	if err != nil {
		t.Fatal(err)
	}
	var coupon demo.DefectTruth
	for _, d := range g.Truth().Defects {
		if d.Reason == "promotion_coupon" {
			coupon = d
		}
	}
	if coupon.Reason == "" {
		t.Fatal("the demo history plants no coupon defect")
	}
	for d, ok := g.Next(); ok; d, ok = g.Next() {
		var orders, contacts []any
		for _, o := range d.Orders {
			orders = append(orders, o)
		}
		for _, c := range d.Contacts {
			contacts = append(contacts, c)
		}
		if st, _ := ts.post("/v1/orders", orders); st != http.StatusAccepted {
			t.Fatalf("orders: %d", st)
		}
		if len(contacts) > 0 {
			if st, _ := ts.post("/v1/contacts", contacts); st != http.StatusAccepted {
				t.Fatalf("contacts: %d", st)
			}
		}
	}
	c := newClient(clientFlags{url: ts.url, token: testAdmin})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.waitIdle(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	type defect struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		Status string `json:"status"`
		Owner  string `json:"owner"`
		Title  string `json:"title"`
	}
	var list struct {
		Defects []defect `json:"defects"`
	}
	ts.call(http.MethodGet, "/v1/defects?reason=promotion_coupon&limit=100", testAdmin, "", nil, &list)
	var d defect
	for _, x := range list.Defects {
		// The planted coupon SPRING20 belongs to the spring-sale campaign;
		// either key identifies the issue.
		if t := strings.ToLower(x.Title); strings.Contains(t, "spring") {
			d = x
		}
	}
	if d.ID == "" || d.Owner == "" {
		t.Fatalf("no owned defect for the failing coupon among %+v (truth %+v)", list.Defects, coupon)
	}
	var e errorBody
	if st := ts.call(http.MethodPatch, "/v1/defects/"+d.ID, testAdmin, "application/json", []byte(`{"status":"verified"}`), &e); st != http.StatusConflict {
		t.Errorf("open → verified by hand: %d %+v, want 409", st, e.Error)
	}
	notice := []byte(`{"status":"acknowledged","public_notice":"Coupon SPRING20 fails at checkout; we are fixing it."}`)
	if d.Status != "open" {
		t.Skipf("coupon defect is %s after the demo's fix day; notice part needs an open defect", d.Status)
	}
	if st := ts.call(http.MethodPatch, "/v1/defects/"+d.ID, testAdmin, "application/json", notice, nil); st != http.StatusOK {
		t.Fatalf("acknowledge with notice: %d", st)
	}
	// Known issues show on the help centre's home page.
	tu.Eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get(ts.url + "/help/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(page), "SPRING20 fails at checkout")
	}, "the public notice does not show on the help centre")
}
