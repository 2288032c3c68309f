package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// generate runs a whole history and returns its days and truth.
func generate(t testing.TB, cfg Config) ([]Day, Truth) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var days []Day
	for {
		d, ok := g.Next()
		if !ok {
			break
		}
		days = append(days, d)
	}
	return days, g.Truth()
}

// hashHistory hashes the JSON of every order and contact, in order.
func hashHistory(t testing.TB, days []Day) string {
	t.Helper()
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, d := range days {
		for _, o := range d.Orders {
			if err := enc.Encode(o); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range d.Contacts {
			if err := enc.Encode(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func smallConfig(seed int64) Config {
	return Config{Seed: seed, Days: 30, OrdersPerDay: 600}
}

func TestDemoDeterministicForASeed(t *testing.T) {
	a, ta := generate(t, smallConfig(7))
	b, tb := generate(t, smallConfig(7))
	c, _ := generate(t, smallConfig(8))
	ha, hb, hc := hashHistory(t, a), hashHistory(t, b), hashHistory(t, c)
	if ha != hb {
		t.Fatalf("same seed, different histories: %s vs %s", ha, hb)
	}
	if ha == hc {
		t.Fatalf("seeds 7 and 8 gave the same history %s", ha)
	}
	ja, _ := json.Marshal(ta)
	jb, _ := json.Marshal(tb)
	if string(ja) != string(jb) {
		t.Fatal("same seed, different truth")
	}
}

func TestDemoMatcherAgreement(t *testing.T) {
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	m := taxonomy.NewMatcher(tax)
	days, truth := generate(t, Config{Seed: 1, Days: 90, OrdersPerDay: 600})
	var total, agree, strong int
	perReason := map[string][2]int{}
	var misses []string
	for _, d := range days {
		for _, c := range d.Contacts {
			text := c.Text
			if c.Subject != "" {
				text = c.Subject + "\n" + text
			}
			res := m.Match(text, c.Locale)
			got := res.Reason
			if got == "" {
				got = "unclassified"
			}
			total++
			pr := perReason[c.Truth.Reason]
			pr[1]++
			if got == c.Truth.Reason {
				agree++
				if res.Confidence >= 0.5 || got == "unclassified" {
					strong++
					pr[0]++
				}
			}
			if got != c.Truth.Reason || (got != "unclassified" && res.Confidence < 0.5) {
				misses = append(misses, fmt.Sprintf("%s -> %s (%.2f %v) %q", c.Truth.Reason, got, res.Confidence, res.Matched, text))
			}
			perReason[c.Truth.Reason] = pr
		}
	}
	rate := float64(strong) / float64(total)
	t.Logf("rule agreement: %d/%d = %.1f%% (reason matches %.1f%%, reason with confidence >= 0.5 as the tagger applies it %.1f%%)",
		strong, total, 100*rate, 100*float64(agree)/float64(total), 100*rate)
	for _, r := range slices.Sorted(maps.Keys(perReason)) {
		pr := perReason[r]
		t.Logf("  %-22s %5d/%5d %.0f%%", r, pr[0], pr[1], 100*float64(pr[0])/float64(pr[1]))
	}
	if os.Getenv("DEMO_MISSES") != "" {
		sort.Strings(misses)
		for _, s := range misses {
			t.Log(s)
		}
	}
	if rate < 0.85 {
		t.Errorf("only %.1f%% of contacts get their intended reason by the keyword rules, want >= 85%%", 100*rate)
	}
	if rate > 0.99 {
		t.Errorf("%.1f%% of contacts match their reason by rules: the text is too templated to be realistic", 100*rate)
	}
	// Every planted defect's contacts must be taggable: the defects view
	// depends on them.
	byID := map[string]Contact{}
	for _, d := range days {
		for _, c := range d.Contacts {
			byID[c.ExternalID] = c
		}
	}
	for _, d := range truth.Defects {
		ok := 0
		for _, id := range d.ContactIDs {
			c := byID[id]
			text := c.Text
			if c.Subject != "" {
				text = c.Subject + "\n" + text
			}
			if res := m.Match(text, c.Locale); res.Reason == d.Reason && res.Confidence >= 0.5 {
				ok++
			}
		}
		share := float64(ok) / float64(len(d.ContactIDs))
		t.Logf("defect %s: %d/%d contacts tagged %s by rules (%.0f%%)", d.Key, ok, len(d.ContactIDs), d.Reason, 100*share)
		if share < 0.85 {
			t.Errorf("defect %s: only %.0f%% of its contacts are tagged %s by rules", d.Key, 100*share, d.Reason)
		}
	}
}

func TestDemoGenericPartsCarryNoReason(t *testing.T) {
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	m := taxonomy.NewMatcher(tax)
	s := defaultShop()
	for _, l := range []*language{english(), chinese()} {
		var parts []string
		for _, list := range l.openers {
			parts = append(parts, list...)
		}
		for _, list := range l.closers {
			parts = append(parts, list...)
		}
		parts = append(parts, l.followUps...)
		parts = append(parts, l.orderRefs...)
		parts = append(parts, l.phone...)
		parts = append(parts, l.subjects...)
		parts = append(parts, l.names...)
		for _, p := range s.products {
			parts = append(parts, p.Name, p.NameZH)
		}
		for _, rg := range s.regions {
			parts = append(parts, rg.Carriers...)
			parts = append(parts, rg.Cities...)
			parts = append(parts, rg.CitiesZH...)
		}
		for _, p := range parts {
			if res := m.Match(p, l.code); res.OK() {
				t.Errorf("%s: generic part %q matches reason %s by %v; it would tag contacts of every reason", l.code, p, res.Reason, res.Matched)
			}
		}
	}
}

func TestDemoMixWithinBounds(t *testing.T) {
	cfg := Config{Seed: 3, Days: 90, OrdersPerDay: 1000}
	days, truth := generate(t, cfg)
	// Contacts per order per day within 0.08-0.2.
	for _, d := range days {
		cpx := float64(len(d.Contacts)) / float64(len(d.Orders))
		if cpx < 0.08 || cpx > 0.2 {
			t.Errorf("day %d: %d contacts for %d orders, CPX %.3f outside 0.08-0.2", d.Index, len(d.Contacts), len(d.Orders), cpx)
		}
	}
	// Locale mix near the configured Chinese share.
	zh := float64(truth.Locales["zh"]) / float64(truth.Contacts)
	if math.Abs(zh-DefaultZHShare) > 0.05 {
		t.Errorf("Chinese share %.3f, want %.2f ± 0.05", zh, DefaultZHShare)
	}
	// Everyday reasons near their mix (defects and repeats excluded).
	counts := map[string]int{}
	n := 0
	for _, d := range days {
		for _, c := range d.Contacts {
			if c.Truth.Defect == "" && c.Truth.RepeatOf == "" {
				counts[c.Truth.Reason]++
				n++
			}
		}
	}
	mix := DefaultReasonMix()
	sum := 0.0
	for _, w := range mix {
		sum += w
	}
	for code, w := range mix {
		want := w / sum
		got := float64(counts[code]) / float64(n)
		if tol := 0.2*want + 0.004; math.Abs(got-want) > tol {
			t.Errorf("reason %s: share %.4f, want %.4f ± %.4f", code, got, want, tol)
		}
	}
	if top := slices.MaxFunc(slices.Collect(maps.Keys(counts)), func(a, b string) int { return counts[a] - counts[b] }); top != "where_is_my_order" {
		t.Errorf("most common reason is %s, want where_is_my_order", top)
	}
	// Orders per day within 2,000-5,000 with the default volume.
	g, _ := New(Config{Seed: 3, Days: 14})
	for {
		d, ok := g.Next()
		if !ok {
			break
		}
		if len(d.Orders) < 2000 || len(d.Orders) > 5000 {
			t.Errorf("day %d: %d orders, want 2,000-5,000", d.Index, len(d.Orders))
		}
	}
}

func TestDemoTruthMatchesHistory(t *testing.T) {
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Seed: 11, Days: 90, OrdersPerDay: 400}
	days, truth := generate(t, cfg)
	byID := map[string]Contact{}
	orders := map[string]Order{}
	var nOrders, nContacts int
	for _, d := range days {
		nOrders += len(d.Orders)
		nContacts += len(d.Contacts)
		for _, o := range d.Orders {
			orders[o.OrderID] = o
		}
		for i, c := range d.Contacts {
			if _, dup := byID[c.ExternalID]; dup {
				t.Fatalf("external id %s twice", c.ExternalID)
			}
			byID[c.ExternalID] = c
			if i > 0 && c.ReceivedAt.Before(d.Contacts[i-1].ReceivedAt) {
				t.Fatalf("day %d: contacts out of time order", d.Index)
			}
			if c.ReceivedAt.Before(d.Date) || !c.ReceivedAt.Before(d.Date.AddDate(0, 0, 1)) {
				t.Fatalf("contact %s received %s, not on its day %s", c.ExternalID, c.ReceivedAt, d.Date)
			}
			if strings.ContainsAny(c.Text+c.Subject, "{}") {
				t.Fatalf("contact %s has an unfilled slot: %q", c.ExternalID, c.Text)
			}
			r, ok := tax.Reason(c.Truth.Reason)
			if !ok {
				t.Fatalf("contact %s: reason %s not in the taxonomy", c.ExternalID, c.Truth.Reason)
			}
			for k := range c.Metadata {
				if !slices.Contains(r.SubjectKeys, k) {
					t.Errorf("contact %s (%s): metadata %q is not a subject key of the reason (%v)", c.ExternalID, r.Code, k, r.SubjectKeys)
				}
			}
			if c.OrderID != "" {
				o, ok := orders[c.OrderID]
				if !ok {
					t.Fatalf("contact %s refers to order %s that was never placed", c.ExternalID, c.OrderID)
				}
				if c.ReceivedAt.Before(o.PlacedAt) {
					t.Errorf("contact %s received %s before its order was placed %s", c.ExternalID, c.ReceivedAt, o.PlacedAt)
				}
			}
		}
	}
	if truth.Orders != nOrders || truth.Contacts != nContacts {
		t.Fatalf("truth counts %d orders %d contacts, history has %d and %d", truth.Orders, truth.Contacts, nOrders, nContacts)
	}
	if len(truth.Defects) != 5 {
		t.Fatalf("%d defects planted, want 5", len(truth.Defects))
	}
	for _, d := range truth.Defects {
		if len(d.ContactIDs) < 2 {
			t.Errorf("defect %s has %d contacts; a defect needs two", d.Key, len(d.ContactIDs))
		}
		first, last := 1<<30, -1
		for _, id := range d.ContactIDs {
			c, ok := byID[id]
			if !ok {
				t.Fatalf("defect %s: contact %s not in the history", d.Key, id)
			}
			if c.Truth.Reason != d.Reason || c.Truth.Defect != d.Key {
				t.Errorf("defect %s: contact %s has reason %s defect %q", d.Key, id, c.Truth.Reason, c.Truth.Defect)
			}
			for k, v := range d.Subject {
				got := c.Metadata[k]
				if k == "product" {
					got = c.Product
				}
				if got != v {
					t.Errorf("defect %s: contact %s has %s=%q, want %q", d.Key, id, k, got, v)
				}
			}
			day := int(c.ReceivedAt.Sub(cfg.Start.UTC()).Hours() / 24)
			if cfg.Start.IsZero() {
				day = int(c.ReceivedAt.Sub(DefaultStart()).Hours() / 24)
			}
			first, last = min(first, day), max(last, day)
		}
		if first != d.FirstDay || last >= d.FixDay {
			t.Errorf("defect %s: contacts on days %d-%d, truth says %d until %d", d.Key, first, last, d.FirstDay, d.FixDay)
		}
		t.Logf("defect %-18s %-17s days %2d-%2d %4d contacts %v", d.Key, d.Reason, d.FirstDay, d.FixDay, len(d.ContactIDs), d.Subject)
	}
	// Planted defects stand out: their subject is far more common while
	// they last than before.
	for _, d := range truth.Defects {
		in, out := 0, 0
		for _, day := range days {
			for _, c := range day.Contacts {
				if c.Truth.Reason != d.Reason || !hasSubject(c, d.Subject) {
					continue
				}
				if day.Index >= d.FirstDay && day.Index < d.FixDay {
					in++
				} else {
					out++
				}
			}
		}
		inRate := float64(in) / float64(d.FixDay-d.FirstDay)
		outRate := float64(out) / float64(cfg.Days-(d.FixDay-d.FirstDay))
		if inRate < 3*outRate {
			t.Errorf("defect %s: %.1f contacts a day while it lasts vs %.1f otherwise; it does not stand out", d.Key, inRate, outRate)
		}
	}
	if len(truth.Repeats) == 0 {
		t.Fatal("no repeat contacts")
	}
	listed, followUps := map[string]bool{}, 0
	for _, rp := range truth.Repeats {
		c, first := byID[rp.ContactID], byID[rp.RepeatOf]
		if c.CustomerID != first.CustomerID || c.OrderID != first.OrderID || c.Truth.Reason != first.Truth.Reason {
			t.Fatalf("repeat %s of %s: customer/order/reason differ", rp.ContactID, rp.RepeatOf)
		}
		limit := RepeatWindow
		if rp.FollowUp {
			limit = 5 * 24 * time.Hour
			followUps++
		}
		if gap := c.ReceivedAt.Sub(first.ReceivedAt); gap <= 0 || gap > limit {
			t.Fatalf("repeat %s comes %s after %s", rp.ContactID, gap, rp.RepeatOf)
		}
		listed[rp.ContactID] = true
	}
	// Every contact that repeats an earlier one of its customer, order and
	// reason within the window is in the truth, follow-up or not.
	last := map[string]Contact{}
	var all []Contact
	for _, d := range days {
		all = append(all, d.Contacts...)
	}
	for _, c := range all {
		if c.CustomerID == "" || c.Truth.Reason == "unclassified" {
			continue
		}
		key := c.CustomerID + "|" + c.OrderID + "|" + c.Truth.Reason
		if prev, ok := last[key]; ok && c.ReceivedAt.Sub(prev.ReceivedAt) <= RepeatWindow && !listed[c.ExternalID] {
			t.Fatalf("contact %s repeats %s but the truth does not say so", c.ExternalID, prev.ExternalID)
		}
		last[key] = c
	}
	share := float64(len(truth.Repeats)) / float64(nContacts)
	t.Logf("%d orders, %d contacts (CPX %.3f), %d repeats (%.1f%%), %d of them follow-ups", nOrders, nContacts, float64(nContacts)/float64(nOrders), len(truth.Repeats), 100*share, followUps)
	if followUps == 0 || followUps == len(truth.Repeats) {
		t.Errorf("%d follow-ups of %d repeats: want both kinds", followUps, len(truth.Repeats))
	}
}

func hasSubject(c Contact, subject map[string]string) bool {
	for k, v := range subject {
		got := c.Metadata[k]
		if k == "product" {
			got = c.Product
		}
		if got != v {
			return false
		}
	}
	return true
}

func TestDemoTextVariety(t *testing.T) {
	days, _ := generate(t, Config{Seed: 5, Days: 30, OrdersPerDay: 1000})
	texts := map[string]map[string]bool{}
	perReason := map[string]int{}
	for _, d := range days {
		for _, c := range d.Contacts {
			if texts[c.Truth.Reason] == nil {
				texts[c.Truth.Reason] = map[string]bool{}
			}
			texts[c.Truth.Reason][c.Text] = true
			perReason[c.Truth.Reason]++
		}
	}
	for reason, n := range perReason {
		if reason == "unclassified" || n < 50 {
			continue
		}
		distinct := float64(len(texts[reason])) / float64(n)
		if distinct < 0.8 {
			t.Errorf("reason %s: only %d distinct texts in %d contacts", reason, len(texts[reason]), n)
		}
	}
}

func TestDemoConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Days: -1}, "days must be"},
		{Config{OrdersPerDay: -5}, "orders per day"},
		{Config{ZHShare: 2}, "Chinese share"},
		{Config{ReasonMix: map[string]float64{"nope": 1}}, `reason "nope" has no demo phrasing`},
		{Config{ReasonMix: map[string]float64{"invoice": 0}}, "no positive weight"},
		{Config{Source: "Bad Source"}, "source"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestDemoSmallHistoryKeepsEveryDefect(t *testing.T) {
	_, truth := generate(t, Config{Seed: 1, Days: 7, OrdersPerDay: 200})
	if len(truth.Defects) != 5 {
		t.Fatalf("%d defects, want 5", len(truth.Defects))
	}
	for _, d := range truth.Defects {
		if d.FirstDay < 0 || d.FixDay > 7 || d.FirstDay >= d.FixDay || len(d.ContactIDs) < 2 {
			t.Errorf("defect %s: days %d-%d, %d contacts", d.Key, d.FirstDay, d.FixDay, len(d.ContactIDs))
		}
	}
}

// BenchmarkDemoGenerate90Days generates the default history: 90 days of
// about 3,500 orders.
func BenchmarkDemoGenerate90Days(b *testing.B) {
	for b.Loop() {
		g, err := New(Config{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		orders, contacts := 0, 0
		for {
			d, ok := g.Next()
			if !ok {
				break
			}
			orders += len(d.Orders)
			contacts += len(d.Contacts)
		}
		b.ReportMetric(float64(orders), "orders")
		b.ReportMetric(float64(contacts), "contacts")
	}
}
