package faq

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// chromiumPath is where Debian installs Chromium; CI installs it there.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for the test, or skips it with a
// clear message when Chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("NOCONTACT_CHROMIUM")
	if path == "" {
		path = chromiumPath
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("browser test skipped: Chromium not found at %s (apt-get install chromium, or set NOCONTACT_CHROMIUM)", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run performs browser steps, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func TestBrowserSearchReadVoteAndEscalate(t *testing.T) {
	ctx := browser(t)
	h := startHelpCentre(t)
	arts := append(sampleArticles(), Article{
		ID: "faq-xss", Title: "Gift cards", Locale: "en",
		Body: "Gift cards never expire.\n\n<script>window.__xss = 1</script><img src=x onerror=\"window.__xss=2\">\n\n[click](javascript:window.__xss=3)",
	})
	h.putArticles(arts...)
	h.issues.set(KnownIssue{ID: "def-7", Reason: "where_is_my_order", Title: "Parcels to Leeds are late", Message: "2 days"})

	run(t, ctx, "open the help centre", chromedp.Navigate(h.url+"/help/"), chromedp.WaitVisible(chromedp.ID("q")))
	lang := get(t, ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang")).Value
	viewport := get(t, ctx, chromedp.AttributeValue(chromedp.CSS("meta[name=viewport]"), "content")).Value
	if lang != "en" || !strings.Contains(viewport, "width=device-width") {
		t.Errorf("page lang %q viewport %q", lang, viewport)
	}
	if get(t, ctx, chromedp.Text(chromedp.CSS("label[for=q]"))) == "" {
		t.Error("the search box has no label")
	}
	run(t, ctx, "search as you type", chromedp.SendKeys(chromedp.ID("q"), "refunds"), chromedp.WaitVisible(chromedp.CSS("#results li a")))
	firstTitle := get(t, ctx, chromedp.Text(chromedp.CSS("#results li a")))
	status := get(t, ctx, chromedp.Text(chromedp.ID("search-status")))
	if firstTitle != "How do I get a refund?" || !strings.Contains(status, "articles found") {
		t.Fatalf("first result %q, status %q", firstTitle, status)
	}

	run(t, ctx, "open the article and vote",
		chromedp.Click(chromedp.CSS("#results li a")),
		chromedp.WaitVisible(chromedp.ID("article-body")),
		chromedp.Click(chromedp.ID("vote-no")),
		chromedp.WaitVisible(chromedp.CSS("#vote-contact a")),
	)
	body := get(t, ctx, chromedp.Text(chromedp.ID("article-body")))
	voteStatus := get(t, ctx, chromedp.Text(chromedp.ID("vote-status")))
	if !strings.Contains(body, "5 working days") || !strings.Contains(voteStatus, "Sorry") {
		t.Errorf("article %q, vote status %q", body, voteStatus)
	}
	tu.Eventually(t, 5*time.Second, func() bool {
		_, n := h.svc.st.helpfulness("faq-refund")
		return n == 1
	}, "the vote was not recorded")

	run(t, ctx, "escalate from the article",
		chromedp.Click(chromedp.CSS("#vote-contact a")),
		chromedp.WaitVisible(chromedp.ID("message")),
		chromedp.SendKeys(chromedp.ID("message"), "The refund is not on my card yet"),
		chromedp.SendKeys(chromedp.ID("email"), "ann@example.com"),
		chromedp.Click(chromedp.CSS("#contact-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#contact-status[data-contact-id]")),
	)
	done := get(t, ctx, chromedp.Text(chromedp.ID("contact-status")))
	contactID := get(t, ctx, chromedp.AttributeValue(chromedp.ID("contact-status"), "data-contact-id")).Value
	if !strings.Contains(done, "within 4 hours") || contactID == "" {
		t.Errorf("confirmation %q, contact %q", done, contactID)
	}
	c := readContact(t, h.bus)
	if c.GetId() != contactID || c.GetMetadata()["help_query"] != "refunds" || c.GetMetadata()["help_article"] != "faq-refund" {
		t.Errorf("escalated contact %v %v", c.GetId(), c.GetMetadata())
	}

	// A script in an article body is shown as text, never run.
	run(t, ctx, "open the article with a script",
		chromedp.Navigate(h.url+"/help/articles/faq-xss"),
		chromedp.WaitVisible(chromedp.ID("article-body")),
		chromedp.Sleep(300*time.Millisecond),
	)
	if xss := get(t, ctx, chromedp.Evaluate[string](`window.__xss === undefined ? "none" : String(window.__xss)`)); xss != "none" {
		t.Errorf("a script from the article body ran: window.__xss = %v", xss)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#article-body script, #article-body img, #article-body a[href^=javascript]").length`)); n != 0 {
		t.Errorf("the article body holds %d script, img or javascript: elements", n)
	}
	if shown := get(t, ctx, chromedp.Text(chromedp.ID("article-body"))); !strings.Contains(shown, "<script>") {
		t.Errorf("the article's markup is not shown as text: %q", shown)
	}

	// Known issue on the home page.
	run(t, ctx, "home with a known issue", chromedp.Navigate(h.url+"/help/"), chromedp.WaitVisible(chromedp.CSS(".issues")))
	if issue := get(t, ctx, chromedp.Text(chromedp.CSS(".issues"))); !strings.Contains(issue, "Parcels to Leeds are late") {
		t.Errorf("known issue on the home page: %q", issue)
	}
}

func TestBrowserChineseSearch(t *testing.T) {
	ctx := browser(t)
	h := startHelpCentre(t)
	h.putArticles(sampleArticles()...)
	run(t, ctx, "open the Chinese help centre", chromedp.Navigate(h.url+"/help/?lang=zh"), chromedp.WaitVisible(chromedp.ID("q")))
	lang := get(t, ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang")).Value
	heading := get(t, ctx, chromedp.Text(chromedp.CSS("h1")))
	if lang != "zh" || heading != "我们能帮您什么？" {
		t.Errorf("lang %q heading %q", lang, heading)
	}
	run(t, ctx, "search in Chinese", chromedp.SendKeys(chromedp.ID("q"), "退款什么时候到账"), chromedp.WaitVisible(chromedp.CSS("#results li a")))
	first := get(t, ctx, chromedp.Text(chromedp.CSS("#results li a")))
	snippet := get(t, ctx, chromedp.InnerHTML(chromedp.CSS("#results li p")))
	if first != "如何申请退款？" || !strings.Contains(snippet, "<mark>退款</mark>") {
		t.Errorf("first hit %q, snippet %q", first, snippet)
	}
	// Without JavaScript the same search works as a plain form.
	run(t, ctx, "server-rendered results", chromedp.Navigate(h.url+"/help/?lang=zh&q="+urlQuery("发票")), chromedp.WaitVisible(chromedp.CSS("#results li a")))
	if noJS := get(t, ctx, chromedp.Text(chromedp.CSS("#results li a"))); noJS != "如何开发票？" {
		t.Errorf("server-rendered results: %q", noJS)
	}
}
