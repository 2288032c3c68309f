package faq

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/faq/retrieval"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

func hitIDs(res SearchResponse) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

func TestSearchFindsArticlesInEnglishAndChinese(t *testing.T) {
	for _, stage := range []retrieval.FirstStage{"", retrieval.FirstStageBleve, retrieval.FirstStageMemory, retrieval.FirstStageNone} {
		t.Run("first stage "+cmp.Or(string(stage), "default"), func(t *testing.T) { testSearchFindsArticles(t, stage) })
	}
	cfg := Config{FirstStage: "elastic"}
	cfg.setDefaults()
	if err := cfg.Validate(); err == nil {
		t.Error("an unknown first stage passed validation")
	}
}

func testSearchFindsArticles(t *testing.T, stage retrieval.FirstStage) {
	var dir string
	h := startHelpCentre(t, func(c *Config) { c.FirstStage, dir = stage, c.Dir })
	h.putArticles(sampleArticles()...)
	tu.Eventually(t, 5*time.Second, func() bool { return h.svc.snap.Load().ix.Len() == 5 }, "articles not indexed")
	// The default is Bleve; only the Bleve first stage keeps an index on
	// disk.
	want := stage
	if stage == "" {
		want = retrieval.FirstStageBleve
	}
	if got := h.svc.snap.Load().ix.FirstStage(); got != want {
		t.Errorf("first stage %q: the index searches with %q, want %q", stage, got, want)
	}
	if onDisk, _ := filepath.Glob(filepath.Join(dir, "search-*")); (len(onDisk) > 0) != (want == retrieval.FirstStageBleve) {
		t.Errorf("first stage %q: index directories %v", stage, onDisk)
	}
	for _, tc := range []struct {
		name, q, locale, want string
	}{
		{"stemmed English", "refunds", "en", "faq-refund"},
		{"paraphrase matches a question", "my parcel never arrived", "en", "faq-track-order"},
		{"typo", "pasword forgoten", "en", "faq-password"},
		{"tag", "login problem", "en", "faq-password"},
		{"Chinese", "退款多久到账", "zh", "faq-refund-zh"},
		{"Chinese detected without locale", "发票", "", "faq-invoice-zh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.search(tc.q, tc.locale)
			if len(res.Hits) == 0 || res.Hits[0].ID != tc.want {
				t.Fatalf("search %q: hits %v, want %s first", tc.q, hitIDs(res), tc.want)
			}
			if res.SearchID == "" || res.Hits[0].URL == "" || res.Hits[0].Title == "" {
				t.Errorf("incomplete answer: %+v", res)
			}
		})
	}
	res := h.search("refund", "en")
	if !strings.Contains(res.Hits[0].Snippet, "<mark>Refunds</mark>") {
		t.Errorf("snippet does not highlight the match: %q", res.Hits[0].Snippet)
	}
	if slices.Contains(hitIDs(h.search("secret upcoming sale", "en")), "faq-draft") {
		t.Error("a draft article was found by the public search")
	}
}

func TestSearchFallsBackToOtherLocalesAndSaysSo(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	res := h.search("password", "zh")
	if len(res.Hits) == 0 || res.Hits[0].ID != "faq-password" {
		t.Fatalf("hits %v, want the English password article", hitIDs(res))
	}
	if !slices.ContainsFunc(res.Notices, func(n Notice) bool { return n.Kind == NoticeFallback }) {
		t.Errorf("no fallback notice: %+v", res.Notices)
	}
	if res := h.search("password", "en"); slices.ContainsFunc(res.Notices, func(n Notice) bool { return n.Kind == NoticeFallback }) {
		t.Errorf("fallback notice without a fallback: %+v", res.Notices)
	}
}

func TestZeroHitSearchesAndUnhelpfulVotesBecomeGaps(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	for _, q := range []string{"Gift wrapping?", "gift   WRAPPING", "qwxz zzkj bob@example.com"} {
		res := h.search(q, "en")
		if len(res.Hits) != 0 {
			t.Fatalf("search %q found %v, want nothing", q, hitIDs(res))
		}
		if !slices.ContainsFunc(res.Notices, func(n Notice) bool { return n.Kind == NoticeNoResults && n.ContactURL != "" }) {
			t.Fatalf("a zero-hit search offers no way to a person: %+v", res.Notices)
		}
	}
	res := h.search("how long does a refund take", "en")
	var fb FeedbackResponse
	no := false
	if st := h.do("POST", "/v1/faq/feedback", "", map[string]any{"search_id": res.SearchID, "article_id": "faq-refund", "helpful": no, "comment": "says nothing about bank delays"}, &fb); st != http.StatusOK {
		t.Fatalf("feedback: %d", st)
	}
	if fb.ContactURL == "" || !strings.Contains(fb.ContactURL, res.SearchID) {
		t.Errorf("a not-helpful vote must lead to a person with the search attached: %+v", fb)
	}
	var gaps struct {
		Gaps []GapGroup `json:"gaps"`
	}
	tu.Eventually(t, 5*time.Second, func() bool {
		h.do("GET", "/v1/faq/gaps", opsToken, nil, &gaps)
		return len(gaps.Gaps) == 3
	}, "want 3 gap groups, have %+v", &gaps)
	g := gaps.Gaps[0]
	if g.Query != "gift wrapping" || g.Count != 2 || g.ZeroHit != 2 || len(g.Examples) != 2 {
		t.Errorf("top gap %+v, want 'gift wrapping' twice", g)
	}
	for _, g := range gaps.Gaps {
		if strings.Contains(g.Query+strings.Join(g.Examples, " "), "bob@example.com") {
			t.Errorf("a gap shows an e-mail address: %+v", g)
		}
	}
	i := slices.IndexFunc(gaps.Gaps, func(g GapGroup) bool { return g.NotHelpful == 1 })
	if i < 0 || gaps.Gaps[i].Query != "how long does a refund take" || !slices.Contains(gaps.Gaps[i].Articles, "faq-refund") ||
		!strings.Contains(gaps.Gaps[i].Examples[0], "bank delays") {
		t.Errorf("not-helpful gap missing or incomplete: %+v", gaps.Gaps)
	}
	if st := h.do("GET", "/v1/faq/gaps", "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("gaps without a token: %d, want 401", st)
	}
}

func TestEscalationCreatesASelfServiceContactWithTheSearch(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	res := h.search("gift wrapping", "en")
	var esc EscalateResponse
	st := h.do("POST", "/v1/faq/escalate", "", map[string]any{
		"search_id": res.SearchID, "message": "Can you gift wrap my order?", "customer_id": "cust-7", "order_id": "o-42", "email": "ann@example.com",
	}, &esc)
	if st != http.StatusAccepted || esc.ContactID == "" {
		t.Fatalf("escalate: %d %+v", st, esc)
	}
	if esc.ExpectedResponseSeconds != 4*3600 || esc.ExpectedResponse != "within 4 hours" || !strings.Contains(esc.Message, "within 4 hours") {
		t.Errorf("expected response not from configuration: %+v", esc)
	}
	c := readContact(t, h.bus)
	if c.GetId() != esc.ContactID || c.GetChannel() != "self_service" || c.GetCustomerId() != "cust-7" || c.GetOrderId() != "o-42" {
		t.Errorf("contact %+v", c)
	}
	md := c.GetMetadata()
	if md["help_search_id"] != res.SearchID || md["help_query"] != "gift wrapping" || md["reply_to"] != "ann@example.com" {
		t.Errorf("contact does not carry the search context: %v", md)
	}
	for _, bad := range []map[string]any{
		{"message": ""},
		{"message": "hi", "email": "not an address"},
		{"message": strings.Repeat("x", 6000)},
	} {
		if st := h.do("POST", "/v1/faq/escalate", "", bad, nil); st != http.StatusBadRequest {
			t.Errorf("escalate %v: %d, want 400", bad, st)
		}
	}
}

// readContact returns the first contact published on the stream.
func readContact(t *testing.T, b *bus.Bus) *pb.Contact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := b.JS.Stream(ctx, b.Stream(bus.StreamContacts))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.GetLastMsgForSubject(ctx, b.Subjects.ContactReceived)
	if err != nil {
		t.Fatal(err)
	}
	var e pb.ContactReceived
	if err := protoUnmarshal(raw.Data, &e); err != nil {
		t.Fatal(err)
	}
	return e.GetContact()
}

func TestDeflectionCountsOnlySessionsWithoutAFollowingContact(t *testing.T) {
	h := startHelpCentre(t, func(c *Config) { c.DeflectionWindow = 72 * time.Hour })
	h.putArticles(sampleArticles()...)
	search := func(q, session, customer string) SearchResponse {
		var res SearchResponse
		path := "/v1/faq/search?q=" + urlQuery(q) + "&session=" + session
		if customer != "" {
			path += "&customer_id=" + customer
		}
		h.do("GET", path, "", nil, &res)
		return res
	}
	start := h.clock.now()
	// Session A: reads the refund article, nobody contacts: deflected.
	search("refund", "session-aaaaaaaa", "")
	// Session B: escalates from the help centre: not deflected.
	rb := search("where is my order", "session-bbbbbbbb", "")
	if st := h.do("POST", "/v1/faq/escalate", "", map[string]any{"search_id": rb.SearchID, "message": "still nothing", "session": "session-bbbbbbbb"}, nil); st != http.StatusAccepted {
		t.Fatalf("escalate: %d", st)
	}
	// Session C: a known customer who phones two days later: not deflected.
	search("refund", "session-cccccccc", "cust-9")
	// Session D: a customer who phones four days later (outside 72 h): deflected.
	search("password", "session-dddddddd", "cust-10")
	ing := contactAt(h, "cust-9", start.Add(48*time.Hour))
	ing2 := contactAt(h, "cust-10", start.Add(96*time.Hour))
	_ = ing
	_ = ing2
	// Session E: still inside its window: pending.
	h.clock.add(100 * time.Hour)
	search("refund", "session-eeeeeeee", "")

	var rep SelfServiceReport
	from := start.Add(-time.Hour).Format(time.RFC3339)
	to := start.Add(200 * time.Hour).Format(time.RFC3339)
	tu.Eventually(t, 5*time.Second, func() bool {
		h.do("GET", "/v1/metrics/selfservice?from="+from+"&to="+to, opsToken, nil, &rep)
		return rep.Sessions == 5 && rep.Contacts == 3
	}, "report %+v", &rep)
	if rep.Deflected != 2 || rep.Contacted != 2 || rep.Pending != 1 || rep.DeflectionRate != 0.5 {
		t.Errorf("deflection %+v, want 2 deflected, 2 contacted, 1 pending", rep)
	}
	if rep.SelfServiceScore != 5.0/3 {
		t.Errorf("self-service score %v, want 5/3", rep.SelfServiceScore)
	}
	i := slices.IndexFunc(rep.Articles, func(a ArticleDeflection) bool { return a.ID == "faq-refund" })
	if i < 0 || rep.Articles[i].Sessions != 3 || rep.Articles[i].Deflected != 1 || rep.Articles[i].Contacted != 1 {
		t.Errorf("refund article %+v", rep.Articles)
	}
	j := slices.IndexFunc(rep.Reasons, func(r ReasonDeflection) bool { return r.Reason == "refund_status" })
	if j < 0 || rep.Reasons[j].Sessions != 3 {
		t.Errorf("reasons %+v", rep.Reasons)
	}
}

// contactAt publishes a phone contact of a customer at a time, as ingest
// would, and returns its id.
func contactAt(h *helpCentre, customer string, at time.Time) string {
	h.t.Helper()
	id := bus.NewIDAt(at)
	c := &pb.Contact{Id: id, Source: "phone", ExternalId: id, Channel: "phone", CustomerId: customer, ReceivedAt: timestamppb.New(at), Text: "calling about my refund"}
	if err := h.bus.Publish(context.Background(), bus.Event{Subject: h.bus.Subjects.ContactReceived, ID: id, Msg: &pb.ContactReceived{Contact: c}}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

func TestCuesRankReasonsWithoutGoodArticles(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	tag := func(n int, reason, text string) {
		for i := range n {
			id := bus.NewID()
			c := &pb.Contact{Id: id, Channel: "email", Text: text, ReceivedAt: timestamppb.Now()}
			_ = i
			if err := h.bus.Publish(context.Background(), bus.Event{Subject: h.bus.Subjects.ContactTagged, ID: id, Msg: &pb.ContactTagged{Contact: c, Tag: &pb.Tag{Reason: reason}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tag(5, "damaged_item", "My vase arrived broken, call me on +44 7700 900123")
	tag(3, "refund_status", "Where is my refund?")
	tag(2, "where_is_my_order", "Where is my parcel?")
	// The refund article is voted unhelpful three times.
	for range 3 {
		h.do("POST", "/v1/faq/feedback", "", map[string]any{"article_id": "faq-refund", "helpful": false}, nil)
	}
	// A zero-hit search that sounds like a damaged item.
	if res := h.search("vase broken", "en"); len(res.Hits) != 0 {
		t.Fatalf("want a zero-hit search, have %v", hitIDs(res))
	}
	var cues struct {
		Cues []Cue `json:"cues"`
	}
	tu.Eventually(t, 5*time.Second, func() bool {
		h.do("GET", "/v1/faq/cues", opsToken, nil, &cues)
		return len(cues.Cues) == 2 && cues.Cues[0].Contacts == 5 && len(cues.Cues[0].GapQueries) > 0 && cues.Cues[1].NotHelpful == 3
	}, "cues %+v", &cues)
	top := cues.Cues[0]
	if top.Reason != "damaged_item" || top.Problem != CueNoArticle || len(top.Examples) == 0 {
		t.Errorf("top cue %+v", top)
	}
	if strings.Contains(top.Examples[0], "7700") {
		t.Errorf("cue example leaks a phone number: %q", top.Examples[0])
	}
	if cues.Cues[1].Reason != "refund_status" || cues.Cues[1].Problem != CueUnhelpful {
		t.Errorf("second cue %+v", cues.Cues[1])
	}
}

func TestKnownIssuesShowOnSearchesAboutTheirReason(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	h.issues.set(KnownIssue{ID: "def-1", Reason: "where_is_my_order", Title: "Deliveries in Leeds are delayed", Message: "Parcels arrive 2 days late this week."})
	res := h.search("where is my parcel", "en")
	if !slices.ContainsFunc(res.Notices, func(n Notice) bool { return n.Kind == NoticeKnownIssue && n.ID == "def-1" }) {
		t.Errorf("the known issue is not shown on a search about its reason: %+v", res.Notices)
	}
	if res := h.search("password", "en"); slices.ContainsFunc(res.Notices, func(n Notice) bool { return n.Kind == NoticeKnownIssue }) {
		t.Errorf("a known issue shows on an unrelated search: %+v", res.Notices)
	}
	resp, err := http.Get(h.url + "/help/")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if !strings.Contains(body, "Deliveries in Leeds are delayed") {
		t.Error("the help-centre home does not show the known issue")
	}
}

func TestArticlesAPI(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	var got ArticleView
	if st := h.do("GET", "/v1/articles/faq-refund", opsToken, nil, &got); st != http.StatusOK || got.Title != "How do I get a refund?" || !strings.Contains(got.HTML, "<strong>5 working days</strong>") {
		t.Fatalf("get: %d %+v", st, got)
	}
	created := got.CreatedAt
	got.Title = "Refunds"
	var put ArticleView
	if st := h.do("PUT", "/v1/articles/faq-refund", opsToken, got.Article, &put); st != http.StatusOK || put.Title != "Refunds" || !put.CreatedAt.Equal(created) {
		t.Fatalf("put: %d %+v", st, put)
	}
	var list struct {
		Articles []ArticleView `json:"articles"`
		Total    int           `json:"total"`
	}
	h.do("GET", "/v1/articles?locale=zh", opsToken, nil, &list)
	if list.Total != 2 {
		t.Errorf("zh articles: %d, want 2", list.Total)
	}
	if st := h.do("DELETE", "/v1/articles/faq-password", opsToken, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	if st := h.do("GET", "/v1/articles/faq-password", opsToken, nil, nil); st != http.StatusNotFound {
		t.Errorf("deleted article: %d", st)
	}
	tu.Eventually(t, 5*time.Second, func() bool { return len(h.search("password", "en").Hits) == 0 }, "deleted article still found")
	var e struct {
		Error struct{ Field string } `json:"error"`
	}
	if st := h.do("POST", "/v1/articles", opsToken, []map[string]any{{"id": "x", "title": "t", "body": "b", "status": "secret"}}, &e); st != http.StatusBadRequest || e.Error.Field != "status" {
		t.Errorf("bad status: %d %+v", st, e)
	}
	if st := h.do("POST", "/v1/articles", "", sampleArticles()[:1], nil); st != http.StatusUnauthorized {
		t.Errorf("articles without a token: %d", st)
	}
	// Events were published on nc.article.*.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	str, err := h.bus.JS.Stream(ctx, h.bus.Stream(bus.StreamSelfService))
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter("nc.article.>"))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Subjects["nc.article.upserted"] != 7 || info.State.Subjects["nc.article.deleted"] != 1 {
		t.Errorf("article events %v", info.State.Subjects)
	}
}

func TestStateIsRebuiltFromTheStreams(t *testing.T) {
	dir := t.TempDir()
	b := tu.BusAt(t, dir)
	_ = b
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	h.search("qqqzzz", "en")
	tu.Eventually(t, 5*time.Second, func() bool { return len(h.svc.st.gapGroups(time.Time{})) == 1 }, "gap not applied")
	// A second service on the same bus replays everything.
	svc2, err := New(context.Background(), Config{RebuildDelay: 10 * time.Millisecond}, Deps{Bus: h.bus, Taxonomy: h.svc.deps.Taxonomy, Log: tu.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc2.Run(ctx) }()
	defer func() { cancel(); <-done }()
	tu.Eventually(t, 5*time.Second, func() bool {
		return svc2.snap.Load().ix.Len() == 5 && len(svc2.st.gapGroups(time.Time{})) == 1
	}, "replayed state incomplete")
}

func TestPublicRoutesAreRateLimitedAndSizeLimited(t *testing.T) {
	h := startHelpCentre(t, func(c *Config) {
		c.SearchRate = Rate{PerSecond: 1, Burst: 3}
		c.EscalateRate = Rate{PerSecond: 1.0 / 60, Burst: 3}
	})
	h.putArticles(sampleArticles()...)
	var codes []int
	var last *http.Response
	for range 5 {
		resp, err := http.Get(h.url + "/v1/faq/search?q=refund")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		last = resp
	}
	if !slices.Equal(codes, []int{200, 200, 200, 429, 429}) {
		t.Errorf("statuses %v, want three 200 then 429", codes)
	}
	if last.Header.Get("Retry-After") == "" || !strings.HasPrefix(last.Header.Get("Content-Type"), "application/json") {
		t.Errorf("429 without Retry-After or JSON: %v", last.Header)
	}
	if st := h.do("GET", "/v1/faq/search?q="+strings.Repeat("a", 600), "", nil, nil); st != http.StatusBadRequest && st != http.StatusTooManyRequests {
		t.Errorf("long query: %d", st)
	}
	big := map[string]any{"message": strings.Repeat("x", 20<<10)}
	if st := h.do("POST", "/v1/faq/escalate", "", big, nil); st != http.StatusRequestEntityTooLarge {
		t.Errorf("large body: %d, want 413", st)
	}
	for range 2 {
		h.do("POST", "/v1/faq/escalate", "", map[string]any{"message": "help"}, nil)
	}
	if st := h.do("POST", "/v1/faq/escalate", "", map[string]any{"message": "help"}, nil); st != http.StatusTooManyRequests {
		t.Errorf("fourth escalation within a minute: %d, want 429", st)
	}
}

func TestPublicRoutesExposeNoContactData(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	contactAt(h, "cust-secret", time.Now())
	for _, path := range []string{"/v1/faq/gaps", "/v1/faq/cues", "/v1/metrics/selfservice", "/v1/articles", "/v1/contacts"} {
		if st := h.do("GET", path, "", nil, nil); st != http.StatusUnauthorized && st != http.StatusNotFound && st != http.StatusMethodNotAllowed {
			t.Errorf("GET %s without a token: %d", path, st)
		}
	}
	resp, err := http.Get(h.url + "/help/?q=cust-secret")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); strings.Contains(body, "calling about my refund") {
		t.Error("a contact's text reached a public page")
	}
}

func TestKnownIssuesComeFromPublicOpenDefects(t *testing.T) {
	b := tu.Bus(t)
	ctx := context.Background()
	kv, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b.Bucket(BucketDefects)})
	if err != nil {
		t.Fatal(err)
	}
	put := func(id, status, notice string) {
		if _, err := kv.Put(ctx, id, []byte(`{"id":"`+id+`","reason":"damaged_item","status":"`+status+`","public_notice":"`+notice+`","title":"internal title"}`)); err != nil {
			t.Fatal(err)
		}
	}
	put("d1", "open", "Some mugs arrive broken; we are on it.")
	put("d2", "open", "")
	put("d3", "verified", "Old issue")
	n := NewDefectNotices(b, tu.Logger(t))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = n.Run(runCtx) }()
	tu.Eventually(t, 5*time.Second, func() bool {
		is, _ := n.PublicIssues(ctx)
		return len(is) == 1 && is[0].ID == "d1" && is[0].Reason == "damaged_item" && strings.Contains(is[0].Title, "mugs")
	}, "want only the open public defect")
	put("d1", "fixed", "Some mugs arrive broken; we are on it.")
	tu.Eventually(t, 5*time.Second, func() bool {
		is, _ := n.PublicIssues(ctx)
		return len(is) == 0
	}, "a fixed defect is still a known issue")
}

func TestHelpfulArticlesRankFirstAmongEquals(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(
		Article{ID: "returns-a", Title: "Returns policy", Body: "You can return items within 30 days."},
		Article{ID: "returns-b", Title: "Returns policy", Body: "You can return items within 30 days."},
	)
	if hits := hitIDs(h.search("returns policy", "en")); len(hits) != 2 || hits[0] != "returns-a" {
		t.Fatalf("hits %v, want returns-a first (tie broken by order)", hits)
	}
	for range 3 {
		if st := h.do("POST", "/v1/faq/feedback", "", map[string]any{"article_id": "returns-b", "helpful": true}, nil); st != http.StatusOK {
			t.Fatalf("feedback: %d", st)
		}
	}
	tu.Eventually(t, 5*time.Second, func() bool {
		hits := hitIDs(h.search("returns policy", "en"))
		return len(hits) == 2 && hits[0] == "returns-b"
	}, "the helpful article does not rank first")
}
