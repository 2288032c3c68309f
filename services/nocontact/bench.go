package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/services/indexer"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(stderr, "Usage: nocontact bench ingest [flags]")
		return errUsage
	}
	return benchIngest(ctx, args[1:], stdout, stderr)
}

// benchResult is the last line `bench ingest` prints, as JSON.
type benchResult struct {
	Contacts          int     `json:"contacts"`
	Batch             int     `json:"batch"`
	Concurrency       int     `json:"concurrency"`
	IngestPerSecond   float64 `json:"ingest_per_second"`
	EndToEndPerSecond float64 `json:"end_to_end_per_second"`
	BlevePerSecond    float64 `json:"bleve_per_second"`
	Ratio             float64 `json:"end_to_end_over_bleve"`
	CPUs              int     `json:"cpus"`
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench ingest", stderr)
	var cf clientFlags
	cf.register(fs)
	embedded := fs.Bool("embedded", false, "start a throw-away server in this process (temporary data directory) instead of using --url")
	n := fs.Int("contacts", 20000, "contacts to send")
	batch := fs.Int("batch", 500, "contacts per request")
	conc := fs.Int("concurrency", 4, "requests in flight")
	shared := fs.String("shared", "../shared", "shared data `folder` whose intent sets supply the texts")
	seed := fs.Uint64("seed", 1, "random seed")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (with --embedded: the whole server) to `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 || *batch < 1 || *conc < 1 {
		return errors.New("bench: --contacts, --batch and --concurrency must be positive")
	}
	texts, err := benchTexts(*shared)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench ingest: %d contacts, batches of %d, %d in flight, %d distinct texts\n", *n, *batch, *conc, len(texts))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *embedded {
		dir, err := os.MkdirTemp("", "nocontact-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		token := "bench-admin-token-" + bus.NewID()
		cfg := serveConfig{HTTP: "127.0.0.1:0", Data: dir, SubjectPrefix: "nc", MaxItems: 10000, MaxBodyBytes: 10 << 20, IndexerDurable: "indexer", RuleConfidence: 0.5, AdminToken: token}
		srv, err := newServer(ctx, cfg, zerolog.New(stderr).Level(zerolog.WarnLevel), io.Discard)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- srv.Run(sctx) }()
		defer func() { cancel(); <-done }()
		cf.url, cf.token = "http://"+srv.Addr(), token
	}
	c := newClient(cf)
	rng := rand.New(rand.NewPCG(*seed, 7))
	source := "bench-" + bus.NewID()[:10]
	base := time.Now().Add(-time.Hour)
	contacts := make([]map[string]any, *n)
	channels := []string{"email", "chat", "phone", "web", "social"}
	for i := range contacts {
		t := texts[rng.IntN(len(texts))]
		contacts[i] = map[string]any{
			"external_id": fmt.Sprintf("b%d", i), "source": source, "channel": channels[rng.IntN(len(channels))],
			"received_at": base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			"customer_id": fmt.Sprintf("c%d", rng.IntN(*n/3+1)), "text": t,
		}
	}
	bodies := make(chan []byte, *conc)
	go func() {
		defer close(bodies)
		for i := 0; i < len(contacts); i += *batch {
			data, _ := json.Marshal(contacts[i:min(i+*batch, len(contacts))])
			select {
			case bodies <- data:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				var res struct{ Accepted int }
				if err := c.do(ctx, http.MethodPost, "/v1/contacts", "application/json", body, &res); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("bench: ingest: %w", firstErr)
	}
	ingested := time.Since(start)
	// Wait on the cheap status route (a search per poll would take CPU from
	// the pipeline being measured), then check the search once.
	if err := c.waitIdle(ctx, 10*time.Millisecond); err != nil {
		return fmt.Errorf("bench: wait: %w", err)
	}
	var found struct{ Total int }
	if err := c.do(ctx, http.MethodGet, "/v1/contacts?limit=1&source="+url.QueryEscape(source), "", nil, &found); err != nil {
		return fmt.Errorf("bench: search: %w", err)
	}
	if found.Total != *n {
		return fmt.Errorf("bench: %d of %d contacts searchable after the pipeline went idle", found.Total, *n)
	}
	searchable := time.Since(start)
	bleveRate, err := benchBleve(contacts)
	if err != nil {
		return err
	}
	r := benchResult{
		Contacts: *n, Batch: *batch, Concurrency: *conc,
		IngestPerSecond:   float64(*n) / ingested.Seconds(),
		EndToEndPerSecond: float64(*n) / searchable.Seconds(),
		BlevePerSecond:    bleveRate,
		CPUs:              runtime.NumCPU(),
	}
	r.Ratio = r.EndToEndPerSecond / r.BlevePerSecond
	fmt.Fprintf(stdout, "accepted over HTTP:      %8.0f contacts/s (%s)\n", r.IngestPerSecond, ingested.Round(time.Millisecond))
	fmt.Fprintf(stdout, "HTTP to searchable:      %8.0f contacts/s (%s)\n", r.EndToEndPerSecond, searchable.Round(time.Millisecond))
	fmt.Fprintf(stdout, "raw Bleve batch index:   %8.0f contacts/s (same documents, batches of 500)\n", r.BlevePerSecond)
	fmt.Fprintf(stdout, "end to end / raw Bleve:  %8.2f\n", r.Ratio)
	line, _ := json.Marshal(r)
	fmt.Fprintln(stdout, string(line))
	return nil
}

// benchBleve indexes the same contacts straight into a fresh Bleve index,
// as the indexer builds them, and returns documents per second.
func benchBleve(contacts []map[string]any) (float64, error) {
	dir, err := os.MkdirTemp("", "nocontact-bench-bleve-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ix, err := indexer.Open(filepath.Join(dir, "contacts.bleve"))
	if err != nil {
		return 0, err
	}
	defer ix.Close()
	docs := make([]indexer.Doc, len(contacts))
	tag := &pb.Tag{Reason: "unclassified", Method: pb.TagMethod_TAG_METHOD_RULE}
	for i, m := range contacts {
		t, _ := time.Parse(time.RFC3339Nano, m["received_at"].(string))
		docs[i] = indexer.DocFor(&pb.Contact{
			Id: fmt.Sprintf("bleve-%d", i), Source: m["source"].(string), Channel: m["channel"].(string),
			ReceivedAt: timestamppb.New(t), CustomerId: m["customer_id"].(string), Text: m["text"].(string),
		}, tag, nil)
	}
	start := time.Now()
	for i := 0; i < len(docs); i += 500 {
		if err := ix.Index(docs[i:min(i+500, len(docs))]); err != nil {
			return 0, err
		}
	}
	return float64(len(docs)) / time.Since(start).Seconds(), nil
}

// benchTexts reads customer queries from the shared intent sets (English
// e-commerce and Chinese), falling back to a few built-in ones.
func benchTexts(shared string) ([]string, error) {
	var texts []string
	for _, f := range []string{"data/intents/bitext/train.csv", "data/intents/banking77/train.csv", "data/intents/xsid-zh/train.csv"} {
		rows, err := readCSVColumn(filepath.Join(shared, f), "text")
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		texts = append(texts, rows...)
	}
	if len(texts) == 0 {
		texts = []string{
			"Where is my order? It was supposed to arrive on Monday and the tracking number shows nothing.",
			"The mug arrived broken, the box was crushed. I want a replacement.",
			"I was charged twice for order 552-1190, please refund one payment.",
			"我的快递怎么还没到？已经一个星期了。",
			"收到的商品是坏的，我要退货退款。",
			"Can I change the delivery address for my order?",
		}
	}
	return texts, nil
}

func readCSVColumn(path, column string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	col := -1
	for i, h := range header {
		if h == column {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no %q column", path, column)
	}
	var out []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, rec[col])
	}
}
