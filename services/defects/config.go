package defects

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// DetectorConfig tunes when an issue counts as happening twice. Durations
// are event time: they are measured on the contacts' received_at, never on
// the wall clock.
type DetectorConfig struct {
	// Window is how far apart two occurrences of an issue may be and
	// still count as "twice" under the literal rule (Alpha 1), and how long
	// occurrences are kept for relabels and windows (default 30 days).
	// With a baseline, the rule is tested in TestWindows.
	Window time.Duration
	// RepeatWindow is how soon a customer must contact again about the
	// same order and reason for it to be a repeat, a rework defect
	// (default 7 days, as in METHOD.md).
	RepeatWindow time.Duration
	// TestWindows are the spans in which a burst of occurrences is tested
	// against the signature's baseline (default 1h, 3h, 6h, 24h, 72h).
	TestWindows []time.Duration
	// Alpha is the significance an issue's occurrences must reach against
	// its everyday rate: the chance of seeing that many from background
	// alone (default 1e-6). Alpha 1 turns the baseline off: any second
	// customer within Window opens a defect (the literal twice rule).
	Alpha float64
	// NovelAlpha is the significance that suffices for a subject never
	// seen with its reason in the baseline that nothing else predicts
	// (other reasons do not share its keys, or its keys' values are known
	// apart): the twice rule proper (default 1e-3).
	NovelAlpha float64
	// NamedAlpha is the significance that suffices when customers name
	// the subject's value in their own words ("since the update to 5.2.0")
	// where the reason's contacts almost never do (at most 1% of them):
	// the named test, for windows of a day or more; shorter windows need
	// proportionally less (default 1e-3, as NovelAlpha).
	NamedAlpha float64
	// UnusualAlpha is the significance that suffices when customers of a
	// subject describe it in words rare for the reason (the unusual
	// test: the customers and the unusual ones among them against the
	// everyday rate and the reason's unusual share), for windows of a day
	// or more; shorter windows need proportionally less (default 1e-5:
	// ten times Alpha's, as it runs only while an unusual contact is in a
	// window; on twenty demo histories it added one false defect, and
	// opened SwiftShip's delays by their third contact on four more).
	UnusualAlpha float64
	// BaselineDays is how many days before a test window its expected
	// rate is learned from (default 28).
	BaselineDays int
	// MinBaselineDays is how many days the detector must have seen before
	// a window can be tested (default 7): a fresh installation learns
	// what is everyday before it calls anything a defect. Rework defects
	// open from the start.
	MinBaselineDays int
	// PriorContacts and PriorDays smooth the baseline of a rare signature:
	// rate = (contacts + PriorContacts) / (days + PriorDays) (defaults
	// 0.5 and 1).
	PriorContacts, PriorDays float64
	// MaxSubjectKeys is how many subject keys are combined into one
	// signature (default 2: each key alone and each pair, so that
	// "SwiftShip in the north" is an issue of its own).
	MaxSubjectKeys int
	// TextMaxBits and TextMinSimilarity say what near-identical wording
	// is: SimHash fingerprints at most TextMaxBits apart (0-3, default 3)
	// and a Jaccard similarity of terms and term pairs of at least
	// TextMinSimilarity (default 0.6).
	TextMaxBits       int
	TextMinSimilarity float64
	// TextMinTerms is how many content terms a text needs to be clustered
	// (default 4): "hello?" is no issue.
	TextMinTerms int
	// IgnoreReasons are reasons that never make a defect (default
	// unclassified: not knowing why is not an issue of its own).
	IgnoreReasons []string
	// VerifyWindow is how long after a fix an issue must stay away for
	// the fix to be verified (default 14 days).
	VerifyWindow time.Duration
	// ResidualShare is the share of the defect's rate that may still come
	// in after a fix without counting as a recurrence (default 0.1): the
	// tail of customers hit before the fix, stragglers on an old app
	// version.
	ResidualShare float64
	// AndonPerHour pulls the andon cord when an open defect gets this many
	// occurrences within an hour (default 10).
	AndonPerHour int
	// AndonMaxAge keeps a backfill of old history from paging anyone: a
	// pull whose contact is older than this by the wall clock is written
	// in the history only, the cord stays up (default 24h).
	AndonMaxAge time.Duration
	// CueShare is the share of a defect's contacts that must use a kind's
	// cue words to change its BIV kind from the reason's default
	// (default 0.4).
	CueShare float64
	// Evidence is how many opening and how many latest contacts a defect
	// keeps as evidence (default 10 each).
	Evidence int
	// Retention is how long daily counts of reasons and orders are kept
	// for before/after comparisons (default 400 days).
	Retention time.Duration
}

// Default significances of DetectorConfig.
const (
	DefaultAlpha        = 1e-6
	DefaultNovelAlpha   = 1e-3
	DefaultNamedAlpha   = 1e-3
	DefaultUnusualAlpha = 1e-5
)

// MinSensitivity and MaxSensitivity bound ScaleSignificance's factor.
const (
	MinSensitivity = 0.01
	MaxSensitivity = 1000
)

// ScaleSignificance multiplies every significance of the opening tests
// (Alpha, NovelAlpha, NamedAlpha, UnusualAlpha; their defaults when unset)
// by s: s times as many openings by chance, in exchange for earlier ones.
// The literal twice rule (Alpha 1) is left as it is, and no significance
// goes above 0.5. It returns an error when s is outside MinSensitivity to
// MaxSensitivity.
func (c *DetectorConfig) ScaleSignificance(s float64) error {
	if !(s >= MinSensitivity && s <= MaxSensitivity) {
		return fmt.Errorf("sensitivity %g must be %g to %g", s, float64(MinSensitivity), float64(MaxSensitivity))
	}
	if c.Alpha >= 1 {
		return nil
	}
	scale := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
		*v = min(0.5, *v*s)
	}
	scale(&c.Alpha, DefaultAlpha)
	scale(&c.NovelAlpha, DefaultNovelAlpha)
	scale(&c.NamedAlpha, DefaultNamedAlpha)
	scale(&c.UnusualAlpha, DefaultUnusualAlpha)
	return nil
}

func (c *DetectorConfig) setDefaults() {
	if c.Window <= 0 {
		c.Window = 30 * 24 * time.Hour
	}
	if c.RepeatWindow <= 0 {
		c.RepeatWindow = 7 * 24 * time.Hour
	}
	if c.TestWindows == nil {
		c.TestWindows = []time.Duration{time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour}
	}
	if c.Alpha <= 0 {
		c.Alpha = DefaultAlpha
	}
	if c.NovelAlpha <= 0 {
		c.NovelAlpha = DefaultNovelAlpha
	}
	if c.NamedAlpha <= 0 {
		c.NamedAlpha = DefaultNamedAlpha
	}
	if c.UnusualAlpha <= 0 {
		c.UnusualAlpha = DefaultUnusualAlpha
	}
	if c.BaselineDays <= 0 {
		c.BaselineDays = 28
	}
	if c.MinBaselineDays < 0 {
		c.MinBaselineDays = 0
	} else if c.MinBaselineDays == 0 {
		c.MinBaselineDays = 7
	}
	if c.PriorContacts <= 0 {
		c.PriorContacts = 0.5
	}
	if c.PriorDays <= 0 {
		c.PriorDays = 1
	}
	if c.MaxSubjectKeys <= 0 {
		c.MaxSubjectKeys = 2
	}
	if c.TextMaxBits <= 0 {
		c.TextMaxBits = 3
	}
	if c.TextMinSimilarity <= 0 {
		c.TextMinSimilarity = 0.6
	}
	if c.TextMinTerms <= 0 {
		c.TextMinTerms = 4
	}
	if c.IgnoreReasons == nil {
		c.IgnoreReasons = []string{"unclassified"}
	}
	if c.VerifyWindow <= 0 {
		c.VerifyWindow = 14 * 24 * time.Hour
	}
	if c.ResidualShare <= 0 {
		c.ResidualShare = 0.1
	}
	if c.AndonPerHour <= 0 {
		c.AndonPerHour = 10
	}
	if c.AndonMaxAge <= 0 {
		c.AndonMaxAge = 24 * time.Hour
	}
	if c.CueShare <= 0 {
		c.CueShare = 0.4
	}
	if c.Evidence <= 0 {
		c.Evidence = 10
	}
	if c.Retention <= 0 {
		c.Retention = 400 * 24 * time.Hour
	}
}

// Validate reports configuration mistakes (after defaults).
func (c *DetectorConfig) Validate() error {
	var errs []error
	if c.Alpha > 1 {
		errs = append(errs, fmt.Errorf("alpha %g must be at most 1", c.Alpha))
	}
	if c.TextMaxBits > 3 {
		errs = append(errs, fmt.Errorf("text max bits %d must be at most 3 (the SimHash index finds no more)", c.TextMaxBits))
	}
	if c.TextMinSimilarity > 1 {
		errs = append(errs, fmt.Errorf("text similarity %g must be at most 1", c.TextMinSimilarity))
	}
	if c.MaxSubjectKeys > 3 {
		errs = append(errs, fmt.Errorf("max subject keys %d must be at most 3", c.MaxSubjectKeys))
	}
	if c.ResidualShare >= 1 {
		errs = append(errs, fmt.Errorf("residual share %g must be below 1", c.ResidualShare))
	}
	for _, w := range c.TestWindows {
		if w <= 0 || w > c.Window {
			errs = append(errs, fmt.Errorf("test window %s must be positive and at most the window %s", w, c.Window))
		}
	}
	if c.MinBaselineDays > c.BaselineDays {
		errs = append(errs, fmt.Errorf("min baseline days %d exceed baseline days %d", c.MinBaselineDays, c.BaselineDays))
	}
	return errors.Join(errs...)
}

// windows returns the test windows in ascending order. With a baseline
// (Alpha below 1) they are TestWindows; the literal twice rule (Alpha 1)
// tests Window too.
func (c *DetectorConfig) windows() []int64 {
	var out []int64
	for _, w := range c.TestWindows {
		out = append(out, int64(w/time.Second))
	}
	if c.Alpha >= 1 {
		out = append(out, int64(c.Window/time.Second))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Config configures the defects service.
type Config struct {
	// Detector tunes the twice rule.
	Detector DetectorConfig
	// Durable is the name of the service's consumers (default "defects";
	// the orders consumer adds "-orders"). Only one replica may run: the
	// detector's state is one sequence of decisions.
	Durable string
	// Batch is how many events are fetched at once (default 500).
	Batch int
	// AckWait is how long a batch may take before NATS redelivers it
	// (default 60s).
	AckWait time.Duration
	// MaxWait bounds how long a fetch waits to fill a batch (default
	// 200ms): the latency floor of an opening when contacts trickle in.
	MaxWait time.Duration
	// SnapshotEvery is how often the detector's working state is saved
	// (default 30s, and always when the service stops).
	SnapshotEvery time.Duration
	// Webhooks are the URLs an andon pull is POSTed to.
	Webhooks []string
	// WebhookSecret signs webhook bodies: X-Nocontact-Signature:
	// sha256=<hex HMAC-SHA256 of the body>.
	WebhookSecret string
	// WebhookAttempts bounds the deliveries of one webhook call (default
	// 5), with exponential backoff from WebhookBackoff (default 1s).
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// Now is the wall clock (default time.Now); tests inject their own.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	c.Detector.setDefaults()
	if c.Durable == "" {
		c.Durable = "defects"
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.AckWait <= 0 {
		c.AckWait = 60 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 200 * time.Millisecond
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 30 * time.Second
	}
	if c.WebhookAttempts <= 0 {
		c.WebhookAttempts = 5
	}
	if c.WebhookBackoff <= 0 {
		c.WebhookBackoff = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports configuration mistakes (after defaults).
func (c *Config) Validate() error {
	errs := []error{c.Detector.Validate()}
	for _, w := range c.Webhooks {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("andon webhook %q is not an http(s) URL", w))
		}
	}
	if len(c.Webhooks) > 0 && c.WebhookSecret == "" {
		errs = append(errs, errors.New("andon webhooks need a secret to sign with (NOCONTACT_ANDON_SECRET)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("defects: %w", err)
	}
	return nil
}
