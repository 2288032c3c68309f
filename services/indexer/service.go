// Package indexer keeps the searchable contact index: it consumes tagged
// and relabeled contacts, masks personal data, indexes them in Bleve in
// batches, and answers GET /v1/contacts. The index is a projection of the
// CONTACTS stream: deleting its directory rebuilds it on the next start.
package indexer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/pkg/textproc"
)

// Config configures the indexer.
type Config struct {
	// Dir is the Bleve index directory (e.g. data/index/contacts.bleve).
	Dir string
	// Durable is the consumer name (default "indexer"). Every replica of
	// the indexer keeps a whole index of its own, so replicas need
	// distinct names.
	Durable string
	// Batch is how many contacts go into one Bleve batch (default 500).
	Batch int
	// AckWait is how long a batch may take before NATS redelivers it
	// (default 60s).
	AckWait time.Duration
}

// Deps are the indexer's connections.
type Deps struct {
	Bus      *bus.Bus
	Taxonomy *taxonomy.Taxonomy
	Metrics  *bus.Metrics
	Log      zerolog.Logger
	Registry prometheus.Registerer
}

// Service is the indexer.
type Service struct {
	cfg    Config
	deps   Deps
	ix     *Index
	runner *bus.Runner
	log    zerolog.Logger
}

// New opens (or creates) the index and provisions the consumer. A missing
// or unreadable index is created afresh and the consumer is reset, so the
// whole stream is indexed again.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("indexer: no index directory")
	}
	if cfg.Durable == "" {
		cfg.Durable = "indexer"
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	log := deps.Log.With().Str("service", "indexer").Logger()
	ix, err := Open(cfg.Dir)
	if errors.Is(err, ErrCorrupt) {
		log.Warn().Err(err).Str("dir", cfg.Dir).Msg("contact index unreadable, rebuilding it from the stream")
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return nil, fmt.Errorf("indexer: remove %s: %w", cfg.Dir, err)
		}
		ix, err = Open(cfg.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("indexer: %w", err)
	}
	if ix.Created() {
		err := deps.Bus.JS.DeleteConsumer(ctx, deps.Bus.Stream(bus.StreamContacts), cfg.Durable)
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			_ = ix.Close()
			return nil, fmt.Errorf("indexer: reset consumer: %w", err)
		}
		log.Info().Str("dir", cfg.Dir).Msg("indexing contacts from the start of the stream")
	}
	s := &Service{cfg: cfg, deps: deps, ix: ix, log: log}
	r, err := deps.Bus.NewRunner(ctx, bus.ConsumerConfig{
		Service:        "indexer",
		Durable:        cfg.Durable,
		Stream:         bus.StreamContacts,
		FilterSubjects: []string{deps.Bus.Subjects.ContactTagged, deps.Bus.Subjects.ContactRelabeled},
		Batch:          cfg.Batch,
		AckWait:        cfg.AckWait,
	}, s.handle, deps.Metrics, log)
	if err != nil {
		_ = ix.Close()
		return nil, err
	}
	s.runner = r
	deps.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nocontact_indexer_documents", Help: "Contacts in the search index.",
	}, func() float64 {
		n, _ := ix.Count()
		return float64(n)
	}))
	return s, nil
}

// Run indexes until ctx ends, then closes the index.
func (s *Service) Run(ctx context.Context) error {
	err := s.runner.Run(ctx)
	if cerr := s.ix.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Index exposes the underlying index (benchmarks compare against it).
func (s *Service) Index() *Index { return s.ix }

// DocFor builds the indexed document of a tagged contact, with personal
// data masked.
func DocFor(c *pb.Contact, tag *pb.Tag, tax *taxonomy.Taxonomy) Doc {
	d := Doc{
		ID:         c.GetId(),
		Channel:    c.GetChannel(),
		Locale:     c.GetLocale(),
		Source:     c.GetSource(),
		Product:    c.GetProduct(),
		CustomerID: c.GetCustomerId(),
		OrderID:    c.GetOrderId(),
		ReceivedAt: c.GetReceivedAt().AsTime(),
		Subject:    textproc.MaskPII(c.GetSubject()),
		Text:       textproc.MaskPII(c.GetText()),
	}
	if tag != nil {
		d.Reason = tag.Reason
		d.Method = tag.Method.Short()
		d.Confidence = tag.Confidence
		if tax != nil {
			if root, ok := tax.Root(tag.Reason); ok {
				d.ReasonParent = root.Code
			}
		}
	}
	return d
}

func (s *Service) handle(ctx context.Context, batch []jetstream.Msg) []error {
	errs := make([]error, len(batch))
	docs := make([]Doc, 0, len(batch))
	// A batch can hold a tag and a later relabel of the same contact: the
	// last event of a contact wins.
	pos := map[string]int{}
	add := func(i int, d Doc) {
		if err := d.Validate(); err != nil {
			errs[i] = bus.Permanent(err)
			return
		}
		if i, ok := pos[d.ID]; ok {
			docs[i] = d
			return
		}
		pos[d.ID] = len(docs)
		docs = append(docs, d)
	}
	for i, msg := range batch {
		switch {
		case strings.HasSuffix(msg.Subject(), ".contact.relabeled"):
			var ev pb.ContactRelabeled
			if errs[i] = bus.Decode(msg, &ev); errs[i] != nil {
				continue
			}
			if ev.Contact == nil || ev.Contact.Id == "" || ev.Tag == nil {
				errs[i] = bus.Permanent(errors.New("relabel without contact or tag"))
				continue
			}
			add(i, DocFor(ev.Contact, ev.Tag, s.deps.Taxonomy))
		default:
			var ev pb.ContactTagged
			if errs[i] = bus.Decode(msg, &ev); errs[i] != nil {
				continue
			}
			if ev.Contact == nil || ev.Contact.Id == "" {
				errs[i] = bus.Permanent(errors.New("tagged event without contact id"))
				continue
			}
			add(i, DocFor(ev.Contact, ev.Tag, s.deps.Taxonomy))
		}
	}
	if err := s.ix.Index(docs); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// Routes registers GET /v1/contacts.
func (s *Service) Routes(r *httpx.Router) {
	r.HandleFunc("GET /v1/contacts", []auth.Role{auth.RoleOps, auth.RoleAgent}, s.search)
}

// SearchResponse is the JSON answer of GET /v1/contacts.
type SearchResponse struct {
	Total      uint64                  `json:"total"`
	Hits       []SearchHit             `json:"hits"`
	Facets     map[string][]FacetCount `json:"facets"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

// SearchHit is one contact in a search answer.
type SearchHit struct {
	ID         string    `json:"id"`
	Reason     string    `json:"reason"`
	Method     string    `json:"method,omitempty"`
	Confidence float64   `json:"confidence"`
	Channel    string    `json:"channel"`
	Locale     string    `json:"locale,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Subject    string    `json:"subject,omitempty"`
	Text       string    `json:"text"`
	Score      float64   `json:"score,omitempty"`
	Highlights []string  `json:"highlights,omitempty"`
}

func (s *Service) search(w http.ResponseWriter, r *http.Request) {
	q, herr := parseQuery(r)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	q.NoFacets = q.Cursor != ""
	res, err := s.ix.Search(r.Context(), q)
	if err != nil {
		if errors.Is(err, ErrBadCursor) {
			httpx.BadRequest(w, "cursor", "cursor is not valid for this query; start again without it")
			return
		}
		s.log.Error().Err(err).Msg("search")
		httpx.Internal(w)
		return
	}
	out := SearchResponse{Total: res.Total, Hits: make([]SearchHit, 0, len(res.Hits)), Facets: res.Facets, NextCursor: res.NextCursor}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, SearchHit{
			ID: h.ID, Reason: h.Reason, Method: h.Method, Confidence: h.Confidence, Channel: h.Channel, Locale: h.Locale, ReceivedAt: h.ReceivedAt,
			Subject: h.Subject, Text: h.Text, Score: h.Score, Highlights: h.Highlights,
		})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func parseQuery(r *http.Request) (Query, *httpx.Error) {
	v := r.URL.Query()
	for key := range v {
		switch key {
		case "q", "reason", "channel", "locale", "source", "product", "from", "to", "limit", "cursor":
		default:
			return Query{}, httpx.Errorf(http.StatusBadRequest, "unknown_parameter", key, "unknown query parameter "+strconv.Quote(key))
		}
	}
	q := Query{
		Q: v.Get("q"), Reason: v.Get("reason"), Channel: v.Get("channel"), Locale: v.Get("locale"),
		Source: v.Get("source"), Product: v.Get("product"), Cursor: v.Get("cursor"),
	}
	if len(q.Q) > 1000 {
		return q, httpx.Errorf(http.StatusBadRequest, "too_long", "q", "q is longer than 1000 bytes")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return q, httpx.Errorf(http.StatusBadRequest, "invalid_value", "limit", "limit must be a whole number from 1 to 200")
		}
		q.Limit = n
	}
	var err error
	if q.From, err = ParseTime(v.Get("from")); err != nil {
		return q, httpx.Errorf(http.StatusBadRequest, "invalid_value", "from", "from: "+err.Error())
	}
	if q.To, err = ParseTime(v.Get("to")); err != nil {
		return q, httpx.Errorf(http.StatusBadRequest, "invalid_value", "to", "to: "+err.Error())
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, httpx.Errorf(http.StatusBadRequest, "invalid_value", "to", "to must be after from")
	}
	return q, nil
}

// ParseTime accepts RFC 3339 or a date (YYYY-MM-DD, midnight UTC); "" is
// the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}
