package faq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/textproc"
	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// Routes registers the help centre's routes: the public search, feedback,
// escalation and pages (rate-limited per client), and the article,
// gap, cue and metric routes for ops.
func (s *Service) Routes(r *httpx.Router) {
	ops := []auth.Role{auth.RoleOps}
	opsAgent := []auth.Role{auth.RoleOps, auth.RoleAgent}
	r.HandleFunc("GET /v1/faq/search", nil, s.limit(s.searchLimit, s.handleSearch))
	r.HandleFunc("POST /v1/faq/feedback", nil, s.limit(s.feedbackLimit, s.handleFeedback))
	r.HandleFunc("POST /v1/faq/escalate", nil, s.limit(s.escalateLimit, s.handleEscalate))
	r.HandleFunc("GET /help/{path...}", nil, s.limit(s.pageLimit, s.handlePage))

	r.HandleFunc("GET /v1/articles", opsAgent, s.handleListArticles)
	r.HandleFunc("POST /v1/articles", ops, s.handlePostArticles)
	r.HandleFunc("GET /v1/articles/{id}", opsAgent, s.handleGetArticle)
	r.HandleFunc("PUT /v1/articles/{id}", ops, s.handlePutArticle)
	r.HandleFunc("DELETE /v1/articles/{id}", ops, s.handleDeleteArticle)
	r.HandleFunc("GET /v1/faq/gaps", opsAgent, s.handleGaps)
	r.HandleFunc("GET /v1/faq/cues", ops, s.handleCues)
	r.HandleFunc("GET /v1/metrics/selfservice", ops, s.handleSelfService)
}

// SearchResponse is the answer of GET /v1/faq/search.
type SearchResponse struct {
	// SearchID identifies this search for feedback and escalation.
	SearchID string `json:"search_id"`
	// Locale is the language searched first.
	Locale string      `json:"locale"`
	Hits   []SearchHit `json:"hits"`
	// Notices are fallbacks, known issues and the way to a person.
	Notices []Notice `json:"notices"`
}

// SearchHit is one article found. Snippet is HTML: escaped text with the
// matching words in <mark>.
type SearchHit struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
	Locale  string  `json:"locale"`
	URL     string  `json:"url"`
}

// Notice kinds.
const (
	NoticeFallback   = "locale_fallback"
	NoticeKnownIssue = "known_issue"
	NoticeNoResults  = "no_results"
)

// Notice is a message shown with search results.
type Notice struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// ID, Title and Reason describe a known issue.
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Reason string `json:"reason,omitempty"`
	// ContactURL is where to ask a person (no results).
	ContactURL string `json:"contact_url,omitempty"`
}

// searchParams are a search's inputs after validation.
type searchParams struct {
	q, locale, session, customer string
	limit                        int
}

func (s *Service) parseSearch(r *http.Request) (searchParams, *httpx.Error) {
	v := r.URL.Query()
	p := searchParams{q: strings.TrimSpace(v.Get("q")), locale: baseLang(v.Get("locale")), session: v.Get("session"), customer: strings.TrimSpace(v.Get("customer_id"))}
	if len(p.q) > s.cfg.MaxQueryBytes {
		return p, httpx.Errorf(http.StatusBadRequest, "too_long", "q", fmt.Sprintf("the query is longer than %d bytes", s.cfg.MaxQueryBytes))
	}
	if !utf8.ValidString(p.q) {
		return p, httpx.Errorf(http.StatusBadRequest, "invalid_value", "q", "the query is not UTF-8")
	}
	if p.locale != "" && !slices.Contains(s.langs(), p.locale) {
		return p, httpx.Errorf(http.StatusBadRequest, "invalid_value", "locale", "unknown locale; have "+strings.Join(s.langs(), ", "))
	}
	if p.session != "" && !validSession(p.session) {
		return p, httpx.Errorf(http.StatusBadRequest, "invalid_value", "session", "a session id is 8-64 letters, digits, '-' or '_'")
	}
	if len(p.customer) > 100 {
		return p, httpx.Errorf(http.StatusBadRequest, "too_long", "customer_id", "longer than 100 bytes")
	}
	p.limit = s.cfg.Limit
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return p, httpx.Errorf(http.StatusBadRequest, "invalid_value", "limit", "limit is a positive number")
		}
		p.limit = min(n, s.cfg.MaxLimit)
	}
	return p, nil
}

func (s *Service) langs() []string {
	out := make([]string, 0, len(s.cfg.Locales))
	for _, l := range s.cfg.Locales {
		out = append(out, baseLang(l))
	}
	return out
}

func (s *Service) handleSearch(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "1")
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "starting", "", "the help centre is starting; retry in a second"))
		return
	}
	p, herr := s.parseSearch(r)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s.search(r.Context(), p))
}

// search runs one help-centre search, records it and reports gaps.
func (s *Service) search(ctx context.Context, p searchParams) SearchResponse {
	start := time.Now()
	id := bus.NewIDAt(s.now())
	locale := p.locale
	if locale == "" {
		locale = s.langs()[0]
		if l := detectLocale(p.q); l != "" && slices.Contains(s.langs(), l) {
			locale = l
		}
	}
	resp := SearchResponse{SearchID: id, Locale: locale, Hits: []SearchHit{}, Notices: []Notice{}}
	if p.q == "" {
		resp.Notices = s.issueNotices(ctx, locale, nil, "")
		return resp
	}
	snap := s.snap.Load()
	hits := s.rank(snap, p.q, []string{locale}, p.limit)
	fallback := false
	if len(hits) == 0 {
		var others []string
		for _, l := range s.langs() {
			if l != locale {
				others = append(others, l)
			}
		}
		if len(others) > 0 {
			hits = s.rank(snap, p.q, others, p.limit)
			fallback = len(hits) > 0
		}
	}
	var reasons []string
	for i, h := range hits {
		a := snap.arts[h.ID]
		resp.Hits = append(resp.Hits, SearchHit{
			ID: a.ID, Title: a.Title, Snippet: snap.plain[a.ID].snippet(snap.terms, h.Matched), Score: math.Round(h.Score*1000) / 1000,
			Locale: a.Locale, URL: "/help/articles/" + a.Slug,
		})
		if i < 3 {
			reasons = append(reasons, a.Reasons...)
		}
	}
	if fallback {
		resp.Notices = append(resp.Notices, Notice{Kind: NoticeFallback, Message: s.pages.text(locale, "fallback")})
	}
	if len(hits) == 0 {
		resp.Notices = append(resp.Notices, Notice{Kind: NoticeNoResults, Message: s.pages.text(locale, "noResults"), ContactURL: "/help/contact?search_id=" + id + "&lang=" + locale})
	}
	resp.Notices = append(resp.Notices, s.issueNotices(ctx, locale, reasons, p.q)...)
	s.m.searchTime.Observe(time.Since(start).Seconds())
	s.m.searches.WithLabelValues(locale).Inc()

	ids := make([]string, len(resp.Hits))
	for i, h := range resp.Hits {
		ids[i] = h.ID
	}
	meta := s.meta()
	meta.EventID = id
	ev := Searched{Meta: meta, SearchID: id, SessionID: p.session, CustomerID: p.customer, Query: trunc(p.q, 500), Locale: locale, Hits: ids, Fallback: fallback}
	// Applied here at once so that feedback and escalation right after see
	// it; applying the event again from the stream changes nothing.
	s.st.applySearched(ev)
	s.enqueue(s.subj.searched, ev, id)
	if len(hits) == 0 {
		s.m.zeroHits.Inc()
		gm := s.meta()
		q := trunc(textproc.MaskPII(p.q), 500)
		s.enqueue(s.subj.gap, Gap{Meta: gm, Kind: GapZeroHit, Query: q, Normalized: normalizeQuery(q), Locale: locale, SearchID: id}, gm.EventID)
	}
	return resp
}

// rank searches the index in the given languages and drops weak hits.
func (s *Service) rank(snap *snapshot, q string, langs []string, limit int) []retrieval.Hit {
	hits := snap.ix.Search(retrieval.Query{Text: q, Locales: langs, Limit: limit, Prior: s.prior(snap)})
	out := hits[:0]
	for _, h := range hits {
		if len(h.Matched) == 0 && h.Similarity < s.cfg.MinSimilarity && h.Reason < 0.5 {
			continue
		}
		out = append(out, h)
	}
	return out
}

// prior favours articles customers found helpful and articles about
// reasons with many contacts: the mean of the smoothed share of helpful
// votes (0.5 without votes) and the article's reason volume relative to
// the busiest reason (log-scaled).
func (s *Service) prior(snap *snapshot) func(id string) float64 {
	volume := s.st.reasonVolumes()
	var top float64
	for _, v := range volume {
		top = max(top, v)
	}
	return func(id string) float64 {
		h, n := s.st.helpfulness(id)
		p := (float64(h) + 1) / (float64(h+n) + 2)
		var vol float64
		if a := snap.arts[id]; a != nil && top > 0 {
			for _, r := range a.Reasons {
				vol = max(vol, volume[r]/top)
			}
		}
		return (p + vol) / 2
	}
}

// issueNotices returns the public known issues for a search: those of the
// reasons of the top hits or of the query's predicted reason; on an empty
// query (the help-centre home) every issue.
func (s *Service) issueNotices(ctx context.Context, locale string, reasons []string, q string) []Notice {
	if s.deps.KnownIssues == nil {
		return nil
	}
	issues, err := s.deps.KnownIssues.PublicIssues(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("known issues")
		return nil
	}
	if q != "" && s.deps.Reasons != nil {
		for r, p := range s.deps.Reasons.ScoreReasons(q) {
			if p >= 0.5 {
				reasons = append(reasons, r)
			}
		}
	}
	var out []Notice
	for _, is := range issues {
		if is.Locale != "" && baseLang(is.Locale) != locale {
			continue
		}
		if q != "" && !slices.Contains(reasons, is.Reason) {
			continue
		}
		out = append(out, Notice{Kind: NoticeKnownIssue, ID: is.ID, Title: is.Title, Message: is.Message, Reason: is.Reason})
	}
	return out
}

// FeedbackRequest is the body of POST /v1/faq/feedback.
type FeedbackRequest struct {
	SearchID  string `json:"search_id"`
	ArticleID string `json:"article_id"`
	Helpful   *bool  `json:"helpful"`
	Comment   string `json:"comment"`
	Session   string `json:"session"`
}

// FeedbackResponse answers a vote; after a "not helpful" it points to a
// person (never a dead end).
type FeedbackResponse struct {
	Recorded   bool   `json:"recorded"`
	Message    string `json:"message"`
	ContactURL string `json:"contact_url,omitempty"`
}

// idLike reports whether s can be an article or search id.
func idLike(s string) bool { return validID(s, maxIDLen) }

func (s *Service) handleFeedback(w http.ResponseWriter, r *http.Request) {
	var req FeedbackRequest
	if herr := s.decodeBody(w, r, &req); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if req.Helpful == nil {
		httpx.BadRequest(w, "helpful", "helpful (true or false) is required")
		return
	}
	if !idLike(req.ArticleID) {
		httpx.BadRequest(w, "article_id", "article_id is required")
		return
	}
	if req.SearchID != "" && !idLike(req.SearchID) {
		httpx.BadRequest(w, "search_id", "not a search id")
		return
	}
	if req.Session != "" && !validSession(req.Session) {
		httpx.BadRequest(w, "session", "a session id is 8-64 letters, digits, '-' or '_'")
		return
	}
	if len(req.Comment) > 2000 || !utf8.ValidString(req.Comment) {
		httpx.BadRequest(w, "comment", "the comment is longer than 2000 bytes or not UTF-8")
		return
	}
	a, ok := s.snap.Load().arts[req.ArticleID]
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "article_id", "no published article with this id"))
		return
	}
	session := req.Session
	query := ""
	if sr, ok := s.st.search(req.SearchID); ok {
		query = sr.query
		if session == "" {
			session = sr.session
		}
	}
	if session == "" {
		session = req.SearchID
	}
	comment := strings.TrimSpace(req.Comment)
	meta := s.meta()
	events := []outEvent{{subject: s.subj.feedback, id: meta.EventID, v: Feedback{Meta: meta, SearchID: req.SearchID, SessionID: session, ArticleID: a.ID, Helpful: *req.Helpful, Comment: comment}}}
	if !*req.Helpful {
		q := textproc.MaskPII(query)
		if q == "" {
			q = a.Title
		}
		gm := s.meta()
		events = append(events, outEvent{subject: s.subj.gap, id: gm.EventID, v: Gap{Meta: gm, Kind: GapNotHelpful, Query: q, Normalized: normalizeQuery(q), Locale: a.lang(), SearchID: req.SearchID, ArticleID: a.ID, Comment: trunc(textproc.MaskPII(comment), 300)}})
	}
	if err := s.publish(r.Context(), events...); err != nil {
		s.log.Error().Err(err).Msg("publish feedback")
		httpx.Internal(w)
		return
	}
	s.m.feedback.WithLabelValues(strconv.FormatBool(*req.Helpful)).Inc()
	lang := a.lang()
	resp := FeedbackResponse{Recorded: true, Message: s.pages.text(lang, "thanksVote")}
	if !*req.Helpful {
		resp.Message = s.pages.text(lang, "sorryVote")
		resp.ContactURL = "/help/contact?search_id=" + req.SearchID + "&article=" + a.ID + "&lang=" + lang
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// EscalateRequest is the body of POST /v1/faq/escalate.
type EscalateRequest struct {
	SearchID   string `json:"search_id"`
	Message    string `json:"message"`
	CustomerID string `json:"customer_id"`
	OrderID    string `json:"order_id"`
	Email      string `json:"email"`
	Session    string `json:"session"`
	Locale     string `json:"locale"`
	ArticleID  string `json:"article_id"`
}

// EscalateResponse tells the visitor their request is with a person and
// when to expect an answer.
type EscalateResponse struct {
	ContactID string `json:"contact_id"`
	// ExpectedResponse is the promised answer time in words;
	// ExpectedResponseSeconds the same in seconds.
	ExpectedResponse        string `json:"expected_response"`
	ExpectedResponseSeconds int64  `json:"expected_response_seconds"`
	Message                 string `json:"message"`
}

func (s *Service) handleEscalate(w http.ResponseWriter, r *http.Request) {
	var req EscalateRequest
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		s.escalateForm(w, r)
		return
	}
	if herr := s.decodeBody(w, r, &req); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	resp, herr := s.escalate(r.Context(), req)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, resp)
}

// escalate validates a request for help and creates its contact.
func (s *Service) escalate(ctx context.Context, req EscalateRequest) (EscalateResponse, *httpx.Error) {
	req.Message = strings.TrimSpace(req.Message)
	req.Email = strings.TrimSpace(req.Email)
	req.CustomerID = strings.TrimSpace(req.CustomerID)
	req.OrderID = strings.TrimSpace(req.OrderID)
	switch {
	case s.deps.Escalator == nil:
		return EscalateResponse{}, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "contacting us from the help centre is not available here")
	case req.Message == "":
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "message", "please tell us what you need")
	case len(req.Message) > 5000 || !utf8.ValidString(req.Message):
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "too_long", "message", "the message is longer than 5000 bytes or not UTF-8")
	case len(req.CustomerID) > 100 || len(req.OrderID) > 100:
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "too_long", "order_id", "customer and order ids are at most 100 bytes")
	case req.SearchID != "" && !idLike(req.SearchID):
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "search_id", "not a search id")
	case req.Session != "" && !validSession(req.Session):
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "session", "a session id is 8-64 letters, digits, '-' or '_'")
	case req.ArticleID != "" && !idLike(req.ArticleID):
		return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "article_id", "not an article id")
	}
	if req.Email != "" {
		if addr, err := mail.ParseAddress(req.Email); err != nil || addr.Address != req.Email || len(req.Email) > 254 {
			return EscalateResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_value", "email", "not an e-mail address")
		}
	}
	lang := baseLang(req.Locale)
	if !slices.Contains(s.langs(), lang) {
		lang = detectLocale(req.Message)
		if !slices.Contains(s.langs(), lang) {
			lang = s.langs()[0]
		}
	}
	meta := map[string]string{"help_search_id": req.SearchID}
	session := req.Session
	if sr, ok := s.st.search(req.SearchID); ok {
		meta["help_query"] = sr.query
		if len(sr.hits) > 0 {
			meta["help_hits"] = strings.Join(sr.hits[:min(len(sr.hits), 5)], ",")
		}
		if session == "" {
			session = sr.session
		}
	}
	if session == "" {
		session = req.SearchID
	}
	if session != "" {
		meta["help_session"] = session
	}
	if req.ArticleID != "" {
		meta["help_article"] = req.ArticleID
	}
	if req.Email != "" {
		meta["reply_to"] = req.Email
	}
	for k, v := range meta {
		if v == "" {
			delete(meta, k)
		}
	}
	now := s.now().UTC()
	escID := bus.NewIDAt(now)
	contact := &pb.Contact{
		Source: "help_centre", ExternalId: escID, Channel: "self_service", ReceivedAt: timestamppb.New(now),
		CustomerId: req.CustomerID, OrderId: req.OrderID, Locale: lang, Subject: "Help centre: " + trunc(meta["help_query"], 120),
		Text: req.Message, Metadata: meta,
	}
	if meta["help_query"] == "" {
		contact.Subject = "Help centre request"
	}
	res, err := s.deps.Escalator.IngestContacts(ctx, []*pb.Contact{contact})
	if err != nil || len(res.IDs) != 1 {
		s.log.Error().Err(err).Msg("escalation contact")
		return EscalateResponse{}, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "we could not pass on your request just now; please try again in a minute")
	}
	em := s.meta()
	if err := s.publish(ctx, outEvent{subject: s.subj.escalated, id: em.EventID, v: Escalated{Meta: em, SearchID: req.SearchID, SessionID: session, ContactID: res.IDs[0], CustomerID: req.CustomerID}}); err != nil {
		// The contact exists; the deflection projection also learns of it
		// from the contact's help_session.
		s.log.Warn().Err(err).Msg("publish escalated")
	}
	s.m.escalated.Inc()
	return EscalateResponse{
		ContactID: res.IDs[0], ExpectedResponse: humanDuration(s.cfg.ExpectedResponse, lang),
		ExpectedResponseSeconds: int64(s.cfg.ExpectedResponse / time.Second),
		Message:                 fmt.Sprintf(s.pages.text(lang, "escalated"), humanDuration(s.cfg.ExpectedResponse, lang)),
	}, nil
}

// humanDuration says a response time in words.
func humanDuration(d time.Duration, lang string) string {
	zh := lang == "zh"
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		n := int(d / (24 * time.Hour))
		if zh {
			return fmt.Sprintf("%d 天内", n)
		}
		if n == 1 {
			return "within 1 day"
		}
		return fmt.Sprintf("within %d days", n)
	case d >= time.Hour:
		n := int(math.Ceil(d.Hours()))
		if zh {
			return fmt.Sprintf("%d 小时内", n)
		}
		if n == 1 {
			return "within 1 hour"
		}
		return fmt.Sprintf("within %d hours", n)
	default:
		n := max(int(math.Ceil(d.Minutes())), 1)
		if zh {
			return fmt.Sprintf("%d 分钟内", n)
		}
		return fmt.Sprintf("within %d minutes", n)
	}
}

// decodeBody decodes a size-limited JSON body, strictly.
func (s *Service) decodeBody(w http.ResponseWriter, r *http.Request, v any) *httpx.Error {
	return decodeJSON(w, r, s.cfg.MaxBodyBytes, v)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) *httpx.Error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return httpx.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "send application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("the body is larger than %d bytes", limit))
		}
		return httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "the body is not the expected JSON: "+err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "the body holds more than one JSON value")
	}
	return nil
}

// escalateForm serves the contact form posted without JavaScript: the
// answer is the contact page with the outcome.
func (s *Service) escalateForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "", "the form is too large"))
		return
	}
	f := r.PostForm
	req := EscalateRequest{SearchID: f.Get("search_id"), Message: f.Get("message"), Email: f.Get("email"),
		OrderID: f.Get("order_id"), Locale: f.Get("locale"), ArticleID: f.Get("article_id")}
	lang := baseLang(req.Locale)
	if !slices.Contains(s.langs(), lang) {
		lang = s.langs()[0]
	}
	securityHeaders(w)
	d := s.data(r, lang, s.pages.text(lang, "contactUs"))
	d.Promise = fmt.Sprintf(s.pages.text(lang, "promise"), humanDuration(s.cfg.ExpectedResponse, lang))
	resp, herr := s.escalate(r.Context(), req)
	status := http.StatusAccepted
	if herr != nil {
		d.Done, status = herr.Message, herr.Status
	} else {
		d.Done = resp.Message
	}
	s.render(w, status, s.pages.contact, d)
}
