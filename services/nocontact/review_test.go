package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

type reviewPage struct {
	Total int `json:"total"`
	Items []struct {
		ID           string `json:"id"`
		Reason       string `json:"reason"`
		Text         string `json:"text"`
		Alternatives []struct {
			Reason string  `json:"reason"`
			Score  float64 `json:"score"`
		} `json:"alternatives"`
	} `json:"items"`
}

func (ts *testServer) review(query string) reviewPage {
	ts.t.Helper()
	var p reviewPage
	if st := ts.call(http.MethodGet, "/v1/review?"+query, testAdmin, "", nil, &p); st != http.StatusOK {
		ts.t.Fatalf("review %q: status %d", query, st)
	}
	return p
}

func TestReviewQueueAndRelabel(t *testing.T) {
	ts := startServer(t, t.TempDir())
	_, res := ts.post("/v1/contacts", []map[string]any{
		{"external_id": "r1", "channel": "chat", "customer_id": "c1", "text": "Will it rain in Paris tomorrow afternoon?"},
		{"external_id": "r2", "channel": "chat", "customer_id": "c2", "text": "The mug I received was broken."},
	})
	ts.waitSearchable("", 2)
	first := ts.search("q=paris")
	unclassifiedID := res.IDs[0]
	if first.Total != 1 || first.Hits[0].Reason != "unclassified" {
		t.Fatalf("q=paris found %+v, want the one unclassified contact", first.Hits)
	}
	if q := ts.review(""); q.Total != 1 || len(q.Items) != 1 || q.Items[0].ID != unclassifiedID || q.Items[0].Reason != "unclassified" {
		t.Fatalf("review queue = %+v, want the unclassified contact", q)
	}

	var out struct {
		ID             string `json:"id"`
		Reason         string `json:"reason"`
		PreviousReason string `json:"previous_reason"`
		Changed        bool   `json:"changed"`
	}
	body := []byte(`{"reason":"pre_sale_question"}`)
	if st := ts.call(http.MethodPost, "/v1/contacts/"+unclassifiedID+"/reason", testAdmin, "application/json", body, &out); st != http.StatusOK {
		t.Fatalf("relabel: status %d", st)
	}
	if out.Reason != "pre_sale_question" || out.PreviousReason != "unclassified" || !out.Changed {
		t.Errorf("relabel answer %+v", out)
	}
	// The index follows the relabel; the review queue forgets the contact.
	tu.Eventually(t, 20*time.Second, func() bool {
		r := ts.search("reason=pre_sale_question")
		return r.Total == 1 && r.Hits[0].ID == unclassifiedID
	}, "relabeled contact not found under its new reason")
	if q := ts.review(""); q.Total != 0 {
		t.Errorf("review queue after relabel: %+v, want empty", q)
	}
	if r := ts.search("reason=unclassified"); r.Total != 0 {
		t.Errorf("still %d unclassified contacts after the relabel", r.Total)
	}

	var e errorBody
	if st := ts.call(http.MethodPost, "/v1/contacts/"+unclassifiedID+"/reason", testAdmin, "application/json", []byte(`{"reason":"no_such_reason"}`), &e); st != 400 || e.Error.Field != "reason" {
		t.Errorf("unknown reason: %d %+v", st, e.Error)
	}
	if st := ts.call(http.MethodPost, "/v1/contacts/nope/reason", testAdmin, "application/json", body, &e); st != 404 {
		t.Errorf("unknown contact: %d %+v", st, e.Error)
	}
	if st := ts.call(http.MethodPost, "/v1/contacts/"+unclassifiedID+"/reason", testAdmin, "application/json", []byte(`{"reason":"x","extra":1}`), &e); st != 400 {
		t.Errorf("unknown body field: %d", st)
	}

	// A reason in suggest mode keeps its tag but sends the contact to review.
	if st := ts.call(http.MethodPut, "/v1/reasons/damaged_item/mode", testAdmin, "application/json", []byte(`{"mode":"suggest"}`), nil); st != http.StatusOK {
		t.Fatalf("set mode: %d", st)
	}
	_, res2 := ts.post("/v1/contacts", map[string]any{"external_id": "r3", "text": "My package arrived damaged and the glass is cracked."})
	tu.Eventually(t, 20*time.Second, func() bool {
		q := ts.review("reason=damaged_item")
		return len(q.Items) == 1 && q.Items[0].ID == res2.IDs[0]
	}, "suggest-mode contact not in review")
	if st := ts.call(http.MethodPut, "/v1/reasons/damaged_item/mode", testAdmin, "application/json", []byte(`{"mode":"sometimes"}`), &e); st != 400 || e.Error.Field != "mode" {
		t.Errorf("bad mode: %d %+v", st, e.Error)
	}
}

func TestReasonSuggestionsGroupUnclassifiedContacts(t *testing.T) {
	ts := startServer(t, t.TempDir())
	texts := []string{
		"Is your packaging recyclable?",
		"Can I recycle the packaging the blender came in?",
		"Is the packaging plastic free and recyclable?",
		"包装可以回收吗？",
		"你们的包装能回收吗",
		"Will it rain in Paris tomorrow?",
	}
	var batch []map[string]any
	for i, text := range texts {
		batch = append(batch, map[string]any{"external_id": fmt.Sprint("s", i), "text": text})
	}
	ts.post("/v1/contacts", batch)
	ts.waitSearchable("reason=unclassified", len(texts))
	var out struct {
		Unclassified int `json:"unclassified"`
		Suggestions  []struct {
			Size     int      `json:"size"`
			TopTerms []string `json:"top_terms"`
			Examples []struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			} `json:"examples"`
		} `json:"suggestions"`
	}
	if st := ts.call(http.MethodGet, "/v1/reasons/suggestions?min_size=2", testAdmin, "", nil, &out); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if out.Unclassified != len(texts) || len(out.Suggestions) != 2 {
		t.Fatalf("suggestions = %+v, want 2 groups over %d unclassified", out, len(texts))
	}
	if g := out.Suggestions[0]; g.Size != 3 || !slices.Contains(g.TopTerms, "packaging") || len(g.Examples) != 3 {
		t.Errorf("first suggestion = %+v, want the 3 English packaging contacts", g)
	}
	if g := out.Suggestions[1]; g.Size != 2 || !slices.Contains(g.TopTerms, "包装") {
		t.Errorf("second suggestion = %+v, want the 2 Chinese packaging contacts", g)
	}
	var e errorBody
	if st := ts.call(http.MethodGet, "/v1/reasons/suggestions?min_size=0", testAdmin, "", nil, &e); st != 400 || e.Error.Field != "min_size" {
		t.Errorf("min_size=0: %d %+v", st, e.Error)
	}
}
