package tagger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/textproc"
)

// ReasonSuggestion is a group of unclassified contacts asking about the
// same thing: a reason the taxonomy may lack.
type ReasonSuggestion struct {
	Size     int              `json:"size"`
	TopTerms []string         `json:"top_terms"`
	Examples []SuggestionText `json:"examples"`
}

// SuggestionText is one example contact of a suggestion.
type SuggestionText struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// suggestThreshold is the cosine similarity a contact needs to a group's
// centroid to join it.
const suggestThreshold = 0.25

// Suggestions clusters the unclassified contacts waiting for review by
// text similarity and returns the groups of at least minSize, largest
// first.
func (s *Service) Suggestions(ctx context.Context, minSize, limit int) ([]ReasonSuggestion, int, error) {
	lister, err := s.review.ListKeys(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("tagger: list review: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []ReviewItem
	for _, k := range keys {
		e, err := s.review.Get(ctx, k)
		if err != nil {
			continue
		}
		var it ReviewItem
		if json.Unmarshal(e.Value(), &it) == nil && it.Reason == Unclassified {
			items = append(items, it)
		}
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Subject + "\n" + it.Text
	}
	out := []ReasonSuggestion{}
	for _, g := range textproc.Cluster(texts, suggestThreshold) {
		if len(g.Members) < minSize || len(out) == limit {
			break
		}
		sg := ReasonSuggestion{Size: len(g.Members), TopTerms: g.Terms, Examples: []SuggestionText{}}
		for _, m := range g.Members[:min(3, len(g.Members))] {
			sg.Examples = append(sg.Examples, SuggestionText{ID: items[m].ID, Text: items[m].Text})
		}
		out = append(out, sg)
	}
	return out, len(items), nil
}

func (s *Service) getSuggestions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	minSize, limit := 3, 20
	for k := range q {
		var n int
		var err error
		switch k {
		case "min_size", "limit":
			n, err = strconv.Atoi(q.Get(k))
			if err != nil || n < 1 || n > 1000 {
				httpx.BadRequest(w, k, k+" must be a whole number from 1 to 1000")
				return
			}
		default:
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "unknown_parameter", k, "unknown query parameter "+strconv.Quote(k)))
			return
		}
		if k == "min_size" {
			minSize = n
		} else {
			limit = n
		}
	}
	sugg, n, err := s.Suggestions(r.Context(), minSize, limit)
	if err != nil {
		s.log.Error().Err(err).Msg("reason suggestions")
		httpx.Internal(w)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"unclassified": n, "suggestions": sugg})
}
