// Package ingest is the front door: it accepts contacts and orders over
// HTTP (and from the importers), validates them strictly, deduplicates by
// (source, external id) across restarts, and publishes them on the bus.
package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/textproc"
)

// Config configures the ingest service.
type Config struct {
	// Limits bound one request (items, bytes, text length).
	Limits Limits
}

// Deps are the connections the service uses.
type Deps struct {
	Bus      *bus.Bus
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the ingest service.
type Service struct {
	cfg      Config
	bus      *bus.Bus
	contacts jetstream.KeyValue
	orders   jetstream.KeyValue
	log      zerolog.Logger
	now      func() time.Time
	items    *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

// New returns the ingest service.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg.Limits = cfg.Limits.WithDefaults()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	contacts, err := deps.Bus.KeyValue(ctx, bus.BucketContactIDs)
	if err != nil {
		return nil, err
	}
	orders, err := deps.Bus.KeyValue(ctx, bus.BucketOrderIDs)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, bus: deps.Bus, contacts: contacts, orders: orders,
		log: deps.Log.With().Str("service", "ingest").Logger(), now: deps.Now,
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_ingest_items_total", Help: "Contacts and orders received, by kind and result (accepted, duplicate).",
		}, []string{"kind", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_ingest_rejected_requests_total", Help: "Ingest requests rejected, by kind and error code.",
		}, []string{"kind", "code"}),
	}
	deps.Registry.MustRegister(s.items, s.rejected)
	return s, nil
}

// Run has no background work: ingest is driven by requests.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Routes registers POST /v1/contacts and POST /v1/orders.
func (s *Service) Routes(r *httpx.Router) {
	writers := []auth.Role{auth.RoleOps, auth.RoleAgent, auth.RoleIngest}
	r.HandleFunc("POST /v1/contacts", writers, s.postContacts)
	r.HandleFunc("POST /v1/orders", writers, s.postOrders)
}

// Result is the answer to an ingest request.
type Result struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	IDs        []string `json:"ids"`
}

func (s *Service) body(w http.ResponseWriter, r *http.Request) *http.Request {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxBytes+1)
	return r
}

func (s *Service) reject(w http.ResponseWriter, kind string, err error) {
	var ie *InputError
	if errors.As(err, &ie) {
		s.rejected.WithLabelValues(kind, ie.Code).Inc()
		he := httpx.Errorf(ie.Status, ie.Code, ie.Field, ie.Message)
		if ie.Item >= 0 {
			item := ie.Item
			he.Item = &item
		}
		httpx.WriteError(w, he)
		return
	}
	s.log.Error().Err(err).Str("kind", kind).Msg("ingest")
	httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "could not store the request; nothing was accepted, retry later"))
}

func (s *Service) postContacts(w http.ResponseWriter, r *http.Request) {
	s.body(w, r)
	contacts, err := DecodeContacts(r.Header.Get("Content-Type"), r.Body, s.cfg.Limits, s.now)
	if err != nil {
		s.reject(w, "contact", asInputError(err))
		return
	}
	res, err := s.IngestContacts(r.Context(), contacts)
	if err != nil {
		s.reject(w, "contact", err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, res)
}

func (s *Service) postOrders(w http.ResponseWriter, r *http.Request) {
	s.body(w, r)
	orders, err := DecodeOrders(r.Header.Get("Content-Type"), r.Body, s.cfg.Limits, s.now)
	if err != nil {
		s.reject(w, "order", asInputError(err))
		return
	}
	res, err := s.IngestOrders(r.Context(), orders)
	if err != nil {
		s.reject(w, "order", err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, res)
}

// asInputError turns a failure to read the request body (the client went
// away or stalled) into a client error: the request is not the server's
// fault and nothing was accepted.
func asInputError(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return err
	}
	return &InputError{Status: http.StatusBadRequest, Code: "read_error", Item: -1, Message: "could not read the request body: " + err.Error()}
}

// DedupKey is the bucket key of an item: a hash, because external ids may
// hold characters keys cannot.
func DedupKey(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// Claims in the dedup buckets are "p:<id>" while the item is being
// published and "<id>" once it is stored in the stream, so that an item
// whose publish failed (or whose process died) is published on its retry
// instead of being reported as a duplicate forever.
const pendingPrefix = "p:"

type claim struct {
	key      string
	id       string
	revision uint64
	// duplicate: the key existed and its item was published before.
	duplicate bool
	// copyOf is 1 + the index of an earlier item of the same request with
	// the same key (0: none).
	copyOf int
}

// claimAll atomically claims the dedup key of every item, with pipelined
// writes. keys[i] == "" means the item has no external id.
func (s *Service) claimAll(ctx context.Context, bucket string, kv jetstream.KeyValue, keys []string, newID func(i int) string) ([]claim, error) {
	claims := make([]claim, len(keys))
	first := map[string]int{}
	var writes []bus.KeyWrite
	var at []int
	for i, key := range keys {
		claims[i] = claim{key: key, id: newID(i)}
		if key == "" {
			continue
		}
		if j, ok := first[key]; ok {
			// The same item twice in one request: the later copies are duplicates.
			claims[i] = claim{key: key, duplicate: true, copyOf: j + 1}
			continue
		}
		first[key] = i
		writes = append(writes, bus.KeyWrite{Key: key, Value: []byte(pendingPrefix + claims[i].id)})
		at = append(at, i)
	}
	var conflicts []int
	for n, r := range s.bus.WriteKeys(ctx, bucket, writes) {
		i := at[n]
		switch {
		case r.Err != nil:
			return nil, fmt.Errorf("claim %s: %w", keys[i], r.Err)
		case r.Conflict:
			conflicts = append(conflicts, i)
		default:
			claims[i].revision = r.Revision
		}
	}
	// Keys claimed before: read what they hold, a few at a time.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 32)
	for _, i := range conflicts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.readClaim(ctx, kv, &claims[i])
			if err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for i := range claims {
		if j := claims[i].copyOf; j > 0 {
			claims[i].id = claims[j-1].id
		}
	}
	return claims, nil
}

// readClaim fills c from an existing claim.
func (s *Service) readClaim(ctx context.Context, kv jetstream.KeyValue, c *claim) error {
	e, err := kv.Get(ctx, c.key)
	if err != nil {
		return fmt.Errorf("read claim %s: %w", c.key, err)
	}
	v := string(e.Value())
	if id, pending := strings.CutPrefix(v, pendingPrefix); pending {
		// An earlier attempt claimed it but may not have published:
		// publish again under the same id (JetStream drops the copy if the
		// first publish did land within its duplicate window).
		c.id, c.revision = id, e.Revision()
		return nil
	}
	c.id, c.duplicate = v, true
	return nil
}

// confirm marks claims as published. A failure is harmless: a later
// duplicate re-publishes under the same id and confirms then.
func (s *Service) confirm(ctx context.Context, bucket string, claims []claim) {
	var writes []bus.KeyWrite
	for _, c := range claims {
		if c.key != "" && !c.duplicate && c.revision != 0 {
			writes = append(writes, bus.KeyWrite{Key: c.key, Value: []byte(c.id), Revision: c.revision})
		}
	}
	for n, r := range s.bus.WriteKeys(ctx, bucket, writes) {
		if r.Err != nil || r.Conflict {
			s.log.Warn().Err(r.Err).Bool("conflict", r.Conflict).Str("key", writes[n].Key).Msg("confirm claim")
		}
	}
}

// IngestContacts deduplicates and publishes validated contacts, filling in
// ids and the detected locale. The importers call it too.
func (s *Service) IngestContacts(ctx context.Context, contacts []*pb.Contact) (Result, error) {
	now := s.now()
	keys := make([]string, len(contacts))
	for i, c := range contacts {
		if c.ExternalId != "" {
			keys[i] = DedupKey(c.Source, c.ExternalId)
		}
	}
	claims, err := s.claimAll(ctx, bus.BucketContactIDs, s.contacts, keys, func(int) string { return bus.NewIDAt(now) })
	if err != nil {
		return Result{}, err
	}
	res := Result{IDs: make([]string, len(contacts))}
	events := make([]bus.Event, 0, len(contacts))
	ts := timestamppb.New(now)
	for i, c := range contacts {
		cl := claims[i]
		res.IDs[i] = cl.id
		if cl.duplicate {
			res.Duplicates++
			continue
		}
		res.Accepted++
		c.Id = cl.id
		c.IngestedAt = ts
		if c.Locale == "" {
			c.Locale = textproc.DetectLocale(c.Subject + " " + c.Text)
		}
		events = append(events, bus.Event{
			Subject: s.bus.Subjects.ContactReceived,
			ID:      c.Id,
			Msg: &pb.ContactReceived{
				Meta:    &pb.EventMeta{EventId: c.Id, OccurredAt: ts, SchemaVersion: 1, Producer: "ingest"},
				Contact: c,
			},
		})
	}
	if err := s.bus.Publish(ctx, events...); err != nil {
		return Result{}, err
	}
	s.confirm(ctx, bus.BucketContactIDs, claims)
	s.items.WithLabelValues("contact", "accepted").Add(float64(res.Accepted))
	s.items.WithLabelValues("contact", "duplicate").Add(float64(res.Duplicates))
	return res, nil
}

// IngestOrders deduplicates orders by (source, order_id) and publishes
// the new ones. The ids answered are the order ids.
func (s *Service) IngestOrders(ctx context.Context, orders []*pb.Order) (Result, error) {
	now := s.now()
	keys := make([]string, len(orders))
	for i, o := range orders {
		keys[i] = DedupKey(o.Source, o.OrderId)
	}
	claims, err := s.claimAll(ctx, bus.BucketOrderIDs, s.orders, keys, func(i int) string { return orders[i].OrderId })
	if err != nil {
		return Result{}, err
	}
	res := Result{IDs: make([]string, len(orders))}
	events := make([]bus.Event, 0, len(orders))
	ts := timestamppb.New(now)
	for i, o := range orders {
		res.IDs[i] = o.OrderId
		if claims[i].duplicate {
			res.Duplicates++
			continue
		}
		res.Accepted++
		o.IngestedAt = ts
		id := "order:" + keys[i]
		events = append(events, bus.Event{
			Subject: s.bus.Subjects.OrderCreated,
			ID:      id,
			Msg: &pb.OrderCreated{
				Meta:  &pb.EventMeta{EventId: id, OccurredAt: ts, SchemaVersion: 1, Producer: "ingest"},
				Order: o,
			},
		})
	}
	if err := s.bus.Publish(ctx, events...); err != nil {
		return Result{}, err
	}
	s.confirm(ctx, bus.BucketOrderIDs, claims)
	s.items.WithLabelValues("order", "accepted").Add(float64(res.Accepted))
	s.items.WithLabelValues("order", "duplicate").Add(float64(res.Duplicates))
	return res, nil
}
