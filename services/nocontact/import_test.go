package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// runCmd runs a nocontact command line in this process.
func runCmd(t testing.TB, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

// testdata copies a file or directory of testdata/import into a temp
// directory, so that checkpoints and rejects land there.
func testdata(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("testdata", "import", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// readRejects reads a rejects file.
func readRejects(t testing.TB, path string) []reject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("rejects file: %v", err)
	}
	defer f.Close()
	var out []reject
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r reject
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("rejects line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// convertFile reads every row of a file with a mapping and converts it.
func convertFile(t *testing.T, opts importOptions) (items []any, rejects []error) {
	t.Helper()
	m, err := buildMapping(opts)
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	conv, err := newConverter(opts, m, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := openRows(opts.path, "auto", "", checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	if h := src.header(); h != nil {
		if _, err := conv.checkHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	for {
		r, err := src.next()
		if errors.Is(err, io.EOF) {
			return items, rejects
		}
		if err != nil {
			t.Fatal(err)
		}
		it, err := conv.convert(r)
		if err != nil {
			rejects = append(rejects, fmt.Errorf("line %d: %w", r.line, err))
			continue
		}
		items = append(items, it)
	}
}

func TestImportPresetsParseTheirSampleExports(t *testing.T) {
	dir := filepath.Join("testdata", "import")
	tests := []struct {
		name  string
		opts  importOptions
		n     int
		check func(t *testing.T, items []*contactItem)
	}{
		{"zendesk csv", importOptions{kind: "contacts", path: filepath.Join(dir, "zendesk.csv"), preset: "zendesk",
			mappingFile: filepath.Join(dir, "zendesk-mapping.yaml")}, 8, func(t *testing.T, it []*contactItem) {
			want := []struct{ id, channel, at, customer, order, reason string }{
				{"30211", "web", "2026-10-03T08:14:22Z", "381001", "A-5521", "where_is_my_order"},
				{"30212", "email", "2026-10-03T09:01:05Z", "381002", "A-5530", "damaged_item"},
				{"30213", "chat", "2026-10-04T02:30:00Z", "381003", "A-5533", ""},
				{"30214", "phone", "2026-10-04T14:45:00Z", "381004", "", "double_charged"}, // no offset: Europe/London (BST)
				{"30215", "social", "2026-10-05T08:00:00Z", "381005", "", ""},
				{"30216", "chat", "2026-10-05T18:12:44Z", "381006", "", "promotion_coupon"},
				{"30217", "web", "2026-10-06T10:11:11Z", "381007", "A-5602", "return_request"},
				{"30218", "other", "2026-10-06T11:00:00Z", "", "A-5610", "change_address"},
			}
			for i, w := range want {
				c := it[i]
				if c.ExternalID != w.id || c.Channel != w.channel || c.ReceivedAt != w.at || c.OrderID != w.order || c.Reason != w.reason || c.Source != "zendesk" {
					t.Errorf("row %d: %+v, want %+v", i, c, w)
				}
				if w.customer != "" && c.CustomerID != w.customer {
					t.Errorf("row %d: customer %q, want %q", i, c.CustomerID, w.customer)
				}
				if c.Subject == "" || c.Text != "" {
					t.Errorf("row %d: Zendesk's CSV export has subjects and no description, got subject %q text %q", i, c.Subject, c.Text)
				}
			}
			// The requester without an id is identified by the hash of
			// their e-mail, never the address.
			if c := it[7].CustomerID; !strings.HasPrefix(c, "email-") || strings.Contains(c, "@") {
				t.Errorf("customer id from an e-mail is %q, want a hash", c)
			}
			if it[0].Metadata["tags"] != "shipping wismo" || it[0].Metadata["status"] != "Solved" || it[0].Metadata["priority"] != "Normal" {
				t.Errorf("metadata %v, want tags, status and priority", it[0].Metadata)
			}
			if it[2].Metadata["source_reason"] != "" || it[0].Metadata["source_reason"] != "" {
				t.Errorf("mapped reasons must not be kept as source_reason: %v", it[0].Metadata)
			}
		}},
		{"zendesk json", importOptions{kind: "contacts", path: filepath.Join(dir, "zendesk.json"), preset: "zendesk",
			maps: "order_id=custom_fields.360001234567"}, 4, func(t *testing.T, it []*contactItem) {
			if it[0].ExternalID != "40001" || it[0].Channel != "email" || it[0].OrderID != "A-6001" || !strings.Contains(it[0].Text, "blender") {
				t.Errorf("ticket 0: %+v", it[0])
			}
			if it[1].Text != "The desk lamp arrived broken.\nGlass everywhere\u00a0& the box was crushed." || it[1].Channel != "web" {
				t.Errorf("HTML description not turned into text: %q", it[1].Text)
			}
			if it[2].ReceivedAt != "2026-10-08T03:00:00Z" || it[2].Channel != "chat" || it[2].OrderID != "" {
				t.Errorf("ticket 2: %+v", it[2])
			}
			if it[3].Channel != "phone" || it[0].Metadata["tags"] != "late,blender" || it[3].CustomerID != "391004" {
				t.Errorf("ticket 3: %+v, tags of 0 %q", it[3], it[0].Metadata["tags"])
			}
		}},
		{"freshdesk csv", importOptions{kind: "contacts", path: filepath.Join(dir, "freshdesk.csv"), preset: "freshdesk",
			timezone: "Asia/Shanghai"}, 5, func(t *testing.T, it []*contactItem) {
			want := []struct{ id, channel, at, order, product string }{
				{"101", "email", "2026-10-10T01:12:01Z", "A-7001", "Blender"},
				{"102", "web", "2026-10-10T03:00:00Z", "A-7002", "Ceramic mug"},
				{"103", "phone", "2026-10-11T06:05:00Z", "A-7003", ""},
				{"104", "chat", "2026-10-11T19:00:00Z", "A-7004", ""},
				{"105", "web", "2026-10-12T08:20:00Z", "", ""},
			}
			for i, w := range want {
				c := it[i]
				if c.ExternalID != w.id || c.Channel != w.channel || c.ReceivedAt != w.at || c.OrderID != w.order || c.Product != w.product || c.Source != "freshdesk" {
					t.Errorf("row %d: %+v, want %+v", i, c, w)
				}
			}
			if !strings.Contains(it[0].Text, "\n") || it[0].Subject != "Where is my package?" {
				t.Errorf("multi-line description lost: %q", it[0].Text)
			}
			if it[0].HandleSeconds == nil || *it[0].HandleSeconds != 300 || *it[2].HandleSeconds != 1500 {
				t.Errorf("time tracked not read as handle seconds: %v", it[0].HandleSeconds)
			}
			if it[0].Reason != "" || it[0].Metadata["source_reason"] != "Where is my order" {
				t.Errorf("a Type without a reasons mapping must stay metadata: reason %q metadata %v", it[0].Reason, it[0].Metadata)
			}
			if it[4].CustomerID == "" || strings.Contains(it[4].CustomerID, "@") {
				t.Errorf("customer without Contact ID: %q, want the e-mail's hash", it[4].CustomerID)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, rejects := convertFile(t, tc.opts)
			if len(rejects) > 0 {
				t.Fatalf("rejects: %v", rejects)
			}
			if len(items) != tc.n {
				t.Fatalf("%d items, want %d", len(items), tc.n)
			}
			var cs []*contactItem
			for _, it := range items {
				cs = append(cs, it.(*contactItem))
			}
			tc.check(t, cs)
		})
	}
}

func TestImportPresetsIntoServer(t *testing.T) {
	ts := startServer(t, t.TempDir())
	ctx := context.Background()
	zd := testdata(t, "zendesk.csv")
	mapping := filepath.Join("testdata", "import", "zendesk-mapping.yaml")
	out, _, err := runCmd(t, ctx, "import", "contacts", zd, "--preset", "zendesk", "--mapping", mapping, "--url", ts.url, "--token", testAdmin)
	if err != nil {
		t.Fatalf("import zendesk.csv: %v", err)
	}
	if !strings.Contains(out, "8 rows: 8 accepted, 0 duplicates, 0 rejected") {
		t.Errorf("summary %q", out)
	}
	zj := testdata(t, "zendesk.json")
	if _, _, err := runCmd(t, ctx, "import", "contacts", zj, "--preset", "zendesk", "--map", "order_id=custom_fields.360001234567",
		"--url", ts.url, "--token", testAdmin); err != nil {
		t.Fatalf("import zendesk.json: %v", err)
	}
	fd := testdata(t, "freshdesk.csv")
	if _, _, err := runCmd(t, ctx, "import", "contacts", "--preset=freshdesk", fd, "--url", ts.url, "--token", testAdmin); err != nil {
		t.Fatalf("import freshdesk.csv: %v", err)
	}
	all := ts.waitSearchable("source=zendesk&limit=50", 12)
	ts.waitSearchable("source=freshdesk", 5)
	// Agent reasons mapped from the export are used by the tagger.
	if r := ts.search("source=zendesk&reason=damaged_item"); r.Total != 2 {
		t.Errorf("zendesk damaged_item: %d, want 2 (the mapped reason and the lamp)", r.Total)
	}
	counts := map[string]int{}
	for _, f := range all.Facets["channel"] {
		counts[f.Term] = f.Count
	}
	want := map[string]int{"web": 3, "email": 2, "chat": 3, "phone": 2, "social": 1, "other": 1}
	for ch, n := range want {
		if counts[ch] != n {
			t.Errorf("zendesk channel %s: %d, want %d (all: %v)", ch, counts[ch], n, counts)
		}
	}
	// Importing again sends duplicates only.
	out, _, err = runCmd(t, ctx, "import", "contacts", zd, "--preset", "zendesk", "--mapping", mapping, "--restart", "--url", ts.url, "--token", testAdmin)
	if err != nil || !strings.Contains(out, "0 accepted, 8 duplicates") {
		t.Errorf("second import: %v %q", err, out)
	}
	// Without --restart the finished checkpoint says there is nothing to do.
	out, _, err = runCmd(t, ctx, "import", "contacts", zd, "--preset", "zendesk", "--mapping", mapping, "--url", ts.url, "--token", testAdmin)
	if err != nil || !strings.Contains(out, "imported already") {
		t.Errorf("third import: %v %q", err, out)
	}
	// A mapping that sends a reason the taxonomy lacks is refused up front.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("reasons:\n  Where is my order: where_is_my_parcel\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, ctx, "import", "contacts", zd, "--preset", "zendesk", "--mapping", bad, "--restart", "--url", ts.url, "--token", testAdmin)
	if err == nil || !strings.Contains(err.Error(), "where_is_my_parcel") {
		t.Errorf("unknown reason code in mapping: %v", err)
	}
	if n := ts.streamCount("nc.contact.received"); n != 17 {
		t.Errorf("received events %d, want 17", n)
	}
}

func TestImportBadRowsAreReportedAndGoodRowsImported(t *testing.T) {
	ts := startServer(t, t.TempDir())
	path := testdata(t, "contacts_bad.csv")
	_, _, err := runCmd(t, context.Background(), "import", "contacts", path, "--url", ts.url, "--token", testAdmin)
	var re *rejectedRowsError
	if !errors.As(err, &re) || re.n != 8 || exitCode(err) != 3 {
		t.Fatalf("err %v (exit %d), want 8 rejected rows and exit code 3", err, exitCode(err))
	}
	rejects := readRejects(t, path+".rejects.jsonl")
	var lines []int
	fields := map[int]string{}
	for _, r := range rejects {
		lines = append(lines, r.Line)
		fields[r.Line] = r.Field
		if r.Reason == "" || len(r.Row) == 0 {
			t.Errorf("reject %+v has no reason or row", r)
		}
	}
	if want := []int{5, 6, 7, 8, 9, 11, 14, 15}; !slices.Equal(lines, want) {
		t.Errorf("rejected lines %v, want %v", lines, want)
	}
	for line, f := range map[int]string{5: "received_at", 6: "text", 7: "handle_seconds", 8: "received_at", 9: "locale", 11: "source"} {
		if fields[line] != f {
			t.Errorf("line %d rejected for field %q, want %q", line, fields[line], f)
		}
	}
	res := ts.waitSearchable("source=helpdesk&limit=50", 7)
	texts := map[string]bool{}
	for _, h := range res.Hits {
		texts[h.Text] = true
	}
	for _, want := range []string{"The mug arrived broken.", "No id on this row, the importer derives one.", "Last good row: the box was empty!"} {
		if !texts[want] {
			t.Errorf("good row %q not imported", want)
		}
	}
	// With --allow-rejects the same file succeeds (duplicates, same rejects).
	out, _, err := runCmd(t, context.Background(), "import", "contacts", path, "--restart", "--allow-rejects", "--url", ts.url, "--token", testAdmin)
	if err != nil || !strings.Contains(out, "0 accepted, 7 duplicates, 8 rejected") {
		t.Errorf("--allow-rejects: %v %q", err, out)
	}
	if n := len(readRejects(t, path+".rejects.jsonl")); n != 8 {
		t.Errorf("a restarted import left %d rejects, want the 8 of this run", n)
	}

	// Orders: same rules.
	orders := testdata(t, "orders.csv")
	out, _, err = runCmd(t, context.Background(), "import", "orders", orders, "--url", ts.url, "--token", testAdmin, "--allow-rejects")
	if err != nil || !strings.Contains(out, "7 rows: 4 accepted, 0 duplicates, 3 rejected") {
		t.Errorf("orders: %v %q", err, out)
	}
}

// rejectingProxy forwards to the server but answers 400 for the first item
// of a request whose text holds REJECTME, as a server with stricter rules
// than the importer's would; after cancelAfter forwarded requests it
// cancels cancel (an interrupted import).
type rejectingProxy struct {
	target      *url.URL
	forwarded   atomic.Int64
	cancelAfter int64
	cancel      context.CancelFunc
}

func (p *rejectingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost {
		var items []map[string]any
		if json.Unmarshal(body, &items) == nil {
			for i, it := range items {
				if s, _ := it["text"].(string); strings.Contains(s, "REJECTME") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprintf(w, `{"error":{"code":"invalid_value","message":"item %d: the proxy refuses it","item":%d,"field":"text"}}`, i, i)
					return
				}
			}
		}
		if n := p.forwarded.Add(1); p.cancelAfter > 0 && n > p.cancelAfter {
			p.cancel()
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	httputil.NewSingleHostReverseProxy(p.target).ServeHTTP(w, r)
}

// writeContactsCSV writes n contacts without an id column, so the
// importer derives their ids; rows in reject get REJECTME in their text.
func writeContactsCSV(t testing.TB, path string, n int, reject ...int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"channel", "received_at", "customer_id", "text"})
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		text := fmt.Sprintf("Where is my order %d? It has not arrived yet.\nSecond line of row %d.", i, i)
		if slices.Contains(reject, i) {
			text = "REJECTME " + text
		}
		_ = w.Write([]string{"email", base.Add(time.Duration(i) * time.Second).Format(time.RFC3339), fmt.Sprintf("c-%d", i%97), text})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestImportServerRejectsOneItemAndTheRestIsResent(t *testing.T) {
	ts := startServer(t, t.TempDir())
	target, _ := url.Parse(ts.url)
	proxy := httptest.NewServer(&rejectingProxy{target: target})
	defer proxy.Close()
	path := filepath.Join(t.TempDir(), "c.csv")
	writeContactsCSV(t, path, 40, 3, 17, 18)
	_, _, err := runCmd(t, context.Background(), "import", "contacts", path, "--batch", "10", "--url", proxy.URL, "--token", testAdmin)
	var re *rejectedRowsError
	if !errors.As(err, &re) || re.n != 3 {
		t.Fatalf("err %v, want 3 rejected rows", err)
	}
	rejects := readRejects(t, path+".rejects.jsonl")
	var lines []int
	for _, r := range rejects {
		lines = append(lines, r.Line)
		if r.Field != "text" || !strings.Contains(r.Reason, "the proxy refuses it") {
			t.Errorf("reject %+v lacks the server's reason", r)
		}
	}
	// Each row takes two lines after the header: row i starts on line 2+2i.
	if want := []int{8, 36, 38}; !slices.Equal(lines, want) {
		t.Errorf("rejected lines %v, want %v", lines, want)
	}
	ts.waitSearchable("source=import", 37)
}

func TestImportInterruptedResumesWithoutDuplicates(t *testing.T) {
	ts := startServer(t, t.TempDir())
	target, _ := url.Parse(ts.url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proxy := httptest.NewServer(&rejectingProxy{target: target, cancelAfter: 3, cancel: cancel})
	defer proxy.Close()
	const n = 3000
	path := filepath.Join(t.TempDir(), "big.csv")
	writeContactsCSV(t, path, n)
	_, stderr, err := runCmd(t, ctx, "import", "contacts", path, "--batch", "250", "--parallel", "2", "--url", proxy.URL, "--token", testAdmin)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v, want context canceled", err)
	}
	if !strings.Contains(stderr, "run the same command again to resume") {
		t.Errorf("stderr %q does not say how to resume", stderr)
	}
	var cp checkpoint
	data, err := os.ReadFile(path + ".nocontact-import.json")
	if err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	if err := json.Unmarshal(data, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Done || cp.Records == 0 || cp.Records >= n || cp.Records%250 != 0 || cp.Line != 1+2*cp.Records {
		t.Fatalf("checkpoint %+v: want a batch boundary part way", cp)
	}
	sent := ts.streamCount("nc.contact.received")
	if sent < uint64(cp.Records) {
		t.Fatalf("%d contacts in the stream, fewer than the checkpoint's %d", sent, cp.Records)
	}
	out, stderr, err := runCmd(t, context.Background(), "import", "contacts", path, "--batch", "250", "--url", ts.url, "--token", testAdmin)
	if err != nil {
		t.Fatalf("resumed import: %v", err)
	}
	if !strings.Contains(stderr, fmt.Sprintf("resuming %s after line %d", path, cp.Line)) {
		t.Errorf("stderr %q does not say where it resumed", stderr)
	}
	if !strings.Contains(out, fmt.Sprintf("%d rows:", n)) {
		t.Errorf("summary %q, want %d rows in all", out, n)
	}
	// Rows sent before the interruption but after the checkpoint come back
	// as duplicates; none is published twice.
	ts.waitSearchable("source=import", n)
	if got := ts.streamCount("nc.contact.received"); got != n {
		t.Errorf("%d contacts published, want exactly %d", got, n)
	}
	// Rows appended to the file later are imported on the next run, and
	// only they.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "chat,2026-10-02T00:00:00Z,c-1,A new row: my parcel is late.")
	fmt.Fprintln(f, "chat,2026-10-02T00:00:01Z,c-2,Another new row: where is my order?")
	f.Close()
	out, _, err = runCmd(t, context.Background(), "import", "contacts", path, "--url", ts.url, "--token", testAdmin)
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d rows:", n+2)) {
		t.Fatalf("import of the grown file: %v %q", err, out)
	}
	if got := ts.streamCount("nc.contact.received"); got != n+2 {
		t.Errorf("%d contacts published after the file grew, want %d", got, n+2)
	}
}

func TestImportReadersResumeAtACheckpoint(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "a.csv")
	writeContactsCSV(t, csvPath, 20)
	jsonlPath := filepath.Join(dir, "a.jsonl")
	jsonPath := filepath.Join(dir, "a.json")
	var jl, js bytes.Buffer
	js.WriteString(`{"count": 20, "tickets": [`)
	for i := range 20 {
		line := fmt.Sprintf(`{"id": %d, "text": "row %d", "nested": {"a": "x%d"}, "tags": ["t%d", "u"]}`, i, i, i, i)
		jl.WriteString(line + "\n")
		if i > 0 {
			js.WriteString(",\n")
		}
		js.WriteString(line)
	}
	js.WriteString(`], "next_page": null}`)
	if err := os.WriteFile(jsonlPath, jl.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonPath, js.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{csvPath, jsonlPath, jsonPath} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			all := readAllRows(t, path, checkpoint{})
			if len(all) != 20 {
				t.Fatalf("%d rows, want 20", len(all))
			}
			if filepath.Ext(path) != ".csv" {
				if all[3].get(columns{"nested.a"}) != "x3" || all[3].get(columns{"tags"}) != "t3,u" {
					t.Errorf("flattened row 3: %v", all[3].fields())
				}
			}
			for _, k := range []int{0, 7, 18} {
				cp := checkpoint{Offset: all[k].end, Line: all[k].last, Records: k + 1}
				rest := readAllRows(t, path, cp)
				if len(rest) != 20-k-1 {
					t.Fatalf("after row %d: %d rows, want %d", k, len(rest), 20-k-1)
				}
				if rest[0].line != all[k+1].line || !slices.Equal(rest[0].vals, all[k+1].vals) || rest[0].end != all[k+1].end {
					t.Errorf("after row %d: next row line %d %v, want line %d %v", k, rest[0].line, rest[0].vals, all[k+1].line, all[k+1].vals)
				}
			}
		})
	}
}

func readAllRows(t *testing.T, path string, from checkpoint) []*row {
	t.Helper()
	src, _, err := openRows(path, "auto", "", from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	var out []*row
	for {
		r, err := src.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.err != nil {
			t.Fatalf("row %d: %v", r.line, r.err)
		}
		out = append(out, r)
	}
}

func TestImportValueParsing(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	c := &converter{m: &fieldMap{}, loc: berlin}
	for _, tc := range []struct{ in, want string }{
		{"2024-03-05T14:22:10Z", "2024-03-05T14:22:10Z"},
		{"2024-03-05T14:22:10.5+01:00", "2024-03-05T13:22:10.5Z"},
		{"2024-03-05 14:22:10 +0100", "2024-03-05T13:22:10Z"},
		{"2024-03-05 14:22:10 +01:00", "2024-03-05T13:22:10Z"},
		{"2024-03-05 14:22:10", "2024-03-05T13:22:10Z"}, // Berlin, winter
		{"2024-07-05 14:22", "2024-07-05T12:22:00Z"},    // Berlin, summer
		{"2024-03-05", "2024-03-04T23:00:00Z"},
		{"2024/03/05 14:22", "2024-03-05T13:22:00Z"},
		{"Tue, 05 Mar 2024 14:22:10 +0000", "2024-03-05T14:22:10Z"},
		{"Tue, 05 Mar 2024 14:22:10 GMT", "2024-03-05T14:22:10Z"},
		{"1709648530", "2024-03-05T14:22:10Z"},
		{"1709648530000", "2024-03-05T14:22:10Z"},
		{"Mar 5, 2024 2:22 PM", "2024-03-05T13:22:00Z"},
	} {
		got, err := c.parseTime(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTime(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "05/03/2024", "2024-13-01", "Tue, 05 Mar 2024 14:22:10 CET"} {
		if got, err := c.parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %q, want an error", bad, got)
		}
	}
	c.m.TimeFormat = "02/01/2006 15:04"
	if got, err := c.parseTime("05/03/2024 14:22"); err != nil || got != "2024-03-05T13:22:00Z" {
		t.Errorf("--time-format: %q %v", got, err)
	}

	for _, tc := range []struct {
		in   string
		want float64
		cur  string
	}{
		{"12.90", 12.9, ""}, {"£12.90", 12.9, "GBP"}, {"1,234.50", 1234.5, ""}, {"1.234,50", 1234.5, ""},
		{"12,50", 12.5, ""}, {"1,234", 1234, ""}, {"12.90 EUR", 12.9, "EUR"}, {"USD 5", 5, "USD"}, {"¥99", 99, "CNY"},
	} {
		got, cur, err := parseAmount(tc.in)
		if err != nil || got != tc.want || cur != tc.cur {
			t.Errorf("parseAmount(%q) = %v %q %v, want %v %q", tc.in, got, cur, err, tc.want, tc.cur)
		}
	}
	if _, _, err := parseAmount("twelve"); err == nil {
		t.Error("parseAmount(twelve): no error")
	}

	for _, tc := range []struct {
		in   string
		want float64
	}{{"90", 90}, {"00:05:00", 300}, {"1:02:03", 3723}, {"2:30", 150}, {"1h30m", 5400}} {
		if got, err := parseSeconds(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSeconds(%q) = %v %v, want %v", tc.in, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		in, want string
		known    bool
	}{
		{"Web form", "web", true}, {"Email", "email", true}, {"Phone call (incoming)", "phone", true}, {"Voicemail", "phone", true},
		{"Chat", "chat", true}, {"WhatsApp", "chat", true}, {"Twitter", "social", true}, {"Facebook Messenger", "chat", true},
		{"Portal", "web", true}, {"Feedback Widget", "web", true}, {"Outbound Email", "email", true}, {"SELF_SERVICE", "self_service", true},
		{"fax", "other", false}, {"carrier pigeon", "other", false},
	} {
		got, known := normChannel(tc.in, nil)
		if got != tc.want || known != tc.known {
			t.Errorf("normChannel(%q) = %q %v, want %q %v", tc.in, got, known, tc.want, tc.known)
		}
	}

	for in, want := range map[string]string{
		"<p>Hello&nbsp;<b>there</b></p><p>Line&amp;two<br>three</p>": "Hello\u00a0there\nLine&two\nthree",
		"a < b and c > d": "a < b and c > d",
		"  plain text  ":  "plain text",
		"<div>只有中文</div>": "只有中文",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"en": "en", "en_GB": "en-GB", "zh-CN": "zh-CN", "English": "en", "中文": "zh"} {
		if got, ok := normLocale(in); !ok || got != want {
			t.Errorf("normLocale(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	if _, ok := normLocale("12"); ok {
		t.Error("normLocale(12) accepted")
	}
}

func TestImportMappingErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvPath := write("c.csv", "Body,When\nhello,2024-01-01T00:00:00Z\n")
	for _, tc := range []struct {
		opts importOptions
		want string
	}{
		{importOptions{kind: "contacts", maps: "txt=Body"}, `"txt", which is not a field of contacts`},
		{importOptions{kind: "contacts", maps: "text"}, `"text" is not api_field=Column`},
		{importOptions{kind: "contacts", maps: "metadata=Body"}, "map metadata keys as metadata.KEY"},
		{importOptions{kind: "orders", preset: "zendesk"}, "is for contacts"},
		{importOptions{kind: "contacts", preset: "salesforce"}, "unknown preset"},
		{importOptions{kind: "contacts", mappingFile: write("m1.yaml", "fields:\n  text: Body\nchanel: {}\n")}, "field chanel not found"},
		{importOptions{kind: "contacts", mappingFile: write("m2.yaml", "channels:\n  Fax: fax\n")}, `maps to "fax"`},
		{importOptions{kind: "contacts", mappingFile: write("m3.yaml", "reasons:\n  Late: Late Delivery\n")}, "not a reason code"},
	} {
		_, err := buildMapping(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("buildMapping(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
	// A header without text or subject names the columns it has.
	_, _, err := runCmd(t, context.Background(), "import", "contacts", csvPath, "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "no column gives the text or subject") || !strings.Contains(err.Error(), "Body, When") {
		t.Errorf("missing text column: %v", err)
	}
	out, _, err := runCmd(t, context.Background(), "import", "contacts", csvPath, "--dry-run", "--map", "text=Body,received_at=When")
	if err != nil || !strings.Contains(out, "1 would be sent") {
		t.Errorf("--map: %v %q", err, out)
	}
	// Command-line mistakes.
	for _, args := range [][]string{
		{"import"}, {"import", "contacts"}, {"import", "tickets", csvPath}, {"import", "contacts", filepath.Join(dir, "nope.csv")},
		{"import", "contacts", dir}, {"import", "contacts", write("x.xml", "<a/>")}, {"import", "contacts", csvPath, "--batch", "0"},
	} {
		if _, _, err := runCmd(t, context.Background(), args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestImportProgressDisplay(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&buf, "lines", 1000, 0, 0)
	p.start, p.last, p.now = clock, clock, func() time.Time { return clock }
	clock = clock.Add(10 * time.Second)
	p.update(250, 2500, 3)
	if got := buf.String(); got != "import: 2500 rows (25%), 3 rejected, 250 rows/s, eta 30s\n" {
		t.Errorf("progress line %q", got)
	}
	buf.Reset()
	p.mode = "bar"
	clock = clock.Add(time.Second)
	p.update(500, 5000, 3)
	if got := buf.String(); !strings.HasPrefix(got, "\r[===============               ]  50% 5000 rows (3 rejected) 455 rows/s ETA 11s") {
		t.Errorf("progress bar %q", got)
	}
}

func TestImportArticlesParsing(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      article
		err       string
	}{
		{"full", "---\nid: a1\nslug: track\ntitle: Track\nlocale: en\nquestions: [\"Where?\"]\nreasons: [where_is_my_order]\ntags: [x]\nstatus: draft\n---\nBody text\n",
			article{ID: "a1", Slug: "track", Title: "Track", Body: "Body text", Questions: []string{"Where?"}, Locale: "en",
				Reasons: []string{"where_is_my_order"}, Tags: []string{"x"}, Status: "draft"}, ""},
		{"heading title, slug from file", "# Returns\n\nSend it back.\n",
			article{ID: "my-file", Slug: "my-file", Title: "Returns", Body: "Send it back.", Locale: "en", Status: "published"}, ""},
		{"chinese detected", "---\nslug: refund\n---\n# 退款\n退款三天到账。",
			article{ID: "refund", Slug: "refund", Title: "退款", Body: "退款三天到账。", Locale: "zh", Status: "published"}, ""},
		{"lang alias and CRLF", "---\r\nid: a2\r\ntitle: T\r\nlang: zh_CN\r\n---\r\nB\r\n",
			article{ID: "a2", Slug: "a2", Title: "T", Body: "B", Locale: "zh-CN", Status: "published"}, ""},
		{"questions only", "---\nid: a3\ntitle: T\nquestions: [q1, q2]\n---\n",
			article{ID: "a3", Slug: "a3", Title: "T", Questions: []string{"q1", "q2"}, Locale: "en", Status: "published"}, ""},
		{"no title", "---\nid: x\n---\nbody", article{}, "no title"},
		{"unknown key", "---\nid: x\ntitel: T\n---\nbody", article{}, `unknown key "titel"`},
		{"unclosed", "---\nid: x\ntitle: T\nbody", article{}, "never ends"},
		{"bad yaml", "---\nid: [x\n---\nbody", article{}, "front matter"},
		{"bad status", "---\nid: x\ntitle: T\nstatus: old\n---\nbody", article{}, "neither draft nor published"},
		{"bad reason", "---\nid: x\ntitle: T\nreasons: [Where Is It]\n---\nbody", article{}, "not a reason name"},
		{"empty", "---\nid: x\ntitle: T\n---\n", article{}, "neither a body nor questions"},
		{"not utf-8", "\xff\xfe", article{}, "not UTF-8"},
		{"id not ascii", "---\nid: 退款\ntitle: T\n---\nbody", article{}, "ASCII letters"},
		{"reason punctuation trimmed", "---\nid: x\ntitle: T\nreasons: [\"reverted_card_payment?\"]\n---\nbody",
			article{ID: "x", Slug: "x", Title: "T", Body: "body", Locale: "en", Reasons: []string{"reverted_card_payment"}, Status: "published"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseMarkdownArticle("My File.md", []byte(tc.src))
			if err == nil {
				err = finishArticle(&a)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(a)
			want, _ := json.Marshal(tc.want)
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestImportArticlesSlugOfAChineseFileName(t *testing.T) {
	a, err := parseMarkdownArticle("退款多久到账.md", []byte("# 退款多久到账？\n三天。"))
	if err == nil {
		err = finishArticle(&a)
	}
	if err != nil || !strings.HasPrefix(a.ID, "article-") || a.Locale != "zh" {
		t.Errorf("article %+v, %v: want an ASCII id derived from the name", a, err)
	}
}

func TestImportArticlesFromFiles(t *testing.T) {
	recs, err := readArticles(filepath.Join("testdata", "import", "articles"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		if r.err != nil {
			t.Errorf("%s: %v", r.file, r.err)
		}
		ids = append(ids, r.a.ID+"/"+r.a.Locale+"/"+r.a.Status)
	}
	if want := []string{"damaged-item/en/published", "faq-track-order/en/published", "faq-refund-time-zh/zh/draft"}; !slices.Equal(ids, want) {
		t.Errorf("articles %v, want %v (the hidden file skipped)", ids, want)
	}
	// The shared FAQ sets import as they are.
	shared := tu.SharedDir(t)
	files, _ := filepath.Glob(filepath.Join(shared, "data", "faq", "*", "articles.jsonl"))
	if len(files) == 0 {
		t.Skip("no shared articles.jsonl")
	}
	for _, f := range files {
		recs, err := readArticles(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.err != nil {
				t.Errorf("%s:%d: %v", f, r.line, r.err)
			}
		}
		if len(recs) < 50 {
			t.Errorf("%s: %d articles", f, len(recs))
		}
	}
}

func TestImportArticlesSending(t *testing.T) {
	dir := testdata(t, "articles")
	// A server without a help centre answers 404: the error says so.
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	_, _, err := runCmd(t, context.Background(), "import", "articles", dir, "--url", none.URL, "--token", "tok")
	if !errors.Is(err, errHelpCentreMissing) {
		t.Fatalf("import to a server without help centre: %v", err)
	}
	// What a help centre receives: JSON arrays of articles. This one
	// refuses one article by its index, as the faq service does.
	var got []article
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/articles" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		var batch []article
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i, a := range batch {
			if a.ID == "damaged-item" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":{"code":"invalid_value","message":"item %d: reasons: unknown","item":%d,"field":"reasons"}}`, i, i)
				return
			}
		}
		got = append(got, batch...)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"upserted": 2}`))
	}))
	defer fake.Close()
	out, stderr, err := runCmd(t, context.Background(), "import", "articles", dir, "--url", fake.URL, "--token", "tok")
	var re *rejectedRowsError
	if !errors.As(err, &re) || re.n != 1 || !strings.Contains(out, "(2 sent), 1 rejected") || !strings.Contains(stderr, "refused by the server") {
		t.Fatalf("import articles: %v %q %q", err, out, stderr)
	}
	if len(got) != 2 || got[0].ID != "faq-track-order" || len(got[0].Questions) != 2 || got[0].Reasons[0] != "where_is_my_order" {
		t.Errorf("posted %+v", got)
	}
	if rj := readRejects(t, dir+".rejects.jsonl"); len(rj) != 1 || rj[0].Row["id"] != "damaged-item" || rj[0].Field != "reasons" {
		t.Errorf("rejects %+v", rj)
	}
	// Bad articles are rejected locally, the good one is sent.
	bad := testdata(t, "articles_bad")
	got = nil
	_, _, err = runCmd(t, context.Background(), "import", "articles", bad, "--url", fake.URL, "--token", "tok")
	if !errors.As(err, &re) || re.n != 4 || len(got) != 1 {
		t.Errorf("bad articles: %v, %d sent", err, len(got))
	}
	if n := len(readRejects(t, bad+".rejects.jsonl")); n != 4 {
		t.Errorf("%d rejects written, want 4", n)
	}
	jl := testdata(t, "articles.jsonl")
	got = nil
	_, _, err = runCmd(t, context.Background(), "import", "articles", jl, "--url", fake.URL, "--token", "tok", "--allow-rejects")
	if err != nil || len(got) != 3 || got[1].Locale != "zh-CN" || got[2].Source != "CDC" {
		t.Errorf("articles.jsonl: %v %+v", err, got)
	}
}

func TestImportArticlesIntoServer(t *testing.T) {
	// The faq service brings POST /v1/articles; until serve runs it, the
	// import ends with a clear error instead.
	ts := startServer(t, t.TempDir())
	dir := testdata(t, "articles")
	out, _, err := runCmd(t, context.Background(), "import", "articles", dir, "--url", ts.url, "--token", testAdmin)
	if errors.Is(err, errHelpCentreMissing) {
		t.Logf("this server has no help centre yet: %v", err)
		return
	}
	if err != nil || !strings.Contains(out, "3 articles") {
		t.Fatalf("import articles: %v %q", err, out)
	}
}

func FuzzImportJSONRow(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"id":3,"value":"x"}]}}`, `[]`, `null`, `{"a":`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := jsonRow(data)
		if r.err == nil && len(r.names) != len(r.vals) {
			t.Fatalf("names %d vals %d", len(r.names), len(r.vals))
		}
	})
}

func FuzzImportMarkdownArticle(f *testing.F) {
	for _, s := range []string{"---\nid: a\ntitle: T\n---\nbody", "# T\nbody", "---\n---\n", "---\nid: [\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseMarkdownArticle("f.md", data)
		if err == nil {
			_ = finishArticle(&a)
		}
	})
}

func FuzzImportCSVRows(f *testing.F) {
	for _, s := range []string{"text\nhello\n", "a,b\n\"x\ny\",z\n", "a\n\"unterminated\n", "a;b\n1;2;3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
		src, _, err := openRows(p, "csv", "", checkpoint{})
		if err != nil {
			return
		}
		defer src.close()
		conv := &converter{kind: "contacts", m: identityMap(contactFields()), loc: time.UTC, now: time.Now, mdPrefix: true}
		for range 1000 {
			r, err := src.next()
			if err != nil {
				return
			}
			_, _ = conv.convert(r)
		}
	})
}

// BenchmarkImportContacts measures import throughput into an in-process
// server: rows read, converted, sent and answered (not yet indexed).
func BenchmarkImportContacts(b *testing.B) {
	ts := startServer(b, b.TempDir())
	dir := b.TempDir()
	if err := demoToFiles(demoOptions{gen: demoConfigForBench(), format: "csv", out: dir}, io.Discard); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "contacts.csv")
	run := 0
	for b.Loop() {
		run++
		start := time.Now()
		out, _, err := runCmd(b, context.Background(), "import", "contacts", path, "--restart", "--source", fmt.Sprintf("bench%d", run),
			"--url", ts.url, "--token", testAdmin, "--progress", "none")
		if err != nil {
			b.Fatal(err)
		}
		var rows, accepted int
		if _, err := fmt.Sscanf(out[strings.Index(out, ".csv: ")+6:], "%d rows: %d accepted", &rows, &accepted); err != nil || accepted != rows {
			b.Fatalf("summary %q: %v", out, err)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	}
}
