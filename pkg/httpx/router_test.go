package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/auth"
)

// tokenTable is an in-memory Tokens for the test.
type tokenTable map[string]auth.Principal

func (t tokenTable) Lookup(token string) (auth.Principal, error) {
	p, ok := t[token]
	if !ok {
		return auth.Principal{}, auth.ErrUnknownToken
	}
	return p, nil
}

func TestRouterAuthenticatesRecoversAndAnswersJSON(t *testing.T) {
	r := NewRouter(tokenTable{"ops-token": {Name: "olga", Role: auth.RoleOps}, "admin-token": {Name: "root", Role: auth.RoleAdmin}},
		prometheus.NewRegistry(), zerolog.Nop())
	ok := func(w http.ResponseWriter, req *http.Request) {
		p, _ := PrincipalFrom(req.Context())
		WriteJSON(w, http.StatusOK, map[string]string{"who": p.Name})
	}
	r.HandleFunc("GET /healthz", nil, ok)
	r.HandleFunc("GET /v1/ops", []auth.Role{auth.RoleOps}, ok)
	r.HandleFunc("GET /v1/admin", nil, ok)
	r.HandleFunc("GET /v1/boom", []auth.Role{auth.RoleOps}, func(http.ResponseWriter, *http.Request) { panic("bug") })
	cases := []struct {
		path, token string
		status      int
		code        string
	}{
		{"/healthz", "", 200, ""},
		{"/v1/ops", "", 401, "unauthenticated"},
		{"/v1/ops", "wrong", 401, "invalid_token"},
		{"/v1/ops", "ops-token", 200, ""},
		{"/v1/admin", "ops-token", 403, "forbidden"},
		{"/v1/admin", "admin-token", 200, ""},
		{"/v1/ops", "admin-token", 200, ""},
		{"/v1/boom", "ops-token", 500, "internal"},
		{"/nowhere", "", 404, "not_found"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		r.Handler().ServeHTTP(w, req)
		if w.Code != c.status {
			t.Errorf("%s with %q: status %d, want %d", c.path, c.token, w.Code, c.status)
			continue
		}
		if c.code != "" {
			var e struct {
				Error Error `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != c.code {
				t.Errorf("%s with %q: body %s, want error code %s", c.path, c.token, w.Body, c.code)
			}
		}
	}
}
