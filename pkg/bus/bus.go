// Package bus connects nocontact's services to NATS JetStream: an embedded
// server for the single-binary default, or an external cluster; streams,
// key-value buckets and durable consumers provisioned idempotently at start;
// and helpers to publish protobuf events and to consume them safely.
package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Config says how to reach JetStream.
type Config struct {
	// URLs of an external NATS cluster (comma-separated in flags). Empty
	// means: start an embedded server.
	URLs []string
	// DataDir is the directory the embedded server keeps JetStream files in
	// (its nats/ subdirectory is used).
	DataDir string
	// Listen, when set (host:port), makes the embedded server accept TCP
	// clients there, so that other processes (`serve --only ...`) can join.
	// Without it the embedded server opens no port at all.
	Listen string
	// CredsFile is a NATS credentials file for an external cluster.
	CredsFile string
	// TLSCert and TLSKey are a client certificate pair; TLSCA a CA bundle
	// that verifies the servers.
	TLSCert, TLSKey, TLSCA string
	// Prefix is the first token of every subject (default "nc").
	Prefix string
	// Retention is how long streams keep events (default 400 days); the
	// streams are the source of truth that projections are rebuilt from.
	Retention time.Duration
	// Name is the client connection name shown in NATS monitoring.
	Name string
	// Replicas is how many copies of each stream and bucket a cluster
	// keeps (default 1; use 3 on a 3-node cluster). The embedded server
	// always keeps 1.
	Replicas int
	// ConnectTimeout bounds how long Open keeps retrying to reach an
	// external cluster that is not up yet (default 60s).
	ConnectTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "nc"
	}
	if c.Retention == 0 {
		c.Retention = 400 * 24 * time.Hour
	}
	if c.Name == "" {
		c.Name = "nocontact"
	}
	if c.Replicas <= 0 || len(c.URLs) == 0 {
		c.Replicas = 1
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 60 * time.Second
	}
}

// Validate reports configuration mistakes before anything is started.
func (c *Config) Validate() error {
	if len(c.URLs) == 0 && c.DataDir == "" {
		return errors.New("bus: embedded server needs a data directory")
	}
	if len(c.URLs) > 0 && c.Listen != "" {
		return errors.New("bus: --nats-listen only applies to the embedded server, not with --nats")
	}
	if !validToken(c.Prefix) {
		return fmt.Errorf("bus: subject prefix %q must be one token of letters, digits, - or _", c.Prefix)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("bus: TLS client certificate and key go together")
	}
	if c.Replicas > 5 {
		return fmt.Errorf("bus: %d stream replicas: JetStream allows at most 5", c.Replicas)
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("bus: listen address %q: %w", c.Listen, err)
		}
	}
	return nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Bus is a live connection to JetStream, plus the embedded server when this
// process runs one.
type Bus struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Subjects Subjects
	server   *server.Server
	cfg      Config
	log      zerolog.Logger
}

// Open starts the embedded server (when no URLs are configured) or dials
// the external cluster, and returns a connected Bus. It does not create
// streams; call Provision.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*Bus, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bus{cfg: cfg, log: log, Subjects: NewSubjects(cfg.Prefix)}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
	}
	var url string
	if len(cfg.URLs) == 0 {
		ns, err := startEmbedded(cfg, log)
		if err != nil {
			return nil, err
		}
		b.server = ns
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		url = strings.Join(cfg.URLs, ",")
		if cfg.CredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredsFile))
		}
		if cfg.TLSCert != "" || cfg.TLSCA != "" {
			tc, err := tlsConfig(cfg)
			if err != nil {
				return nil, err
			}
			opts = append(opts, nats.Secure(tc))
		}
		opts = append(opts, nats.RetryOnFailedConnect(false))
	}
	nc, err := connect(ctx, url, opts, cfg.ConnectTimeout, log)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("bus: connect %s: %w", redact(url), err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		b.shutdownServer()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	b.NC, b.JS = nc, js
	return b, nil
}

// connect dials, retrying while the cluster is not reachable yet (a
// process may start before NATS does) until timeout.
func connect(ctx context.Context, url string, opts []nats.Option, timeout time.Duration, log zerolog.Logger) (*nats.Conn, error) {
	deadline := time.Now().Add(timeout)
	wait := 250 * time.Millisecond
	for {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		if !errors.Is(err, nats.ErrNoServers) || time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		log.Warn().Err(err).Str("url", redact(url)).Dur("retry_in", wait).Msg("nats not reachable yet")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// redact hides the credentials of every URL of a comma-separated list.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for n, u := range parts {
		if i := strings.LastIndex(u, "@"); i >= 0 {
			if j := strings.Index(u, "://"); j >= 0 && j < i {
				parts[n] = u[:j+3] + "***" + u[i:]
			}
		}
	}
	return strings.Join(parts, ",")
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("bus: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("bus: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bus: tls ca %s: no certificates found", cfg.TLSCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func startEmbedded(cfg Config, log zerolog.Logger) (*server.Server, error) {
	storeDir := filepath.Join(cfg.DataDir, "nats")
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("bus: create %s: %w", storeDir, err)
	}
	opts := &server.Options{
		ServerName: "nocontact-embedded",
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		DontListen: true,
		// Generous limits: the embedded server is a single-tenant store.
		JetStreamMaxMemory: 256 << 20,
		MaxPayload:         8 << 20,
	}
	if cfg.Listen != "" {
		host, port, _ := net.SplitHostPort(cfg.Listen)
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("bus: listen port %q: %w", port, err)
		}
		opts.DontListen = false
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log.With().Str("component", "nats").Logger()}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("bus: embedded server not ready after 30s")
	}
	if cfg.Listen != "" {
		log.Info().Str("addr", ns.Addr().String()).Msg("embedded nats listening")
	}
	return ns, nil
}

// ClientURL is the TCP URL other processes can use to reach the embedded
// server when it listens (empty otherwise, or with an external cluster).
func (b *Bus) ClientURL() string {
	if b.server == nil || b.cfg.Listen == "" {
		return ""
	}
	return b.server.ClientURL()
}

// Embedded reports whether this process runs the NATS server itself.
func (b *Bus) Embedded() bool { return b.server != nil }

// Ready reports whether the connection is up; readiness probes use it.
func (b *Bus) Ready() error {
	if b.NC == nil || !b.NC.IsConnected() {
		return errors.New("nats not connected")
	}
	return nil
}

// Close drains the connection (finishing in-flight publishes and acks) and
// stops the embedded server, if any.
func (b *Bus) Close() {
	if b.NC != nil {
		done := make(chan struct{})
		b.NC.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err := b.NC.Drain(); err == nil {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				b.NC.Close()
			}
		} else {
			b.NC.Close()
		}
	}
	b.shutdownServer()
}

func (b *Bus) shutdownServer() {
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}

type natsLogger struct{ l zerolog.Logger }

func (n natsLogger) Noticef(f string, v ...any) { n.l.Debug().Msgf(f, v...) }
func (n natsLogger) Warnf(f string, v ...any)   { n.l.Warn().Msgf(f, v...) }
func (n natsLogger) Fatalf(f string, v ...any)  { n.l.Error().Msgf(f, v...) }
func (n natsLogger) Errorf(f string, v ...any)  { n.l.Error().Msgf(f, v...) }
func (n natsLogger) Debugf(f string, v ...any)  { n.l.Trace().Msgf(f, v...) }
func (n natsLogger) Tracef(f string, v ...any)  { n.l.Trace().Msgf(f, v...) }
