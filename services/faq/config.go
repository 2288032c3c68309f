package faq

import (
	"errors"
	"fmt"
	"time"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// Config configures the help centre.
type Config struct {
	// ExpectedResponse is the answer time promised to a visitor who asks
	// for help (default 24h). Under-promise and over-deliver.
	ExpectedResponse time.Duration
	// DeflectionWindow is how long after a help-centre session a contact
	// from the same session or customer means the session was not
	// deflected (default 72h).
	DeflectionWindow time.Duration
	// SearchRate, FeedbackRate, EscalateRate and PageRate limit each
	// client (IP address) on the public routes. Zero values take the
	// defaults (20/s burst 40; 2/s burst 10; 1/min burst 3; 10/s burst 50);
	// a negative PerSecond switches a limit off (benchmarks only).
	SearchRate, FeedbackRate, EscalateRate, PageRate Rate
	// TrustProxy takes the client address from X-Forwarded-For (only behind
	// a proxy that sets it).
	TrustProxy bool
	// MaxQueryBytes bounds a search query (default 500).
	MaxQueryBytes int
	// MaxBodyBytes bounds public request bodies (default 16 KiB) and
	// MaxArticleBytes the article API's (default 8 MiB).
	MaxBodyBytes    int64
	MaxArticleBytes int64
	// Limit is the default and MaxLimit the largest number of hits a
	// search returns (default 10 and 50).
	Limit, MaxLimit int
	// Locales are the help centre's languages, the first the default
	// (default en, zh).
	Locales []string
	// Synonyms extend the default search synonyms.
	Synonyms retrieval.Synonyms
	// Weights tune ranking (zero: the defaults of package retrieval).
	Weights retrieval.Weights
	// RebuildDelay batches article changes before the search index is
	// rebuilt (default 200ms).
	RebuildDelay time.Duration
	// MinSimilarity is the character n-gram similarity a hit without any
	// matching word needs to be shown (default 0.45).
	MinSimilarity float64
	// CueMinVotes and CueUnhelpfulAtMost decide when a reason's articles
	// count as unhelpful for content cues: at least CueMinVotes votes of
	// which at most this share helpful (defaults 3 and 0.5).
	CueMinVotes        int
	CueUnhelpfulAtMost float64
	// FirstStage finds the articles the fused ranking re-scores: bleve
	// (the default: a Bleve index of the articles with per-locale
	// analysis, boosted fields, fuzzy terms and synonyms), memory (the
	// in-memory whole-article BM25F view: about 40% less CPU per search,
	// for high-throughput deployments; see docs/faq.md) or none (every
	// article a view finds).
	FirstStage retrieval.FirstStage
	// Dir is the service's data directory: with the Bleve first stage, its
	// index of the published articles lives in Dir/search-<n> (rebuilt from
	// the stream at start; stale ones are removed). Empty: the Bleve index
	// is kept in memory.
	Dir string
	// Candidates is how many first-stage candidates the fused ranking
	// re-scores (default 100 with Bleve, 200 in memory).
	Candidates int
	// ConsumerName prefixes the names of the service's ordered consumers
	// in monitoring (default "faq").
	ConsumerName string
}

func (c *Config) setDefaults() {
	if c.ExpectedResponse == 0 {
		c.ExpectedResponse = 24 * time.Hour
	}
	if c.DeflectionWindow == 0 {
		c.DeflectionWindow = 72 * time.Hour
	}
	def := func(r *Rate, d Rate) {
		if r.PerSecond == 0 {
			*r = d
		}
		if r.Burst <= 0 {
			r.Burst = d.Burst
		}
	}
	def(&c.SearchRate, Rate{PerSecond: 20, Burst: 40})
	def(&c.FeedbackRate, Rate{PerSecond: 2, Burst: 10})
	def(&c.EscalateRate, Rate{PerSecond: 1.0 / 60, Burst: 3})
	def(&c.PageRate, Rate{PerSecond: 10, Burst: 50})
	if c.MaxQueryBytes == 0 {
		c.MaxQueryBytes = 500
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 10
	}
	if c.MaxArticleBytes == 0 {
		c.MaxArticleBytes = 8 << 20
	}
	if c.Limit == 0 {
		c.Limit = 10
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = 50
	}
	if len(c.Locales) == 0 {
		c.Locales = []string{"en", "zh"}
	}
	if c.RebuildDelay == 0 {
		c.RebuildDelay = 200 * time.Millisecond
	}
	if c.MinSimilarity == 0 {
		c.MinSimilarity = 0.45
	}
	if c.CueMinVotes == 0 {
		c.CueMinVotes = 3
	}
	if c.CueUnhelpfulAtMost == 0 {
		c.CueUnhelpfulAtMost = 0.5
	}
	if c.ConsumerName == "" {
		c.ConsumerName = "faq"
	}
	if c.FirstStage == "" {
		c.FirstStage = retrieval.FirstStageBleve
	}
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.ExpectedResponse < 0:
		return errors.New("faq: expected response time must not be negative")
	case c.DeflectionWindow < 0:
		return errors.New("faq: deflection window must not be negative")
	case c.Limit < 1 || c.MaxLimit < c.Limit:
		return fmt.Errorf("faq: limit %d and max limit %d: need 1 <= limit <= max", c.Limit, c.MaxLimit)
	case c.MaxQueryBytes < 10:
		return fmt.Errorf("faq: max query bytes %d: need at least 10", c.MaxQueryBytes)
	case !c.FirstStage.Valid():
		return fmt.Errorf("faq: unknown first stage %q: want bleve, memory or none", c.FirstStage)
	}
	for _, l := range c.Locales {
		if baseLang(l) == "" {
			return fmt.Errorf("faq: locale %q is empty", l)
		}
	}
	return nil
}
