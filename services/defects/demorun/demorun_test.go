// Package demorun_test runs the demo generator's histories through the
// defects detector, without a server, and checks what it finds against
// the planted ground truth. It lives in a package of its own so that the
// detector's tests do not depend on the demo generator compiling.
package demorun_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/demo"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/services/defects"
)

// run feeds one demo history to a detector: orders are counted, contacts
// tagged by the taxonomy's keyword rules as the tagger does (confidence
// 0.5 or more, else unclassified and left for review). When the stream
// reaches a planted defect's fix day, its defect is marked fixed, as its
// owner would.
func run(t *testing.T, seed int64, cfg defects.DetectorConfig, intended bool) (defects.Evaluation, *defects.Detector) {
	t.Helper()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	m := taxonomy.NewMatcher(tax)
	gen, err := demo.New(demo.Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	det, err := defects.NewDetector(cfg, tax, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	// The truth so far tells which contacts are planted; the final truth
	// comes at the end.
	plantedOf := map[string]string{}
	seen := map[string]int{}
	detectedAt := map[string]int{}
	type fix struct {
		key string
		day time.Time
	}
	var fixes []fix
	for _, p := range demoTruthDefects(gen) {
		fixes = append(fixes, fix{p.Key, mustDate(t, p.FixDate)})
	}
	// A new defect that matches a planted one (as the evaluation matches
	// them) detects it at the planted contacts seen so far.
	matchOpened := func(id string) {
		d, _ := det.Get(id)
		for _, p := range defects.Evaluate(truthSoFar(t, gen), []*defects.Defect{d}).PlantedDetail {
			if _, done := detectedAt[p.Key]; !done && p.DefectID != "" {
				detectedAt[p.Key] = seen[p.Key]
			}
		}
	}
	fixed := map[string]bool{}
	for {
		day, ok := gen.Next()
		if !ok {
			break
		}
		// The owner of a planted defect marks its defect fixed on the day
		// the fix ships (the planted fix day), with that day as fixed_at.
		for _, f := range fixes {
			if fixed[f.key] || day.Date.Before(f.day) {
				continue
			}
			fixed[f.key] = true
			ev := defects.Evaluate(truthSoFar(t, gen), det.List(defects.Filter{}))
			for _, p := range ev.PlantedDetail {
				if p.Key != f.key || p.DefectID == "" {
					continue
				}
				if d, _ := det.Get(p.DefectID); d.Status == defects.StatusFixed || d.Status == defects.StatusVerified {
					continue
				}
				st, at := defects.StatusFixed, f.day
				if _, err := det.Patch(p.DefectID, defects.Patch{Status: &st, FixedAt: &at}, "owner"); err != nil {
					t.Errorf("mark %s fixed: %v", p.DefectID, err)
				}
			}
		}
		for _, o := range day.Orders {
			det.CountOrder(o.PlacedAt)
		}
		for i := range gen.Truth().Defects {
			p := gen.Truth().Defects[i]
			for _, id := range p.ContactIDs {
				plantedOf[id] = p.Key
			}
		}
		for _, c := range day.Contacts {
			reason := c.Truth.Reason
			if !intended {
				text := c.Text
				if c.Subject != "" {
					text = c.Subject + "\n" + c.Text
				}
				res := m.Match(text, c.Locale)
				reason = res.Reason
				if reason == "" || res.Confidence < 0.5 {
					reason = "unclassified"
				}
			}
			if k := plantedOf[c.ExternalID]; k != "" {
				seen[k]++
			}
			evs := det.Observe(defects.Contact{
				ID: "id-" + c.ExternalID, ExternalID: c.ExternalID, CustomerID: c.CustomerID, OrderID: c.OrderID,
				Reason: reason, Channel: c.Channel, Product: c.Product, Text: c.Text, Metadata: c.Metadata, ReceivedAt: c.ReceivedAt,
			})
			for _, e := range evs {
				if e.Type == defects.EventOpened {
					matchOpened(e.DefectID)
				}
			}
		}
		det.Verify()
	}
	ev := defects.Evaluate(truthSoFar(t, gen), det.List(defects.Filter{}))
	for i := range ev.PlantedDetail {
		if at, ok := detectedAt[ev.PlantedDetail[i].Key]; ok {
			ev.PlantedDetail[i].DetectionOccurrence = at
		}
	}
	return ev, det
}

func demoTruthDefects(g *demo.Generator) []demo.DefectTruth { return g.Truth().Defects }

// truthSoFar is the generator's truth as `nocontact demo --truth` writes
// it, read back the way `nocontact defects eval` reads the file.
func truthSoFar(t *testing.T, g *demo.Generator) defects.Truth {
	t.Helper()
	data, err := json.Marshal(g.Truth())
	if err != nil {
		t.Fatal(err)
	}
	var truth defects.Truth
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	return truth
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDemoDefects(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three 90-day demo histories")
	}
	intended := os.Getenv("DEMORUN_INTENDED") != ""
	seeds := []int64{1, 2, 3}
	if s := os.Getenv("DEMORUN_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.ParseInt(f, 10, 64)
			seeds = append(seeds, n)
		}
	}
	var cfg defects.DetectorConfig
	if s := os.Getenv("DEMORUN_ALPHA"); s != "" {
		cfg.Alpha, _ = strconv.ParseFloat(s, 64)
	}
	if s := os.Getenv("DEMORUN_NOVEL"); s != "" {
		cfg.NovelAlpha, _ = strconv.ParseFloat(s, 64)
	}
	if s := os.Getenv("DEMORUN_NAMED"); s != "" {
		cfg.NamedAlpha, _ = strconv.ParseFloat(s, 64)
	}
	if s := os.Getenv("DEMORUN_UNUSUAL"); s != "" {
		cfg.UnusualAlpha, _ = strconv.ParseFloat(s, 64)
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ev, det := run(t, seed, cfg, intended)
			wrong, detail := ev.Wrong, ev.PlantedDetail
			ev.Wrong, ev.PlantedDetail = nil, nil
			out, _ := json.Marshal(ev)
			t.Logf("%s", out)
			for _, p := range detail {
				d, _ := det.Get(p.DefectID)
				var conc []string
				for _, c := range d.Concentration {
					conc = append(conc, fmt.Sprintf("%s %s %.0f%%", c.Key, c.Value, 100*c.Share))
				}
				t.Logf("planted %-20s occurrence %2d %-9s %s (%d contacts; %s)", p.Key, p.DetectionOccurrence, p.Status, p.Title,
					d.Occurrences, cmp.Or(strings.Join(conc, ", "), "no concentration"))
			}
			for _, w := range wrong {
				id := w[:strings.IndexByte(w, ' ')]
				d, _ := det.Get(id)
				t.Logf("wrong %-8s occ=%4d cust=%4d first=%s opened=%s %s | %s", d.Status, d.Occurrences, d.Customers,
					d.FirstSeen.Format("01-02T15"), d.OpenedAt.Format("01-02T15"), d.Title, d.History[0].Note)
			}
			if ev.Recall < 1 {
				t.Errorf("recall %.2f: every planted defect must open", ev.Recall)
			}
			if ev.Precision < 0.9 {
				t.Errorf("precision %.3f, want at least 0.9", ev.Precision)
			}
			if ev.VerifiedAfterFix != ev.Planted {
				t.Errorf("%d of %d planted defects verified after their fix day", ev.VerifiedAfterFix, ev.Planted)
			}
			// Regression floors. The target is the third contact. On
			// seeds 1-6 the defects with a subject new to its reason (the
			// return-policy page, a promo code) or customers naming a subject
			// the reason's contacts never name (app version 5.2.0) open by
			// their fourth; later ones are planted contacts the tagger leaves
			// unclassified, or far apart. The carrier and the mug open by their
			// sixth, by their count and their customers' unusual wording: the
			// first contacts of some seeds use everyday sentences (or wording
			// with a single rare term), and two unusual customers are needed.
			// See docs/defects.md.
			worst := 0
			for _, p := range detail {
				worst = max(worst, p.DetectionOccurrence)
				want := 0
				switch p.Key {
				case "return_policy_page", "coupon_failure", "payment_release":
					want = 4
				case "carrier_delay", "damaged_sku":
					want = 6
				}
				if want > 0 && p.DetectionOccurrence > want {
					t.Errorf("%s opened at its contact %d, want by the %dth", p.Key, p.DetectionOccurrence, want)
				}
			}
			if ev.MedianDetectionOccurrence > 4 || worst > 6 {
				t.Errorf("detection: median at contact %.1f, worst %d; want at most 4 and 6", ev.MedianDetectionOccurrence, worst)
			}
		})
	}
}
