package faq

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/pb"
)

// Self-service events are protobuf messages on the SELFSERVICE stream
// (proto/nocontact/v1/faq.proto: pb.ArticleUpserted, pb.FaqSearched ...),
// with the bus's Nc-Schema header naming the message type. They are the
// source of truth the service's state is rebuilt from at start. The Go
// types below are their domain form, which the state applies.
//
// Before protobuf, the events were JSON (these types' json tags) with an
// Nc-Schema header of LegacySchemaPrefix + the type name + "+json", e.g.
// "nocontact.v1.faq.Searched+json". A stream written by such a version
// still replays: decodeEvent reads a payload by its header.
const LegacySchemaPrefix = "nocontact.v1.faq."

// eventSchemaVersion is the EventMeta.schema_version of the events this
// version publishes; events with a later version are skipped on replay.
const eventSchemaVersion = 1

// Meta is the envelope every self-service event carries (pb.EventMeta).
type Meta struct {
	// EventID is unique per event and is the JetStream message id.
	EventID string `json:"event_id"`
	// OccurredAt is when it happened.
	OccurredAt time.Time `json:"occurred_at"`
	// Producer is "faq".
	Producer string `json:"producer"`
}

// ArticleUpserted is published on <prefix>.article.upserted when an
// article is created or changed.
type ArticleUpserted struct {
	Meta    Meta    `json:"meta"`
	Article Article `json:"article"`
}

// ArticleDeleted is published on <prefix>.article.deleted.
type ArticleDeleted struct {
	Meta Meta `json:"meta"`
	// ID is the deleted article's id.
	ID string `json:"id"`
}

// Searched is published on <prefix>.faq.searched for every help-centre
// search.
type Searched struct {
	Meta       Meta   `json:"meta"`
	SearchID   string `json:"search_id"`
	SessionID  string `json:"session_id"`
	CustomerID string `json:"customer_id,omitempty"`
	Query      string `json:"query"`
	Locale     string `json:"locale"`
	// Hits are the ids of the articles returned, best first.
	Hits []string `json:"hits,omitempty"`
	// Fallback is true when the hits come from other locales than the one
	// asked for.
	Fallback bool `json:"fallback,omitempty"`
}

// Feedback is published on <prefix>.faq.feedback for a "was this
// helpful?" vote.
type Feedback struct {
	Meta      Meta   `json:"meta"`
	SearchID  string `json:"search_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	ArticleID string `json:"article_id"`
	Helpful   bool   `json:"helpful"`
	Comment   string `json:"comment,omitempty"`
}

// Escalated is published on <prefix>.faq.escalated when a visitor asks
// for a person; the contact itself goes through ingest.
type Escalated struct {
	Meta       Meta   `json:"meta"`
	SearchID   string `json:"search_id,omitempty"`
	SessionID  string `json:"session_id,omitempty"`
	ContactID  string `json:"contact_id"`
	CustomerID string `json:"customer_id,omitempty"`
}

// Gap kinds.
const (
	GapZeroHit    = "zero_hit"
	GapNotHelpful = "not_helpful"
)

// Gap is published on <prefix>.faq.gap for a search that found nothing
// or an article voted not helpful.
type Gap struct {
	Meta Meta `json:"meta"`
	// Kind is zero_hit or not_helpful.
	Kind string `json:"kind"`
	// Query is the visitor's words; Normalized groups equal queries.
	Query      string `json:"query"`
	Normalized string `json:"normalized"`
	Locale     string `json:"locale,omitempty"`
	SearchID   string `json:"search_id,omitempty"`
	ArticleID  string `json:"article_id,omitempty"`
	Comment    string `json:"comment,omitempty"`
}

// subjects are the self-service subjects under a prefix.
type subjects struct {
	articleUpserted, articleDeleted                string
	searched, feedback, escalated, gap             string
	contactReceived, contactTagged, contactRelabel string
}

func newSubjects(prefix string) subjects {
	return subjects{
		articleUpserted: prefix + ".article.upserted",
		articleDeleted:  prefix + ".article.deleted",
		searched:        prefix + ".faq.searched",
		feedback:        prefix + ".faq.feedback",
		escalated:       prefix + ".faq.escalated",
		gap:             prefix + ".faq.gap",
		contactReceived: prefix + ".contact.received",
		contactTagged:   prefix + ".contact.tagged",
		contactRelabel:  prefix + ".contact.relabeled",
	}
}

// toProto returns the protobuf form of a self-service event.
func toProto(v any) (proto.Message, error) {
	switch e := v.(type) {
	case ArticleUpserted:
		return &pb.ArticleUpserted{Meta: e.Meta.proto(), Article: e.Article.proto()}, nil
	case ArticleDeleted:
		return &pb.ArticleDeleted{Meta: e.Meta.proto(), ArticleId: e.ID}, nil
	case Searched:
		return &pb.FaqSearched{Meta: e.Meta.proto(), SearchId: e.SearchID, SessionId: e.SessionID, CustomerId: e.CustomerID,
			Query: e.Query, Locale: e.Locale, Hits: e.Hits, Fallback: e.Fallback}, nil
	case Feedback:
		return &pb.FaqFeedback{Meta: e.Meta.proto(), SearchId: e.SearchID, SessionId: e.SessionID, ArticleId: e.ArticleID,
			Helpful: e.Helpful, Comment: e.Comment}, nil
	case Escalated:
		return &pb.FaqEscalated{Meta: e.Meta.proto(), SearchId: e.SearchID, SessionId: e.SessionID, ContactId: e.ContactID,
			CustomerId: e.CustomerID}, nil
	case Gap:
		return &pb.FaqGap{Meta: e.Meta.proto(), Kind: e.Kind, Query: e.Query, Normalized: e.Normalized, Locale: e.Locale,
			SearchId: e.SearchID, ArticleId: e.ArticleID, Comment: e.Comment}, nil
	}
	return nil, fmt.Errorf("faq: no protobuf form for %T", v)
}

func (m Meta) proto() *pb.EventMeta {
	return &pb.EventMeta{EventId: m.EventID, OccurredAt: timeProto(m.OccurredAt), SchemaVersion: eventSchemaVersion, Producer: m.Producer}
}

func metaFrom(m *pb.EventMeta) Meta {
	return Meta{EventID: m.GetEventId(), OccurredAt: timeFrom(m.GetOccurredAt()), Producer: m.GetProducer()}
}

// timeProto and timeFrom keep a zero time zero across the wire.
func timeProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFrom(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func (a *Article) proto() *pb.Article {
	return &pb.Article{Id: a.ID, Slug: a.Slug, Locale: a.Locale, Title: a.Title, Body: a.Body, Questions: a.Questions,
		Reasons: a.Reasons, Tags: a.Tags, Status: a.Status, Source: a.Source,
		CreatedAt: timeProto(a.CreatedAt), UpdatedAt: timeProto(a.UpdatedAt)}
}

func articleFrom(a *pb.Article) Article {
	return Article{ID: a.GetId(), Slug: a.GetSlug(), Locale: a.GetLocale(), Title: a.GetTitle(), Body: a.GetBody(),
		Questions: a.GetQuestions(), Reasons: a.GetReasons(), Tags: a.GetTags(), Status: a.GetStatus(), Source: a.GetSource(),
		CreatedAt: timeFrom(a.GetCreatedAt()), UpdatedAt: timeFrom(a.GetUpdatedAt())}
}

// eventKind is one self-service event type: its protobuf message and its
// legacy JSON name.
type eventKind struct {
	msg    func() proto.Message
	legacy string
	// from converts the decoded protobuf message to the domain form.
	from func(proto.Message) any
	// json decodes the legacy JSON form.
	json func([]byte) (any, error)
}

func legacyJSON[T any](data []byte) (any, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// eventKinds maps each self-service subject to its event type.
func (sj subjects) eventKinds() map[string]eventKind {
	return map[string]eventKind{
		sj.articleUpserted: {msg: func() proto.Message { return &pb.ArticleUpserted{} }, legacy: "ArticleUpserted",
			from: func(m proto.Message) any {
				e := m.(*pb.ArticleUpserted)
				return ArticleUpserted{Meta: metaFrom(e.GetMeta()), Article: articleFrom(e.GetArticle())}
			}, json: legacyJSON[ArticleUpserted]},
		sj.articleDeleted: {msg: func() proto.Message { return &pb.ArticleDeleted{} }, legacy: "ArticleDeleted",
			from: func(m proto.Message) any {
				e := m.(*pb.ArticleDeleted)
				return ArticleDeleted{Meta: metaFrom(e.GetMeta()), ID: e.GetArticleId()}
			}, json: legacyJSON[ArticleDeleted]},
		sj.searched: {msg: func() proto.Message { return &pb.FaqSearched{} }, legacy: "Searched",
			from: func(m proto.Message) any {
				e := m.(*pb.FaqSearched)
				return Searched{Meta: metaFrom(e.GetMeta()), SearchID: e.GetSearchId(), SessionID: e.GetSessionId(), CustomerID: e.GetCustomerId(),
					Query: e.GetQuery(), Locale: e.GetLocale(), Hits: e.GetHits(), Fallback: e.GetFallback()}
			}, json: legacyJSON[Searched]},
		sj.feedback: {msg: func() proto.Message { return &pb.FaqFeedback{} }, legacy: "Feedback",
			from: func(m proto.Message) any {
				e := m.(*pb.FaqFeedback)
				return Feedback{Meta: metaFrom(e.GetMeta()), SearchID: e.GetSearchId(), SessionID: e.GetSessionId(), ArticleID: e.GetArticleId(),
					Helpful: e.GetHelpful(), Comment: e.GetComment()}
			}, json: legacyJSON[Feedback]},
		sj.escalated: {msg: func() proto.Message { return &pb.FaqEscalated{} }, legacy: "Escalated",
			from: func(m proto.Message) any {
				e := m.(*pb.FaqEscalated)
				return Escalated{Meta: metaFrom(e.GetMeta()), SearchID: e.GetSearchId(), SessionID: e.GetSessionId(), ContactID: e.GetContactId(),
					CustomerID: e.GetCustomerId()}
			}, json: legacyJSON[Escalated]},
		sj.gap: {msg: func() proto.Message { return &pb.FaqGap{} }, legacy: "Gap",
			from: func(m proto.Message) any {
				e := m.(*pb.FaqGap)
				return Gap{Meta: metaFrom(e.GetMeta()), Kind: e.GetKind(), Query: e.GetQuery(), Normalized: e.GetNormalized(), Locale: e.GetLocale(),
					SearchID: e.GetSearchId(), ArticleID: e.GetArticleId(), Comment: e.GetComment()}
			}, json: legacyJSON[Gap]},
	}
}

// decodeEvent decodes a self-service event by its Nc-Schema header: the
// protobuf message the subject carries (the header names it, or is
// absent), or the JSON of a version before protobuf (the header is
// LegacySchemaPrefix + type + "+json"). Any other header, a payload that
// does not decode, or a schema version this version does not know is an
// error: the event is skipped.
func decodeEvent(k eventKind, schema string, data []byte) (any, error) {
	if strings.HasSuffix(schema, "+json") {
		if schema != LegacySchemaPrefix+k.legacy+"+json" {
			return nil, fmt.Errorf("schema %q on a %s subject", schema, k.legacy)
		}
		v, err := k.json(data)
		if err != nil {
			return nil, fmt.Errorf("decode legacy JSON %s: %w", k.legacy, err)
		}
		return v, nil
	}
	m := k.msg()
	name := string(proto.MessageName(m))
	if schema != "" && schema != name {
		return nil, fmt.Errorf("schema %q, want %s", schema, name)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	type withMeta interface{ GetMeta() *pb.EventMeta }
	if v := m.(withMeta).GetMeta().GetSchemaVersion(); v > eventSchemaVersion {
		return nil, fmt.Errorf("%s schema version %d, know up to %d", name, v, eventSchemaVersion)
	}
	return k.from(m), nil
}
