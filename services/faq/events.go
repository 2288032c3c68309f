package faq

import (
	"time"
)

// Self-service events are JSON on the SELFSERVICE stream; the Nc-Schema
// header names each type (SchemaPrefix + the type name, e.g.
// "nocontact.v1.faq.Searched+json"). They are the source of truth the
// service's state is rebuilt from at start.
const SchemaPrefix = "nocontact.v1.faq."

// Meta is the envelope every self-service event carries.
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
	Meta Meta   `json:"meta"`
	ID   string `json:"id"`
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
