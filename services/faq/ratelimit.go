package faq

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nocontact/nocontact/pkg/httpx"
)

// Rate is a token bucket's refill rate and size.
type Rate struct {
	// PerSecond is how many requests a client may make per second on
	// average; 0 or less means unlimited.
	PerSecond float64
	// Burst is how many it may make at once.
	Burst int
}

// limiter is a token bucket per client key (the client's IP address).
type limiter struct {
	rate Rate
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(r Rate, now func() time.Time) *limiter {
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key; when none is left it returns how long
// until one is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate.PerSecond <= 0 {
		return true, 0
	}
	now := l.now()
	burst := float64(max(l.rate.Burst, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%4096 == 0 {
		l.sweep(now, burst)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*l.rate.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate.PerSecond * float64(time.Second))
	return false, wait
}

// sweep forgets clients whose buckets are full again.
func (l *limiter) sweep(now time.Time, burst float64) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate.PerSecond >= burst {
			delete(l.buckets, k)
		}
	}
}

// clientIP is the request's client address: behind a trusted proxy, the
// last X-Forwarded-For entry (the one that proxy appended; earlier
// entries come from the client and can be forged), else the peer.
func clientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			entries := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(entries[len(entries)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit wraps a public handler with a per-client rate limit: over it the
// client gets 429 with Retry-After and a JSON error.
func (s *Service) limit(l *limiter, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.allow(clientIP(r, s.cfg.TrustProxy))
		if !ok {
			s.m.limited.Inc()
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			httpx.WriteError(w, httpx.Errorf(http.StatusTooManyRequests, "rate_limited", "",
				"too many requests from this address; retry in "+strconv.Itoa(max(secs, 1))+"s"))
			return
		}
		h(w, r)
	}
}
