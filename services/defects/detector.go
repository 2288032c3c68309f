package defects

import (
	"slices"
	"sort"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Contact is a tagged contact as the detector sees it.
type Contact struct {
	ID         string
	ExternalID string
	CustomerID string
	OrderID    string
	// Reason is the contact's reason code (merged codes are resolved).
	Reason     string
	Channel    string
	Product    string
	Text       string
	Metadata   map[string]string
	ReceivedAt time.Time
}

// EventType says what happened to a defect.
type EventType int

// The events the detector reports.
const (
	// EventOpened: the issue happened twice; a defect opened.
	EventOpened EventType = iota + 1
	// EventRecurred: a later occurrence attached to an existing defect.
	EventRecurred
	// EventUpdated: the lifecycle changed (a person, a verification, a
	// reopening).
	EventUpdated
	// EventAndon: the andon cord was pulled.
	EventAndon
)

// Event is one thing that happened to a defect while processing a contact
// or a change.
type Event struct {
	Type     EventType
	DefectID string
	// ContactID is the contact that caused the event, if any.
	ContactID string
	// At is the event time of the contact or change.
	At time.Time
	// Reopened marks a recurrence that reopened a fixed defect.
	Reopened bool
	// Change is the history entry of an update.
	Change *Change
}

// Detector applies the twice rule to a stream of tagged contacts. It is
// plain Go (no NATS, no HTTP) and deterministic: the same contacts in the
// same order give the same defects with the same ids. It is not safe for
// concurrent use.
type Detector struct {
	cfg  DetectorConfig
	tax  *taxonomy.Taxonomy
	now  func() time.Time
	cue  *cueMatcher
	wins []int64

	contacts map[string]*occ
	sigs     map[string]*signature
	rework   map[string]*occ
	clusters map[string]*clusterIndex
	defects  map[string]*defectState
	bySig    map[string]string
	orders   map[int32]int32
	// reasons counts each reason's contacts by hour and day.
	reasons  map[string]*counter
	profiles map[profileKey]*profile
	// all counts every tagged contact (ignored reasons too): the volume a
	// signature's share is measured against.
	all *counter
	// ignored holds the contacts counted in the volume only (ignored
	// reasons), so that a relabel does not count them twice.
	ignored map[string]int64
	// counters hold the hourly and daily counts behind the cross-reason
	// expectation.
	counters map[string]*counter
	// terms is the everyday wording of each reason, of the shop
	// (shopTerms) and of subject values (the unusual test).
	terms map[string]*termModel
	// valueKeys are the keys some reason has as a subject key.
	valueKeys map[string]bool
	// valueStems caches the word stems of subject values.
	valueStems map[string][]string

	firstDay   int32
	watermark  int64
	prunedDay  int32
	covered    map[string]uint64
	dirty      map[string]bool
	costByChan map[string]float64
}

// NewDetector returns an empty detector. now is the wall clock, used only
// to date history entries.
func NewDetector(cfg DetectorConfig, tax *taxonomy.Taxonomy, now func() time.Time) (*Detector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	d := &Detector{
		cfg: cfg, tax: tax, now: now, cue: newCueMatcher(), wins: cfg.windows(),
		contacts: map[string]*occ{}, sigs: map[string]*signature{}, rework: map[string]*occ{},
		clusters: map[string]*clusterIndex{}, defects: map[string]*defectState{}, bySig: map[string]string{},
		orders: map[int32]int32{}, reasons: map[string]*counter{}, profiles: map[profileKey]*profile{},
		all: newCounter(), ignored: map[string]int64{},
		counters: map[string]*counter{}, terms: map[string]*termModel{},
		firstDay: -1, covered: map[string]uint64{}, dirty: map[string]bool{}, costByChan: map[string]float64{},
	}
	d.valueKeys, d.valueStems = map[string]bool{}, map[string][]string{}
	for _, r := range tax.Reasons {
		for _, k := range r.SubjectKeys {
			switch k {
			case "channel", "order_id", "customer_id":
			default:
				d.valueKeys[k] = true
			}
		}
	}
	for _, c := range tax.Channels {
		d.costByChan[c.Code] = c.CostPerContact
	}
	return d, nil
}

const day = 86400

func dayOf(unix int64) int32 {
	if unix < 0 {
		return int32((unix - day + 1) / day)
	}
	return int32(unix / day)
}

func hourOf(unix int64) int32 {
	if unix < 0 {
		return int32((unix - 3599) / 3600)
	}
	return int32(unix / 3600)
}

func dayString(d int32) string { return time.Unix(int64(d)*day, 0).UTC().Format(time.DateOnly) }

// Watermark is the latest event time seen (zero before any contact).
func (d *Detector) Watermark() time.Time {
	if d.watermark == 0 {
		return time.Time{}
	}
	return time.Unix(d.watermark, 0).UTC()
}

// Covered returns the last stream sequence of a stream applied to the
// detector (0 for none).
func (d *Detector) Covered(stream string) uint64 { return d.covered[stream] }

// SetCovered records that the stream's events up to seq are applied.
func (d *Detector) SetCovered(stream string, seq uint64) {
	if seq > d.covered[stream] {
		d.covered[stream] = seq
	}
}

// CountOrder counts one order placed at placedAt: the X of contacts per X.
func (d *Detector) CountOrder(placedAt time.Time) {
	d.orders[dayOf(placedAt.Unix())]++
}

// Observe counts a tagged contact. A contact seen before with the same
// reason changes nothing (redelivery); with another reason it is moved, as
// by Relabel.
func (d *Detector) Observe(c Contact) []Event {
	if c.ID == "" {
		return nil
	}
	d.volume(c)
	var events []Event
	if o := d.contacts[c.ID]; o != nil {
		if o.reason == d.resolve(c.Reason) {
			return nil
		}
		events = d.remove(o)
	}
	return append(events, d.observe(c)...)
}

// Relabel moves a contact to its new reason: it leaves the signatures and
// defects of its old reason and counts under the new one.
func (d *Detector) Relabel(c Contact) []Event {
	if c.ID == "" {
		return nil
	}
	d.volume(c)
	var events []Event
	if o := d.contacts[c.ID]; o != nil {
		if o.reason == d.resolve(c.Reason) {
			return nil
		}
		events = d.remove(o)
	}
	return append(events, d.observe(c)...)
}

// Forget removes a contact that no longer counts (relabeled to a reason
// that is ignored, or sent back to review).
func (d *Detector) Forget(contactID string) []Event {
	if o := d.contacts[contactID]; o != nil {
		return d.remove(o)
	}
	return nil
}

func (d *Detector) resolve(code string) string {
	if r, ok := d.tax.Resolve(code); ok {
		return r.Code
	}
	return code
}

// volume counts a contact, once, in the volume every signature's share is
// measured against.
func (d *Detector) volume(c Contact) {
	if _, ok := d.contacts[c.ID]; ok {
		return
	}
	if _, ok := d.ignored[c.ID]; ok {
		return
	}
	at := c.ReceivedAt.Unix()
	d.advance(at)
	d.all.add(at, 1)
	d.ignored[c.ID] = at
}

func (d *Detector) observe(c Contact) []Event {
	reason := d.resolve(c.Reason)
	at := c.ReceivedAt.Unix()
	if reason == "" || slices.Contains(d.cfg.IgnoreReasons, reason) || d.late(at) {
		return nil
	}
	delete(d.ignored, c.ID)
	o := &occ{
		id: c.ID, ext: c.ExternalID, customer: c.CustomerID, order: c.OrderID, reason: reason,
		channel: c.Channel, at: at, text: sample(c.Text),
	}
	d.contacts[o.id] = o
	dd := dayOf(at)
	rc := d.reasons[reason]
	if rc == nil {
		rc = newCounter()
		d.reasons[reason] = rc
	}
	rc.add(at, 1)

	var events []Event
	// Rework: the same customer again about the same order and reason.
	if o.customer != "" {
		key := o.customer + "\x00" + o.order + "\x00" + reason
		prev := d.rework[key]
		if prev != nil && prev.id != o.id && at >= prev.at && at-prev.at <= int64(d.cfg.RepeatWindow/time.Second) {
			o.repeatOf, o.repeatOfExt = prev.id, prev.ext
			events = append(events, d.reworkOccurrence(o, prev)...)
		}
		if prev == nil || prev.at <= at {
			d.rework[key] = o
		}
	}

	// The signatures: subject keys, else a text cluster.
	sigs := d.signatures(reason, c, at)
	o.named = namedSigs(c.Text, sigs)
	if d.cfg.Alpha < 1 {
		// The literal twice rule has no everyday wording to learn.
		d.judgeWording(o, o.text, sigSubjects(sigs), contactValues(c))
	}
	if o.judged {
		d.countKey(judgedKey(reason), at, 1)
	}
	if o.unusual {
		d.countKey(unusualKey(reason), at, 1)
	}
	for _, s := range sigs {
		s.insert(o)
		if o.unusual {
			s.lastUnusual = max(s.lastUnusual, o.at)
		}
		s.daily[dd]++
		if dd < dayOf(d.watermark) {
			s.version++
		}
		o.sigs = append(o.sigs, s.key)
		d.countSubject(s, at, 1, slices.Contains(o.named, s.key), o.unusual)
	}
	// A contact of an issue that already has a defect attaches to it: to
	// the most specific one when several match.
	var target *defectState
	for _, s := range sigs {
		if s.defect == "" {
			continue
		}
		ds := d.defects[s.defect]
		if ds != nil && (target == nil || ds.keys > target.keys) {
			target = ds
		}
	}
	if target != nil {
		return append(events, d.attach(o, target, false)...)
	}
	// Otherwise, is this the second time (beyond the everyday rate)?
	var best verdict
	for _, s := range sigs {
		if v, ok := d.test(s, at, d.cfg.Alpha); ok && (best.sig == nil || v.p < best.p) {
			best = v
		}
	}
	if best.sig == nil {
		// Not beyond the count alone: do customers name the subject in
		// their own words where the reason's contacts rarely do?
		for _, s := range sigs {
			if v, ok := d.testNamed(s, o, at); ok && (best.sig == nil || v.p/v.alpha < best.p/best.alpha) {
				best = v
			}
		}
		if best.sig != nil {
			return append(events, d.open(best.sig, o, best.window, namedNote(best))...)
		}
		// Nor do they name it: do they describe it in words rare for the
		// reason, more of them than its everyday share of such contacts?
		var cands []verdict
		for _, s := range sigs {
			if v, ok := d.testUnusual(s, at); ok {
				cands = append(cands, v)
			}
		}
		if len(cands) > 0 {
			best = plainest(cands)
			note := unusualNote(best, at)
			return append(events, d.open(best.sig, o, best.window, note)...)
		}
	}
	if best.sig != nil {
		best = d.specificity(best, sigs, at)
		events = append(events, d.open(best.sig, o, best.window, "")...)
	}
	return events
}

// late reports whether a contact is older than the window behind the
// latest contact seen (an import of old history after live data): it
// counts in the volume but can neither open nor join a defect, since the
// days around it are no longer known.
func (d *Detector) late(at int64) bool {
	return d.watermark > 0 && at < d.watermark-int64(d.cfg.Window/time.Second)
}

// advance moves the watermark and prunes what fell out of every window.
func (d *Detector) advance(at int64) {
	dd := dayOf(at)
	if d.firstDay < 0 || dd < d.firstDay && !d.late(at) {
		d.firstDay = dd
	}
	if at > d.watermark {
		d.watermark = at
	}
	// Pruning once a week of event time is enough: every window search
	// starts at its own beginning, and a week more costs little memory.
	if wd := dayOf(d.watermark); wd >= d.prunedDay+7 {
		d.prunedDay = wd
		d.prune()
	}
}

// prune forgets occurrences older than the window, repeats older than the
// repeat window and day counts older than any baseline needs.
func (d *Detector) prune() {
	keep := d.watermark - int64(d.cfg.Window/time.Second) - day
	keepDay := dayOf(keep) - int32(d.cfg.BaselineDays) - 1
	for id, o := range d.contacts {
		if o.at < keep {
			delete(d.contacts, id)
		}
	}
	for id, at := range d.ignored {
		if at < keep {
			delete(d.ignored, id)
		}
	}
	d.all.pruneHours(keepDay * 24)
	oldest := dayOf(d.watermark) - int32(d.cfg.Retention/(24*time.Hour))
	for dd := range d.orders {
		if dd < oldest {
			delete(d.orders, dd)
		}
	}
	for r, c := range d.reasons {
		c.pruneHours(keepDay * 24)
		for dd := range c.daily {
			if dd < oldest {
				delete(c.daily, dd)
			}
		}
		if len(c.hours) == 0 && len(c.daily) == 0 {
			delete(d.reasons, r)
		}
	}
	repeatKeep := d.watermark - int64(d.cfg.RepeatWindow/time.Second)
	for k, o := range d.rework {
		if o.at < repeatKeep {
			delete(d.rework, k)
		}
	}
	for key, s := range d.sigs {
		i := sort.Search(len(s.recent), func(i int) bool { return s.recent[i].at >= keep })
		if i > 0 {
			s.recent = slices.Delete(s.recent, 0, i)
		}
		for dd := range s.daily {
			if dd < keepDay {
				delete(s.daily, dd)
			}
		}
		if len(s.recent) == 0 && len(s.daily) == 0 && s.defect == "" {
			delete(d.sigs, key)
		}
	}
	for k := range d.profiles {
		if k.anchor < dayOf(d.watermark)-7 {
			delete(d.profiles, k)
		}
	}
	for k, c := range d.counters {
		c.pruneHours(keepDay * 24)
		for dd := range c.daily {
			if dd < keepDay {
				delete(c.daily, dd)
			}
		}
		if len(c.hours) == 0 && len(c.daily) == 0 {
			delete(d.counters, k)
		}
	}
	for _, ci := range d.clusters {
		ci.prune(int64(keepDay) * day)
	}
	d.pruneTerms(keepDay)
}

// remove takes a contact out of everything it counted in.
func (d *Detector) remove(o *occ) []Event {
	values := d.occValues(o)
	var subj [][2]string
	for _, key := range o.sigs {
		if s := d.sigs[key]; s != nil {
			s.removeOcc(o)
			decr(s.daily, dayOf(o.at))
			s.version++
			d.countSubject(s, o.at, -1, slices.Contains(o.named, key), o.unusual)
			subj = mergeSubject(subj, s.subject)
		}
	}
	d.unjudge(o, subj)
	if o.judged {
		d.countKey(judgedKey(o.reason), o.at, -1)
	}
	if o.unusual {
		d.countKey(unusualKey(o.reason), o.at, -1)
	}
	o.sigs, o.named, o.judged, o.unusual, o.rare = nil, nil, false, false, nil
	var events []Event
	for _, id := range []string{o.claimedBy, o.reworkBy} {
		if ds := d.defects[id]; id != "" && ds != nil {
			ds.sub(d, o, values)
			d.dirty[id] = true
			events = append(events, Event{Type: EventUpdated, DefectID: id, ContactID: o.id, At: time.Unix(o.at, 0).UTC()})
		}
	}
	o.claimedBy, o.reworkBy = "", ""
	if o.customer != "" {
		key := o.customer + "\x00" + o.order + "\x00" + o.reason
		if d.rework[key] == o {
			delete(d.rework, key)
		}
	}
	if rc := d.reasons[o.reason]; rc != nil {
		rc.add(o.at, -1)
	}
	delete(d.contacts, o.id)
	return events
}
