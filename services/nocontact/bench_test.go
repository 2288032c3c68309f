package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nocontact/nocontact/services/indexer"
)

// BenchmarkIngestToSearchable posts contacts in batches of 500 over HTTP
// to an in-process server and waits until all are searchable; it reports
// contacts per second from the first request to the last one found.
func BenchmarkIngestToSearchable(b *testing.B) {
	ts := startServer(b, b.TempDir())
	shared := os.Getenv("NOCONTACT_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "shared")
	}
	texts, err := benchTexts(shared)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	total := 0
	start := time.Now()
	for i := 0; i < b.N; i++ {
		batch := make([]map[string]any, 500)
		for j := range batch {
			batch[j] = map[string]any{"external_id": fmt.Sprintf("%d-%d", i, j), "channel": "email", "text": texts[(i*500+j)%len(texts)]}
		}
		data, _ := json.Marshal(batch)
		if st := call(b, ts.url, http.MethodPost, "/v1/contacts", testAdmin, "application/json", data, nil); st != http.StatusAccepted {
			b.Fatalf("status %d", st)
		}
		total += len(batch)
	}
	ix := ts.srv.services["indexer"].(*indexer.Service).Index()
	for {
		n, err := ix.Count()
		if err != nil {
			b.Fatal(err)
		}
		if n >= uint64(total) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "contacts/s")
}
