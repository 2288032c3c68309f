package faq

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// state is the service's projection of the self-service and contact
// events: articles, votes, searches and sessions, gaps, and contact counts
// per customer and reason. It knows nothing of NATS or HTTP; the consumer
// applies events to it and handlers read it. Safe for concurrent use.
type state struct {
	mu sync.RWMutex

	articles map[string]*Article
	bySlug   map[string]string
	version  uint64 // bumped on every article change

	votes    map[string]*votes
	searches map[string]*searchRec
	order    []string // search ids, oldest first, for eviction
	sessions map[string]*session
	gaps     map[string]*gapGroup

	// contacts
	contactTimes   []time.Time            // every received contact
	byCustomer     map[string][]time.Time // received times per customer
	bySession      map[string]time.Time   // first escalation per session
	contactReason  map[string]string      // contact id -> reason
	reasons        map[string]*reasonStat
	seenContact    map[string]bool
	maxSearches    int
	maxExamples    int
	maxGapExamples int
	maxGapGroups   int
}

type votes struct{ helpful, notHelpful int }

type searchRec struct {
	id, session, query, locale string
	at                         time.Time
	hits                       []string
}

// session is one help-centre visit: the searches sharing a session id.
type session struct {
	id         string
	customer   string
	start, end time.Time
	searches   int
	articles   []string // top hits and voted articles
	escalated  bool
}

type gapGroup struct {
	normalized string
	locale     string
	count      int
	zeroHit    int
	notHelpful int
	examples   []string
	articles   []string
	lastSeen   time.Time
}

type reasonStat struct {
	contacts int
	examples []string
}

func newState() *state {
	return &state{
		articles:       map[string]*Article{},
		bySlug:         map[string]string{},
		votes:          map[string]*votes{},
		searches:       map[string]*searchRec{},
		sessions:       map[string]*session{},
		gaps:           map[string]*gapGroup{},
		byCustomer:     map[string][]time.Time{},
		bySession:      map[string]time.Time{},
		contactReason:  map[string]string{},
		reasons:        map[string]*reasonStat{},
		seenContact:    map[string]bool{},
		maxSearches:    500_000,
		maxExamples:    5,
		maxGapExamples: 5,
		maxGapGroups:   50_000,
	}
}

// --- articles ---------------------------------------------------------

func (s *state) upsertArticle(a Article) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.articles[a.ID]; ok {
		if old.Slug != a.Slug {
			delete(s.bySlug, old.Slug)
		}
		if a.CreatedAt.IsZero() || old.CreatedAt.Before(a.CreatedAt) {
			a.CreatedAt = old.CreatedAt
		}
	}
	cp := a
	s.articles[a.ID] = &cp
	s.bySlug[a.Slug] = a.ID
	s.version++
}

func (s *state) deleteArticle(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.articles[id]; ok {
		delete(s.bySlug, old.Slug)
		delete(s.articles, id)
		s.version++
	}
}

// article returns a copy of the article with the id or slug.
func (s *state) article(idOrSlug string) (Article, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.articles[idOrSlug]
	if !ok {
		if id, found := s.bySlug[idOrSlug]; found {
			a, ok = s.articles[id]
		}
	}
	if !ok {
		return Article{}, false
	}
	return *a, true
}

// listArticles returns copies of the articles, by id.
func (s *state) listArticles(filter func(*Article) bool) []Article {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Article, 0, len(s.articles))
	for _, a := range s.articles {
		if filter == nil || filter(a) {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// articlesVersion returns the article version counter and a snapshot of
// the articles when it differs from have.
func (s *state) articlesSince(have uint64) (uint64, []Article, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.version == have {
		return have, nil, false
	}
	out := make([]Article, 0, len(s.articles))
	for _, a := range s.articles {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return s.version, out, true
}

// helpfulness returns an article's votes.
func (s *state) helpfulness(id string) (helpful, notHelpful int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v := s.votes[id]; v != nil {
		return v.helpful, v.notHelpful
	}
	return 0, 0
}

// --- searches, sessions, feedback, gaps --------------------------------

func (s *state) applySearched(e Searched) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := e.Meta.OccurredAt
	if _, dup := s.searches[e.SearchID]; dup {
		return
	}
	s.searches[e.SearchID] = &searchRec{id: e.SearchID, session: e.SessionID, query: e.Query, locale: e.Locale, at: at, hits: e.Hits}
	s.order = append(s.order, e.SearchID)
	if len(s.order) > s.maxSearches {
		drop := len(s.order) - s.maxSearches
		for _, id := range s.order[:drop] {
			delete(s.searches, id)
		}
		s.order = slices.Delete(s.order, 0, drop)
	}
	sid := e.SessionID
	if sid == "" {
		sid = e.SearchID
	}
	ss := s.sessions[sid]
	if ss == nil {
		ss = &session{id: sid, start: at, end: at}
		s.sessions[sid] = ss
	}
	if at.Before(ss.start) {
		ss.start = at
	}
	if at.After(ss.end) {
		ss.end = at
	}
	if e.CustomerID != "" {
		ss.customer = e.CustomerID
	}
	ss.searches++
	if len(e.Hits) > 0 && !slices.Contains(ss.articles, e.Hits[0]) && len(ss.articles) < 20 {
		ss.articles = append(ss.articles, e.Hits[0])
	}
}

// search returns a recorded search.
func (s *state) search(id string) (searchRec, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.searches[id]
	if !ok {
		return searchRec{}, false
	}
	return *r, true
}

func (s *state) applyFeedback(e Feedback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.votes[e.ArticleID]
	if v == nil {
		v = &votes{}
		s.votes[e.ArticleID] = v
	}
	if e.Helpful {
		v.helpful++
	} else {
		v.notHelpful++
	}
	if ss := s.sessions[e.SessionID]; ss != nil && !slices.Contains(ss.articles, e.ArticleID) && len(ss.articles) < 20 {
		ss.articles = append(ss.articles, e.ArticleID)
	}
}

func (s *state) applyEscalated(e Escalated) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[e.SessionID]; ss != nil {
		ss.escalated = true
	}
	if e.SessionID != "" {
		if t, ok := s.bySession[e.SessionID]; !ok || e.Meta.OccurredAt.Before(t) {
			s.bySession[e.SessionID] = e.Meta.OccurredAt
		}
	}
}

func (s *state) applyGap(e Gap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := e.Normalized
	if key == "" {
		key = normalizeQuery(e.Query)
	}
	if key == "" {
		return
	}
	g := s.gaps[key]
	if g == nil {
		if len(s.gaps) >= s.maxGapGroups {
			return
		}
		g = &gapGroup{normalized: key, locale: e.Locale}
		s.gaps[key] = g
	}
	g.count++
	switch e.Kind {
	case GapZeroHit:
		g.zeroHit++
	case GapNotHelpful:
		g.notHelpful++
		if e.ArticleID != "" && !slices.Contains(g.articles, e.ArticleID) && len(g.articles) < 10 {
			g.articles = append(g.articles, e.ArticleID)
		}
	}
	ex := e.Query
	if e.Comment != "" {
		ex += " — " + e.Comment
	}
	if !slices.Contains(g.examples, ex) {
		g.examples = append(g.examples, ex)
		if len(g.examples) > s.maxGapExamples {
			g.examples = g.examples[1:]
		}
	}
	if e.Meta.OccurredAt.After(g.lastSeen) {
		g.lastSeen = e.Meta.OccurredAt
	}
}

// GapGroup is the gaps of one normalised query.
type GapGroup struct {
	// Query is the normalised query the group is keyed by.
	Query string `json:"query"`
	// Locale is the locale of the first gap of the group.
	Locale string `json:"locale,omitempty"`
	// Count is the number of gaps; ZeroHit and NotHelpful split it by kind.
	Count      int `json:"count"`
	ZeroHit    int `json:"zero_hit"`
	NotHelpful int `json:"not_helpful"`
	// Examples are the latest distinct wordings (with comments).
	Examples []string `json:"examples"`
	// Articles are the articles voted not helpful for this query.
	Articles []string `json:"articles,omitempty"`
	// LastSeen is the time of the latest gap.
	LastSeen time.Time `json:"last_seen"`
}

// gapGroups returns the gap groups, most frequent first, then latest.
func (s *state) gapGroups(since time.Time) []GapGroup {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]GapGroup, 0, len(s.gaps))
	for _, g := range s.gaps {
		if g.lastSeen.Before(since) {
			continue
		}
		out = append(out, GapGroup{
			Query: g.normalized, Locale: g.locale, Count: g.count, ZeroHit: g.zeroHit, NotHelpful: g.notHelpful,
			Examples: slices.Clone(g.examples), Articles: slices.Clone(g.articles), LastSeen: g.lastSeen,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].Query < out[j].Query
	})
	return out
}

// --- contacts ----------------------------------------------------------

// contactSeen records a received contact once: its time, customer and
// help-centre session (for escalations).
func (s *state) applyContact(id, customer, sessionID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seenContact[id] {
		return
	}
	s.seenContact[id] = true
	s.contactTimes = append(s.contactTimes, at)
	if customer != "" {
		s.byCustomer[customer] = insertTime(s.byCustomer[customer], at)
	}
	if sessionID != "" {
		if t, ok := s.bySession[sessionID]; !ok || at.Before(t) {
			s.bySession[sessionID] = at
		}
	}
}

func insertTime(ts []time.Time, t time.Time) []time.Time {
	i := sort.Search(len(ts), func(i int) bool { return ts[i].After(t) })
	ts = append(ts, time.Time{})
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	return ts
}

// applyTag counts a contact under its (new) reason, moving it from its
// previous one on a relabel, and keeps a few masked example texts.
func (s *state) applyTag(id, reason, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.contactReason[id]; ok {
		if prev == reason {
			return
		}
		if r := s.reasons[prev]; r != nil && r.contacts > 0 {
			r.contacts--
		}
	}
	s.contactReason[id] = reason
	r := s.reasons[reason]
	if r == nil {
		r = &reasonStat{}
		s.reasons[reason] = r
	}
	r.contacts++
	if t := trunc(strings.TrimSpace(textproc.MaskPII(text)), 300); t != "" && len(r.examples) < s.maxExamples && !slices.Contains(r.examples, t) {
		r.examples = append(r.examples, t)
	}
}

// reasonVolumes returns log(1 + contacts) per reason.
func (s *state) reasonVolumes() map[string]float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]float64, len(s.reasons))
	for k, v := range s.reasons {
		out[k] = math.Log1p(float64(v.contacts))
	}
	return out
}

// reasonCounts returns contacts and example texts per reason.
func (s *state) reasonCounts() map[string]reasonStat {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]reasonStat, len(s.reasons))
	for k, v := range s.reasons {
		out[k] = reasonStat{contacts: v.contacts, examples: slices.Clone(v.examples)}
	}
	return out
}

// normalizeQuery folds a query for grouping gaps: case, width, spacing
// and trailing punctuation.
func normalizeQuery(q string) string {
	n := textproc.Normalize(q)
	n = strings.TrimRight(n, " ?!.。？！")
	return trunc(n, 200)
}
