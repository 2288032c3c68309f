package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/demo"
)

// demoConfigForBench is a history of about 100,000 contacts.
func demoConfigForBench() demo.Config {
	return demo.Config{Seed: 42, Days: 90, OrdersPerDay: 8500, Start: time.Now().UTC().AddDate(0, 0, -91)}
}

// allContactReasons pages through every contact of a search and returns
// id -> reason.
func (ts *testServer) allContactReasons(query string) map[string]string {
	ts.t.Helper()
	out := map[string]string{}
	cursor := ""
	for {
		q := query + "&limit=200"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		res := ts.search(q)
		for _, h := range res.Hits {
			out[h.ID] = h.Reason
		}
		if res.NextCursor == "" || len(res.Hits) == 0 {
			return out
		}
		cursor = res.NextCursor
	}
}

func TestDemoCommandFeedsAServerWithTheTruth(t *testing.T) {
	ts := startServer(t, t.TempDir())
	truthPath := filepath.Join(t.TempDir(), "truth.json")
	// A fixed start: the same history every day the test runs.
	args := []string{"demo", "--days", "7", "--start", "2026-11-18", "--orders-per-day", "200", "--seed", "5", "--truth", truthPath,
		"--url", ts.url, "--token", testAdmin, "--batch", "300"}
	out, stderr, err := runCmd(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var truth demo.Truth
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	if truth.Days != 7 || truth.Orders < 1000 || truth.Contacts < 100 || len(truth.Defects) != 5 {
		t.Fatalf("truth: %d days, %d orders, %d contacts, %d defects", truth.Days, truth.Orders, truth.Contacts, len(truth.Defects))
	}
	for _, want := range []string{"demo: 7 days", "contacts per order", "5 planted process defects", "damaged_sku", "promo_code=SPRING20", truthPath} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// The demo returns once the pipeline is idle: everything is searchable
	// now, without waiting.
	if r := ts.search("source=demo&limit=1"); r.Total != truth.Contacts {
		t.Fatalf("search finds %d demo contacts right after the demo returned, want %d", r.Total, truth.Contacts)
	}
	if n := ts.streamCount("nc.contact.received"); n != uint64(truth.Contacts) {
		t.Errorf("%d contacts published, want %d", n, truth.Contacts)
	}
	// Every planted defect's contacts are indexed with the defect's reason.
	reasons := ts.allContactReasons("source=demo")
	for _, d := range truth.Defects {
		if len(d.IDs) != len(d.ContactIDs) || len(d.IDs) < 2 {
			t.Fatalf("defect %s: %d server ids for %d contacts", d.Key, len(d.IDs), len(d.ContactIDs))
		}
		tagged := 0
		for _, id := range d.IDs {
			if reasons[id] == d.Reason {
				tagged++
			}
		}
		if float64(tagged) < 0.8*float64(len(d.IDs)) {
			t.Errorf("defect %s: %d of %d contacts tagged %s", d.Key, tagged, len(d.IDs), d.Reason)
		}
	}
	if r := ts.search("source=demo&product=" + "KIT-MUG-330" + "&reason=damaged_item"); r.Total < len(truth.Defects[2].IDs) {
		t.Errorf("damaged mugs found: %d, want at least the %d planted", r.Total, len(truth.Defects[2].IDs))
	}
	// Running it again sends nothing new.
	out, _, err = runCmd(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("second demo: %v", err)
	}
	if !strings.Contains(out, "already there") {
		t.Errorf("second run summary does not mention duplicates:\n%s", out)
	}
	if n := ts.streamCount("nc.contact.received"); n != uint64(truth.Contacts) {
		t.Errorf("after a second run %d contacts published, want still %d", n, truth.Contacts)
	}
}

func TestDemoServeFlagUsesATemporaryToken(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *serveConfig) { c.AdminToken = "" })
	opts := defaultDemoOptions()
	opts.gen.Days, opts.gen.OrdersPerDay, opts.gen.Seed = 2, 100, 9
	var buf bytes.Buffer
	serveDemo(context.Background(), ts.srv, opts, &buf)
	if !strings.Contains(buf.String(), "demo: 2 days") {
		t.Fatalf("serve --demo output:\n%s", buf.String())
	}
	for _, p := range ts.srv.tokens.List() {
		if p.Name == "serve-demo" {
			t.Errorf("the temporary demo token was not revoked")
		}
	}
	if n := ts.streamCount("nc.contact.received"); n == 0 {
		t.Error("serve --demo published no contacts")
	}
}

func TestDemoToFilesImportsWithoutMapping(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for _, format := range []string{"csv", "jsonl"} {
		dir := t.TempDir()
		truthPath := filepath.Join(dir, "truth.json")
		out, _, err := runCmd(t, context.Background(), "demo", "--days", "3", "--orders-per-day", "150", "--seed", "21",
			"--source", "files-"+format, "--out", dir, "--format", format, "--truth", truthPath)
		if err != nil || !strings.Contains(out, "wrote") {
			t.Fatalf("demo --out: %v %q", err, out)
		}
		var truth demo.Truth
		data, _ := os.ReadFile(truthPath)
		if err := json.Unmarshal(data, &truth); err != nil {
			t.Fatal(err)
		}
		for kind, n := range map[string]int{"orders": truth.Orders, "contacts": truth.Contacts} {
			out, _, err := runCmd(t, context.Background(), "import", kind, filepath.Join(dir, kind+"."+format), "--url", ts.url, "--token", testAdmin)
			if err != nil {
				t.Fatalf("import %s.%s: %v", kind, format, err)
			}
			if !strings.Contains(out, "rows: ") || !strings.Contains(out, " 0 rejected") || !strings.Contains(out, itoa(n)+" rows: "+itoa(n)+" accepted") {
				t.Errorf("import %s.%s: %q, want %d accepted", kind, format, out, n)
			}
		}
		ts.waitSearchable("source=files-"+format, truth.Contacts)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestDemoLiveModeStampsNow(t *testing.T) {
	ts := startServer(t, t.TempDir())
	before := time.Now().UTC().Add(-time.Minute)
	out, _, err := runCmd(t, context.Background(), "demo", "--live", "500", "--days", "1", "--orders-per-day", "60", "--seed", "4",
		"--url", ts.url, "--token", testAdmin, "--quiet")
	if err != nil {
		t.Fatalf("live demo: %v", err)
	}
	if !strings.Contains(out, "demo: 1 days") {
		t.Errorf("summary %q", out)
	}
	res := ts.waitSearchable("source=demo&from="+url.QueryEscape(before.Format(time.RFC3339)), int(ts.streamCount("nc.contact.received")))
	if res.Total == 0 {
		t.Fatal("live mode sent no contacts")
	}
	for _, h := range res.Hits {
		if h.ReceivedAt.Before(before) {
			t.Errorf("live contact received %s, want about now", h.ReceivedAt)
		}
	}
}

func TestDemoFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--days", "0"},
		{"demo", "--batch", "0"},
		{"demo", "--start", "tomorrow"},
		{"demo", "--start", "2099-01-01"},
		{"demo", "--format", "xml", "--out", t.TempDir()},
		{"demo", "--zh-share", "3", "--out", t.TempDir()},
		{"demo", "extra"},
	} {
		if _, _, err := runCmd(t, context.Background(), args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// Unreachable server: an error naming the request, no hang.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, err := runCmd(t, ctx, "demo", "--days", "1", "--orders-per-day", "10", "--url", "http://127.0.0.1:1", "--quiet")
	if err == nil || !strings.Contains(err.Error(), "POST /v1/") {
		t.Errorf("unreachable server: %v", err)
	}
}
