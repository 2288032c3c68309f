package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// apiRoutes registers the routes every process serves: the reasons of the
// taxonomy and token administration.
func apiRoutes(s *server) {
	everyone := []auth.Role{auth.RoleOps, auth.RoleAgent, auth.RoleIngest}
	s.router.HandleFunc("GET /v1/reasons", everyone, func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, reasonsResponse(s.tax))
	})
	s.router.HandleFunc("GET /v1/tokens", nil, func(w http.ResponseWriter, r *http.Request) {
		type entry struct {
			Hash string `json:"hash"`
			auth.Principal
		}
		var out []entry
		for h, p := range s.tokens.List() {
			out = append(out, entry{Hash: h, Principal: p})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
	})
	s.router.HandleFunc("POST /v1/tokens", nil, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string `json:"name"`
			Role string `json:"role"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "body must be {\"name\":...,\"role\":...}: "+err.Error()))
			return
		}
		role, err := auth.ParseRole(req.Role)
		if err != nil {
			httpx.BadRequest(w, "role", err.Error())
			return
		}
		name := strings.TrimSpace(req.Name)
		if name == "" || len(name) > 100 {
			httpx.BadRequest(w, "name", "name is required (at most 100 characters)")
			return
		}
		tok := auth.NewToken()
		p := auth.Principal{Name: name, Role: role, CreatedAt: time.Now().UTC()}
		if err := s.tokens.Put(r.Context(), tok, p); err != nil {
			s.log.Error().Err(err).Msg("create token")
			httpx.Internal(w)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, map[string]any{"token": tok, "hash": auth.Hash(tok), "name": p.Name, "role": p.Role, "created_at": p.CreatedAt})
	})
	s.router.HandleFunc("DELETE /v1/tokens/{hash}", nil, func(w http.ResponseWriter, r *http.Request) {
		h := r.PathValue("hash")
		if _, ok := s.tokens.List()[h]; !ok {
			httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "hash", "no token with that hash"))
			return
		}
		if err := s.tokens.Revoke(r.Context(), h); err != nil {
			s.log.Error().Err(err).Msg("revoke token")
			httpx.Internal(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// reasonJSON is a reason as GET /v1/reasons shows it.
type reasonJSON struct {
	Code          string              `json:"code"`
	Parent        string              `json:"parent,omitempty"`
	Names         map[string]string   `json:"names"`
	Owner         string              `json:"owner"`
	BIV           string              `json:"biv"`
	Complaint     string              `json:"complaint,omitempty"`
	ValueCustomer string              `json:"value_customer"`
	ValueCompany  string              `json:"value_company"`
	Keywords      map[string][]string `json:"keywords,omitempty"`
	Articles      []string            `json:"articles,omitempty"`
	SubjectKeys   []string            `json:"subject_keys,omitempty"`
	MergedInto    string              `json:"merged_into,omitempty"`
}

func reasonsResponse(t *taxonomy.Taxonomy) map[string]any {
	reasons := make([]reasonJSON, 0, len(t.Reasons))
	for _, r := range t.Reasons {
		reasons = append(reasons, reasonJSON{
			Code: r.Code, Parent: r.Parent, Names: r.Names, Owner: r.Owner, BIV: r.BIV, Complaint: r.Complaint,
			ValueCustomer: r.Value.Customer, ValueCompany: r.Value.Company, Keywords: r.Keywords,
			Articles: r.Articles, SubjectKeys: r.SubjectKeys, MergedInto: r.MergedInto,
		})
	}
	type costed struct {
		Code           string            `json:"code"`
		Names          map[string]string `json:"names"`
		CostPerContact float64           `json:"cost_per_contact"`
		Contact        string            `json:"contact,omitempty"`
	}
	owners := make([]costed, 0, len(t.Owners))
	for _, o := range t.Owners {
		owners = append(owners, costed{Code: o.Code, Names: o.Names, CostPerContact: o.CostPerContact, Contact: o.Contact})
	}
	channels := make([]costed, 0, len(t.Channels))
	for _, c := range t.Channels {
		channels = append(channels, costed{Code: c.Code, Names: c.Names, CostPerContact: c.CostPerContact})
	}
	return map[string]any{"version": t.Version, "reasons": reasons, "owners": owners, "channels": channels}
}
