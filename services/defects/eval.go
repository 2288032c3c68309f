package defects

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Truth is the ground truth of a demo history, as `nocontact demo --truth`
// writes it (pkg/demo's Truth): the planted defects with their contacts,
// and the contacts that repeat an earlier one.
type Truth struct {
	Seed    int64         `json:"seed"`
	Start   string        `json:"start"`
	Days    int           `json:"days"`
	Source  string        `json:"source"`
	Defects []TruthDefect `json:"defects"`
	Repeats []TruthRepeat `json:"repeats"`
}

// TruthDefect is one planted defect.
type TruthDefect struct {
	Key     string            `json:"key"`
	Reason  string            `json:"reason"`
	Subject map[string]string `json:"subject"`
	// FixDate is the first day without the defect's contacts.
	FirstDate string `json:"first_date"`
	FixDate   string `json:"fix_date"`
	// ContactIDs are the external ids of its contacts in time order; IDs
	// the server's ids for them, when the sender recorded them.
	ContactIDs []string `json:"contact_ids"`
	IDs        []string `json:"ids,omitempty"`
}

// TruthRepeat is a contact that repeats an earlier one (same customer,
// order and reason).
type TruthRepeat struct {
	ContactID string `json:"contact_id"`
	RepeatOf  string `json:"repeat_of"`
	Reason    string `json:"reason"`
}

// Evaluation compares the defects a run opened with its ground truth.
type Evaluation struct {
	// Planted and Detected count the planted defects and those a defect
	// matched.
	Planted  int `json:"planted"`
	Detected int `json:"detected"`
	// Recall is Detected / Planted.
	Recall float64 `json:"recall"`
	// Precision is the share of opened defects that match a planted
	// defect or genuine repeat contacts.
	Precision float64 `json:"precision"`
	// MedianDetectionOccurrence is the median, over detected planted
	// defects, of the planted contact at which its defect opened (2: at
	// the second; 0: already open before the first).
	MedianDetectionOccurrence float64 `json:"median_detection_occurrence"`
	// VerifiedAfterFix counts planted defects whose defect was fixed on or
	// after the planted fix day and then verified by the data.
	VerifiedAfterFix int `json:"verified_after_fix"`
	// Opened and Correct count all opened defects and the right ones.
	Opened  int `json:"opened"`
	Correct int `json:"correct"`
	// PlantedDetail says per planted defect what matched it.
	PlantedDetail []PlantedResult `json:"planted_detail"`
	// Wrong lists the defects that match nothing in the truth.
	Wrong []string `json:"wrong"`
}

// PlantedResult is the outcome for one planted defect.
type PlantedResult struct {
	Key                 string `json:"key"`
	DefectID            string `json:"defect_id,omitempty"`
	Title               string `json:"title,omitempty"`
	DetectionOccurrence int    `json:"detection_occurrence,omitempty"`
	Status              string `json:"status,omitempty"`
	VerifiedAfterFix    bool   `json:"verified_after_fix"`
}

// Evaluate compares defects with the truth.
func Evaluate(truth Truth, defects []*Defect) Evaluation {
	ev := Evaluation{Planted: len(truth.Defects), Opened: len(defects), Wrong: []string{}}
	repeats := map[string]string{}
	for _, r := range truth.Repeats {
		repeats[r.ContactID] = r.RepeatOf
	}
	sorted := slices.Clone(defects)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].OpenedAt.Before(sorted[j].OpenedAt) })
	matched := map[string]bool{}
	var occs []int
	for _, p := range truth.Defects {
		pos := map[string]int{}
		for i, id := range p.ContactIDs {
			pos[id] = i + 1
		}
		for i, id := range p.IDs {
			pos[id] = i + 1
		}
		res := PlantedResult{Key: p.Key}
		for _, d := range sorted {
			if !matchesPlanted(d, p, pos) {
				continue
			}
			matched[d.ID] = true
			if res.DefectID != "" {
				continue
			}
			res.DefectID, res.Title, res.Status = d.ID, d.Title, d.Status
			for _, e := range d.Evidence {
				if !e.Opening {
					continue
				}
				res.DetectionOccurrence = max(res.DetectionOccurrence, max(pos[e.ContactID], pos[e.ExternalID]))
			}
			if fix, err := time.Parse(time.DateOnly, p.FixDate); err == nil && d.Status == StatusVerified && d.FixedAt != nil && !d.FixedAt.Before(fix) {
				res.VerifiedAfterFix = true
				ev.VerifiedAfterFix++
			}
		}
		if res.DefectID != "" {
			ev.Detected++
			occs = append(occs, res.DetectionOccurrence)
		}
		ev.PlantedDetail = append(ev.PlantedDetail, res)
	}
	for _, d := range sorted {
		if matched[d.ID] || d.Kind == KindRework && genuineRework(d, repeats) {
			ev.Correct++
			continue
		}
		ev.Wrong = append(ev.Wrong, d.ID+" "+d.Title)
	}
	if ev.Planted > 0 {
		ev.Recall = round4(float64(ev.Detected) / float64(ev.Planted))
	}
	if ev.Opened > 0 {
		ev.Precision = round4(float64(ev.Correct) / float64(ev.Opened))
	}
	ev.MedianDetectionOccurrence = median(occs)
	return ev
}

// defaultTaxonomy is the taxonomy of demo histories, for the reason
// family of a defect. The evaluation is for demo histories, which use the
// default taxonomy whatever taxonomy a server may have been given.
var defaultTaxonomy = sync.OnceValue(func() *taxonomy.Taxonomy {
	t, _ := taxonomy.Default()
	return t
})

// sameFamily reports whether two reasons share their top-level reason
// ("Payment failed" and its parent "Payment and billing").
func sameFamily(a, b string) bool {
	t := defaultTaxonomy()
	if t == nil {
		return false
	}
	ra, okA := t.Root(a)
	rb, okB := t.Root(b)
	return okA && okB && ra.Code == rb.Code
}

// matchesPlanted: the same reason and a subject within the planted one, or
// most of the contacts that opened the defect among the planted contacts.
// A defect of a parent or sibling reason matches only by its contacts:
// planted contacts the tagger put under a broader reason ("Payment error
// after I updated to 5.2.0" as "Payment and billing") are the planted
// defect all the same.
func matchesPlanted(d *Defect, p TruthDefect, pos map[string]int) bool {
	if d.Reason != p.Reason && (d.Kind == KindRework || !sameFamily(d.Reason, p.Reason)) {
		return false
	}
	if d.Reason == p.Reason && d.Kind == KindSubject && len(d.Subject) > 0 {
		ok := true
		for k, v := range d.Subject {
			if !strings.EqualFold(p.Subject[k], v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	if d.Kind == KindRework {
		return false
	}
	in, all := 0, 0
	for _, e := range d.Evidence {
		if !e.Opening {
			continue
		}
		all++
		if pos[e.ContactID] > 0 || pos[e.ExternalID] > 0 {
			in++
		}
	}
	return all > 0 && 2*in > all
}

// genuineRework: most of a rework defect's repeats are repeats in the
// truth.
func genuineRework(d *Defect, repeats map[string]string) bool {
	total, ok := 0, 0
	for _, e := range d.Evidence {
		if e.RepeatOf == "" {
			continue
		}
		total++
		if of, found := repeats[e.ExternalID]; found && (e.RepeatOfExternal == "" || of == e.RepeatOfExternal) {
			ok++
		}
	}
	return total > 0 && 2*ok > total
}

func median(v []int) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }
