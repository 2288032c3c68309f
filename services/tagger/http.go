package tagger

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/httpx"
)

// Routes registers the review queue, relabeling and reason modes.
func (s *Service) Routes(r *httpx.Router) {
	people := []auth.Role{auth.RoleOps, auth.RoleAgent}
	r.HandleFunc("GET /v1/review", people, s.getReview)
	r.HandleFunc("POST /v1/contacts/{id}/reason", people, s.postReason)
	r.HandleFunc("GET /v1/reasons/modes", people, s.getModes)
	r.HandleFunc("GET /v1/reasons/suggestions", []auth.Role{auth.RoleOps}, s.getSuggestions)
	r.HandleFunc("PUT /v1/reasons/{code}/mode", []auth.Role{auth.RoleOps}, s.putMode)
}

func (s *Service) getReview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "limit" && k != "reason" && k != "cursor" {
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "unknown_parameter", k, "unknown query parameter "+strconv.Quote(k)))
			return
		}
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			httpx.BadRequest(w, "limit", "limit must be a whole number from 1 to 500")
			return
		}
		limit = n
	}
	reason := q.Get("reason")
	if reason != "" {
		if _, ok := s.deps.Decider.tax.Reason(reason); !ok {
			httpx.BadRequest(w, "reason", "unknown reason "+strconv.Quote(reason))
			return
		}
	}
	page, err := s.ReviewQueue(r.Context(), reason, limit, q.Get("cursor"))
	if err != nil {
		s.log.Error().Err(err).Msg("review queue")
		httpx.Internal(w)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, page)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "body: "+err.Error()))
		return false
	}
	return true
}

func (s *Service) postReason(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Reason == "" {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "missing_field", "reason", "reason is required"))
		return
	}
	actor := "unknown"
	if p, ok := httpx.PrincipalFrom(r.Context()); ok {
		actor = p.Name
	}
	res, err := s.Relabel(r.Context(), r.PathValue("id"), req.Reason, actor)
	switch {
	case errors.Is(err, ErrUnknownReason):
		httpx.BadRequest(w, "reason", err.Error())
	case errors.Is(err, ErrContactNotFound):
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "id", "no tagged contact with that id (it may not be tagged yet)"))
	case err != nil:
		s.log.Error().Err(err).Msg("relabel")
		httpx.Internal(w)
	default:
		httpx.WriteJSON(w, http.StatusOK, res)
	}
}

func (s *Service) getModes(w http.ResponseWriter, _ *http.Request) {
	out := map[string]string{}
	for _, r := range s.deps.Decider.tax.Reasons {
		out[r.Code] = s.modes.get(r.Code)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"modes": out})
}

func (s *Service) putMode(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if _, ok := s.deps.Decider.tax.Reason(code); !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "code", "unknown reason "+strconv.Quote(code)))
		return
	}
	var req struct {
		Mode string `json:"mode"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Mode != ModeAuto && req.Mode != ModeSuggest {
		httpx.BadRequest(w, "mode", "mode must be auto or suggest")
		return
	}
	if _, err := s.modeKV.Put(r.Context(), code, []byte(req.Mode)); err != nil {
		s.log.Error().Err(err).Msg("set reason mode")
		httpx.Internal(w)
		return
	}
	s.modes.mu.Lock()
	s.modes.m[code] = req.Mode
	s.modes.mu.Unlock()
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"reason": code, "mode": req.Mode})
}
