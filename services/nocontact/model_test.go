package main

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/demo"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

type modelInfo struct {
	Version  string   `json:"version"`
	Labels   []string `json:"labels"`
	Examples int      `json:"examples"`
	Training struct {
		State      string    `json:"state"`
		Error      string    `json:"error"`
		Examples   int       `json:"examples"`
		FinishedAt time.Time `json:"finished_at"`
	} `json:"training"`
}

// trainingTopics are phrasings the keyword rules do not know, each with
// the reason an agent gave them.
var trainingTopics = map[string][]string{
	"pre_sale_question": {
		"Is the %s available in velvet blue?", "Does the %s come in a larger size?", "What colours does the %s come in?",
		"Is the %s made of solid oak?", "How heavy is the %s?", "Is the %s suitable for small flats?",
	},
	"suggestion": {
		"You should add a dark mode to the %s page", "It would be great if the %s page had a size guide",
		"Please add more photos of the %s", "I'd love to see the %s in more colours, consider it",
		"Idea: bundle the %s with cushions", "Maybe show reviews of the %s on top",
	},
	"staff_attitude": {
		"The man on the phone about the %s was rude and hung up on me", "Your agent laughed at me when I asked about the %s",
		"The lady in chat about the %s was sarcastic and unhelpful", "Nobody apologised for the %s mess, the staff were arrogant",
		"The agent shouted at me over the %s", "Your employee was condescending about the %s",
	},
}

var trainingItems = []string{"sofa", "armchair", "lamp", "desk", "bookshelf"}

func (ts *testServer) modelInfo() modelInfo {
	ts.t.Helper()
	var m modelInfo
	if st := ts.call(http.MethodGet, "/v1/model", testAdmin, "", nil, &m); st != http.StatusOK {
		ts.t.Fatalf("GET /v1/model: %d", st)
	}
	return m
}

func (ts *testServer) retrain() modelInfo {
	ts.t.Helper()
	before := ts.modelInfo().Training.FinishedAt
	if st := ts.call(http.MethodPost, "/v1/model/retrain", testAdmin, "", nil, nil); st != http.StatusAccepted {
		ts.t.Fatalf("retrain: %d", st)
	}
	var m modelInfo
	deadline := time.Now().Add(90 * time.Second)
	for {
		m = ts.modelInfo()
		if (m.Training.State == "failed" || m.Training.State == "done") && !m.Training.FinishedAt.Equal(before) {
			break
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("training did not finish: %+v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.Training.State != "done" {
		ts.t.Fatalf("training failed: %+v", m.Training)
	}
	return m
}

// tagOf posts one contact and returns the reason and method it gets.
func (ts *testServer) tagOf(id, text string) (string, string) {
	ts.t.Helper()
	_, res := ts.post("/v1/contacts", map[string]any{"external_id": id, "source": "probe", "text": text})
	var hit searchResultWithMethod
	tu.Eventually(ts.t, 20*time.Second, func() bool {
		hit = searchResultWithMethod{}
		ts.call(http.MethodGet, "/v1/contacts?source=probe&limit=200", testAdmin, "", nil, &hit)
		for _, h := range hit.Hits {
			if h.ID == res.IDs[0] {
				hit.Hits = []methodHit{h}
				return true
			}
		}
		return false
	}, "probe %s not searchable", id)
	return hit.Hits[0].Reason, hit.Hits[0].Method
}

type methodHit struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Method string `json:"method"`
}

type searchResultWithMethod struct {
	Hits []methodHit `json:"hits"`
}

// demoContacts returns contacts of a generated shop history, with the
// reason each was written for.
func demoContacts(t *testing.T, seed int64, days, orders int) []demo.Contact {
	t.Helper()
	g, err := demo.New(demo.Config{Seed: seed, Days: days, OrdersPerDay: orders, NoDefects: true, Source: fmt.Sprint("demo", seed)})
	if err != nil {
		t.Fatal(err)
	}
	var out []demo.Contact
	for d, ok := g.Next(); ok; d, ok = g.Next() {
		out = append(out, d.Contacts...)
	}
	return out
}

func TestModelLearnsFromConfirmedContactsAndRelabels(t *testing.T) {
	ts := startServer(t, t.TempDir())
	if st := ts.call(http.MethodPost, "/v1/model/retrain", testAdmin, "", nil, nil); st != http.StatusAccepted {
		t.Fatalf("retrain: %d", st)
	}
	tu.Eventually(t, 20*time.Second, func() bool { return ts.modelInfo().Training.State == "failed" }, "training without data did not fail")
	if m := ts.modelInfo(); m.Version != "" || m.Training.Error == "" {
		t.Errorf("model after a training without data: %+v, want none and an error", m)
	}

	// Contacts with agent codes are training data: a generated history,
	// each contact coded with the reason it was written for, plus one
	// topic the keyword rules do not know.
	var batch []map[string]any
	for _, c := range demoContacts(t, 1, 14, 600) {
		if c.Truth.Reason == "unclassified" {
			continue
		}
		batch = append(batch, map[string]any{"external_id": c.ExternalID, "source": c.Source, "received_at": c.ReceivedAt, "locale": c.Locale, "text": c.Text, "reason": c.Truth.Reason})
	}
	const topic = "I'd love to see the %s in more colours, please consider it"
	for i, item := range []string{"sofa", "armchair", "lamp", "desk", "bookshelf", "rug", "mirror", "table", "stool", "bench", "cabinet", "mattress"} {
		for j, tail := range []string{"", " for my new flat", " next season"} {
			batch = append(batch, map[string]any{"external_id": fmt.Sprintf("topic-%d-%d", i, j), "reason": "suggestion", "text": fmt.Sprintf(topic, item) + tail})
		}
	}
	for i := 0; i < len(batch); i += 1000 {
		ts.post("/v1/contacts", batch[i:min(i+1000, len(batch))])
	}
	ts.waitSearchable("limit=1", len(batch))
	m := ts.retrain()
	if m.Examples != len(batch) || len(m.Labels) < 15 {
		t.Fatalf("model %+v, want %d examples over 15 or more reasons", m, len(batch))
	}

	// New contacts the rules cannot place: the model tags most of them,
	// and those it tags are mostly right.
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	rules := taxonomy.NewMatcher(tax)
	var probes []map[string]any
	want := map[string]string{}
	for _, c := range demoContacts(t, 2, 14, 600) {
		if r := rules.Match(c.Text, c.Locale); c.Truth.Reason == "unclassified" || r.Reason != "" && r.Confidence >= 0.5 {
			continue
		}
		probes = append(probes, map[string]any{"external_id": c.ExternalID, "source": "probe", "received_at": c.ReceivedAt, "locale": c.Locale, "text": c.Text})
		want[c.ExternalID] = c.Truth.Reason
	}
	if len(probes) < 50 {
		t.Fatalf("only %d probes the rules miss", len(probes))
	}
	_, res := ts.post("/v1/contacts", probes)
	ts.waitSearchable("source=probe&limit=1", len(probes))
	byID := map[string]string{}
	for i, id := range res.IDs {
		byID[id] = want[probes[i]["external_id"].(string)]
	}
	var tagged, right int
	cursor := ""
	for {
		var page struct {
			Hits []struct {
				ID, Reason, Method string
			} `json:"hits"`
			NextCursor string `json:"next_cursor"`
		}
		ts.call(http.MethodGet, "/v1/contacts?source=probe&limit=200&cursor="+cursor, testAdmin, "", nil, &page)
		for _, h := range page.Hits {
			if h.Method == "model" {
				tagged++
				if h.Reason == byID[h.ID] {
					right++
				}
			}
		}
		if page.NextCursor == "" || len(page.Hits) == 0 {
			break
		}
		cursor = page.NextCursor
	}
	t.Logf("model tagged %d of %d contacts the rules missed, %d right", tagged, len(probes), right)
	if tagged*2 < len(probes) || right*10 < tagged*8 {
		t.Errorf("model tagged %d of %d rule-missed contacts with %d right; want at least half tagged and 80%% of those right", tagged, len(probes), right)
	}

	// People move the colours topic to another reason; after a retrain,
	// similar text follows the correction.
	probe := "I'd love to see the lamp in more colours, please consider it next year"
	if reason, method := ts.tagOf("before", probe); reason != "suggestion" || method != "model" {
		t.Errorf("before the relabels: %s by %s, want suggestion by model", reason, method)
	}
	var corrected int
	all := ts.search("reason=suggestion&limit=200&q=" + url.QueryEscape("colours consider"))
	for _, h := range all.Hits {
		if st := ts.call(http.MethodPost, "/v1/contacts/"+h.ID+"/reason", testAdmin, "application/json", []byte(`{"reason":"website_app_issue"}`), nil); st != http.StatusOK {
			t.Fatalf("relabel %s: %d", h.ID, st)
		}
		corrected++
	}
	if corrected < 30 {
		t.Fatalf("relabeled %d contacts of the topic, want all 36", corrected)
	}
	ts.retrain()
	if reason, method := ts.tagOf("after", probe); reason != "website_app_issue" || method != "model" {
		t.Errorf("after relabels and a retrain: %s by %s, want website_app_issue by model", reason, method)
	}
}

// Swapping the model while contacts stream through loses and duplicates
// nothing: every contact is tagged exactly once.
func TestModelSwapUnderLoadLosesNothing(t *testing.T) {
	ts := startServer(t, t.TempDir())
	coded := func(half int) []map[string]any {
		var batch []map[string]any
		for reason, phrasings := range trainingTopics {
			for i, p := range phrasings {
				if i%2 != half {
					continue
				}
				for j, item := range trainingItems {
					batch = append(batch, map[string]any{"external_id": fmt.Sprintf("t-%s-%d-%d", reason, i, j), "reason": reason, "text": fmt.Sprintf(p, item)})
				}
			}
		}
		return batch
	}
	first := coded(0)
	ts.post("/v1/contacts", first)
	ts.waitSearchable("limit=1", len(first))
	v1 := ts.retrain().Version
	const n = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i += 250 {
			var b []map[string]any
			for j := i; j < i+250; j++ {
				b = append(b, map[string]any{"external_id": fmt.Sprint("load-", j), "source": "load", "text": fmt.Sprintf("Is item %d made of solid oak?", j)})
			}
			ts.post("/v1/contacts", b)
		}
	}()
	second := coded(1)
	ts.post("/v1/contacts", second)
	ts.waitSearchable("source=api&limit=1", len(first)+len(second))
	if v2 := ts.retrain().Version; v2 == v1 {
		t.Fatalf("the second training gave the same model %s", v2)
	}
	wg.Wait()
	ts.waitSearchable("source=load&limit=1", n)
	want := uint64(n + len(first) + len(second))
	tu.Eventually(t, 30*time.Second, func() bool { return ts.streamCount("nc.contact.tagged") >= want }, "tagged events below %d", want)
	time.Sleep(200 * time.Millisecond)
	if got := ts.streamCount("nc.contact.tagged"); got != want {
		t.Errorf("tagged events %d, want exactly %d", got, want)
	}
}
