package defects

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// defectState is a defect with the counts behind it.
type defectState struct {
	d         *Defect
	sig       string
	customers map[string]int32
	orders    map[string]int32
	daily     map[int32]int32
	hourly    map[int32]int32
	recent    []int64 // the latest occurrence times, for the andon hour
	cues      [len(bivKinds)]int32
	cost      float64
	evidence  []Evidence
	latest    []Evidence
	baseline  float64
	keys      int
	// values counts the occurrences by the subject values they carry
	// ("region\x00north"), for the defect's concentration.
	values map[string]int32
	// pastPull is the event day of the latest pull recorded but not made
	// (contacts from the past), so that a past spike is written once a day.
	pastPull int32
}

// open opens a defect on a signature whose occurrences in the window are
// more than its baseline explains. The defect claims them: they are its
// evidence, and they no longer count toward other signatures.
func (d *Detector) open(s *signature, trigger *occ, win int64, why string) []Event {
	from := trigger.at - win
	id := defectID(trigger.at, s.key, trigger.id)
	r, _ := d.tax.Reason(s.reason)
	def := &Defect{
		ID: id, Signature: s.key, Kind: s.kind, Reason: s.reason, Title: d.title(s.kind, s.reason, s.subject, s.terms),
		BIV: r.BIV, Owner: r.Owner, Status: StatusOpen, OpenedAt: time.Unix(trigger.at, 0).UTC(),
		Terms: slices.Clone(s.terms),
	}
	if def.BIV == "" {
		def.BIV = taxonomy.BIVVariation
	}
	if len(s.subject) > 0 {
		def.Subject = map[string]string{}
		for _, kv := range s.subject {
			def.Subject[kv[0]] = kv[1]
		}
	}
	ds := d.newDefectState(def, s.key, len(s.subject))
	ds.baseline = d.baselineRate(s, from)
	def.BaselinePerDay = round2(ds.baseline)
	var claim []*occ
	for _, o := range s.recent {
		if o.at > from && o.at <= trigger.at && o.claimedBy == "" {
			claim = append(claim, o)
		}
	}
	ev := time.Unix(trigger.at, 0).UTC()
	def.History = append(def.History, Change{At: d.now().UTC(), EventTime: &ev, Actor: ActorDetector, Action: ActionOpened, To: StatusOpen,
		Note: openingNote(len(claim), distinctUnclaimed(claim, trigger.at), win, ds.baseline) + why})
	s.defect = id
	d.bySig[s.key] = id
	d.defects[id] = ds
	for _, o := range claim {
		o.claimedBy = id
		ds.add(d, o, true)
	}
	d.dirty[id] = true
	events := []Event{{Type: EventOpened, DefectID: id, ContactID: trigger.id, At: ev}}
	return append(events, d.checkAndon(ds, trigger.at)...)
}

func openingNote(occurrences, customers int, win int64, baseline float64) string {
	w := time.Duration(win) * time.Second
	span := w.String()
	if win%day == 0 {
		span = strconv.Itoa(int(win/day)) + "d"
	} else if win%3600 == 0 {
		span = strconv.Itoa(int(win/3600)) + "h"
	}
	return "opened by " + strconv.Itoa(occurrences) + " contacts from " + strconv.Itoa(customers) + " customers within " + span +
		" (everyday rate " + formatFloat(baseline) + " a day)"
}

// reworkOccurrence counts a repeat: it opens the reason's rework defect or
// attaches to it.
func (d *Detector) reworkOccurrence(o, prev *occ) []Event {
	key := o.reason + "|rework"
	if id := d.bySig[key]; id != "" {
		if ds := d.defects[id]; ds != nil {
			return d.attach(o, ds, true)
		}
	}
	r, _ := d.tax.Reason(o.reason)
	id := defectID(o.at, key, o.id)
	ev := time.Unix(o.at, 0).UTC()
	def := &Defect{
		ID: id, Signature: key, Kind: KindRework, Reason: o.reason, Title: d.title(KindRework, o.reason, nil, nil),
		BIV: taxonomy.BIVRework, Owner: r.Owner, Status: StatusOpen, OpenedAt: ev,
	}
	def.History = append(def.History, Change{At: d.now().UTC(), EventTime: &ev, Actor: ActorDetector, Action: ActionOpened, To: StatusOpen,
		Note: "a customer contacted again about the same order and reason: the first answer did not resolve it"})
	ds := d.newDefectState(def, key, 0)
	d.defects[id] = ds
	d.bySig[key] = id
	if prev.reworkBy == "" {
		prev.reworkBy = id
		ds.add(d, prev, true)
	}
	o.reworkBy = id
	ds.add(d, o, true)
	d.dirty[id] = true
	return []Event{{Type: EventOpened, DefectID: id, ContactID: o.id, At: ev}}
}

func (d *Detector) newDefectState(def *Defect, sig string, keys int) *defectState {
	return &defectState{
		d: def, sig: sig, keys: keys,
		customers: map[string]int32{}, orders: map[string]int32{}, daily: map[int32]int32{}, hourly: map[int32]int32{},
		values: map[string]int32{},
	}
}

// attach adds a later occurrence to a defect; after a fix it may be a
// recurrence, and a busy hour pulls the andon cord.
func (d *Detector) attach(o *occ, ds *defectState, rework bool) []Event {
	if rework {
		o.reworkBy = ds.d.ID
	} else {
		o.claimedBy = ds.d.ID
	}
	ds.add(d, o, false)
	d.dirty[ds.d.ID] = true
	ev := time.Unix(o.at, 0).UTC()
	events := []Event{{Type: EventRecurred, DefectID: ds.d.ID, ContactID: o.id, At: ev}}
	switch ds.d.Status {
	case StatusFixed, StatusVerified:
		if ds.d.FixedAt != nil && o.at > ds.d.FixedAt.Unix() {
			if hit, _ := d.recurred(ds, hourOf(o.at), hourOf(o.at)); hit {
				events[0].Reopened = true
				events = append(events, d.reopen(ds, o.at, "came back after the fix: more contacts than the residual after a fix explains")...)
			}
		}
	case StatusOpen:
		events = append(events, d.checkAndon(ds, o.at)...)
	}
	return events
}

// add counts an occurrence in a defect.
func (ds *defectState) add(d *Detector, o *occ, opening bool) {
	def := ds.d
	at := time.Unix(o.at, 0).UTC()
	if def.Occurrences == 0 || at.Before(def.FirstSeen) {
		def.FirstSeen = at
	}
	if at.After(def.LastSeen) {
		def.LastSeen = at
	}
	def.Occurrences++
	ds.customers[o.customerKey()]++
	if o.order != "" {
		ds.orders[o.order]++
	}
	ds.daily[dayOf(o.at)]++
	ds.hourly[hourOf(o.at)]++
	ds.recent = append(ds.recent, o.at)
	if len(ds.recent) > 128 {
		ds.recent = ds.recent[len(ds.recent)-64:]
	}
	if !o.cued {
		// Cue words are looked for only in contacts that make a defect.
		o.cues, o.cued = d.cue.Match(o.text), true
	}
	for k, on := range o.cues {
		if on {
			ds.cues[k]++
		}
	}
	ds.cost += d.contactCost(o.channel, def.Owner)
	for _, kv := range d.occValues(o) {
		ds.values[kv]++
	}
	e := Evidence{
		ContactID: o.id, ExternalID: o.ext, CustomerID: o.customer, OrderID: o.order, ReceivedAt: at, Text: o.text,
		RepeatOf: o.repeatOf, RepeatOfExternal: o.repeatOfExt, Opening: opening,
	}
	if opening && len(ds.evidence) < 2*d.cfg.Evidence {
		ds.evidence = append(ds.evidence, e)
	} else {
		ds.latest = append(ds.latest, e)
		if len(ds.latest) > d.cfg.Evidence {
			ds.latest = slices.Delete(ds.latest, 0, len(ds.latest)-d.cfg.Evidence)
		}
	}
	ds.refresh(d)
}

// sub takes an occurrence out of a defect (the contact was relabeled);
// values are the subject values it carried (occValues).
func (ds *defectState) sub(d *Detector, o *occ, values []string) {
	def := ds.d
	def.Occurrences = max(0, def.Occurrences-1)
	decr(ds.customers, o.customerKey())
	if o.order != "" {
		decr(ds.orders, o.order)
	}
	decr(ds.daily, dayOf(o.at))
	decr(ds.hourly, hourOf(o.at))
	for k, on := range o.cues {
		if on && ds.cues[k] > 0 {
			ds.cues[k]--
		}
	}
	ds.cost = max(0, ds.cost-d.contactCost(o.channel, def.Owner))
	for _, kv := range values {
		decr(ds.values, kv)
	}
	drop := func(e Evidence) bool { return e.ContactID == o.id }
	ds.evidence = slices.DeleteFunc(ds.evidence, drop)
	ds.latest = slices.DeleteFunc(ds.latest, drop)
	ds.refresh(d)
}

func decr[K comparable](m map[K]int32, k K) {
	if n := m[k]; n > 1 {
		m[k] = n - 1
	} else {
		delete(m, k)
	}
}

// refresh recomputes the defect's derived fields from its counts.
func (ds *defectState) refresh(d *Detector) {
	def := ds.d
	def.Customers = len(ds.customers)
	def.Orders = len(ds.orders)
	def.EstimatedCost = round2(ds.cost)
	if def.Kind != KindRework {
		r, _ := d.tax.Reason(def.Reason)
		base := r.BIV
		if base == "" {
			base = taxonomy.BIVVariation
		}
		def.BIV = refineBIV(base, ds.cues, def.Occurrences, d.cfg.CueShare)
	}
	def.Evidence = append(slices.Clone(ds.evidence), ds.latest...)
	def.Concentration = ds.concentration()
}

// Concentration limits.
const (
	// concentrationShare is the share of a defect's contacts one value of
	// a key must hold more than to be reported.
	concentrationShare = 0.5
	// concentrationMin is the fewest contacts it must hold.
	concentrationMin = 3
	// concentrationMax is how many keys are reported.
	concentrationMax = 5
)

// occValues returns the subject values an occurrence carries ("key\x00value",
// the value as written), from its single-key subject signatures; the channel
// is left out.
func (d *Detector) occValues(o *occ) []string {
	var out []string
	for _, key := range o.sigs {
		s := d.sigs[key]
		if s == nil || s.kind != KindSubject || len(s.subject) != 1 || s.subject[0][0] == "channel" {
			continue
		}
		out = append(out, s.subject[0][0]+"\x00"+s.subject[0][1])
	}
	return out
}

// concentration reports the keys, other than the defect's own subject, on
// which most of its contacts share one value: "Late delivery: carrier
// SwiftShip" whose contacts are 96% from region north.
func (ds *defectState) concentration() []Concentration {
	def := ds.d
	if def.Occurrences == 0 {
		return nil
	}
	var out []Concentration
	for kv, n := range ds.values {
		k, v, _ := strings.Cut(kv, "\x00")
		if _, own := def.Subject[k]; own || n < concentrationMin {
			continue
		}
		share := float64(n) / float64(def.Occurrences)
		if share <= concentrationShare {
			continue
		}
		out = append(out, Concentration{Key: k, Value: v, Occurrences: int(n), Share: round4(share)})
	}
	slices.SortFunc(out, func(a, b Concentration) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})
	if len(out) > concentrationMax {
		out = out[:concentrationMax]
	}
	return out
}

// contactCost is what one contact costs: its channel's cost per contact,
// else its owner's.
func (d *Detector) contactCost(channel, owner string) float64 {
	if c, ok := d.costByChan[channel]; ok && c > 0 {
		return c
	}
	if o, ok := d.tax.Owner(owner); ok {
		return o.CostPerContact
	}
	return 0
}

// checkAndon pulls the cord when an open defect's last hour passes the
// threshold.
func (d *Detector) checkAndon(ds *defectState, at int64) []Event {
	if ds.d.Status != StatusOpen || ds.d.Andon != nil && ds.d.Andon.Active {
		return nil
	}
	n := 0
	for _, t := range ds.recent {
		if t > at-3600 && t <= at {
			n++
		}
	}
	if n < d.cfg.AndonPerHour {
		return nil
	}
	return d.pull(ds, at, "spike", n)
}

func (d *Detector) pull(ds *defectState, at int64, cause string, lastHour int) []Event {
	ev := time.Unix(at, 0).UTC()
	ch := Change{At: d.now().UTC(), EventTime: &ev, Actor: ActorDetector, Action: ActionAndon, To: cause,
		Note: strconv.Itoa(lastHour) + " contacts in the last hour"}
	if cause == "recurrence" {
		ch.Note = "the defect came back after its fix"
	}
	if d.now().Sub(ev) > d.cfg.AndonMaxAge {
		// History arriving late: nobody is paged for last month.
		if ds.pastPull != dayOf(at) {
			ds.pastPull = dayOf(at)
			ch.Note += " (contacts from the past: recorded, not pulled)"
			ds.d.History = append(ds.d.History, ch)
			d.dirty[ds.d.ID] = true
		}
		return nil
	}
	d.dirty[ds.d.ID] = true
	a := ds.d.Andon
	if a == nil {
		a = &Andon{}
		ds.d.Andon = a
	}
	a.Active, a.Cause, a.PulledAt, a.EventTime, a.LastHour = true, cause, d.now().UTC(), ev, lastHour
	a.Pulls++
	ds.d.History = append(ds.d.History, ch)
	return []Event{{Type: EventAndon, DefectID: ds.d.ID, At: ev, Change: &ch}}
}

// reopen moves a fixed or verified defect back to open and pulls the cord.
func (d *Detector) reopen(ds *defectState, at int64, note string) []Event {
	def := ds.d
	ev := time.Unix(at, 0).UTC()
	ch := Change{At: d.now().UTC(), EventTime: &ev, Actor: ActorDetector, Action: ActionReopened, From: def.Status, To: StatusOpen, Note: note}
	def.History = append(def.History, ch)
	def.Status = StatusOpen
	def.Reopened++
	def.FixedAt, def.VerifiedAt, def.Verification = nil, nil, nil
	def.Revision++
	def.UpdatedAt = d.now().UTC()
	d.dirty[def.ID] = true
	events := []Event{{Type: EventUpdated, DefectID: def.ID, At: ev, Change: &ch}}
	n := 0
	for _, t := range ds.recent {
		if t > at-3600 && t <= at {
			n++
		}
	}
	if def.Andon != nil {
		def.Andon.Active = false
	}
	return append(events, d.pull(ds, at, "recurrence", n)...)
}

// defectID is a defect's id: time-ordered like every nocontact id (its
// first 10 characters encode the opening event time) and derived from the
// signature and the opening contact, so that replaying the same stream
// gives the same ids.
func defectID(at int64, sig, contact string) string {
	sum := sha256.Sum256([]byte(sig + "\x00" + contact))
	var b [16]byte
	ms := uint64(at) * 1000
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	copy(b[6:], sum[:10])
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

func round2(f float64) float64 {
	if f < 0 {
		return -round2(-f)
	}
	return float64(int64(f*100+0.5)) / 100
}

func formatFloat(f float64) string { return strconv.FormatFloat(round2(f), 'f', -1, 64) }
