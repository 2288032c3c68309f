package faq

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// lastEvent decodes the last protobuf event on a subject of the
// self-service stream, checking its Nc-Schema header and that its event id
// is the JetStream message id.
func lastEvent(t *testing.T, b *bus.Bus, subject string, m proto.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	str, err := b.JS.Stream(ctx, b.Stream(bus.StreamSelfService))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := str.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	if got, want := raw.Header.Get(bus.HeaderSchema), string(proto.MessageName(m)); got != want {
		t.Errorf("%s: schema header %q, want %q", subject, got, want)
	}
	if err := protoUnmarshal(raw.Data, m); err != nil {
		t.Fatalf("%s: not protobuf: %v", subject, err)
	}
	meta := m.(interface{ GetMeta() *pb.EventMeta }).GetMeta()
	if meta.GetProducer() != "faq" || meta.GetSchemaVersion() != 1 || meta.GetEventId() == "" || meta.GetOccurredAt() == nil {
		t.Errorf("%s: meta %v", subject, meta)
	}
	if id := raw.Header.Get(jetstream.MsgIDHeader); id != meta.GetEventId() {
		t.Errorf("%s: Nats-Msg-Id %q, event id %q", subject, id, meta.GetEventId())
	}
}

func TestSelfServiceEventsAreProtobuf(t *testing.T) {
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	var res SearchResponse
	h.do("GET", "/v1/faq/search?q=refund&session=session-pb-1&customer_id=cust-7", "", nil, &res)
	if len(res.Hits) == 0 || res.Hits[0].ID != "faq-refund" {
		t.Fatalf("search refund: %+v", res.Hits)
	}
	if st := h.do("POST", "/v1/faq/feedback", "", map[string]any{"search_id": res.SearchID, "article_id": "faq-refund", "helpful": false, "comment": "too vague"}, nil); st != http.StatusOK {
		t.Fatalf("feedback: %d", st)
	}
	var esc EscalateResponse
	if st := h.do("POST", "/v1/faq/escalate", "", map[string]any{"search_id": res.SearchID, "message": "still waiting", "session": "session-pb-1"}, &esc); st != http.StatusAccepted {
		t.Fatalf("escalate: %d", st)
	}
	if st := h.do("DELETE", "/v1/articles/faq-password", opsToken, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	p := h.bus.Subjects.Prefix
	// Searches are published in the background.
	tu.Eventually(t, 5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		str, err := h.bus.JS.Stream(ctx, h.bus.Stream(bus.StreamSelfService))
		if err != nil {
			return false
		}
		_, err = str.GetLastMsgForSubject(ctx, p+".faq.searched")
		return err == nil
	}, "no search event")

	var up pb.ArticleUpserted
	lastEvent(t, h.bus, p+".article.upserted", &up)
	// The last sample article is a draft: drafts are events too.
	if a := up.GetArticle(); a.GetId() != "faq-draft" || a.GetLocale() != "en" || a.GetStatus() != StatusDraft || a.GetTitle() != "Secret upcoming sale" ||
		a.GetCreatedAt() == nil || a.GetUpdatedAt() == nil {
		t.Errorf("article upserted %v", a)
	}
	var del pb.ArticleDeleted
	lastEvent(t, h.bus, p+".article.deleted", &del)
	if del.GetArticleId() != "faq-password" {
		t.Errorf("article deleted %v", &del)
	}
	var se pb.FaqSearched
	lastEvent(t, h.bus, p+".faq.searched", &se)
	if se.GetSearchId() != res.SearchID || se.GetMeta().GetEventId() != res.SearchID || se.GetSessionId() != "session-pb-1" ||
		se.GetCustomerId() != "cust-7" || se.GetQuery() != "refund" || se.GetLocale() != "en" || len(se.GetHits()) == 0 || se.GetHits()[0] != "faq-refund" {
		t.Errorf("searched %v", &se)
	}
	var fb pb.FaqFeedback
	lastEvent(t, h.bus, p+".faq.feedback", &fb)
	if fb.GetArticleId() != "faq-refund" || fb.GetHelpful() || fb.GetSearchId() != res.SearchID || fb.GetSessionId() != "session-pb-1" || fb.GetComment() != "too vague" {
		t.Errorf("feedback %v", &fb)
	}
	var gap pb.FaqGap
	lastEvent(t, h.bus, p+".faq.gap", &gap)
	if gap.GetKind() != GapNotHelpful || gap.GetArticleId() != "faq-refund" || gap.GetQuery() != "refund" || gap.GetNormalized() != "refund" || gap.GetComment() != "too vague" {
		t.Errorf("gap %v", &gap)
	}
	var es pb.FaqEscalated
	lastEvent(t, h.bus, p+".faq.escalated", &es)
	if es.GetContactId() != esc.ContactID || es.GetSearchId() != res.SearchID || es.GetSessionId() != "session-pb-1" {
		t.Errorf("escalated %v", &es)
	}
}

// publishRaw stores a payload with a schema header on the bus, as an
// earlier version of the service did.
func publishRaw(t *testing.T, b *bus.Bus, subject, schema string, data []byte) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(bus.HeaderSchema, schema)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// legacyJSONEvent is an event as the JSON version of the service
// published it.
func legacyJSONEvent(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStreamOfJSONAndProtobufEventsReplays(t *testing.T) {
	b := tu.Bus(t)
	p := b.Subjects.Prefix
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	meta := func(id string) Meta { return Meta{EventID: id, OccurredAt: at, Producer: "faq"} }
	arts := sampleArticles()
	for i := range arts {
		arts[i].Status, arts[i].Slug, arts[i].CreatedAt, arts[i].UpdatedAt = StatusPublished, arts[i].ID, at, at
	}
	// The JSON era: two articles, a search, a not-helpful vote and its gap.
	legacy := LegacySchemaPrefix
	publishRaw(t, b, p+".article.upserted", legacy+"ArticleUpserted+json", legacyJSONEvent(t, ArticleUpserted{Meta: meta("e1"), Article: arts[0]}))
	publishRaw(t, b, p+".article.upserted", legacy+"ArticleUpserted+json", legacyJSONEvent(t, ArticleUpserted{Meta: meta("e2"), Article: arts[2]}))
	publishRaw(t, b, p+".faq.searched", legacy+"Searched+json", legacyJSONEvent(t, Searched{Meta: meta("s1"), SearchID: "s1", SessionID: "session-json-1", Query: "refund", Locale: "en", Hits: []string{"faq-refund"}}))
	publishRaw(t, b, p+".faq.feedback", legacy+"Feedback+json", legacyJSONEvent(t, Feedback{Meta: meta("f1"), SearchID: "s1", SessionID: "session-json-1", ArticleID: "faq-refund", Helpful: false}))
	publishRaw(t, b, p+".faq.gap", legacy+"Gap+json", legacyJSONEvent(t, Gap{Meta: meta("g1"), Kind: GapNotHelpful, Query: "refund", Normalized: "refund", Locale: "en", SearchID: "s1", ArticleID: "faq-refund"}))
	// Poison: a payload that is neither, and a JSON schema on the wrong subject.
	publishRaw(t, b, p+".faq.searched", "nocontact.v1.FaqSearched", []byte{0xff, 0xff, 0xff})
	publishRaw(t, b, p+".article.deleted", legacy+"Searched+json", []byte(`{"id":"faq-refund"}`))
	// The protobuf era: a third article, the JSON-era password article deleted.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up, err := toProto(ArticleUpserted{Meta: meta("e3"), Article: arts[1]})
	if err != nil {
		t.Fatal(err)
	}
	del, err := toProto(ArticleDeleted{Meta: meta("e4"), ID: "faq-password"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Subject: p + ".article.upserted", ID: "e3", Msg: up}, bus.Event{Subject: p + ".article.deleted", ID: "e4", Msg: del}); err != nil {
		t.Fatal(err)
	}

	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(context.Background(), Config{Dir: t.TempDir(), RebuildDelay: 10 * time.Millisecond}, Deps{Bus: b, Taxonomy: tax, Log: tu.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { stop(); <-done }()
	tu.Eventually(t, 10*time.Second, func() bool { return svc.Ready() == nil }, "help centre not ready")

	if got := svc.snap.Load().ix.Len(); got != 2 {
		t.Errorf("%d articles indexed, want 2 (refund from JSON, order from protobuf; password deleted)", got)
	}
	a, ok := svc.st.article("faq-refund")
	if !ok || a.Title != arts[0].Title || !a.CreatedAt.Equal(at) || !slices.Equal(a.Questions, arts[0].Questions) {
		t.Errorf("JSON-era article %+v", a)
	}
	if _, ok := svc.st.article("faq-password"); ok {
		t.Error("article deleted by a protobuf event is still there")
	}
	if sr, ok := svc.st.search("s1"); !ok || sr.session != "session-json-1" || !slices.Equal(sr.hits, []string{"faq-refund"}) {
		t.Errorf("JSON-era search %+v", sr)
	}
	if helpful, not := svc.st.helpfulness("faq-refund"); helpful != 0 || not != 1 {
		t.Errorf("votes %d/%d, want 0/1", helpful, not)
	}
	if g := svc.st.gapGroups(time.Time{}); len(g) != 1 || g[0].NotHelpful != 1 {
		t.Errorf("gap groups %+v", g)
	}
	hits := svc.search(context.Background(), searchParams{q: "where is my parcel", limit: 5}).Hits
	if len(hits) == 0 || hits[0].ID != "faq-track-order" {
		t.Errorf("search after replay: %+v", hits)
	}
}

func TestDecodeEvent(t *testing.T) {
	kinds := newSubjects("nc").eventKinds()
	searched := kinds["nc.faq.searched"]
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	good, err := proto.Marshal(&pb.FaqSearched{Meta: &pb.EventMeta{EventId: "s1", OccurredAt: timestamppb.New(at), SchemaVersion: 1, Producer: "faq"}, SearchId: "s1", Query: "refund", Hits: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	future, err := proto.Marshal(&pb.FaqSearched{Meta: &pb.EventMeta{EventId: "s2", SchemaVersion: 2}, SearchId: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	legacy := []byte(`{"meta":{"event_id":"s3","occurred_at":"2026-11-01T00:00:00Z","producer":"faq"},"search_id":"s3","query":"refund","hits":["a"]}`)
	for _, tc := range []struct {
		name, schema string
		data         []byte
		want         Searched // zero: an error
	}{
		{"protobuf", "nocontact.v1.FaqSearched", good, Searched{Meta: Meta{EventID: "s1", OccurredAt: at, Producer: "faq"}, SearchID: "s1", Query: "refund", Hits: []string{"a", "b"}}},
		{"protobuf without a header", "", good, Searched{Meta: Meta{EventID: "s1", OccurredAt: at, Producer: "faq"}, SearchID: "s1", Query: "refund", Hits: []string{"a", "b"}}},
		{"legacy JSON", "nocontact.v1.faq.Searched+json", legacy, Searched{Meta: Meta{EventID: "s3", OccurredAt: at, Producer: "faq"}, SearchID: "s3", Query: "refund", Hits: []string{"a"}}},
		{"another message's schema", "nocontact.v1.FaqGap", good, Searched{}},
		{"another type's JSON", "nocontact.v1.faq.Gap+json", legacy, Searched{}},
		{"a later schema version", "nocontact.v1.FaqSearched", future, Searched{}},
		{"not protobuf", "nocontact.v1.FaqSearched", []byte{0xff, 0xff}, Searched{}},
		{"not JSON", "nocontact.v1.faq.Searched+json", []byte("{"), Searched{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeEvent(searched, tc.schema, tc.data)
			if tc.want.SearchID == "" {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", v)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := v.(Searched)
			if !ok || got.SearchID != tc.want.SearchID || got.Query != tc.want.Query || !slices.Equal(got.Hits, tc.want.Hits) ||
				got.Meta.EventID != tc.want.Meta.EventID || !got.Meta.OccurredAt.Equal(at) || got.Meta.Producer != "faq" {
				t.Errorf("decoded %+v, want %+v", v, tc.want)
			}
		})
	}
	// Every event type goes through protobuf and back unchanged.
	a := sampleArticles()[0]
	a.Status, a.Slug, a.CreatedAt, a.UpdatedAt = StatusPublished, "refund", at, at.Add(time.Hour)
	m := Meta{EventID: "x", OccurredAt: at, Producer: "faq"}
	for subject, v := range map[string]any{
		"nc.article.upserted": ArticleUpserted{Meta: m, Article: a},
		"nc.article.deleted":  ArticleDeleted{Meta: m, ID: "faq-refund"},
		"nc.faq.searched":     Searched{Meta: m, SearchID: "x", SessionID: "session-1", CustomerID: "c", Query: "q", Locale: "en", Hits: []string{"a"}, Fallback: true},
		"nc.faq.feedback":     Feedback{Meta: m, SearchID: "x", SessionID: "session-1", ArticleID: "a", Helpful: true, Comment: "ok"},
		"nc.faq.escalated":    Escalated{Meta: m, SearchID: "x", SessionID: "session-1", ContactID: "c1", CustomerID: "c"},
		"nc.faq.gap":          Gap{Meta: m, Kind: GapZeroHit, Query: "q", Normalized: "q", Locale: "en", SearchID: "x", ArticleID: "a", Comment: "c"},
	} {
		msg, err := toProto(v)
		if err != nil {
			t.Fatal(err)
		}
		data, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeEvent(kinds[subject], string(proto.MessageName(msg)), data)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		// Times come back in UTC; compare the JSON forms.
		if got, want := string(legacyJSONEvent(t, back)), string(legacyJSONEvent(t, v)); got != want {
			t.Errorf("%s: round trip\n got %s\nwant %s", subject, got, want)
		}
		if !strings.HasPrefix(string(proto.MessageName(msg)), "nocontact.v1.") {
			t.Errorf("%s: message %s outside nocontact.v1", subject, proto.MessageName(msg))
		}
	}
}
