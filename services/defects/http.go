package defects

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/httpx"
)

// Routes registers the defects API: listing and reading for ops and
// agents, changes for ops.
func (s *Service) Routes(r *httpx.Router) {
	people := []auth.Role{auth.RoleOps, auth.RoleAgent}
	r.HandleFunc("GET /v1/defects", people, s.list)
	r.HandleFunc("GET /v1/defects/{id}", people, s.get)
	r.HandleFunc("PATCH /v1/defects/{id}", []auth.Role{auth.RoleOps}, s.patch)
}

// ListResponse is the answer of GET /v1/defects.
type ListResponse struct {
	Defects []*Defect `json:"defects"`
	// Total counts the defects that pass the filter; NextOffset is set
	// when more follow.
	Total      int `json:"total"`
	NextOffset int `json:"next_offset,omitempty"`
}

// DetailResponse is the answer of GET /v1/defects/{id}: the defect with its
// daily series and history, and contacts per unit before, during and after.
type DetailResponse struct {
	*Defect
	CPX CPX `json:"cpx"`
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "status", "owner", "biv", "reason", "kind", "sort", "limit", "offset":
		default:
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "unknown_parameter", k, "unknown query parameter "+strconv.Quote(k)))
			return
		}
	}
	f := Filter{Status: q.Get("status"), Owner: q.Get("owner"), BIV: q.Get("biv"), Reason: q.Get("reason"), Kind: q.Get("kind"), Sort: q.Get("sort")}
	switch {
	case f.Status != "" && !slices.Contains(Statuses(), f.Status):
		httpx.BadRequest(w, "status", "status must be one of "+strings.Join(Statuses(), ", "))
		return
	case f.BIV != "" && !slices.Contains(bivKinds[:], f.BIV):
		httpx.BadRequest(w, "biv", "biv must be one of "+strings.Join(bivKinds[:], ", "))
		return
	case f.Sort != "" && f.Sort != "impact" && f.Sort != "recent":
		httpx.BadRequest(w, "sort", "sort must be impact or recent")
		return
	case f.Kind != "" && f.Kind != KindSubject && f.Kind != KindText && f.Kind != KindRework:
		httpx.BadRequest(w, "kind", "kind must be subject, text or rework")
		return
	}
	if f.Owner != "" {
		if _, ok := s.deps.Taxonomy.Owner(f.Owner); !ok {
			httpx.BadRequest(w, "owner", "unknown owner "+strconv.Quote(f.Owner))
			return
		}
	}
	limit, ok := intParam(w, q.Get("limit"), "limit", 100, 1, 1000)
	if !ok {
		return
	}
	offset, ok := intParam(w, q.Get("offset"), "offset", 0, 0, 1<<30)
	if !ok {
		return
	}
	s.mu.Lock()
	all := s.det.List(f)
	s.mu.Unlock()
	out := ListResponse{Defects: []*Defect{}, Total: len(all)}
	if offset < len(all) {
		page := all[offset:min(len(all), offset+limit)]
		for _, d := range page {
			d.Daily, d.History = nil, nil
		}
		out.Defects = page
		if offset+limit < len(all) {
			out.NextOffset = offset + limit
		}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func intParam(w http.ResponseWriter, v, name string, def, lo, hi int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		httpx.BadRequest(w, name, name+" must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return 0, false
	}
	return n, true
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	d, ok := s.det.Get(id)
	cpx, _ := s.det.CPXOf(id)
	s.mu.Unlock()
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "id", "no defect with id "+strconv.Quote(id)))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, DetailResponse{Defect: d, CPX: cpx})
}

// patchRequest is the body of PATCH /v1/defects/{id}.
type patchRequest struct {
	Status       *string `json:"status"`
	Owner        *string `json:"owner"`
	Note         *string `json:"note"`
	PublicNotice *string `json:"public_notice"`
	// Reason says why a defect will not be fixed (with status wontfix).
	Reason *string `json:"reason"`
	// FixedAt backdates a fix (RFC 3339 or YYYY-MM-DD, event time).
	FixedAt *string `json:"fixed_at"`
}

// decodePatch reads a PATCH body: unknown fields, bad JSON, an empty
// change and bad values are 400 errors naming the field.
func decodePatch(body io.Reader) (Patch, *httpx.Error) {
	var req patchRequest
	dec := json.NewDecoder(io.LimitReader(body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Patch{}, httpx.Errorf(http.StatusBadRequest, "unknown_field", strings.Trim(name, `"`),
				"unknown field "+name+" (want status, owner, note, public_notice, reason, fixed_at)")
		}
		return Patch{}, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "body: "+err.Error())
	}
	if dec.More() {
		return Patch{}, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "body: one JSON object expected")
	}
	if req.Status == nil && req.Owner == nil && req.Note == nil && req.PublicNotice == nil && req.Reason == nil && req.FixedAt == nil {
		return Patch{}, httpx.Errorf(http.StatusBadRequest, "empty_patch", "", "nothing to change: send status, owner, note, public_notice, reason or fixed_at")
	}
	for field, v := range map[string]*string{"note": req.Note, "public_notice": req.PublicNotice, "reason": req.Reason} {
		if v != nil && len(*v) > 4000 {
			return Patch{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", field, field+" is longer than 4000 bytes")
		}
	}
	p := Patch{Status: req.Status, Owner: req.Owner, Note: req.Note, PublicNotice: req.PublicNotice, Reason: req.Reason}
	if req.FixedAt != nil {
		t, err := parseTime(*req.FixedAt)
		if err != nil {
			return Patch{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "fixed_at", "fixed_at: "+err.Error())
		}
		p.FixedAt = &t
	}
	return p, nil
}

func (s *Service) patch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, herr := decodePatch(r.Body)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	actor := "unknown"
	if pr, ok := httpx.PrincipalFrom(r.Context()); ok {
		actor = pr.Name
	}
	s.mu.Lock()
	events, err := s.det.Patch(id, p, actor)
	if err == nil {
		s.stage(events, false)
	}
	d, _ := s.det.Get(id)
	s.mu.Unlock()
	var pe *PatchError
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "id", "no defect with id "+strconv.Quote(id)))
		return
	case errors.As(err, &pe):
		httpx.BadRequest(w, pe.Field, pe.Msg)
		return
	case errors.Is(err, ErrInvalidTransition):
		httpx.WriteError(w, httpx.Errorf(http.StatusConflict, "invalid_transition", "status", strings.TrimPrefix(err.Error(), ErrInvalidTransition.Error()+": ")))
		return
	case err != nil:
		s.log.Error().Err(err).Str("defect_id", id).Msg("patch")
		httpx.Internal(w)
		return
	}
	if err := s.flush(r.Context()); err != nil {
		s.log.Error().Err(err).Str("defect_id", id).Msg("store patched defect")
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "not_stored", "",
			"the change is applied but could not be stored yet; it is retried with the next batch"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, d)
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New(strconv.Quote(s) + " is neither RFC 3339 nor YYYY-MM-DD")
}
