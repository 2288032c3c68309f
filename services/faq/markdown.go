package faq

import (
	"html"
	"html/template"
	"net/url"
	"strings"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// renderMarkdown renders the Markdown subset articles use (headings,
// paragraphs, bullet and numbered lists, block quotes, fenced code,
// **bold**, *italic*, `code` and [links](https://...)) to HTML. It is
// safe by construction: every piece of source text is HTML-escaped, raw
// HTML is shown as text, and links are kept only for http, https and
// mailto URLs.
func renderMarkdown(src string) template.HTML {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var b strings.Builder
	var para []string
	list := "" // "ul" or "ol" while inside a list
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>")
			b.WriteString(inline(strings.Join(para, " ")))
			b.WriteString("</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flushPara()
			closeList()
			b.WriteString("<pre><code>")
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.WriteString(html.EscapeString(lines[i]))
				b.WriteByte('\n')
			}
			b.WriteString("</code></pre>\n")
		case trim == "":
			flushPara()
			closeList()
		case strings.HasPrefix(trim, "#"):
			level := 0
			for level < len(trim) && trim[level] == '#' {
				level++
			}
			if level <= 6 && level < len(trim) && trim[level] == ' ' {
				flushPara()
				closeList()
				// An article's own headings start at h2: the page title is h1.
				h := min(level+1, 6)
				tag := "h" + string(rune('0'+h))
				b.WriteString("<" + tag + ">" + inline(strings.TrimSpace(trim[level:])) + "</" + tag + ">\n")
				continue
			}
			para = append(para, trim)
		case strings.HasPrefix(trim, "- ") || strings.HasPrefix(trim, "* ") || strings.HasPrefix(trim, "+ "):
			flushPara()
			if list != "ul" {
				closeList()
				list = "ul"
				b.WriteString("<ul>\n")
			}
			b.WriteString("<li>" + inline(strings.TrimSpace(trim[2:])) + "</li>\n")
		case orderedItem(trim) > 0:
			flushPara()
			if list != "ol" {
				closeList()
				list = "ol"
				b.WriteString("<ol>\n")
			}
			b.WriteString("<li>" + inline(strings.TrimSpace(trim[orderedItem(trim):])) + "</li>\n")
		case strings.HasPrefix(trim, ">"):
			flushPara()
			closeList()
			b.WriteString("<blockquote><p>" + inline(strings.TrimSpace(strings.TrimLeft(trim, "> "))) + "</p></blockquote>\n")
		default:
			if list != "" {
				closeList()
			}
			para = append(para, trim)
		}
	}
	flushPara()
	closeList()
	// Every fragment written above is escaped or a fixed tag.
	return template.HTML(b.String()) //nolint:gosec // built from escaped text only
}

// orderedItem returns the length of a "12. " list marker, or 0.
func orderedItem(s string) int {
	i := 0
	for i < len(s) && i < 4 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' ' {
		return i + 2
	}
	return 0
}

// inline renders emphasis, code spans and links in one line of text,
// escaping everything else.
func inline(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '`':
			if j := strings.IndexByte(s[1:], '`'); j >= 0 {
				b.WriteString("<code>" + html.EscapeString(s[1:1+j]) + "</code>")
				s = s[2+j:]
				continue
			}
		case strings.HasPrefix(s, "**"):
			if j := strings.Index(s[2:], "**"); j > 0 {
				b.WriteString("<strong>" + inline(s[2:2+j]) + "</strong>")
				s = s[4+j:]
				continue
			}
		case s[0] == '*' || s[0] == '_':
			if j := strings.IndexByte(s[1:], s[0]); j > 0 && s[1] != ' ' {
				b.WriteString("<em>" + inline(s[1:1+j]) + "</em>")
				s = s[2+j:]
				continue
			}
		case s[0] == '[':
			if end := strings.Index(s, "]("); end > 0 {
				if close := strings.IndexByte(s[end+2:], ')'); close >= 0 {
					text, href := s[1:end], strings.TrimSpace(s[end+2:end+2+close])
					if safeURL(href) {
						b.WriteString(`<a href="` + html.EscapeString(href) + `" rel="nofollow noopener">` + inline(text) + "</a>")
					} else {
						b.WriteString(inline(text))
					}
					s = s[end+3+close:]
					continue
				}
			}
		}
		// Copy up to the next special character, escaped.
		j := strings.IndexAny(s[1:], "`*_[")
		if j < 0 {
			b.WriteString(html.EscapeString(s))
			break
		}
		b.WriteString(html.EscapeString(s[:1+j]))
		s = s[1+j:]
	}
	return b.String()
}

// safeURL accepts absolute http(s) and mailto links and site-relative
// paths; never javascript: or data: URLs.
func safeURL(href string) bool {
	if strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//") {
		return !strings.ContainsAny(href, "\\\"'<> ")
	}
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return true
	}
	return false
}

// plainText strips Markdown markup to the words a reader sees, for
// indexing and snippets.
func plainText(md string) string {
	r := strings.NewReplacer("**", "", "__", "", "`", "", "#", "", "> ", "", "](", " (", "[", "")
	return r.Replace(md)
}

// detectLocale guesses "en" or "zh" from text.
func detectLocale(s string) string { return textproc.DetectLocale(s) }
