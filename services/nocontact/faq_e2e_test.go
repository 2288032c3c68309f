package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// The help centre through the whole binary: ops publish an article, a
// customer finds it without a token, and asking for help from a search
// becomes a contact in the normal pipeline.
func TestHelpCentreThroughServe(t *testing.T) {
	data := t.TempDir()
	ts := startServer(t, data)
	article := []byte(`[{"id":"track-order","title":"How do I track my order?","body":"Open **My orders** and click *Track*.","questions":["Where is my parcel?","Where is my order?"],"locale":"en","reasons":["where_is_my_order"],"status":"published"}]`)
	if st := ts.call(http.MethodPost, "/v1/articles", testAdmin, "application/json", article, nil); st/100 != 2 {
		t.Fatalf("publish article: %d", st)
	}
	if st := ts.call(http.MethodPost, "/v1/articles", "", "application/json", article, nil); st != http.StatusUnauthorized {
		t.Errorf("publishing without a token: %d, want 401", st)
	}
	var res struct {
		SearchID string `json:"search_id"`
		Hits     []struct {
			ID string `json:"id"`
		} `json:"hits"`
	}
	tu.Eventually(t, 20*time.Second, func() bool {
		st := ts.call(http.MethodGet, "/v1/faq/search?q="+url.QueryEscape("where is my parcel"), "", "", nil, &res)
		return st == http.StatusOK && len(res.Hits) > 0 && res.Hits[0].ID == "track-order"
	}, "public search does not find the article")
	// The default first stage is Bleve, its index under <data>/index/faq.
	if onDisk, _ := filepath.Glob(filepath.Join(data, "index", "faq", "search-*")); len(onDisk) == 0 {
		t.Errorf("no Bleve help-centre index under %s/index/faq", data)
	}
	body := []byte(`{"search_id":"` + res.SearchID + `","message":"The tracking page says nothing since Monday.","customer_id":"c-77"}`)
	if st := ts.call(http.MethodPost, "/v1/faq/escalate", "", "application/json", body, nil); st != http.StatusAccepted {
		t.Fatalf("escalate: %d", st)
	}
	r := ts.waitSearchable("channel=self_service", 1)
	if r.Hits[0].Reason == "" {
		t.Errorf("escalated contact has no reason: %+v", r.Hits[0])
	}
	// Contact data is never reachable without a token.
	if st := ts.call(http.MethodGet, "/v1/contacts?channel=self_service", "", "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("contact search without a token: %d", st)
	}
}
