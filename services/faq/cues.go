package faq

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/pkg/textproc"
	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// Cue problems.
const (
	CueNoArticle = "no_article"
	CueUnhelpful = "unhelpful"
)

// Cue is one reason the help centre should write (or rewrite) an article
// for: it has contacts and no published article, or its articles are
// rated unhelpful.
type Cue struct {
	Reason string `json:"reason"`
	Name   string `json:"name,omitempty"`
	// Contacts is the number of contacts tagged with the reason.
	Contacts int `json:"contacts"`
	// Problem is no_article or unhelpful.
	Problem string `json:"problem"`
	// Articles are the reason's published articles (for unhelpful).
	Articles   []string `json:"articles,omitempty"`
	Helpful    int      `json:"helpful"`
	NotHelpful int      `json:"not_helpful"`
	// Examples are contact texts of the reason, PII-masked.
	Examples []string `json:"examples"`
	// GapQueries are help-centre gap queries that look like the reason.
	GapQueries []string `json:"gap_queries"`
}

// cueConfig decides when articles count as unhelpful.
type cueConfig struct {
	minVotes        int
	unhelpfulAtMost float64
}

// cues ranks reasons by contacts that lack a published article or whose
// articles are rated unhelpful.
func (s *state) cues(tax *taxonomy.Taxonomy, scorer retrieval.ReasonScorer, cfg cueConfig) []Cue {
	counts := s.reasonCounts()
	gaps := s.gapGroups(time.Time{})
	s.mu.RLock()
	published := map[string][]string{}
	for _, a := range s.articles {
		if !a.published() {
			continue
		}
		for _, r := range a.Reasons {
			published[r] = append(published[r], a.ID)
		}
	}
	if tax != nil {
		for _, r := range tax.Reasons {
			for _, id := range r.Articles {
				if a, ok := s.articles[id]; ok && a.published() && !slices.Contains(published[r.Code], id) {
					published[r.Code] = append(published[r.Code], id)
				}
			}
		}
	}
	votesOf := func(ids []string) (h, n int) {
		for _, id := range ids {
			if v := s.votes[id]; v != nil {
				h += v.helpful
				n += v.notHelpful
			}
		}
		return h, n
	}
	var out []Cue
	for code, rs := range counts {
		if code == "" || code == "unclassified" || rs.contacts == 0 {
			continue
		}
		c := Cue{Reason: code, Contacts: rs.contacts, Examples: rs.examples}
		if tax != nil {
			if r, ok := tax.Reason(code); ok {
				c.Name = r.Name("en")
			}
		}
		ids := published[code]
		slices.Sort(ids)
		switch {
		case len(ids) == 0:
			c.Problem = CueNoArticle
		default:
			c.Helpful, c.NotHelpful = votesOf(ids)
			votes := c.Helpful + c.NotHelpful
			if votes < cfg.minVotes || float64(c.Helpful)/float64(votes) > cfg.unhelpfulAtMost {
				continue
			}
			c.Problem = CueUnhelpful
			c.Articles = ids
		}
		out = append(out, c)
	}
	s.mu.RUnlock()
	for i := range out {
		out[i].GapQueries = matchGaps(out[i], gaps, tax, scorer)
		if out[i].Examples == nil {
			out[i].Examples = []string{}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Contacts != out[j].Contacts {
			return out[i].Contacts > out[j].Contacts
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// matchGaps returns the gap queries that belong to a cue's reason: by
// the reason model when there is one, else by shared content terms with
// the reason's names, keywords and example contacts.
func matchGaps(c Cue, gaps []GapGroup, tax *taxonomy.Taxonomy, scorer retrieval.ReasonScorer) []string {
	out := []string{}
	var vocab map[string]bool
	if scorer == nil {
		vocab = map[string]bool{}
		var texts []string
		texts = append(texts, c.Examples...)
		if tax != nil {
			if r, ok := tax.Reason(c.Reason); ok {
				for _, n := range r.Names {
					texts = append(texts, n)
				}
				for _, kws := range r.Keywords {
					texts = append(texts, kws...)
				}
			}
		}
		for _, t := range texts {
			for _, term := range textproc.Terms(t) {
				vocab[term] = true
			}
		}
	}
	for _, g := range gaps {
		ok := false
		if scorer != nil {
			ok = scorer.ScoreReasons(g.Query)[c.Reason] >= 0.3
		} else {
			terms := textproc.Terms(g.Query)
			hit := 0
			for _, t := range terms {
				if vocab[t] {
					hit++
				}
			}
			ok = hit > 0 && 2*hit >= len(terms)
		}
		if ok {
			out = append(out, g.Query)
			if len(out) == 10 {
				break
			}
		}
	}
	return out
}

// KnownIssue is an open process defect marked public: customers are told
// about it before they need to ask.
type KnownIssue struct {
	// ID identifies the defect.
	ID string `json:"id"`
	// Reason is the contact reason the defect causes; searches about it
	// show the issue.
	Reason string `json:"reason"`
	// Title and Message are shown to customers; Locale is their language
	// ("" for every language).
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	Locale  string `json:"locale,omitempty"`
	// Since is when the issue was opened.
	Since time.Time `json:"since"`
}

// KnownIssues lists the public known issues (open defects marked public).
// The defects service implements it; it must be safe for concurrent use
// and fast (it is called on every search), so implementations cache.
type KnownIssues interface {
	PublicIssues(ctx context.Context) ([]KnownIssue, error)
}
