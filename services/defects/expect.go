package defects

import (
	"math"
	"slices"
	"sort"
)

// specificity picks how specific a new defect's subject is. A burst of
// damaged mugs also shows as "damaged mugs via carrier X", and a carrier's
// delays in one region also as "the carrier's delays": among the tested
// signature and its broader and narrower relatives (of the same contact)
// that are themselves unusual, it takes the most specific one that holds
// nearly all (specificShare) of the largest excess over baseline, and of
// those the narrowest (least expected).
func (d *Detector) specificity(best verdict, sigs []*signature, at int64) verdict {
	if best.sig.kind != KindSubject || len(sigs) < 2 {
		return best
	}
	loose := math.Sqrt(d.cfg.Alpha)
	cands := []verdict{best}
	for _, s := range sigs {
		if s == best.sig || s.defect != "" || !related(s.subject, best.sig.subject) {
			continue
		}
		if v, ok := d.testWindow(s, at, best.window, 1); ok && v.p <= loose {
			cands = append(cands, v)
		}
	}
	top := 0.0
	for _, c := range cands {
		top = max(top, c.excess)
	}
	var pick *verdict
	for i := range cands {
		c := &cands[i]
		if c.excess < top*specificShare {
			continue
		}
		switch {
		case pick == nil:
			pick = c
		case len(c.sig.subject) == len(pick.sig.subject):
			if c.expect < pick.expect {
				pick = c
			}
		case related(c.sig.subject, pick.sig.subject):
			// The narrower one only when it is narrower in fact: an extra
			// key that every occurrence shares anyway (the campaign of a
			// promo code) adds nothing.
			narrow, broad := c, pick
			if len(c.sig.subject) < len(pick.sig.subject) {
				narrow, broad = pick, c
			}
			if narrow.expect < narrowShare*broad.expect {
				pick = narrow
			} else {
				pick = broad
			}
		case len(c.sig.subject) > len(pick.sig.subject):
			pick = c
		}
	}
	if pick == nil {
		return best
	}
	return *pick
}

// baselineSpan is how many baseline days before anchor the detector has
// seen (at most BaselineDays); ok is false until it has seen
// MinBaselineDays of them.
func (d *Detector) baselineSpan(anchor int32) (covered int32, ok bool) {
	covered = min(int32(d.cfg.BaselineDays), anchor-d.firstDay)
	return covered, d.firstDay >= 0 && covered >= int32(d.cfg.MinBaselineDays) && covered > 0
}

// plainest picks the subject to open among the verdicts of one contact's
// signatures that all pass a test on few customers: the one with the fewest
// keys, unless a narrower one is far more significant. Two customers of a
// mug who both happened to be served by the busiest carrier say nothing
// about the carrier: the narrower subject must beat the broader one by more
// than its own keys explain by chance.
func plainest(cands []verdict) verdict {
	pick := cands[0]
	for _, c := range cands[1:] {
		if len(c.sig.subject) < len(pick.sig.subject) || len(c.sig.subject) == len(pick.sig.subject) && c.p < pick.p {
			pick = c
		}
	}
	broad := pick
	for _, c := range cands {
		if len(c.sig.subject) > len(broad.sig.subject) && related(c.sig.subject, broad.sig.subject) &&
			c.p < narrowEvidence*broad.p && c.p < pick.p {
			pick = c
		}
	}
	return pick
}

// narrowEvidence is how much more significant a narrower subject must be
// than the broader one it refines to be preferred on few customers.
const narrowEvidence = 0.01

// specificShare is the share of the largest excess a narrower subject must
// hold to be preferred to a broader one.
const specificShare = 0.85

// narrowShare is how much less a narrower subject must expect than a
// broader one to be preferred.
const narrowShare = 0.8

// related reports whether one subject contains the other.
func related(a, b [][2]string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	for _, kv := range a {
		if !slices.Contains(b, kv) {
			return false
		}
	}
	return true
}

// verdict is the outcome of testing one signature in one window.
type verdict struct {
	sig    *signature
	window int64
	p      float64
	n      int     // distinct customers not yet claimed
	expect float64 // the count the baseline expects
	excess float64 // n minus expect
	// novel marks a subject never seen with the reason that nothing else
	// predicts either: a new promo code, a new page of the help centre.
	novel bool
	alpha float64
	// named marks a verdict of the named test; share is the share of the
	// subject's contacts expected to name it.
	named bool
	share float64
	// unusual marks a verdict of the unusual test (share is then the
	// share of the subject's contacts expected to be worded unusually).
	unusual bool
	// all is the distinct customers in the window (unusual test).
	all int
}

// test decides whether a signature's latest occurrences are more than its
// everyday rate explains, in any window. It returns the most significant
// window's verdict, or ok false when no window has two customers and a
// learned baseline.
func (d *Detector) test(s *signature, at int64, alpha float64) (verdict, bool) {
	var best verdict
	found := false
	for _, w := range d.wins {
		v, ok := d.testWindow(s, at, w, max(windowAlpha(alpha, w), d.cfg.NovelAlpha))
		if !ok {
			continue
		}
		a := windowAlpha(alpha, w)
		if v.novel {
			a = max(a, d.cfg.NovelAlpha)
		}
		if v.p <= a && (!found || v.p/a < best.p/best.alpha) {
			v.alpha = a
			best, found = v, true
		}
	}
	return best, found
}

// windowAlpha is the significance a window must reach: a day of short
// windows holds more chances for chance bursts than one day-long window,
// so a window shorter than a day must be as much more significant.
func windowAlpha(alpha float64, w int64) float64 {
	if alpha >= 1 || w >= day {
		return alpha
	}
	return alpha * float64(w) / day
}

// testWindow tests one window ending at at. Under the null hypothesis the
// signature's occurrences in the window and in its baseline (the
// BaselineDays before the window) are drawn at the same share of all
// contacts; given both counts, the window's is Binomial(n + baseline, q)
// with q the window's share of the volume (a conditional test, so an
// uncertain baseline is accounted for). The baseline count is raised to
// what the subject's current share among other reasons predicts when that
// is more: a new app version that every reason sees is not a defect of
// one reason.
func (d *Detector) testWindow(s *signature, at, w int64, alpha float64) (verdict, bool) {
	from := at - w
	i := sort.Search(len(s.recent), func(i int) bool { return s.recent[i].at > from })
	raw := 0
	for _, o := range s.recent[i:] {
		if o.at <= at {
			raw++
		}
	}
	if raw < 2 {
		return verdict{}, false
	}
	if d.cfg.Alpha >= 1 {
		n := distinctUnclaimed(s.recent[i:], at)
		return verdict{sig: s, window: w, p: 0, n: n, excess: float64(n)}, n >= 2
	}
	anchor := dayOf(from)
	covered, ok := d.baselineSpan(anchor)
	if !ok {
		return verdict{}, false
	}
	count := d.baseline(s, anchor, covered)
	vw, volume := d.reasonVolume(s.reason, anchor, covered, from, at)
	if volume <= 0 {
		return verdict{}, false
	}
	q := vw / (vw + volume)
	// Cheap bounds first: the tail only grows with fewer occurrences and
	// shrinks with a larger baseline, and raw occurrences are at least the
	// distinct customers.
	if binomialTail(raw, float64(raw)+float64(count)+d.cfg.PriorContacts, q) > alpha {
		return verdict{}, false
	}
	base := max(float64(count), d.expectedBaseline(s, anchor, covered, from, at))
	novel := s.kind == KindSubject && base == 0
	base += d.cfg.PriorContacts
	if binomialTail(raw, float64(raw)+base, q) > alpha {
		return verdict{}, false
	}
	n := distinctUnclaimed(s.recent[i:], at)
	if n < 2 {
		return verdict{}, false
	}
	p := binomialTail(n, float64(n)+base, q)
	expect := base * vw / volume
	return verdict{sig: s, window: w, p: p, n: n, expect: expect, excess: float64(n) - expect, novel: novel}, true
}

// baseline returns the signature's count on the covered days before
// anchor.
func (d *Detector) baseline(s *signature, anchor, covered int32) int32 {
	for i := range s.cache {
		if c := &s.cache[i]; c.ok && c.anchor == anchor && c.covered == covered && c.version == s.version {
			return c.count
		}
	}
	var n int32
	for dd := anchor - covered; dd < anchor; dd++ {
		n += s.daily[dd]
	}
	s.cache[s.next%len(s.cache)] = baselineCache{anchor: anchor, covered: covered, version: s.version, count: n, ok: true}
	s.next++
	return n
}

// profile is a reason's share of all contacts at each hour of the day on
// the baseline days before anchor, and its count on those days.
type profile struct {
	share [24]float64
	count float64
}

type profileKey struct {
	reason          string
	anchor, covered int32
}

// profilePseudo smooths a reason's share at an hour of the day with few
// contacts toward its share over the whole day.
const profilePseudo = 50

// reasonVolume returns what a signature of the reason is measured against:
// for the window, all contacts in it weighted by the reason's usual share
// at each hour of the day (so a reason that peaks in the evening, like
// same-day cancellations, is expected to), and for the baseline, the
// reason's contacts on the baseline days.
func (d *Detector) reasonVolume(reason string, anchor, covered int32, from, at int64) (window, base float64) {
	pk := profileKey{reason, anchor, covered}
	pr := d.profiles[pk]
	if pr == nil {
		pr = &profile{}
		var mine, all [24]float64
		var sumMine, sumAll float64
		lo, hi := int64(anchor-covered)*day, int64(anchor)*day-1
		d.all.eachHour(lo, hi, func(h, n int32) {
			all[hourOfDay(h)] += float64(n)
			sumAll += float64(n)
		})
		if rc := d.reasons[reason]; rc != nil {
			rc.eachHour(lo, hi, func(h, n int32) {
				mine[hourOfDay(h)] += float64(n)
				sumMine += float64(n)
			})
		}
		if sumAll > 0 {
			avg := sumMine / sumAll
			for hod := range pr.share {
				pr.share[hod] = (mine[hod] + profilePseudo*avg) / (all[hod] + profilePseudo)
			}
		}
		pr.count = sumMine
		d.profiles[pk] = pr
	}
	first := hourOf(from)
	d.all.eachHour(from, at, func(h, n int32) {
		v := float64(n) * pr.share[hourOfDay(h)]
		if h == first {
			v *= float64(int64(first+1)*3600-from) / 3600
		}
		window += v
	})
	return window, pr.count
}

// expectedBaseline is what the baseline count of a subject signature
// should be from what is known besides its own history: its subject's
// share among other reasons (crossBaseline), and for a combination of keys
// what its single keys predict if they are independent (a new app version
// on the usual platforms is no new combination).
func (d *Detector) expectedBaseline(s *signature, anchor, covered int32, from, at int64) float64 {
	if s.kind != KindSubject {
		return 0
	}
	base := d.crossBaseline(s, anchor, covered, from, at)
	if len(s.subject) < 2 {
		return base
	}
	mine := d.counters[s.reason+"|"+keySet(s.subject)]
	if mine == nil {
		return base
	}
	both := float64(mine.sumDays(anchor, covered))
	if both <= 0 {
		return base
	}
	est := both
	for i, kv := range s.subject {
		// The value's share among the reason's contacts that carry all
		// the keys, and, when other reasons say the value is taking over,
		// its share by that measure.
		share := 0.0
		if half := d.counters[halfKey(s.reason, s.subject, i)]; half != nil {
			share = float64(half.sumDays(anchor, covered)) / both
		}
		single := d.sigs[subjectKey(s.reason, [][2]string{kv})]
		keyed := d.counters[s.reason+"|"+kv[0]]
		if single != nil && keyed != nil {
			if all := float64(keyed.sumDays(anchor, covered)); all > 0 {
				share = max(share, d.crossBaseline(single, anchor, covered, from, at)/all)
			}
		}
		est *= share
	}
	return max(base, est)
}

func sumDays(m map[int32]int32, anchor, covered int32) int32 {
	var n int32
	for dd := anchor - covered; dd < anchor; dd++ {
		n += m[dd]
	}
	return n
}

// crossBaseline is the baseline count a subject signature would have if
// its subject took the same share of the reason's contacts (with those
// keys) as it takes now among other reasons' contacts (with those keys).
// It is 0 when other reasons have too few such contacts to say.
func (d *Detector) crossBaseline(s *signature, anchor, covered int32, from, at int64) float64 {
	keys := keySet(s.subject)
	all := d.counters[crossKeys(keys)]
	allValues := d.counters[crossValues(s.subject)]
	mine := d.counters[s.reason+"|"+keys]
	if all == nil || allValues == nil || mine == nil {
		return 0
	}
	ownValues := d.counters[s.key]
	// The subject's share among other reasons' contacts with these keys:
	// on the baseline days, and lately (in the window, or in the latest
	// hours that hold enough contacts, up to three days, never before the
	// subject first appeared), whichever is larger, so that a value taking
	// over (a new app version rolling out) is expected at its new share.
	var share float64
	baseOthers := float64(all.sumDays(anchor, covered) - mine.sumDays(anchor, covered))
	if baseOthers >= minCross {
		v := float64(allValues.sumDays(anchor, covered))
		if ownValues != nil {
			v -= float64(ownValues.sumDays(anchor, covered))
		}
		share = max(0, v) / baseOthers
	}
	lo := from
	if allValues.first > lo {
		lo = allValues.first - 1
	}
	otherKeys := all.window(lo, at) - mine.window(lo, at)
	if otherKeys < minCross && lo >= allValues.first {
		// Look further back an hour at a time (at most three days).
		h := hourOf(lo)
		for otherKeys < minCross && at-lo < 3*day && lo >= allValues.first {
			otherKeys += float64(all.hour(h) - mine.hour(h))
			h--
			lo = int64(h+1) * 3600
		}
	}
	switch {
	case otherKeys >= minCross:
		otherValues := allValues.window(lo, at)
		if ownValues != nil {
			otherValues -= ownValues.window(lo, at)
		}
		share = max(share, max(0, otherValues)/otherKeys)
	case allValues.first > at-3*day && baseOthers >= minCross:
		// A value new to every reason that other reasons have not seen
		// enough of yet: its share is unknown, it may take all the
		// reason's contacts with these keys.
		share = 1
	}
	return float64(mine.sumDays(anchor, covered)) * share
}

// minCross is how many contacts with a subject's keys other reasons need in
// a window for their share to set expectations.
const minCross = 10

func distinctUnclaimed(occs []*occ, until int64) int {
	if len(occs) <= 8 {
		var seen [8]string
		n := 0
		for _, o := range occs {
			if o.at > until || o.claimedBy != "" {
				continue
			}
			k := o.customerKey()
			if !slices.Contains(seen[:n], k) {
				seen[n] = k
				n++
			}
		}
		return n
	}
	seen := make(map[string]struct{}, len(occs))
	for _, o := range occs {
		if o.at > until || o.claimedBy != "" {
			continue
		}
		seen[o.customerKey()] = struct{}{}
	}
	return len(seen)
}

// baselineRate is the signature's everyday rate (contacts a day) before
// from.
func (d *Detector) baselineRate(s *signature, from int64) float64 {
	anchor := dayOf(from)
	covered := min(int32(d.cfg.BaselineDays), anchor-d.firstDay)
	if covered <= 0 {
		return 0
	}
	var n int32
	for dd := anchor - covered; dd < anchor; dd++ {
		n += s.daily[dd]
	}
	return float64(n) / float64(covered)
}
