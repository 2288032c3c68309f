package faq

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// Article statuses.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Article is a help-centre article as the API takes and returns it.
type Article struct {
	// ID is the stable identifier; Slug is the readable one used in the
	// article's URL (defaults to ID).
	ID   string `json:"id"`
	Slug string `json:"slug,omitempty"`
	// Locale is a language tag: en, zh, zh-CN ...
	Locale string `json:"locale"`
	// Title is shown as the heading and in search results.
	Title string `json:"title"`
	// Body is the answer in Markdown; it is rendered without raw HTML.
	Body string `json:"body"`
	// Questions are other ways customers ask this.
	Questions []string `json:"questions,omitempty"`
	// Reasons are the contact reason codes this article answers.
	Reasons []string `json:"reasons,omitempty"`
	// Tags are free keywords.
	Tags []string `json:"tags,omitempty"`
	// Status is draft or published; only published articles are public.
	Status string `json:"status"`
	// Source credits where the text comes from.
	Source string `json:"source,omitempty"`
	// CreatedAt and UpdatedAt are set by the service.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits on article fields.
const (
	maxIDLen        = 200
	maxTitleLen     = 500
	maxBodyLen      = 200 << 10
	maxQuestions    = 100
	maxQuestionLen  = 1000
	maxListItems    = 50
	maxListItemLen  = 100
	maxArticlesSent = 1000
)

// validID reports whether s is 1 to max ASCII letters, digits, '.', '_'
// or '-', starting with a letter or digit (article ids, slugs, reason
// codes, search ids).
func validID(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// validSession reports whether s is a help-centre session id: 8 to 64
// letters, digits, '-' or '_'.
func validSession(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validLocale reports whether s looks like a language tag: 2-3 letters,
// then subtags of 2-8 letters or digits after '-' or '_'.
func validLocale(s string) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) == 0 || strings.Count(s, "-")+strings.Count(s, "_") != len(parts)-1 {
		return false
	}
	for i, p := range parts {
		lo, hi := 2, 8
		if i == 0 {
			hi = 3
		}
		if len(p) < lo || len(p) > hi {
			return false
		}
		for _, c := range p {
			letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// fieldError is a validation failure of one field of an input.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func badField(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// normalize fills defaults and validates an article from outside.
func (a *Article) normalize() error {
	a.ID = strings.TrimSpace(a.ID)
	a.Slug = strings.TrimSpace(a.Slug)
	a.Title = strings.TrimSpace(a.Title)
	if a.ID == "" {
		a.ID = a.Slug
	}
	if a.Slug == "" {
		a.Slug = a.ID
	}
	switch {
	case a.ID == "":
		return badField("id", "the article needs an id or a slug")
	case !validID(a.ID, maxIDLen):
		return badField("id", "%q: use up to %d letters, digits, '.', '_' or '-'", trunc(a.ID, 40), maxIDLen)
	case !validID(a.Slug, maxIDLen):
		return badField("slug", "%q: use up to %d letters, digits, '.', '_' or '-'", trunc(a.Slug, 40), maxIDLen)
	case a.Title == "":
		return badField("title", "the article needs a title")
	case len(a.Title) > maxTitleLen:
		return badField("title", "longer than %d bytes", maxTitleLen)
	case len(a.Body) > maxBodyLen:
		return badField("body", "longer than %d bytes", maxBodyLen)
	case strings.TrimSpace(a.Body) == "" && len(a.Questions) == 0:
		return badField("body", "the article has neither a body nor questions")
	case len(a.Questions) > maxQuestions:
		return badField("questions", "more than %d questions", maxQuestions)
	case len(a.Reasons) > maxListItems:
		return badField("reasons", "more than %d reasons", maxListItems)
	case len(a.Tags) > maxListItems:
		return badField("tags", "more than %d tags", maxListItems)
	}
	for _, s := range []string{a.ID, a.Title, a.Body, a.Source} {
		if !utf8.ValidString(s) {
			return badField("body", "not valid UTF-8")
		}
	}
	if a.Locale == "" {
		a.Locale = "en"
		if l := detectLocale(a.Title + " " + a.Body); l == "zh" {
			a.Locale = "zh"
		}
	}
	if !validLocale(a.Locale) {
		return badField("locale", "%q is not a language tag like en or zh-CN", trunc(a.Locale, 20))
	}
	a.Locale = strings.ReplaceAll(a.Locale, "_", "-")
	if a.Status == "" {
		a.Status = StatusPublished
	}
	a.Status = strings.ToLower(a.Status)
	if a.Status != StatusDraft && a.Status != StatusPublished {
		return badField("status", "%q is neither draft nor published", trunc(a.Status, 20))
	}
	var qs []string
	for _, q := range a.Questions {
		q = strings.TrimSpace(q)
		if q == "" {
			continue
		}
		if len(q) > maxQuestionLen || !utf8.ValidString(q) {
			return badField("questions", "a question is longer than %d bytes or not UTF-8", maxQuestionLen)
		}
		qs = append(qs, q)
	}
	a.Questions = qs
	for _, r := range a.Reasons {
		if !validID(r, maxListItemLen) {
			return badField("reasons", "%q is not a reason code", trunc(r, 40))
		}
	}
	for i, t := range a.Tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > maxListItemLen || !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0 {
			return badField("tags", "tag %d is empty, too long or has control characters", i)
		}
		a.Tags[i] = t
	}
	return nil
}

// published reports whether the public may see the article.
func (a *Article) published() bool { return a.Status == StatusPublished }

// lang is the article's base language ("en", "zh").
func (a *Article) lang() string { return baseLang(a.Locale) }

// forIndex converts the article for the search index.
func (a *Article) forIndex() retrieval.Article {
	return retrieval.Article{
		ID: a.ID, Locale: a.Locale, Title: a.Title, Questions: a.Questions,
		Body: plainText(a.Body), Reasons: a.Reasons, Tags: a.Tags,
	}
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// baseLang returns the language part of a locale tag, lower-cased.
func baseLang(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	return l
}
