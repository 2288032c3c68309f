package tagger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/classify"
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
	if s.models != nil {
		r.HandleFunc("GET /v1/model", people, s.getModel)
		r.HandleFunc("POST /v1/model/retrain", []auth.Role{auth.RoleOps}, s.postRetrain)
		r.HandleFunc("PUT /v1/model", []auth.Role{auth.RoleOps}, s.putModel)
	}
}

func (s *Service) getModel(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, s.models.info())
}

func (s *Service) postRetrain(w http.ResponseWriter, r *http.Request) {
	if err := s.models.retrain(context.WithoutCancel(r.Context())); err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusConflict, "training_running", "", err.Error()))
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, s.models.info())
}

// putModel stores a model trained offline (`nocontact train`) as the
// current one; every tagger replica swaps it in.
func (s *Service) putModel(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 512<<20))
	if err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "", "a model may be at most 512 MiB"))
		return
	}
	model, err := classify.Load(bytes.NewReader(data))
	if err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "invalid_model", "", "not a nocontact model file: "+err.Error()))
		return
	}
	var unknown []string
	for _, l := range model.Labels() {
		if _, ok := s.deps.Decider.tax.Reason(l); !ok && l != model.OOSLabel() {
			unknown = append(unknown, l)
		}
	}
	if len(unknown) > 0 {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "unknown_labels", "", fmt.Sprintf("the model predicts labels that are not reasons of the taxonomy: %s", strings.Join(unknown, ", "))))
		return
	}
	if err := s.models.publish(r.Context(), model, 0, "upload"); err != nil {
		s.log.Error().Err(err).Msg("store uploaded model")
		httpx.Internal(w)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s.models.info())
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
