package defects

import (
	"slices"
	"sort"
	"strings"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// occ is one contact the detector counts: an occurrence of each of its
// signatures.
type occ struct {
	id, ext, customer, order, reason, channel string
	at                                        int64
	text                                      string
	cues                                      [len(bivKinds)]bool
	cued                                      bool
	sigs                                      []string
	named                                     []string // single-key subject signatures whose value the text names
	judged, unusual                           bool     // wording judged against the reason's; rare for it
	rare                                      []string // some of its rare terms, for notes
	claimedBy                                 string   // subject or text defect it counts in
	reworkBy                                  string   // rework defect it counts in
	repeatOf, repeatOfExt                     string
}

// customerKey is who a distinct-customer count counts: an anonymous
// contact is a customer of its own.
func (o *occ) customerKey() string {
	if o.customer != "" {
		return o.customer
	}
	return "\x00" + o.id
}

// signature is one "same issue" key and what the detector knows of it.
type signature struct {
	key     string
	reason  string
	kind    string
	subject [][2]string // sorted key/value pairs
	terms   []string
	recent  []*occ // within Window, by received time
	daily   map[int32]int32
	defect  string
	version uint32           // bumped when an old day's count changes
	cache   [4]baselineCache // baselines of the latest windows tested
	next    int
	// lastUnusual is the latest unusual occurrence (event time, 0 for
	// none): the unusual test runs only while one is within a window.
	lastUnusual int64
}

type baselineCache struct {
	anchor, covered int32
	version         uint32
	count           int32
	ok              bool
}

func keySet(subject [][2]string) string {
	keys := make([]string, len(subject))
	for i, kv := range subject {
		keys[i] = kv[0]
	}
	return strings.Join(keys, "|")
}

func crossKeys(keys string) string { return "*|" + keys }

// halfKey names the count of a combination's i-th value with its other keys
// present (any value): "late_delivery|carrier=swiftship|region".
func halfKey(reason string, subject [][2]string, i int) string {
	var b strings.Builder
	b.WriteString(reason)
	for j, kv := range subject {
		b.WriteByte('|')
		b.WriteString(kv[0])
		if j == i {
			b.WriteByte('=')
			b.WriteString(strings.ToLower(kv[1]))
		}
	}
	return b.String()
}

func crossValues(subject [][2]string) string { return subjectKey("*", subject) }

// sample is the part of a contact's text kept as evidence, with personal
// data masked.
func sample(text string) string {
	const maxRunes = 240
	text = strings.TrimSpace(text)
	if r := []rune(text); len(r) > maxRunes {
		text = string(r[:maxRunes]) + "…"
	}
	return textproc.MaskPII(text)
}

// subject returns the subject key values a contact carries for its
// reason: fields (product, channel) or metadata, as the taxonomy lists
// them.
func (d *Detector) subject(reason string, c Contact) [][2]string {
	r, ok := d.tax.Reason(reason)
	if !ok {
		return nil
	}
	var out [][2]string
	for _, k := range r.SubjectKeys {
		var v string
		switch k {
		case "product":
			v = c.Product
		case "channel":
			v = c.Channel
		case "order_id", "customer_id":
			continue // never a subject: that is what a repeat is
		}
		if v == "" {
			v = c.Metadata[k]
		}
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// signatures returns (creating) the signatures of a contact: each subject
// key alone and in combinations up to MaxSubjectKeys, or, for a contact
// without a subject, the text cluster of its wording.
func (d *Detector) signatures(reason string, c Contact, at int64) []*signature {
	subj := d.subject(reason, c)
	var out []*signature
	if len(subj) > 0 {
		for _, combo := range combinations(subj, d.cfg.MaxSubjectKeys) {
			key := subjectKey(reason, combo)
			s := d.sigs[key]
			if s == nil {
				s = &signature{key: key, reason: reason, kind: KindSubject, subject: combo, daily: map[int32]int32{}}
				d.sigs[key] = s
			}
			out = append(out, s)
		}
		return out
	}
	fp := newFingerprint(c.Text)
	if len(fp.terms) < d.cfg.TextMinTerms {
		return nil
	}
	ci := d.clusters[reason]
	if ci == nil {
		ci = newClusterIndex()
		d.clusters[reason] = ci
	}
	cl := ci.assign(reason, fp, at, d.cfg.TextMaxBits, d.cfg.TextMinSimilarity)
	key := reason + "|~" + cl.ID[len(reason)+1:]
	s := d.sigs[key]
	if s == nil {
		s = &signature{key: key, reason: reason, kind: KindText, terms: surfaceTerms(c.Text, cl.Terms), daily: map[int32]int32{}}
		d.sigs[key] = s
	}
	return []*signature{s}
}

// combinations returns the non-empty subsets of pairs with at most n
// elements, smallest first, each in key order.
func combinations(pairs [][2]string, n int) [][][2]string {
	var out [][][2]string
	var rec func(start int, cur [][2]string)
	rec = func(start int, cur [][2]string) {
		if len(cur) > 0 {
			out = append(out, slices.Clone(cur))
		}
		if len(cur) == n {
			return
		}
		for i := start; i < len(pairs); i++ {
			rec(i+1, append(cur, pairs[i]))
		}
	}
	rec(0, nil)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}

func subjectKey(reason string, combo [][2]string) string {
	var b strings.Builder
	b.WriteString(reason)
	for _, kv := range combo {
		b.WriteByte('|')
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(strings.ToLower(kv[1]))
	}
	return b.String()
}

// countSubject counts a subject signature's occurrence in the counters
// the expectations read: the reason with these keys, these values in any
// reason, these keys in any reason, and for a combination each value with
// the other keys present; when the contact's text names the value, also the
// named counts of the signature and of the reason with these keys.
func (d *Detector) countSubject(s *signature, at int64, delta int32, named, unusual bool) {
	if s.kind != KindSubject {
		return
	}
	keys := keySet(s.subject)
	names := []string{s.key, s.reason + "|" + keys, crossValues(s.subject), crossKeys(keys)}
	if len(s.subject) > 1 {
		for i := range s.subject {
			names = append(names, halfKey(s.reason, s.subject, i))
		}
	}
	if named {
		names = append(names, namedKey(s.key), namedKey(s.reason+"|"+keys))
	}
	if unusual {
		names = append(names, unusualKey(s.key))
	}
	for _, k := range names {
		d.countKey(k, at, delta)
	}
}

// countKey counts delta contacts at an event time in a named counter.
func (d *Detector) countKey(k string, at int64, delta int32) {
	c := d.counters[k]
	if c == nil {
		if delta < 0 {
			return
		}
		c = newCounter()
		d.counters[k] = c
	}
	c.add(at, delta)
}

func (s *signature) insert(o *occ) {
	i := len(s.recent)
	for i > 0 && s.recent[i-1].at > o.at {
		i--
	}
	s.recent = slices.Insert(s.recent, i, o)
}

func (s *signature) removeOcc(o *occ) bool {
	for i := len(s.recent) - 1; i >= 0; i-- {
		if s.recent[i] == o {
			s.recent = slices.Delete(s.recent, i, i+1)
			return true
		}
	}
	return false
}

// title is a defect's readable name: the reason and its subject, the
// cluster's words, or the rework it stands for.
func (d *Detector) title(kind, reason string, subject [][2]string, terms []string) string {
	name := reason
	if r, ok := d.tax.Reason(reason); ok {
		name = r.Name("en")
	}
	switch kind {
	case KindRework:
		return "Rework: " + name + " (customers contact again about the same order)"
	case KindText:
		return name + `: "` + strings.Join(terms, " ") + `"`
	}
	parts := make([]string, len(subject))
	for i, kv := range subject {
		parts[i] = strings.ReplaceAll(kv[0], "_", " ") + " " + kv[1]
	}
	return name + ": " + strings.Join(parts, ", ")
}

// surfaceTerms maps a cluster's stems back to the words the customer
// wrote, for a readable title.
func surfaceTerms(text string, stems []string) []string {
	forms := map[string]string{}
	for _, t := range textproc.Tokens(text) {
		if _, ok := forms[t.Stem]; !ok {
			forms[t.Stem] = t.Text
		}
	}
	out := make([]string, len(stems))
	for i, s := range stems {
		out[i] = s
		if f, ok := forms[s]; ok {
			out[i] = f
		}
	}
	return out
}
