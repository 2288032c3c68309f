// Package faq is the self-service help centre: FAQ articles (CRUD and
// nc.article.* events), search in English and Chinese, "was this
// helpful?" feedback, gaps, escalation to a person in one step,
// deflection metrics, content cues and known issues, and the public
// help-centre pages.
//
// Its state is a projection of the SELFSERVICE stream (articles,
// searches, feedback, escalations, gaps) and of the contact events
// (deflection, reason volumes), rebuilt by replaying them at start with
// ordered consumers: every replica holds the whole view.
package faq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/services/faq/retrieval"
	"github.com/nocontact/nocontact/services/ingest"
)

// Escalator turns a help-centre request for help into a contact through
// the normal pipeline; *ingest.Service implements it.
type Escalator interface {
	IngestContacts(ctx context.Context, contacts []*pb.Contact) (ingest.Result, error)
}

// Deps are the service's connections.
type Deps struct {
	// Bus is the JetStream connection (required).
	Bus *bus.Bus
	// Taxonomy names reasons and links them to articles (required).
	Taxonomy *taxonomy.Taxonomy
	// Escalator receives escalations (required to serve POST /v1/faq/escalate).
	Escalator Escalator
	// Reasons, when set, ranks a query's reason's articles first and matches
	// gap queries to reasons (a classifier trained on past contacts).
	Reasons retrieval.ReasonScorer
	// KnownIssues lists the public known issues (default: the defects
	// bucket, through DefectNotices).
	KnownIssues KnownIssues
	// Log and Registry are the logger and metrics registry.
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the help centre.
type Service struct {
	// builds numbers the search indexes, for their directories.
	builds atomic.Uint64
	cfg    Config
	deps   Deps
	log    zerolog.Logger
	now    func() time.Time
	subj   subjects
	kinds  map[string]eventKind
	st     *state
	m      *metrics

	snap    atomic.Pointer[snapshot]
	changed chan struct{}
	// ready is set once the articles of the stream are replayed and
	// indexed: before that, searches would miss articles and report
	// false gaps, so they are refused with 503.
	ready atomic.Bool

	// applied is the last SELFSERVICE stream sequence applied to st.
	appliedMu sync.Mutex
	applied   uint64
	appliedC  *sync.Cond

	events chan outEvent
	// notices is the default KnownIssues, watched by Run.
	notices *DefectNotices

	searchLimit, feedbackLimit, escalateLimit, pageLimit *limiter
	pages                                                *pages
}

// snapshot is an immutable search index over the published articles.
type snapshot struct {
	version uint64
	ix      *retrieval.Index
	arts    map[string]*Article
	// plain is each article's body as plain text with runs of space
	// collapsed and its words found, for snippets; terms numbers their
	// words' terms.
	plain map[string]*snippetText
	terms map[string]int32
}

type metrics struct {
	searches   *prometheus.CounterVec
	zeroHits   prometheus.Counter
	feedback   *prometheus.CounterVec
	escalated  prometheus.Counter
	limited    prometheus.Counter
	dropped    prometheus.Counter
	searchTime prometheus.Histogram
	articles   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_faq_searches_total", Help: "Help-centre searches by locale asked for.",
		}, []string{"locale"}),
		zeroHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_faq_zero_hit_searches_total", Help: "Help-centre searches that found no article in any language.",
		}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_faq_feedback_total", Help: "Was-this-helpful votes.",
		}, []string{"helpful"}),
		escalated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_faq_escalations_total", Help: "Help-centre requests for a person (contacts created).",
		}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_faq_rate_limited_total", Help: "Public help-centre requests refused by the per-client rate limit.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nocontact_faq_events_dropped_total", Help: "Search events dropped because the publish queue was full.",
		}),
		searchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nocontact_faq_search_seconds", Help: "Server time of one help-centre search (ranking and snippets).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		articles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nocontact_faq_articles", Help: "Published articles in the search index.",
		}),
	}
	reg.MustRegister(m.searches, m.zeroHits, m.feedback, m.escalated, m.limited, m.dropped, m.searchTime, m.articles)
	return m
}

// New builds the help centre. Call Run to replay the streams and keep
// the state current, and Routes to serve it.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Taxonomy == nil {
		return nil, errors.New("faq: needs a bus and a taxonomy")
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	var notices *DefectNotices
	if deps.KnownIssues == nil {
		notices = NewDefectNotices(deps.Bus, deps.Log.With().Str("service", "faq").Logger())
		deps.KnownIssues = notices
	}
	s := &Service{
		cfg: cfg, deps: deps, log: deps.Log.With().Str("service", "faq").Logger(), now: deps.Now,
		subj: newSubjects(deps.Bus.Subjects.Prefix), st: newState(), m: newMetrics(deps.Registry),
		changed: make(chan struct{}, 1), events: make(chan outEvent, 8192),
	}
	s.appliedC = sync.NewCond(&s.appliedMu)
	s.kinds = s.subj.eventKinds()
	s.notices = notices
	s.searchLimit = newLimiter(cfg.SearchRate, deps.Now)
	s.feedbackLimit = newLimiter(cfg.FeedbackRate, deps.Now)
	s.escalateLimit = newLimiter(cfg.EscalateRate, deps.Now)
	s.pageLimit = newLimiter(cfg.PageRate, deps.Now)
	s.st.maxExamples = 5
	if cfg.Dir != "" {
		// Indexes of an earlier run are rebuilt from the stream.
		old, _ := filepath.Glob(filepath.Join(cfg.Dir, "search-*"))
		for _, d := range old {
			if err := os.RemoveAll(d); err != nil {
				return nil, fmt.Errorf("faq: remove old search index: %w", err)
			}
		}
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("faq: data dir: %w", err)
		}
	}
	s.snap.Store(s.build(0, nil))
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return s, nil
}

// build indexes the published articles.
func (s *Service) build(version uint64, arts []Article) *snapshot {
	byID := make(map[string]*Article, len(arts))
	plain := make(map[string]*snippetText, len(arts))
	sterms := newSnippetTerms()
	docs := make([]retrieval.Article, 0, len(arts))
	for i := range arts {
		a := &arts[i]
		if !a.published() {
			continue
		}
		byID[a.ID] = a
		doc := a.forIndex()
		plain[a.ID] = sterms.prepare(strings.Join(strings.Fields(doc.Body), " "))
		docs = append(docs, doc)
	}
	syn := retrieval.DefaultSynonyms()
	for k, v := range s.cfg.Synonyms {
		syn[k] = append(syn[k], v...)
	}
	opts := s.cfg.FirstStage.Options(retrieval.Options{Weights: s.cfg.Weights, Synonyms: syn, Reasons: s.deps.Reasons, Candidates: s.cfg.Candidates})
	if opts.Bleve && s.cfg.Dir != "" {
		opts.Dir = filepath.Join(s.cfg.Dir, fmt.Sprintf("search-%d", s.builds.Add(1)))
	}
	ix, err := retrieval.New(docs, opts)
	if err != nil {
		// Search keeps working on the in-memory index alone, with its
		// in-memory first stage.
		s.log.Error().Err(err).Msg("bleve search index: ranking with the in-memory first stage instead")
		opts.Bleve = false
		ix = retrieval.Build(docs, opts)
	}
	s.m.articles.Set(float64(ix.Len()))
	return &snapshot{version: version, ix: ix, arts: byID, plain: plain, terms: sterms.ids}
}

// Run replays the self-service and contact streams into the state, keeps
// the search index current and publishes search events, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("faq %s: %w", name, err)
				cancel()
			}
		}()
	}
	goRun("self-service consumer", func(ctx context.Context) error {
		return s.consume(ctx, bus.StreamSelfService, []string{s.deps.Bus.Subjects.Prefix + ".article.>", s.deps.Bus.Subjects.Prefix + ".faq.>"}, true)
	})
	goRun("contact consumer", func(ctx context.Context) error {
		return s.consume(ctx, bus.StreamContacts, []string{s.subj.contactReceived, s.subj.contactTagged, s.subj.contactRelabel}, false)
	})
	goRun("indexer", s.rebuildLoop)
	goRun("warm-up", s.warmUp)
	if s.notices != nil {
		goRun("known issues", s.notices.Run)
	}
	goRun("publisher", s.publishLoop)
	<-ctx.Done()
	s.appliedC.Broadcast()
	wg.Wait()
	if err := s.snap.Load().ix.Close(); err != nil {
		s.log.Warn().Err(err).Msg("close the search index")
	}
	close(errs)
	return <-errs
}

// consume applies every message of a stream's subjects, from the start,
// with an ordered consumer (no acks; each replica reads everything).
func (s *Service) consume(ctx context.Context, stream string, filters []string, selfService bool) error {
	name := s.deps.Bus.Stream(stream)
	var cons jetstream.Consumer
	var err error
	for {
		cons, err = s.deps.Bus.JS.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{
			FilterSubjects: filters, DeliverPolicy: jetstream.DeliverAllPolicy, NamePrefix: s.cfg.ConsumerName,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn().Err(err).Str("stream", name).Msg("ordered consumer, retrying")
		sleepCtx(ctx, time.Second)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn().Err(err).Str("stream", name).Msg("fetch")
			sleepCtx(ctx, 500*time.Millisecond)
			continue
		}
		for msg := range batch.Messages() {
			s.apply(msg)
			if selfService {
				if md, err := msg.Metadata(); err == nil {
					s.setApplied(md.Sequence.Stream)
				}
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn().Err(err).Str("stream", name).Msg("fetch batch")
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *Service) setApplied(seq uint64) {
	s.appliedMu.Lock()
	if seq > s.applied {
		s.applied = seq
	}
	s.appliedMu.Unlock()
	s.appliedC.Broadcast()
}

// waitApplied blocks until the state holds the stream sequence seq (read
// your writes), or ctx ends.
func (s *Service) waitApplied(ctx context.Context, seq uint64) error {
	stop := context.AfterFunc(ctx, func() {
		s.appliedMu.Lock()
		s.appliedC.Broadcast()
		s.appliedMu.Unlock()
	})
	defer stop()
	s.appliedMu.Lock()
	defer s.appliedMu.Unlock()
	for s.applied < seq {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.appliedC.Wait()
	}
	return nil
}

// apply decodes one event and applies it to the state. Undecodable
// events are logged and skipped: the projection cannot fix them.
func (s *Service) apply(msg jetstream.Msg) {
	subj := msg.Subject()
	var err error
	if k, ok := s.kinds[subj]; ok {
		var v any
		if v, err = decodeEvent(k, msg.Headers().Get(bus.HeaderSchema), msg.Data()); err == nil {
			s.applyEvent(v)
		}
	}
	switch subj {
	case s.subj.contactReceived:
		var e pb.ContactReceived
		if err = bus.Decode(msg, &e); err == nil && e.GetContact() != nil {
			c := e.GetContact()
			s.st.applyContact(c.GetId(), c.GetCustomerId(), c.GetMetadata()["help_session"], c.GetReceivedAt().AsTime())
		}
	case s.subj.contactTagged:
		var e pb.ContactTagged
		if err = bus.Decode(msg, &e); err == nil && e.GetContact() != nil {
			c := e.GetContact()
			s.st.applyTag(c.GetId(), e.GetTag().GetReason(), contactText(c))
		}
	case s.subj.contactRelabel:
		var e pb.ContactRelabeled
		if err = bus.Decode(msg, &e); err == nil && e.GetContact() != nil {
			c := e.GetContact()
			s.st.applyTag(c.GetId(), e.GetTag().GetReason(), contactText(c))
		}
	}
	if err != nil {
		s.log.Warn().Err(err).Str("subject", subj).Msg("skip undecodable event")
	}
}

// applyEvent applies a decoded self-service event to the state.
func (s *Service) applyEvent(v any) {
	switch e := v.(type) {
	case ArticleUpserted:
		s.st.upsertArticle(e.Article)
		s.markChanged()
	case ArticleDeleted:
		s.st.deleteArticle(e.ID)
		s.markChanged()
	case Searched:
		s.st.applySearched(e)
	case Feedback:
		s.st.applyFeedback(e)
	case Escalated:
		s.st.applyEscalated(e)
	case Gap:
		s.st.applyGap(e)
	}
}

func contactText(c *pb.Contact) string {
	if c.GetSubject() != "" {
		return c.GetSubject() + ": " + c.GetText()
	}
	return c.GetText()
}

func (s *Service) markChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// warmUp waits until the self-service stream as it was at start is
// applied, indexes the articles and marks the service ready.
func (s *Service) warmUp(ctx context.Context) error {
	str, err := s.deps.Bus.JS.Stream(ctx, s.deps.Bus.Stream(bus.StreamSelfService))
	if err != nil {
		return fmt.Errorf("self-service stream: %w", err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return fmt.Errorf("self-service stream info: %w", err)
	}
	if err := s.waitApplied(ctx, info.State.LastSeq); err != nil {
		return nil
	}
	version, arts, changed := s.st.articlesSince(s.snap.Load().version)
	if changed {
		s.replace(s.build(version, arts))
	}
	s.ready.Store(true)
	s.log.Info().Int("articles", s.snap.Load().ix.Len()).Uint64("events", info.State.LastSeq).Msg("help centre ready")
	return nil
}

// Ready reports whether the help centre has replayed and indexed its
// articles (for readiness probes).
func (s *Service) Ready() error {
	if !s.ready.Load() {
		return errors.New("faq: replaying articles")
	}
	return nil
}

// rebuildLoop rebuilds the search index after article changes, at most
// once per RebuildDelay.
func (s *Service) rebuildLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.changed:
		}
		sleepCtx(ctx, s.cfg.RebuildDelay)
		// Drain a change signalled during the delay: this build covers it.
		select {
		case <-s.changed:
		default:
		}
		cur := s.snap.Load()
		version, arts, changed := s.st.articlesSince(cur.version)
		if !changed {
			continue
		}
		start := time.Now()
		s.replace(s.build(version, arts))
		s.log.Debug().Int("articles", len(arts)).Dur("took", time.Since(start)).Msg("search index rebuilt")
	}
}

// replace serves a new snapshot and closes the previous one's Bleve index:
// searches still on it finish first, later ones rank without its first
// stage.
func (s *Service) replace(n *snapshot) {
	if old := s.snap.Swap(n); old != nil {
		if err := old.ix.Close(); err != nil {
			s.log.Warn().Err(err).Msg("close the previous search index")
		}
	}
}

// indexed waits until the search index covers the current articles.
func (s *Service) indexed(ctx context.Context) error {
	for {
		s.st.mu.RLock()
		v := s.st.version
		s.st.mu.RUnlock()
		if s.snap.Load().version >= v {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// publishLoop publishes queued events (searches, gaps) in batches.
func (s *Service) publishLoop(ctx context.Context) error {
	batch := make([]outEvent, 0, 256)
	for {
		select {
		case <-ctx.Done():
			// Flush what is queued before stopping.
			for {
				select {
				case ev := <-s.events:
					batch = append(batch, ev)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := s.publish(pctx, batch...); err != nil {
					s.log.Warn().Err(err).Int("events", len(batch)).Msg("publish self-service events at stop")
				}
				cancel()
			}
			return nil
		case ev := <-s.events:
			batch = append(batch[:0], ev)
		}
	more:
		for len(batch) < cap(batch) {
			select {
			case ev := <-s.events:
				batch = append(batch, ev)
			default:
				break more
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.publish(pctx, batch...); err != nil {
			s.log.Warn().Err(err).Int("events", len(batch)).Msg("publish self-service events")
		}
		cancel()
	}
}

// enqueue queues an event for the publisher; when the queue is full the
// event is dropped and counted (search analytics must never slow down or
// fail a search).
func (s *Service) enqueue(subject string, v any, id string) {
	select {
	case s.events <- outEvent{subject: subject, id: id, v: v}:
	default:
		s.m.dropped.Inc()
	}
}

// outEvent is one self-service event to publish, in its domain form.
type outEvent struct {
	subject string
	// id is sent as Nats-Msg-Id, so a retried publish is stored once.
	id string
	v  any
}

// publish publishes events as protobuf and waits for JetStream to store
// them.
func (s *Service) publish(ctx context.Context, events ...outEvent) error {
	_, err := s.publishAcks(ctx, events...)
	return err
}

// publishAcks is publish that returns the stream sequence of the last
// event.
func (s *Service) publishAcks(ctx context.Context, events ...outEvent) (uint64, error) {
	out := make([]bus.Event, len(events))
	for i, ev := range events {
		m, err := toProto(ev.v)
		if err != nil {
			return 0, err
		}
		out[i] = bus.Event{Subject: ev.subject, ID: ev.id, Msg: m}
	}
	acks, err := s.deps.Bus.PublishAcks(ctx, out...)
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, a := range acks {
		last = max(last, a.Sequence)
	}
	return last, nil
}

func (s *Service) meta() Meta {
	now := s.now().UTC()
	return Meta{EventID: bus.NewIDAt(now), OccurredAt: now, Producer: "faq"}
}
