package faq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nocontact/nocontact/pkg/httpx"
)

// ArticlesResult answers POST /v1/articles.
type ArticlesResult struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

// ArticleView is an article with its rendered body and votes.
type ArticleView struct {
	Article
	HTML       string `json:"html"`
	Helpful    int    `json:"helpful"`
	NotHelpful int    `json:"not_helpful"`
}

func (s *Service) view(a Article) ArticleView {
	h, n := s.st.helpfulness(a.ID)
	return ArticleView{Article: a, HTML: string(renderMarkdown(a.Body)), Helpful: h, NotHelpful: n}
}

// handlePostArticles upserts one article or a JSON array of them, the
// shape `nocontact import articles` sends.
func (s *Service) handlePostArticles(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxArticleBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpx.WriteError(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("the body is larger than %d bytes", s.cfg.MaxArticleBytes)))
			return
		}
		httpx.BadRequest(w, "", "read body: "+err.Error())
		return
	}
	var arts []Article
	trimmed := bytes.TrimSpace(data)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = dec.Decode(&arts)
	} else {
		var a Article
		err = dec.Decode(&a)
		arts = []Article{a}
	}
	if err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "want an article or an array of articles: "+err.Error()))
		return
	}
	if len(arts) == 0 || len(arts) > maxArticlesSent {
		httpx.BadRequest(w, "", fmt.Sprintf("send 1 to %d articles", maxArticlesSent))
		return
	}
	res, herr := s.upsert(r, arts)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

func (s *Service) handlePutArticle(w http.ResponseWriter, r *http.Request) {
	var a Article
	if herr := decodeJSON(w, r, s.cfg.MaxArticleBytes, &a); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if a.ID == "" {
		a.ID = r.PathValue("id")
	}
	if a.ID != r.PathValue("id") {
		httpx.BadRequest(w, "id", "the body's id differs from the path's")
		return
	}
	res, herr := s.upsert(r, []Article{a})
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	got, _ := s.st.article(res.IDs[0])
	httpx.WriteJSON(w, http.StatusOK, s.view(got))
}

// upsert validates articles, publishes them and waits until the state
// holds them (read your writes).
func (s *Service) upsert(r *http.Request, arts []Article) (ArticlesResult, *httpx.Error) {
	now := s.now().UTC()
	seen := map[string]bool{}
	events := make([]outEvent, 0, len(arts))
	res := ArticlesResult{IDs: make([]string, 0, len(arts))}
	for i := range arts {
		a := &arts[i]
		if err := a.normalize(); err != nil {
			e := httpx.Errorf(http.StatusBadRequest, "invalid_value", "", err.Error())
			var fe *fieldError
			if errors.As(err, &fe) {
				e.Field, e.Message = fe.field, fe.msg
			}
			item := i
			e.Item = &item
			return res, e
		}
		if seen[a.ID] {
			item := i
			return res, &httpx.Error{Status: http.StatusBadRequest, Code: "duplicate", Field: "id", Item: &item, Message: "the id " + a.ID + " appears twice"}
		}
		seen[a.ID] = true
		if old, ok := s.st.article(a.ID); ok {
			a.CreatedAt = old.CreatedAt
		} else {
			a.CreatedAt = now
		}
		a.UpdatedAt = now
		meta := s.meta()
		events = append(events, outEvent{subject: s.subj.articleUpserted, id: meta.EventID, v: ArticleUpserted{Meta: meta, Article: *a}})
		res.IDs = append(res.IDs, a.ID)
	}
	seq, err := s.publishAcks(r.Context(), events...)
	if err != nil {
		s.log.Error().Err(err).Msg("publish articles")
		return res, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the articles could not be stored; retry")
	}
	if err := s.waitApplied(r.Context(), seq); err != nil {
		return res, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "stored, but not applied yet; retry the read")
	}
	res.Accepted = len(events)
	return res, nil
}

func (s *Service) handleListArticles(w http.ResponseWriter, r *http.Request) {
	status, locale := r.URL.Query().Get("status"), baseLang(r.URL.Query().Get("locale"))
	arts := s.st.listArticles(func(a *Article) bool {
		return (status == "" || a.Status == status) && (locale == "" || a.lang() == locale)
	})
	out := make([]ArticleView, len(arts))
	for i, a := range arts {
		out[i] = s.view(a)
		out[i].HTML = ""
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"articles": out, "total": len(out)})
}

func (s *Service) handleGetArticle(w http.ResponseWriter, r *http.Request) {
	a, ok := s.st.article(r.PathValue("id"))
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "id", "no article with this id or slug"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(a))
}

func (s *Service) handleDeleteArticle(w http.ResponseWriter, r *http.Request) {
	a, ok := s.st.article(r.PathValue("id"))
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "id", "no article with this id or slug"))
		return
	}
	meta := s.meta()
	seq, err := s.publishAcks(r.Context(), outEvent{subject: s.subj.articleDeleted, id: meta.EventID, v: ArticleDeleted{Meta: meta, ID: a.ID}})
	if err != nil {
		s.log.Error().Err(err).Msg("publish article deleted")
		httpx.Internal(w)
		return
	}
	_ = s.waitApplied(r.Context(), seq)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleGaps(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			httpx.BadRequest(w, "since", "since is an RFC 3339 time")
			return
		}
		since = t
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			httpx.BadRequest(w, "limit", "limit is a positive number")
			return
		}
		limit = min(n, 1000)
	}
	groups := s.st.gapGroups(since)
	total := len(groups)
	if len(groups) > limit {
		groups = groups[:limit]
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"gaps": groups, "total": total})
}

func (s *Service) handleCues(w http.ResponseWriter, _ *http.Request) {
	cues := s.st.cues(s.deps.Taxonomy, s.deps.Reasons, cueConfig{minVotes: s.cfg.CueMinVotes, unhelpfulAtMost: s.cfg.CueUnhelpfulAtMost})
	if cues == nil {
		cues = []Cue{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"cues": cues})
}

func (s *Service) handleSelfService(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	to, from := now, now.Add(-30*24*time.Hour)
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				httpx.BadRequest(w, p.name, p.name+" is an RFC 3339 time")
				return
			}
			*p.t = t
		}
	}
	name := func(code string) string {
		if r, ok := s.deps.Taxonomy.Reason(code); ok {
			return r.Name("en")
		}
		return ""
	}
	httpx.WriteJSON(w, http.StatusOK, s.st.selfService(from, to, s.cfg.DeflectionWindow, now, name))
}
