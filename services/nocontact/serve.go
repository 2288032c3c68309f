package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	oklog "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/classify"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/obs"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/services/analytics"
	"github.com/nocontact/nocontact/services/defects"
	"github.com/nocontact/nocontact/services/faq"
	"github.com/nocontact/nocontact/services/faq/retrieval"
	"github.com/nocontact/nocontact/services/indexer"
	"github.com/nocontact/nocontact/services/ingest"
	"github.com/nocontact/nocontact/services/tagger"
)

// allServices are the services `serve` runs, in start order.
var allServices = []string{"ingest", "tagger", "indexer", "defects", "analytics", "faq"}

// serveConfig is everything `nocontact serve` is told.
type serveConfig struct {
	HTTP                   string
	Data                   string
	NATS                   string
	NATSCreds              string
	NATSTLSCert            string
	NATSTLSKey             string
	NATSTLSCA              string
	NATSListen             string
	Only                   string
	Taxonomy               string
	SubjectPrefix          string
	LogLevel               string
	LogFormat              string
	MaxItems               int
	MaxBodyBytes           int64
	IndexerDurable         string
	RuleConfidence         float64
	AckWait                time.Duration
	StreamReplicas         int
	ModelConfidence        float64
	RetrainEvery           time.Duration
	AnalyticsDurable       string
	TimeZone               string
	AnalyticsSnapshotEvery time.Duration
	CostPerMinute          float64
	RepeatWindow           time.Duration
	ExpectedResponse       time.Duration
	DeflectionWindow       time.Duration
	TrustProxy             bool
	// FAQFirstStage is the help centre's first search stage (empty:
	// bleve, its index in <data>/index/faq).
	FAQFirstStage retrieval.FirstStage
	// AndonWebhooks are the URLs andon alerts are POSTed to.
	AndonWebhooks []string
	// AndonPerHour pulls the andon cord when an open defect gets this many
	// contacts within an hour.
	AndonPerHour int
	// DefectSensitivity scales the significance every defect-opening test
	// needs (1: the defaults).
	DefectSensitivity float64
	// AndonSecret signs andon webhooks; it comes from
	// NOCONTACT_ANDON_SECRET only (never a flag).
	AndonSecret string
	// AdminToken comes from NOCONTACT_ADMIN_TOKEN only (never a flag, so
	// it does not show in process listings).
	AdminToken string
	// Demo feeds the standard demo history (`nocontact demo` defaults) into
	// the server in the background once it runs.
	Demo bool
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTP, "http", "127.0.0.1:8080", "HTTP listen `address`")
	fs.StringVar(&c.Data, "data", "./data", "data `directory` (JetStream store, indexes)")
	fs.StringVar(&c.NATS, "nats", "", "external NATS `URL[,URL]`; empty starts an embedded server")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "NATS credentials `file`")
	fs.StringVar(&c.NATSTLSCert, "nats-tls-cert", "", "NATS client certificate `file`")
	fs.StringVar(&c.NATSTLSKey, "nats-tls-key", "", "NATS client key `file`")
	fs.StringVar(&c.NATSTLSCA, "nats-tls-ca", "", "CA `file` to verify NATS servers")
	fs.StringVar(&c.NATSListen, "nats-listen", "", "let other processes reach the embedded NATS at `host:port` (off by default)")
	fs.StringVar(&c.Only, "only", "", "run only these `services` (comma-separated: "+strings.Join(allServices, ",")+")")
	fs.StringVar(&c.Taxonomy, "taxonomy", "", "reason taxonomy YAML `file` (default: the built-in e-commerce taxonomy)")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", "nc", "first `token` of every NATS subject")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `level`: trace, debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log `format`: json, console, auto (console on a terminal)")
	fs.IntVar(&c.MaxItems, "max-items", 10000, "most items in one ingest request")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 10<<20, "largest ingest request body in `bytes`")
	fs.StringVar(&c.IndexerDurable, "indexer-durable", "indexer", "consumer `name` of this indexer (distinct per indexer replica)")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", 1, "copies of each stream and bucket an external cluster keeps (3 on a 3-node cluster)")
	fs.DurationVar(&c.AckWait, "consumer-ack-wait", 60*time.Second, "how long a consumer may hold a message before NATS redelivers it to another replica")
	fs.Float64Var(&c.RuleConfidence, "rule-min-confidence", 0.5, "confidence a keyword rule needs to tag a contact")
	fs.Float64Var(&c.ModelConfidence, "model-min-confidence", 0.6, "calibrated probability the learned model needs to tag a contact (below it the contact goes to review)")
	fs.StringVar(&c.AnalyticsDurable, "analytics-durable", "analytics", "consumer and snapshot `name` of this analytics replica (distinct per analytics replica)")
	fs.StringVar(&c.TimeZone, "timezone", "UTC", "IANA time `zone` analytics counts days in (e.g. Europe/Berlin); changing it rebuilds the aggregate")
	fs.DurationVar(&c.AnalyticsSnapshotEvery, "analytics-snapshot-every", 30*time.Second, "how often analytics saves its aggregate (a restart replays only what came after)")
	fs.Float64Var(&c.CostPerMinute, "cost-per-minute", 0, "price of a handle minute: contacts with a handle time cost minutes x this (0: the channel's cost per contact)")
	fs.DurationVar(&c.RepeatWindow, "repeat-window", 7*24*time.Hour, "default window of repeat contacts (GET /v1/metrics/repeat, nocontact_repeat_contact_ratio)")
	fs.DurationVar(&c.ExpectedResponse, "expected-response", 24*time.Hour, "response time promised to customers who ask for help from the help centre")
	fs.DurationVar(&c.DeflectionWindow, "deflection-window", 72*time.Hour, "a help-centre session counts as deflected only when no contact from it follows within this window")
	firstStageVar(fs, &c.FAQFirstStage, "faq-first-stage", "help-centre search `stage` that finds the candidates the ranking re-scores: bleve (a Bleve index in <data>/index/faq), memory (in-memory BM25F: about 40% less CPU per search, for high-throughput deployments, without Bleve's analysis) or none")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", false, "take the client address for rate limits from X-Forwarded-For (only behind a proxy you control)")
	fs.Func("andon-webhook", "POST andon alerts to this `URL` (repeatable, or a comma-separated list; signed with NOCONTACT_ANDON_SECRET)", func(v string) error {
		c.AndonWebhooks = append(c.AndonWebhooks, splitList(v)...)
		return nil
	})
	fs.IntVar(&c.AndonPerHour, "andon-per-hour", 10, "pull the andon cord when an open defect gets this many `contacts` within an hour")
	c.DefectSensitivity = 1
	fs.Func("defect-sensitivity", "how readily a defect opens: `N` times as many openings by chance as the defaults, for earlier ones (0.01 to 1000; default 1)", func(v string) error {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		if err := (&defects.DetectorConfig{}).ScaleSignificance(s); err != nil {
			return err
		}
		c.DefectSensitivity = s
		return nil
	})
	fs.DurationVar(&c.RetrainEvery, "retrain-every", 24*time.Hour, "retrain the reason model from confirmed contacts when it is older than this (0: only on request)")
	fs.BoolVar(&c.Demo, "demo", false, "feed the demo history (90 days, planted defects) into this server in the background")
}

func (c *serveConfig) services() ([]string, error) {
	if c.Only == "" {
		return allServices, nil
	}
	var out []string
	for _, s := range splitList(c.Only) {
		if !slices.Contains(allServices, s) {
			return nil, fmt.Errorf("--only: unknown service %q (have %s)", s, strings.Join(allServices, ", "))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("--only: no services named")
	}
	return out, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := newFlagSet("serve", stderr)
	cfg.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	cfg.AdminToken = os.Getenv("NOCONTACT_ADMIN_TOKEN")
	cfg.AndonSecret = os.Getenv("NOCONTACT_ANDON_SECRET")
	log, err := obs.NewLogger(obs.LogConfig{Level: cfg.LogLevel, Format: cfg.LogFormat}, stderr)
	if err != nil {
		return err
	}
	srv, err := newServer(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	if cfg.Demo {
		go serveDemo(ctx, srv, defaultDemoOptions(), stderr)
	}
	return srv.Run(ctx)
}

// service is what every service package provides.
type service interface {
	Run(ctx context.Context) error
}

type routed interface {
	Routes(r *httpx.Router)
}

// server is a running `nocontact serve`: the bus, the services and the
// HTTP listener.
type server struct {
	cfg      serveConfig
	log      zerolog.Logger
	bus      *bus.Bus
	tokens   *auth.Store
	tax      *taxonomy.Taxonomy
	reg      *prometheus.Registry
	router   *httpx.Router
	services map[string]service
	names    []string
	ln       net.Listener
	http     *http.Server
	stop     context.CancelFunc
	bgCtx    context.Context
}

// newServer connects, provisions and builds every service; Run starts them.
func newServer(ctx context.Context, cfg serveConfig, log zerolog.Logger, stderr io.Writer) (_ *server, err error) {
	names, err := cfg.services()
	if err != nil {
		return nil, err
	}
	tax, err := loadTaxonomy(cfg.Taxonomy)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s := &server{cfg: cfg, log: log, tax: tax, reg: obs.NewRegistry(), services: map[string]service{}, names: names}
	s.bgCtx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.bus, err = bus.Open(ctx, bus.Config{
		URLs: splitList(cfg.NATS), DataDir: cfg.Data, Listen: cfg.NATSListen,
		CredsFile: cfg.NATSCreds, TLSCert: cfg.NATSTLSCert, TLSKey: cfg.NATSTLSKey, TLSCA: cfg.NATSTLSCA,
		Prefix: cfg.SubjectPrefix, Name: "nocontact " + strings.Join(names, ","), Replicas: cfg.StreamReplicas,
	}, log)
	if err != nil {
		return nil, err
	}
	if err := s.bus.Provision(ctx); err != nil {
		return nil, err
	}
	kv, err := s.bus.KeyValue(ctx, bus.BucketTokens)
	if err != nil {
		return nil, err
	}
	s.tokens = auth.NewStore(kv)
	if err := s.tokens.Watch(s.bgCtx); err != nil {
		return nil, err
	}
	created, err := s.tokens.Bootstrap(ctx, cfg.AdminToken)
	if err != nil {
		return nil, err
	}
	if created != "" {
		fmt.Fprintf(stderr, "\n  First start: an admin token was created. It is shown only this once;\n  only its hash is stored. Keep it (e.g. export NOCONTACT_TOKEN=...):\n\n    %s\n\n", created)
	}
	s.router = httpx.NewRouter(s.tokens, s.reg, log)
	metrics := bus.NewMetrics(s.reg)
	// The learned reason classifier: the tagger loads, trains and swaps
	// it; the help centre ranks articles by the reasons it predicts.
	reasonModel := classify.NewReasonClassifier(nil, cmp.Or(cfg.ModelConfidence, 0.6))
	for _, name := range names {
		var svc service
		switch name {
		case "ingest":
			svc, err = ingest.New(ctx, ingest.Config{Limits: ingest.Limits{MaxItems: cfg.MaxItems, MaxBytes: cfg.MaxBodyBytes}},
				ingest.Deps{Bus: s.bus, Log: log, Registry: s.reg})
		case "tagger":
			svc, err = tagger.New(ctx, tagger.Config{AckWait: cfg.AckWait, RetrainEvery: cfg.RetrainEvery}, tagger.Deps{
				Bus: s.bus, Decider: tagger.NewDecider(tax, tagger.NewRules(tax, cfg.RuleConfidence), reasonModel),
				Model: reasonModel, Metrics: metrics, Log: log, Registry: s.reg,
			})
		case "defects":
			svc, err = defects.New(ctx, defects.Config{
				AckWait:       cfg.AckWait,
				Webhooks:      cfg.AndonWebhooks,
				WebhookSecret: cfg.AndonSecret,
				Detector:      detectorConfig(cfg),
			}, defects.Deps{Bus: s.bus, Taxonomy: tax, Metrics: metrics, Log: log, Registry: s.reg})
		case "analytics":
			svc, err = analytics.New(ctx, analytics.Config{
				Durable: cfg.AnalyticsDurable, TimeZone: cfg.TimeZone, SnapshotEvery: cfg.AnalyticsSnapshotEvery,
				AckWait: cfg.AckWait, CostPerMinute: cfg.CostPerMinute, RepeatWindow: cfg.RepeatWindow,
				SnapshotReplicas: cfg.StreamReplicas,
			}, analytics.Deps{Bus: s.bus, Taxonomy: tax, Metrics: metrics, Log: log, Registry: s.reg})
		case "faq":
			var esc faq.Escalator
			if ing, ok := s.services["ingest"].(*ingest.Service); ok {
				esc = ing
			} else {
				// --only faq: an ingest of its own for escalations.
				if esc, err = ingest.New(ctx, ingest.Config{}, ingest.Deps{Bus: s.bus, Log: log, Registry: s.reg}); err != nil {
					break
				}
			}
			var reasons retrieval.ReasonScorer
			if slices.Contains(names, "tagger") {
				reasons = retrieval.CurrentModel(reasonModel.Model)
			}
			svc, err = faq.New(ctx, faq.Config{FirstStage: cfg.FAQFirstStage, Dir: filepath.Join(cfg.Data, "index", "faq"), ExpectedResponse: cfg.ExpectedResponse, DeflectionWindow: cfg.DeflectionWindow, TrustProxy: cfg.TrustProxy},
				faq.Deps{Bus: s.bus, Taxonomy: tax, Escalator: esc, Reasons: reasons, Log: log, Registry: s.reg})
		case "indexer":
			svc, err = indexer.New(ctx, indexer.Config{Dir: filepath.Join(cfg.Data, "index", "contacts.bleve"), Durable: cfg.IndexerDurable, AckWait: cfg.AckWait},
				indexer.Deps{Bus: s.bus, Taxonomy: tax, Metrics: metrics, Log: log, Registry: s.reg})
		}
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		s.services[name] = svc
		if r, ok := svc.(routed); ok {
			r.Routes(s.router)
		}
	}
	s.coreRoutes()
	s.ln, err = net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	s.http = &http.Server{
		Handler:           s.router.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	return s, nil
}

func loadTaxonomy(path string) (*taxonomy.Taxonomy, error) {
	if path == "" {
		return taxonomy.Default()
	}
	return taxonomy.Load(path)
}

// Addr is the HTTP listener's address.
func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) coreRoutes() {
	s.router.HandleFunc("GET /healthz", nil, func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.router.HandleFunc("GET /readyz", nil, func(w http.ResponseWriter, _ *http.Request) {
		if err := s.bus.Ready(); err != nil {
			httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "not_ready", "", err.Error()))
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "services": s.names})
	})
	s.router.Handle("GET /metrics", nil, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	apiRoutes(s)
	statusRoutes(s)
}

// Run serves until ctx ends, then stops the listener, drains the
// consumers and closes the bus.
func (s *server) Run(ctx context.Context) error {
	var g oklog.Group
	{
		ctx, cancel := context.WithCancel(ctx)
		g.Add(func() error { <-ctx.Done(); return nil }, func(error) { cancel() })
	}
	{
		g.Add(func() error {
			s.log.Info().Str("addr", s.Addr()).Strs("services", s.names).Bool("embedded_nats", s.bus.Embedded()).Str("version", versionString()).Msg("nocontact serving")
			if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.http.Shutdown(sctx)
		})
	}
	for _, name := range s.names {
		svc := s.services[name]
		ctx, cancel := context.WithCancel(s.bgCtx)
		g.Add(func() error {
			if err := svc.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		}, func(error) { cancel() })
	}
	err := g.Run()
	s.close()
	s.log.Info().Msg("nocontact stopped")
	return err
}

func (s *server) close() {
	if s.stop != nil {
		s.stop()
	}
	if s.bus != nil {
		s.bus.Close()
	}
}

// detectorConfig is the defects detector's configuration from the flags.
func detectorConfig(cfg serveConfig) defects.DetectorConfig {
	dc := defects.DetectorConfig{AndonPerHour: cfg.AndonPerHour}
	if s := cmp.Or(cfg.DefectSensitivity, 1); s != 1 {
		// The flag checked the range.
		_ = dc.ScaleSignificance(s)
	}
	return dc
}
