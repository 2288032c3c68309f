package httpx

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/auth"
)

// publicRoutes are the only routes served without a token. Every other
// route needs a bearer token with one of the roles it is registered with.
// This list is the one place to read what the world can reach.
var publicRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /v1/faq/search",
	"POST /v1/faq/feedback",
	"POST /v1/faq/escalate",
	"GET /help/",
	"GET /help/{path...}",
}

// PublicRoutes returns the patterns served without authentication.
func PublicRoutes() []string { return slices.Clone(publicRoutes) }

// Tokens looks up the principal of a bearer token.
type Tokens interface {
	Lookup(token string) (auth.Principal, error)
}

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// Router registers routes on a ServeMux with authentication, metrics,
// logging and panic recovery around each.
type Router struct {
	mux      *http.ServeMux
	tokens   Tokens
	log      zerolog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRouter returns a router over a new ServeMux.
func NewRouter(tokens Tokens, reg prometheus.Registerer, log zerolog.Logger) *Router {
	r := &Router{
		mux:    http.NewServeMux(),
		tokens: tokens,
		log:    log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nocontact_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nocontact_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}, []string{"route"}),
	}
	reg.MustRegister(r.requests, r.duration)
	r.mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		WriteError(w, Errorf(http.StatusNotFound, "not_found", "", "no route for "+req.Method+" "+req.URL.Path))
	})
	return r
}

// Handler returns the router as an http.Handler.
func (r *Router) Handler() http.Handler { return r.mux }

// Handle registers h at pattern ("METHOD /path"). A pattern in the public
// list is served to anyone; any other needs a token whose role is in roles
// (admin is always allowed; no roles means admin only).
func (r *Router) Handle(pattern string, roles []auth.Role, h http.Handler) {
	public := slices.Contains(publicRoutes, pattern)
	route := pattern
	var handler http.Handler = h
	if !public {
		handler = r.authenticate(roles, h)
	}
	r.mux.Handle(pattern, r.instrument(route, handler))
}

// HandleFunc is Handle for a function.
func (r *Router) HandleFunc(pattern string, roles []auth.Role, h http.HandlerFunc) {
	r.Handle(pattern, roles, h)
}

func (r *Router) authenticate(roles []auth.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearer(req)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nocontact"`)
			WriteError(w, Errorf(http.StatusUnauthorized, "unauthenticated", "", "missing bearer token (Authorization: Bearer <token>)"))
			return
		}
		p, err := r.tokens.Lookup(token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nocontact", error="invalid_token"`)
			WriteError(w, Errorf(http.StatusUnauthorized, "invalid_token", "", "the bearer token is not valid"))
			return
		}
		if p.Role != auth.RoleAdmin && !slices.Contains(roles, p.Role) {
			WriteError(w, Errorf(http.StatusForbidden, "forbidden", "", "role "+string(p.Role)+" may not use this route"))
			return
		}
		h.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), principalKey{}, p)))
	})
}

func bearer(req *http.Request) (string, bool) {
	h := req.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, tok != ""
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (r *Router) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				r.log.Error().Interface("panic", p).Str("route", route).Msg("handler panicked")
				if sw.status == 0 {
					Internal(sw)
				}
			}
			code := sw.status
			if code == 0 {
				code = http.StatusOK
			}
			elapsed := time.Since(start)
			r.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			r.duration.WithLabelValues(route).Observe(elapsed.Seconds())
			ev := r.log.Debug()
			if code >= 500 {
				ev = r.log.Warn()
			}
			ev.Str("route", route).Int("status", code).Dur("took", elapsed).Msg("http request")
		}()
		h.ServeHTTP(sw, req)
	})
}
