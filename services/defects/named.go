package defects

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A contact whose text names its subject value ("since the update to
// 5.2.0 my payment failed", "SPRING20 says invalid") attributes the issue
// to that subject in the customer's own words. In a reason whose contacts
// rarely name a value of that key (payment failures seldom quote the app
// version), two customers who do within a window are evidence beyond the
// count: the named test. It runs on single-key subject signatures only and
// compares the named occurrences in a window with what the subject's
// everyday rate times the reason's naming share predicts.

// namedMaxShare is the largest share of the reason's contacts with a key
// that may name their value for naming to count as evidence: where most
// contacts name it anyway (late deliveries name their carrier), it says
// nothing beyond the count.
const namedMaxShare = 0.01

// namedPseudo is how many baseline contacts the reason's naming share
// (over every value of the key) weighs against the value's own: a new
// value has no history of its own, an established one has.
const namedPseudo = 20

// namedMinLen is the shortest value looked for in a text: "uk" or "ios"
// appear in words and sentences too often to be attributions.
const namedMinLen = 4

func namedKey(sigKey string) string { return "~named|" + sigKey }

// namesValue reports whether text names value as a word of its own: case
// is ignored; the value must not continue into letters or digits on either
// side (so "5.2.0" is not named by "5.2.01", nor "card" by "cards").
func namesValue(lowerText, value string) bool {
	if len(value) < namedMinLen {
		return false
	}
	v := strings.ToLower(value)
	for i := 0; ; {
		j := strings.Index(lowerText[i:], v)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(v)
		if (start == 0 || !wordByte(lowerText[start-1])) && (end == len(lowerText) || !continues(lowerText, end)) {
			return true
		}
		i = start + 1
	}
}

func wordByte(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// continues reports whether the text goes on with the same token at i: a
// letter or digit, or a dot or hyphen followed by one ("5.2.0.1").
func continues(s string, i int) bool {
	if wordByte(s[i]) {
		return true
	}
	return (s[i] == '.' || s[i] == '-') && i+1 < len(s) && wordByte(s[i+1])
}

// namedSigs returns the keys of the contact's single-key subject
// signatures whose value its text names.
func namedSigs(text string, sigs []*signature) []string {
	var out []string
	lower := ""
	for _, s := range sigs {
		// The channel is how the contact came, not what it is about:
		// "phone call" names it without attributing anything.
		if s.kind != KindSubject || len(s.subject) != 1 || s.subject[0][0] == "channel" {
			continue
		}
		if lower == "" {
			lower = strings.ToLower(text)
		}
		if namesValue(lower, s.subject[0][1]) {
			out = append(out, s.key)
		}
	}
	return out
}

// testNamed is the named test of one signature for a contact that names
// its value: in each window, the distinct customers (not yet claimed) who
// named it against a Poisson expectation of the subject's expected count
// in the window (as the opening test computes it) times the share of such
// contacts that name their value (the value's own share, smoothed toward
// the reason's share over every value of the key). It takes two
// customers, a learned baseline, and a reason that rarely names the key.
func (d *Detector) testNamed(s *signature, o *occ, at int64) (verdict, bool) {
	if s.kind != KindSubject || len(s.subject) != 1 || !slices.Contains(o.named, s.key) || d.cfg.Alpha >= 1 {
		return verdict{}, false
	}
	keys := s.reason + "|" + keySet(s.subject)
	var best verdict
	found := false
	for _, w := range d.wins {
		from := at - w
		i := sort.Search(len(s.recent), func(i int) bool { return s.recent[i].at > from })
		k := distinctNamed(s.recent[i:], s.key, at)
		if k < 2 {
			continue
		}
		anchor := dayOf(from)
		covered, ok := d.baselineSpan(anchor)
		if !ok {
			continue
		}
		mine := d.counters[keys]
		if mine == nil {
			continue
		}
		all := float64(mine.sumDays(anchor, covered))
		pooled := (float64(sumCounter(d.counters[namedKey(keys)], anchor, covered)) + d.cfg.PriorContacts) / (all + 2*d.cfg.PriorContacts)
		if pooled > namedMaxShare {
			continue
		}
		count := d.baseline(s, anchor, covered)
		vw, volume := d.reasonVolume(s.reason, anchor, covered, from, at)
		if volume <= 0 {
			continue
		}
		own := float64(sumCounter(d.counters[namedKey(s.key)], anchor, covered))
		share := (own + namedPseudo*pooled) / (float64(count) + namedPseudo)
		if share > namedMaxShare {
			// This value's own contacts name it often enough ("Can I pay
			// with PayPal?"): naming it is everyday here.
			continue
		}
		base := max(float64(count), d.expectedBaseline(s, anchor, covered, from, at)) + d.cfg.PriorContacts
		lambda := share * base * vw / volume
		p := poissonTail(k, lambda)
		a := windowAlpha(d.cfg.NamedAlpha, w)
		if p <= a && (!found || p/a < best.p/best.alpha) {
			best = verdict{sig: s, window: w, p: p, n: k, expect: lambda, excess: float64(k) - lambda, alpha: a, named: true, share: share}
			found = true
		}
	}
	return best, found
}

func sumCounter(c *counter, anchor, covered int32) int32 {
	if c == nil {
		return 0
	}
	return c.sumDays(anchor, covered)
}

// distinctNamed counts the distinct customers, not yet claimed, whose
// occurrence until at names the signature's value.
func distinctNamed(occs []*occ, key string, until int64) int {
	var seen []string
	for _, o := range occs {
		if o.at > until || o.claimedBy != "" || !slices.Contains(o.named, key) {
			continue
		}
		if k := o.customerKey(); !slices.Contains(seen, k) {
			seen = append(seen, k)
		}
	}
	return len(seen)
}

// namedNote explains a defect the named test opened.
func namedNote(v verdict) string {
	kv := v.sig.subject[0]
	return fmt.Sprintf("; %d customers name %s %s in their own words (expected %.2g: %.2g%% of such contacts name their %s)",
		v.n, strings.ReplaceAll(kv[0], "_", " "), kv[1], v.expect, 100*v.share, strings.ReplaceAll(kv[0], "_", " "))
}
