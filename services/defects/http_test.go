package defects

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodePatch(t *testing.T) {
	cases := []struct {
		body, code, field string
	}{
		{`{"status":"fixed","fixed_at":"2025-03-04"}`, "", ""},
		{`{"note":"carrier informed","public_notice":"Some mugs arrive broken."}`, "", ""},
		{`{"colour":"red"}`, "unknown_field", "colour"},
		{`{}`, "empty_patch", ""},
		{`{"status":`, "invalid_json", ""},
		{`{"status":3}`, "invalid_json", ""},
		{`{"status":"fixed"} {"status":"open"}`, "invalid_json", ""},
		{`{"status":"fixed","fixed_at":"last week"}`, "invalid_value", "fixed_at"},
		{`{"note":"` + strings.Repeat("x", 4001) + `"}`, "invalid_value", "note"},
	}
	for _, c := range cases {
		_, err := decodePatch(strings.NewReader(c.body))
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%.40s: %v", c.body, err)
		case c.code != "" && (err == nil || err.Code != c.code || err.Field != c.field || err.Status != http.StatusBadRequest):
			t.Errorf("%.40s: got %+v, want %s field %q", c.body, err, c.code, c.field)
		}
	}
}

// FuzzDecodePatch: any body is a patch or a 400 that says why, never a
// panic.
func FuzzDecodePatch(f *testing.F) {
	for _, s := range []string{`{"status":"fixed","fixed_at":"2025-03-04T10:00:00Z"}`, `{"owner":"quality","note":"x"}`, `{"x":1}`, `[]`, `null`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := decodePatch(strings.NewReader(body))
		if err != nil {
			if err.Status != http.StatusBadRequest || err.Code == "" || !utf8.ValidString(err.Code) {
				t.Fatalf("error %+v", err)
			}
			return
		}
		if p.Status == nil && p.Owner == nil && p.Note == nil && p.PublicNotice == nil && p.Reason == nil && p.FixedAt == nil {
			t.Fatal("an empty patch was accepted")
		}
	})
}
