package faq

import (
	"slices"
	"sort"
	"time"
)

// SelfServiceReport is the deflection report of GET /v1/metrics/selfservice.
//
// A help-centre session is deflected only when no contact from the same
// session (an escalation) or the same customer follows within the
// deflection window after its last search; sessions whose window has not
// passed yet are pending and left out of the rate.
type SelfServiceReport struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Window string    `json:"window"`
	// Sessions started in [From, To).
	Sessions  int `json:"sessions"`
	Deflected int `json:"deflected"`
	Contacted int `json:"contacted"`
	Pending   int `json:"pending"`
	// DeflectionRate is Deflected / (Deflected + Contacted).
	DeflectionRate float64 `json:"deflection_rate"`
	// Contacts received in [From, To) on every channel.
	Contacts int `json:"contacts"`
	// SelfServiceScore is Sessions / Contacts (Zendesk's definition).
	SelfServiceScore float64             `json:"self_service_score"`
	Articles         []ArticleDeflection `json:"articles"`
	Reasons          []ReasonDeflection  `json:"reasons"`
}

// ArticleDeflection is the sessions that saw an article (as top hit or
// by voting on it) and how many of them were deflected.
type ArticleDeflection struct {
	ID             string  `json:"id"`
	Title          string  `json:"title"`
	Sessions       int     `json:"sessions"`
	Deflected      int     `json:"deflected"`
	Contacted      int     `json:"contacted"`
	DeflectionRate float64 `json:"deflection_rate"`
	Helpful        int     `json:"helpful"`
	NotHelpful     int     `json:"not_helpful"`
}

// ReasonDeflection is the same per contact reason of the articles seen.
type ReasonDeflection struct {
	Reason         string  `json:"reason"`
	Name           string  `json:"name,omitempty"`
	Sessions       int     `json:"sessions"`
	Deflected      int     `json:"deflected"`
	Contacted      int     `json:"contacted"`
	DeflectionRate float64 `json:"deflection_rate"`
	// Contacts is the reason's tagged contacts (all time).
	Contacts int `json:"contacts"`
}

type outcome int

const (
	outcomePending outcome = iota
	outcomeDeflected
	outcomeContacted
)

// sessionOutcome decides one session at now.
func (s *state) sessionOutcome(ss *session, window time.Duration, now time.Time) outcome {
	if t, ok := s.bySession[ss.id]; ok && !t.Before(ss.start) {
		return outcomeContacted
	}
	if ss.escalated {
		return outcomeContacted
	}
	limit := ss.end.Add(window)
	if ss.customer != "" {
		ts := s.byCustomer[ss.customer]
		i := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(ss.start) })
		if i < len(ts) && !ts[i].After(limit) {
			return outcomeContacted
		}
	}
	if now.Before(limit) {
		return outcomePending
	}
	return outcomeDeflected
}

func rate(deflected, contacted int) float64 {
	if deflected+contacted == 0 {
		return 0
	}
	return float64(deflected) / float64(deflected+contacted)
}

// selfService computes the report for sessions started in [from, to).
func (s *state) selfService(from, to time.Time, window time.Duration, now time.Time, reasonName func(string) string) SelfServiceReport {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rep := SelfServiceReport{From: from, To: to, Window: window.String()}
	arts := map[string]*ArticleDeflection{}
	reasons := map[string]*ReasonDeflection{}
	for _, ss := range s.sessions {
		if ss.start.Before(from) || !ss.start.Before(to) {
			continue
		}
		rep.Sessions++
		o := s.sessionOutcome(ss, window, now)
		switch o {
		case outcomeDeflected:
			rep.Deflected++
		case outcomeContacted:
			rep.Contacted++
		default:
			rep.Pending++
		}
		var seenReasons []string
		for _, id := range ss.articles {
			ad := arts[id]
			if ad == nil {
				ad = &ArticleDeflection{ID: id}
				if a, ok := s.articles[id]; ok {
					ad.Title = a.Title
				}
				arts[id] = ad
			}
			count(&ad.Sessions, &ad.Deflected, &ad.Contacted, o)
			if a, ok := s.articles[id]; ok {
				for _, r := range a.Reasons {
					if slices.Contains(seenReasons, r) {
						continue
					}
					seenReasons = append(seenReasons, r)
					rd := reasons[r]
					if rd == nil {
						rd = &ReasonDeflection{Reason: r, Name: reasonName(r)}
						reasons[r] = rd
					}
					count(&rd.Sessions, &rd.Deflected, &rd.Contacted, o)
				}
			}
		}
	}
	rep.DeflectionRate = rate(rep.Deflected, rep.Contacted)
	for _, t := range s.contactTimes {
		if !t.Before(from) && t.Before(to) {
			rep.Contacts++
		}
	}
	if rep.Contacts > 0 {
		rep.SelfServiceScore = float64(rep.Sessions) / float64(rep.Contacts)
	}
	for _, ad := range arts {
		ad.DeflectionRate = rate(ad.Deflected, ad.Contacted)
		if v := s.votes[ad.ID]; v != nil {
			ad.Helpful, ad.NotHelpful = v.helpful, v.notHelpful
		}
		rep.Articles = append(rep.Articles, *ad)
	}
	for _, rd := range reasons {
		rd.DeflectionRate = rate(rd.Deflected, rd.Contacted)
		if r := s.reasons[rd.Reason]; r != nil {
			rd.Contacts = r.contacts
		}
		rep.Reasons = append(rep.Reasons, *rd)
	}
	sort.Slice(rep.Articles, func(i, j int) bool {
		if rep.Articles[i].Sessions != rep.Articles[j].Sessions {
			return rep.Articles[i].Sessions > rep.Articles[j].Sessions
		}
		return rep.Articles[i].ID < rep.Articles[j].ID
	})
	sort.Slice(rep.Reasons, func(i, j int) bool {
		if rep.Reasons[i].Sessions != rep.Reasons[j].Sessions {
			return rep.Reasons[i].Sessions > rep.Reasons[j].Sessions
		}
		return rep.Reasons[i].Reason < rep.Reasons[j].Reason
	})
	if rep.Articles == nil {
		rep.Articles = []ArticleDeflection{}
	}
	if rep.Reasons == nil {
		rep.Reasons = []ReasonDeflection{}
	}
	return rep
}

func count(sessions, deflected, contacted *int, o outcome) {
	*sessions++
	switch o {
	case outcomeDeflected:
		*deflected++
	case outcomeContacted:
		*contacted++
	}
}
