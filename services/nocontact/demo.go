package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/demo"
)

// demoOptions is everything `nocontact demo` is told.
type demoOptions struct {
	gen         demo.Config
	start       string // YYYY-MM-DD, "" for Days before today
	batch       int
	parallel    int
	live        float64 // contacts a second; 0 sends as fast as the server takes
	truthPath   string
	out         string // write files to this directory instead of sending
	format      string // jsonl or csv, with out
	noWait      bool
	waitTimeout time.Duration
	quiet       bool
}

func (o *demoOptions) register(fs *flag.FlagSet) {
	fs.Int64Var(&o.gen.Seed, "seed", 1, "`seed` of the history: the same seed and flags give the same data")
	fs.IntVar(&o.gen.Days, "days", demo.DefaultDays, "`days` of history")
	fs.StringVar(&o.start, "start", "", "first `day` (YYYY-MM-DD); default: so that the history ends yesterday")
	fs.IntVar(&o.gen.OrdersPerDay, "orders-per-day", demo.DefaultOrdersPerDay, "average `orders` a day (weekly seasonality around it)")
	fs.Float64Var(&o.gen.ContactsPerOrder, "contacts-per-order", demo.DefaultContactsPerOrder, "everyday contact `rate` before planted defects and repeats")
	fs.Float64Var(&o.gen.ZHShare, "zh-share", demo.DefaultZHShare, "`share` of customers writing in Chinese")
	fs.StringVar(&o.gen.Source, "source", demo.DefaultSource, "`source` of every order and contact (dedup key with their ids)")
	fs.BoolVar(&o.gen.NoDefects, "no-defects", false, "plant no process defects")
	fs.IntVar(&o.batch, "batch", 1000, "`items` per request")
	fs.IntVar(&o.parallel, "parallel", 3, "`requests` in flight")
	fs.Float64Var(&o.live, "live", 0, "live mode: send `N` contacts a second with timestamps of now (Ctrl-C stops)")
	fs.StringVar(&o.truthPath, "truth", "", "write the ground truth (planted defects and their contacts) as JSON to `file`")
	fs.StringVar(&o.out, "out", "", "write orders and contacts to files in `dir` instead of sending them")
	fs.StringVar(&o.format, "format", "jsonl", "file `format` with --out: jsonl or csv (both import with `nocontact import`)")
	fs.BoolVar(&o.noWait, "no-wait", false, "return when everything is sent, without waiting for the pipeline to process it")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 30*time.Minute, "longest `time` to wait for the pipeline to become idle")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary")
}

// resolve checks the options and fills in the start day.
func (o *demoOptions) resolve(now time.Time) error {
	if o.batch < 1 || o.batch > 10000 {
		return fmt.Errorf("--batch must be 1 to 10000, got %d", o.batch)
	}
	if o.parallel < 1 || o.parallel > 64 {
		return fmt.Errorf("--parallel must be 1 to 64, got %d", o.parallel)
	}
	if o.live < 0 {
		return fmt.Errorf("--live must be a positive rate, got %g", o.live)
	}
	if o.format != "jsonl" && o.format != "csv" {
		return fmt.Errorf("--format must be jsonl or csv, got %q", o.format)
	}
	if o.out != "" && o.live > 0 {
		return errors.New("--out and --live exclude each other")
	}
	if o.gen.Days < 1 {
		return fmt.Errorf("--days must be at least 1, got %d", o.gen.Days)
	}
	if o.start != "" {
		t, err := time.Parse(time.DateOnly, o.start)
		if err != nil {
			return fmt.Errorf("--start %q: want a date like 2025-03-01", o.start)
		}
		o.gen.Start = t
	} else {
		o.gen.Start = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -o.gen.Days)
	}
	if last := o.gen.Start.AddDate(0, 0, o.gen.Days); o.out == "" && o.live == 0 && last.After(now.Add(24*time.Hour)) {
		return fmt.Errorf("--start %s with --days %d ends on %s, in the future; the server refuses contacts more than a day ahead",
			o.gen.Start.Format(time.DateOnly), o.gen.Days, last.Format(time.DateOnly))
	}
	return nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts demoOptions
	var cf clientFlags
	fs := newFlagSet("demo", stderr)
	opts.register(fs)
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: nocontact demo [flags]\n\nGenerates a reproducible e-commerce history (orders, contacts in English and Chinese,\nrepeat contacts, planted process defects) and sends it through the ingest API.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	if err := opts.resolve(time.Now()); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if opts.out != "" {
		return demoToFiles(opts, stdout)
	}
	_, err := runDemoAgainst(ctx, newClient(cf), opts, stdout, stderr)
	return err
}

// demoSender sends one history to a server.
type demoSender struct {
	client *apiClient
	opts   demoOptions
	stderr io.Writer

	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	ids  map[string]string // external id -> server id, for contacts of planted defects
	sent struct{ orders, contacts, duplicates int }

	liveRun string // id suffix of a live run
}

// runDemoAgainst generates the history of opts and sends it with client;
// it returns the ground truth with the server's ids.
func runDemoAgainst(ctx context.Context, client *apiClient, opts demoOptions, stdout, stderr io.Writer) (demo.Truth, error) {
	gen, err := demo.New(opts.gen)
	if err != nil {
		return demo.Truth{}, fmt.Errorf("demo: %w", err)
	}
	cfg := gen.Config()
	s := &demoSender{client: client, opts: opts, stderr: stderr, sem: make(chan struct{}, opts.parallel), ids: map[string]string{}}
	if opts.quiet {
		s.stderr = io.Discard
	}
	mode := "fast"
	if opts.live > 0 {
		mode = fmt.Sprintf("live, %g contacts/s", opts.live)
	}
	fmt.Fprintf(s.stderr, "demo: %d days from %s, about %d orders a day, seed %d, to %s (%s)\n",
		cfg.Days, cfg.Start.Format(time.DateOnly), cfg.OrdersPerDay, cfg.Seed, client.base, mode)
	began := time.Now()
	var runErr error
	if opts.live > 0 {
		runErr = s.live(ctx, gen)
	} else {
		runErr = s.fast(ctx, gen)
	}
	truth := gen.Truth()
	if opts.live > 0 {
		truth = liveTruth(truth, s.liveSuffix)
		if errors.Is(runErr, context.Canceled) {
			runErr = nil // Ctrl-C is how live mode ends
		}
	}
	for i := range truth.Defects {
		d := &truth.Defects[i]
		for _, id := range d.ContactIDs {
			if sid, ok := s.ids[id]; ok {
				d.IDs = append(d.IDs, sid)
			}
		}
	}
	if opts.truthPath != "" {
		if err := writeJSONFile(opts.truthPath, truth); err != nil {
			return truth, fmt.Errorf("demo: write truth: %w", err)
		}
	}
	if runErr != nil {
		return truth, fmt.Errorf("demo: %w", runErr)
	}
	took := time.Since(began)
	if !opts.noWait && opts.live == 0 {
		fmt.Fprintf(s.stderr, "demo: sent in %s; waiting for the pipeline to process everything\n", took.Round(time.Millisecond))
		wctx, cancel := context.WithTimeout(ctx, opts.waitTimeout)
		err := client.waitIdle(wctx, 250*time.Millisecond)
		cancel()
		if err != nil {
			return truth, fmt.Errorf("demo: wait for the pipeline to be idle: %w", err)
		}
	}
	printDemoSummary(stdout, truth, s, took, time.Since(began), opts)
	return truth, nil
}

func printDemoSummary(w io.Writer, truth demo.Truth, s *demoSender, sendTook, total time.Duration, opts demoOptions) {
	cpx := 0.0
	if truth.Orders > 0 {
		cpx = float64(truth.Contacts) / float64(truth.Orders)
	}
	fmt.Fprintf(w, "demo: %d days from %s (seed %d): %d orders, %d contacts, %.3f contacts per order, %d repeat contacts\n",
		truth.Days, truth.Start, truth.Seed, s.sent.orders, s.sent.contacts, cpx, len(truth.Repeats))
	if s.sent.duplicates > 0 {
		fmt.Fprintf(w, "demo: %d items were already there (same seed sent before) and were not sent again\n", s.sent.duplicates)
	}
	rate := float64(s.sent.contacts+s.sent.orders) / max(sendTook.Seconds(), 1e-3)
	fmt.Fprintf(w, "demo: sent in %s (%.0f items/s); processed in %s\n", sendTook.Round(time.Millisecond), rate, total.Round(time.Millisecond))
	if len(truth.Defects) > 0 {
		fmt.Fprintf(w, "demo: %d planted process defects:\n", len(truth.Defects))
		for _, d := range truth.Defects {
			var subj []string
			for _, k := range slices.Sorted(maps.Keys(d.Subject)) {
				subj = append(subj, k+"="+d.Subject[k])
			}
			fmt.Fprintf(w, "  %-19s %-17s %s..%s %5d contacts  %s\n", d.Key, d.Reason, d.FirstDate, d.FixDate, len(d.ContactIDs), strings.Join(subj, " "))
		}
	}
	if opts.truthPath != "" {
		fmt.Fprintf(w, "demo: ground truth written to %s\n", opts.truthPath)
	}
}

// fast sends every day as fast as the server takes it: the day's orders,
// then its contacts, in batches with a few requests in flight.
func (s *demoSender) fast(ctx context.Context, gen *demo.Generator) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		day, ok := gen.Next()
		if !ok {
			break
		}
		for b := range slices.Chunk(day.Orders, s.opts.batch) {
			s.send(ctx, cancel, "/v1/orders", b, nil)
		}
		for b := range slices.Chunk(day.Contacts, s.opts.batch) {
			s.send(ctx, cancel, "/v1/contacts", b, b)
		}
		if s.firstErr() != nil || ctx.Err() != nil {
			break
		}
		if (day.Index+1)%10 == 0 || day.Index+1 == gen.Config().Days {
			s.mu.Lock()
			fmt.Fprintf(s.stderr, "demo: day %d/%d: %d orders and %d contacts sent\n", day.Index+1, gen.Config().Days, s.sent.orders, s.sent.contacts)
			s.mu.Unlock()
		}
	}
	s.wg.Wait()
	if err := s.firstErr(); err != nil {
		return err
	}
	return ctx.Err()
}

func (s *demoSender) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// send posts one batch in the background; contacts, when not nil, are the
// batch's contacts, whose server ids are recorded for the truth.
func (s *demoSender) send(ctx context.Context, cancel context.CancelFunc, path string, batch any, contacts []demo.Contact) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	s.wg.Add(1)
	go func() {
		defer func() { <-s.sem; s.wg.Done() }()
		res, err := postWithRetry(ctx, s.client, path, "application/json", batch)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			if s.err == nil {
				s.err = fmt.Errorf("POST %s: %w", path, err)
				cancel()
			}
			return
		}
		s.record(path, res, contacts)
	}()
}

// record counts an answer; s.mu is held.
func (s *demoSender) record(path string, res ingestAnswer, contacts []demo.Contact) {
	if path == "/v1/orders" {
		s.sent.orders += res.Accepted + res.Duplicates
	} else {
		s.sent.contacts += res.Accepted + res.Duplicates
	}
	s.sent.duplicates += res.Duplicates
	for i, c := range contacts {
		if c.Truth.Defect != "" && i < len(res.IDs) {
			s.ids[c.ExternalID] = res.IDs[i]
		}
	}
}

// liveSuffix makes the ids of a live run its own, so that a demonstration
// never collides with a backfill of the same seed.
func (s *demoSender) liveSuffix(id string) string { return id + "-live" + s.liveRun }

// live sends the history at opts.live contacts a second, with the orders
// between them, every item stamped with the time it is sent.
func (s *demoSender) live(ctx context.Context, gen *demo.Generator) error {
	s.liveRun = strconv.FormatInt(time.Now().Unix(), 36)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	sentContacts := 0
	var orders []demo.Order
	var contacts []demo.Contact
	var day demo.Day
	oi, ci := 0, 0
	more := true
	for more {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		due := int(time.Since(began).Seconds() * s.opts.live)
		now := time.Now().UTC().Truncate(time.Second)
		for sentContacts+len(contacts) < due {
			if oi >= len(day.Orders) && ci >= len(day.Contacts) {
				if day, more = gen.Next(); !more {
					break
				}
				oi, ci = 0, 0
				continue
			}
			// Take the earlier of the next order and the next contact.
			if oi < len(day.Orders) && (ci >= len(day.Contacts) || !day.Orders[oi].PlacedAt.After(day.Contacts[ci].ReceivedAt)) {
				o := day.Orders[oi]
				oi++
				o.OrderID, o.PlacedAt = s.liveSuffix(o.OrderID), now
				orders = append(orders, o)
				continue
			}
			c := day.Contacts[ci]
			ci++
			c.ExternalID, c.ReceivedAt = s.liveSuffix(c.ExternalID), now
			if c.OrderID != "" {
				c.OrderID = s.liveSuffix(c.OrderID)
			}
			contacts = append(contacts, c)
		}
		for b := range slices.Chunk(orders, s.opts.batch) {
			res, err := postWithRetry(ctx, s.client, "/v1/orders", "application/json", b)
			if err != nil {
				return fmt.Errorf("POST /v1/orders: %w", err)
			}
			s.record("/v1/orders", res, nil)
		}
		for b := range slices.Chunk(contacts, s.opts.batch) {
			res, err := postWithRetry(ctx, s.client, "/v1/contacts", "application/json", b)
			if err != nil {
				return fmt.Errorf("POST /v1/contacts: %w", err)
			}
			s.record("/v1/contacts", res, b)
		}
		sentContacts += len(contacts)
		orders, contacts = orders[:0], contacts[:0]
	}
	return nil
}

// liveTruth renames the ids of a truth the way live mode renamed them.
func liveTruth(t demo.Truth, rename func(string) string) demo.Truth {
	for i := range t.Defects {
		ids := make([]string, len(t.Defects[i].ContactIDs))
		for j, id := range t.Defects[i].ContactIDs {
			ids[j] = rename(id)
		}
		t.Defects[i].ContactIDs = ids
	}
	reps := make([]demo.RepeatTruth, len(t.Repeats))
	for i, r := range t.Repeats {
		reps[i] = r
		reps[i].ContactID, reps[i].RepeatOf = rename(r.ContactID), rename(r.RepeatOf)
	}
	t.Repeats = reps
	return t
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic replaces path with data so that a reader never sees half
// a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// demoMetadataKeys are the metadata keys the generator writes, as columns
// of the CSV files.
func demoMetadataKeys() []string {
	return []string{"carrier", "region", "warehouse", "supplier", "reason_detail", "payment_method",
		"app_version", "platform", "page", "promo_code", "campaign", "agent", "feature"}
}

// demoToFiles writes the history as files that `nocontact import` reads
// without a mapping.
func demoToFiles(opts demoOptions, stdout io.Writer) error {
	gen, err := demo.New(opts.gen)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(opts.out, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ordersPath := filepath.Join(opts.out, "orders."+opts.format)
	contactsPath := filepath.Join(opts.out, "contacts."+opts.format)
	of, err := os.Create(ordersPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer of.Close()
	cf, err := os.Create(contactsPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer cf.Close()
	ow, cw := bufio.NewWriterSize(of, 1<<20), bufio.NewWriterSize(cf, 1<<20)
	var writeOrder func(demo.Order) error
	var writeContact func(demo.Contact) error
	var flush func() error
	if opts.format == "csv" {
		oc, cc := csv.NewWriter(ow), csv.NewWriter(cw)
		if err := oc.Write([]string{"order_id", "placed_at", "customer_id", "products", "channel", "amount", "currency", "source"}); err != nil {
			return err
		}
		head := []string{"external_id", "source", "channel", "received_at", "customer_id", "order_id", "product", "locale", "subject", "text", "handle_seconds"}
		mdKeys := demoMetadataKeys()
		for _, k := range mdKeys {
			head = append(head, "metadata."+k)
		}
		if err := cc.Write(head); err != nil {
			return err
		}
		writeOrder = func(o demo.Order) error {
			return oc.Write([]string{o.OrderID, o.PlacedAt.Format(time.RFC3339), o.CustomerID, strings.Join(o.Products, "|"),
				o.Channel, strconv.FormatFloat(o.Amount, 'f', 2, 64), o.Currency, o.Source})
		}
		row := make([]string, 0, len(head))
		writeContact = func(c demo.Contact) error {
			row = append(row[:0], c.ExternalID, c.Source, c.Channel, c.ReceivedAt.Format(time.RFC3339), c.CustomerID, c.OrderID,
				c.Product, c.Locale, c.Subject, c.Text, strconv.FormatFloat(c.HandleSeconds, 'f', -1, 64))
			for _, k := range mdKeys {
				row = append(row, c.Metadata[k])
			}
			return cc.Write(row)
		}
		flush = func() error {
			oc.Flush()
			cc.Flush()
			return errors.Join(oc.Error(), cc.Error())
		}
	} else {
		oe, ce := json.NewEncoder(ow), json.NewEncoder(cw)
		oe.SetEscapeHTML(false)
		ce.SetEscapeHTML(false)
		writeOrder = func(o demo.Order) error { return oe.Encode(o) }
		writeContact = func(c demo.Contact) error { return ce.Encode(c) }
		flush = func() error { return nil }
	}
	for {
		day, ok := gen.Next()
		if !ok {
			break
		}
		for _, o := range day.Orders {
			if err := writeOrder(o); err != nil {
				return fmt.Errorf("demo: write %s: %w", ordersPath, err)
			}
		}
		for _, c := range day.Contacts {
			if err := writeContact(c); err != nil {
				return fmt.Errorf("demo: write %s: %w", contactsPath, err)
			}
		}
	}
	if err := errors.Join(flush(), ow.Flush(), cw.Flush(), of.Close(), cf.Close()); err != nil {
		return fmt.Errorf("demo: write files: %w", err)
	}
	truth := gen.Truth()
	if opts.truthPath != "" {
		if err := writeJSONFile(opts.truthPath, truth); err != nil {
			return fmt.Errorf("demo: write truth: %w", err)
		}
	}
	fmt.Fprintf(stdout, "demo: wrote %d orders to %s and %d contacts to %s\n", truth.Orders, ordersPath, truth.Contacts, contactsPath)
	return nil
}

// serveDemo feeds the demo history into a server started by `serve --demo`:
// with the admin token of NOCONTACT_ADMIN_TOKEN when there is one, else with
// a temporary ingest token that is revoked when the demo is done.
func serveDemo(ctx context.Context, s *server, opts demoOptions, stderr io.Writer) {
	if err := opts.resolve(time.Now()); err != nil {
		fmt.Fprintln(stderr, "nocontact: serve --demo:", err)
		return
	}
	token := s.cfg.AdminToken
	if token == "" {
		token = auth.NewToken()
		if err := s.tokens.Put(ctx, token, auth.Principal{Name: "serve-demo", Role: auth.RoleIngest}); err != nil {
			fmt.Fprintln(stderr, "nocontact: serve --demo:", err)
			return
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = s.tokens.Revoke(rctx, auth.Hash(token))
		}()
	}
	client := newClient(clientFlags{url: "http://" + s.Addr(), token: token})
	if _, err := runDemoAgainst(ctx, client, opts, stderr, stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "nocontact: serve --demo:", err)
	}
}

// defaultDemoOptions are the options of `serve --demo`: the standard
// history, idempotent across restarts for the same day.
func defaultDemoOptions() demoOptions {
	return demoOptions{
		gen:   demo.Config{Seed: 1, Days: demo.DefaultDays, OrdersPerDay: demo.DefaultOrdersPerDay, Source: demo.DefaultSource},
		batch: 1000, parallel: 3, format: "jsonl", waitTimeout: 30 * time.Minute,
	}
}
