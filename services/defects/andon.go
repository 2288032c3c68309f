package defects

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook body, keyed with
// the configured secret: "sha256=<hex>".
const SignatureHeader = "X-Nocontact-Signature"

// Sign returns the signature header value of a body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a signature header value in constant time.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// notifier POSTs andon alerts to the configured webhooks, in the
// background, retrying each failed delivery with exponential backoff.
type notifier struct {
	urls     []string
	secret   []byte
	attempts int
	backoff  time.Duration
	client   *http.Client
	m        *metrics
	log      zerolog.Logger
	queue    chan AndonAlert
}

func newNotifier(cfg Config, client *http.Client, m *metrics, log zerolog.Logger) *notifier {
	return &notifier{
		urls: cfg.Webhooks, secret: []byte(cfg.WebhookSecret), attempts: cfg.WebhookAttempts, backoff: cfg.WebhookBackoff,
		client: client, m: m, log: log, queue: make(chan AndonAlert, 1024),
	}
}

// Enqueue schedules an alert; when the queue is full the alert is dropped
// (and counted): the andon event on the bus and the gauge still show it.
func (n *notifier) Enqueue(a AndonAlert) {
	if len(n.urls) == 0 {
		return
	}
	select {
	case n.queue <- a:
	default:
		n.m.webhooks.WithLabelValues("dropped").Inc()
		n.log.Error().Str("defect_id", a.DefectID).Msg("andon webhook queue full, alert dropped")
	}
}

// Run delivers queued alerts until ctx ends.
func (n *notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-n.queue:
			var wg sync.WaitGroup
			for _, u := range n.urls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := n.deliver(ctx, u, a); err != nil {
						n.log.Error().Err(err).Str("defect_id", a.DefectID).Str("url", u).Msg("andon webhook not delivered")
					}
				}()
			}
			wg.Wait()
		}
	}
}

// deliver POSTs one alert to one URL: up to attempts tries, doubling the
// wait after each failure (network error, 5xx or 429); another 4xx answer
// is final.
func (n *notifier) deliver(ctx context.Context, url string, a AndonAlert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	sig := Sign(n.secret, body)
	wait := n.backoff
	var last error
	for attempt := 1; attempt <= n.attempts; attempt++ {
		retry, err := n.post(ctx, url, body, sig, a, attempt)
		if err == nil {
			n.m.webhooks.WithLabelValues("delivered").Inc()
			return nil
		}
		last = err
		if !retry || attempt == n.attempts {
			break
		}
		n.m.webhooks.WithLabelValues("retried").Inc()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
	n.m.webhooks.WithLabelValues("failed").Inc()
	return fmt.Errorf("after %d attempts: %w", n.attempts, last)
}

func (n *notifier) post(ctx context.Context, url string, body []byte, sig string, a AndonAlert, attempt int) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set("X-Nocontact-Event", a.Type)
	req.Header.Set("X-Nocontact-Delivery", a.DefectID+":"+strconv.Itoa(a.Pull))
	req.Header.Set("X-Nocontact-Attempt", strconv.Itoa(attempt))
	resp, err := n.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("answered %s", resp.Status)
	default:
		return false, fmt.Errorf("answered %s", resp.Status)
	}
}
