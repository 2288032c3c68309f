package faq

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/nocontact/nocontact/pkg/httpx"
)

//go:embed web/*.html web/app.css web/app.js
var webFS embed.FS

// pages renders the help centre's server-side HTML.
type pages struct {
	home, article, contact *template.Template
	css, js                []byte
	texts                  map[string]map[string]string
}

func newPages() (*pages, error) {
	p := &pages{texts: uiTexts()}
	var err error
	parse := func(name string) *template.Template {
		if err != nil {
			return nil
		}
		var t *template.Template
		t, err = template.ParseFS(webFS, "web/layout.html", "web/"+name)
		if err != nil {
			err = fmt.Errorf("faq: parse template %s: %w", name, err)
		}
		return t
	}
	p.home, p.article, p.contact = parse("home.html"), parse("article.html"), parse("contact.html")
	if err != nil {
		return nil, err
	}
	if p.css, err = webFS.ReadFile("web/app.css"); err != nil {
		return nil, fmt.Errorf("faq: read app.css: %w", err)
	}
	if p.js, err = webFS.ReadFile("web/app.js"); err != nil {
		return nil, fmt.Errorf("faq: read app.js: %w", err)
	}
	return p, nil
}

// text returns a UI string in a language (English when missing).
func (p *pages) text(lang, key string) string {
	if t, ok := p.texts[lang][key]; ok {
		return t
	}
	return p.texts["en"][key]
}

func uiTexts() map[string]map[string]string {
	return map[string]map[string]string{
		"en": {
			"site": "Help centre", "skip": "Skip to content", "language": "Language", "heading": "How can we help?",
			"searchLabel": "Search the help centre", "placeholder": "Type your question", "search": "Search",
			"results": "%d articles found.", "noResults": "We found no article for this. A person can help you.",
			"fallback": "No article in your language matched; showing articles in other languages.",
			"notFound": "Not what you need?", "askPerson": "Ask a person — we reply quickly", "popular": "Popular articles",
			"knownIssues": "Known issues we are fixing", "contactUs": "Contact us", "back": "Back to search",
			"wasHelpful": "Was this article helpful?", "yes": "Yes", "no": "No",
			"thanksVote": "Thank you for your feedback.", "sorryVote": "Sorry this did not help. A person can answer you directly:",
			"contactIntro": "Tell us what you need and a person will answer.", "message": "Your question",
			"email": "E-mail (to reply to you)", "order": "Order number (if any)", "send": "Send",
			"sending": "Sending…", "error": "Something went wrong; please try again.",
			"escalated": "Thank you. A person has your request and will answer %s.", "promise": "We answer %s.",
			"notFoundPage": "This page does not exist.",
		},
		"zh": {
			"site": "帮助中心", "skip": "跳到正文", "language": "语言", "heading": "我们能帮您什么？",
			"searchLabel": "搜索帮助中心", "placeholder": "请输入您的问题", "search": "搜索",
			"results": "找到 %d 篇文章。", "noResults": "没有找到相关文章。客服人员可以帮助您。",
			"fallback": "没有找到中文文章；以下是其他语言的文章。",
			"notFound": "没有找到答案？", "askPerson": "联系客服人员，我们会尽快回复", "popular": "热门文章",
			"knownIssues": "我们正在处理的已知问题", "contactUs": "联系我们", "back": "返回搜索",
			"wasHelpful": "这篇文章对您有帮助吗？", "yes": "有帮助", "no": "没有帮助",
			"thanksVote": "感谢您的反馈。", "sorryVote": "很抱歉没有帮到您。客服人员可以直接回答您：",
			"contactIntro": "请告诉我们您的问题，客服人员会回复您。", "message": "您的问题",
			"email": "电子邮箱（用于回复）", "order": "订单号（如有）", "send": "发送",
			"sending": "正在发送…", "error": "出错了，请重试。",
			"escalated": "谢谢。客服人员已收到您的请求，将在%s回复。", "promise": "我们会在%s回复。",
			"notFoundPage": "页面不存在。",
		},
	}
}

// pageData is what every page template gets.
type pageData struct {
	Lang, Title string
	T           map[string]string
	Issues      []KnownIssue
	// home
	Query, SearchID string
	Hits            []pageHit
	Notices         []Notice
	Popular         []Article
	// article
	Article Article
	Body    template.HTML
	// contact
	ArticleID, Promise, Done string
}

type pageHit struct {
	SearchHit
	SnippetHTML template.HTML
}

// pageLang picks the page language: ?lang=, else Accept-Language, else
// the default.
func (s *Service) pageLang(r *http.Request) string {
	langs := s.langs()
	if l := baseLang(r.URL.Query().Get("lang")); slices.Contains(langs, l) {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(part, ";")
		if l := baseLang(tag); slices.Contains(langs, l) {
			return l
		}
	}
	return langs[0]
}

// securityHeaders forbid everything the pages do not use: no external
// assets, no inline script, no framing.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

func (s *Service) handlePage(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	securityHeaders(w)
	switch {
	case path == "static/app.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(s.pages.css)
	case path == "static/app.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(s.pages.js)
	case path == "" || path == "index.html":
		s.homePage(w, r)
	case strings.HasPrefix(path, "articles/"):
		s.articlePage(w, r, strings.TrimPrefix(path, "articles/"))
	case path == "contact":
		s.contactPage(w, r)
	default:
		lang := s.pageLang(r)
		s.render(w, http.StatusNotFound, s.pages.home, s.data(r, lang, s.pages.text(lang, "notFoundPage")))
	}
}

func (s *Service) data(r *http.Request, lang, title string) pageData {
	d := pageData{Lang: lang, Title: title, T: s.pages.texts[lang]}
	if s.deps.KnownIssues != nil {
		if issues, err := s.deps.KnownIssues.PublicIssues(r.Context()); err == nil {
			for _, is := range issues {
				if is.Locale == "" || baseLang(is.Locale) == lang {
					d.Issues = append(d.Issues, is)
				}
			}
		}
	}
	return d
}

func (s *Service) render(w http.ResponseWriter, status int, t *template.Template, d pageData) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error().Err(err).Msg("render help page")
		httpx.Internal(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Service) homePage(w http.ResponseWriter, r *http.Request) {
	lang := s.pageLang(r)
	d := s.data(r, lang, s.pages.text(lang, "heading"))
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q != "" && len(q) <= s.cfg.MaxQueryBytes && s.ready.Load() {
		res := s.search(r.Context(), searchParams{q: q, locale: lang, limit: s.cfg.Limit})
		d.Query, d.SearchID = q, res.SearchID
		for _, h := range res.Hits {
			// Snippets are escaped text with <mark> only (see snippet).
			d.Hits = append(d.Hits, pageHit{SearchHit: h, SnippetHTML: template.HTML(h.Snippet)}) //nolint:gosec
		}
		for _, n := range res.Notices {
			if n.Kind != NoticeKnownIssue && n.Kind != NoticeNoResults {
				d.Notices = append(d.Notices, n)
			}
		}
	}
	// Popular: the most helpful published articles in the language.
	snap := s.snap.Load()
	for _, a := range snap.arts {
		if a.lang() == lang {
			d.Popular = append(d.Popular, *a)
		}
	}
	slices.SortFunc(d.Popular, func(a, b Article) int {
		ha, _ := s.st.helpfulness(a.ID)
		hb, _ := s.st.helpfulness(b.ID)
		if ha != hb {
			return hb - ha
		}
		return strings.Compare(a.Title, b.Title)
	})
	if len(d.Popular) > 8 {
		d.Popular = d.Popular[:8]
	}
	s.render(w, http.StatusOK, s.pages.home, d)
}

func (s *Service) articlePage(w http.ResponseWriter, r *http.Request, slug string) {
	lang := s.pageLang(r)
	a, ok := s.st.article(slug)
	if !ok || !a.published() {
		s.render(w, http.StatusNotFound, s.pages.home, s.data(r, lang, s.pages.text(lang, "notFoundPage")))
		return
	}
	d := s.data(r, lang, a.Title)
	d.Article, d.Body = a, renderMarkdown(a.Body)
	if sid := r.URL.Query().Get("sid"); idLike(sid) {
		d.SearchID = sid
	}
	s.render(w, http.StatusOK, s.pages.article, d)
}

func (s *Service) contactPage(w http.ResponseWriter, r *http.Request) {
	lang := s.pageLang(r)
	d := s.data(r, lang, s.pages.text(lang, "contactUs"))
	d.Promise = fmt.Sprintf(s.pages.text(lang, "promise"), humanDuration(s.cfg.ExpectedResponse, lang))
	if sid := r.URL.Query().Get("search_id"); idLike(sid) {
		d.SearchID = sid
	}
	if id := r.URL.Query().Get("article"); idLike(id) {
		d.ArticleID = id
	}
	s.render(w, http.StatusOK, s.pages.contact, d)
}
