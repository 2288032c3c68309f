package defects

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Patch applies a person's change to a defect and returns the events it
// caused. A status change is checked against the lifecycle; fixed may be
// backdated with FixedAt, and a fix whose verification window has already
// passed (by event time) is verified, or reopened, at once.
func (d *Detector) Patch(id string, p Patch, actor string) ([]Event, error) {
	ds := d.defects[id]
	if ds == nil {
		return nil, ErrNotFound
	}
	def := ds.d
	if p.Owner != nil {
		if _, ok := d.tax.Owner(*p.Owner); !ok {
			return nil, &PatchError{Field: "owner", Msg: fmt.Sprintf("unknown owner %q", *p.Owner)}
		}
	}
	if p.Reason != nil && (p.Status == nil || *p.Status != StatusWontfix) {
		return nil, &PatchError{Field: "reason", Msg: "reason goes with status wontfix only"}
	}
	if p.FixedAt != nil && (p.Status == nil || *p.Status != StatusFixed) {
		return nil, &PatchError{Field: "fixed_at", Msg: "fixed_at goes with status fixed only"}
	}
	if p.Status != nil && *p.Status != def.Status {
		if err := CheckTransition(def.Status, *p.Status); err != nil {
			return nil, err
		}
		if *p.Status == StatusWontfix && (p.Reason == nil || strings.TrimSpace(*p.Reason) == "") {
			return nil, &PatchError{Field: "reason", Msg: "wontfix needs a reason: say why the defect will not be fixed"}
		}
		if p.FixedAt != nil && p.FixedAt.Before(def.FirstSeen) {
			return nil, &PatchError{Field: "fixed_at", Msg: "fixed_at is before the defect's first contact (" + def.FirstSeen.Format(time.RFC3339) + ")"}
		}
	}
	now := d.now().UTC()
	var events []Event
	record := func(ch Change) {
		ch.At, ch.Actor = now, actor
		def.History = append(def.History, ch)
		events = append(events, Event{Type: EventUpdated, DefectID: id, At: now, Change: &ch})
	}
	if p.Status != nil && *p.Status != def.Status {
		from, to := def.Status, *p.Status
		ch := Change{Action: ActionStatus, From: from, To: to}
		switch to {
		case StatusWontfix:
			def.WontfixReason = strings.TrimSpace(*p.Reason)
			ch.Note = def.WontfixReason
		case StatusFixed:
			fixed := d.Watermark()
			if p.FixedAt != nil {
				fixed = p.FixedAt.UTC()
			}
			if fixed.IsZero() || fixed.Before(def.LastSeen) && p.FixedAt == nil {
				fixed = def.LastSeen
			}
			def.FixedAt = &fixed
			ch.EventTime = &fixed
			ch.Note = "fix in effect from " + fixed.Format(time.RFC3339)
		case StatusOpen:
			def.FixedAt, def.VerifiedAt, def.Verification, def.WontfixReason = nil, nil, nil, ""
		}
		def.Status = to
		if def.Andon != nil && def.Andon.Active && to != StatusOpen {
			def.Andon.Active = false // someone has taken the cord
		}
		record(ch)
	}
	if p.Owner != nil && *p.Owner != def.Owner {
		record(Change{Action: ActionOwner, From: def.Owner, To: *p.Owner})
		def.Owner = *p.Owner
	}
	if p.Note != nil && *p.Note != def.Note {
		def.Note = *p.Note
		record(Change{Action: ActionNote, Note: *p.Note})
	}
	if p.PublicNotice != nil && *p.PublicNotice != def.PublicNotice {
		def.PublicNotice = *p.PublicNotice
		record(Change{Action: ActionPublicNotice, Note: *p.PublicNotice})
	}
	if len(events) > 0 {
		def.Revision++
		def.UpdatedAt = now
		d.dirty[id] = true
	}
	if def.Status == StatusFixed {
		events = append(events, d.verify(ds, true)...)
	}
	return events, nil
}

// Verify checks every fixed defect whose verification window has passed by
// event time: verified when the issue stayed away, reopened when it came
// back. The service calls it after every batch.
func (d *Detector) Verify() []Event {
	var events []Event
	ids := slices.Sorted(maps.Keys(d.defects))
	for _, id := range ids {
		if ds := d.defects[id]; ds.d.Status == StatusFixed {
			events = append(events, d.verify(ds, false)...)
		}
	}
	return events
}

// verify verifies or reopens a fixed defect. With scan, the occurrences
// already counted after the fix are searched for a recurrence (a fix
// backdated into history); otherwise recurrences were caught as they came.
func (d *Detector) verify(ds *defectState, scan bool) []Event {
	def := ds.d
	if def.FixedAt == nil {
		return nil
	}
	fixed := def.FixedAt.Unix()
	end := fixed + int64(d.cfg.VerifyWindow/time.Second)
	// A recurrence inside the window reopens, as soon as the data shows it.
	last := min(end, d.watermark)
	if scan && last > fixed {
		if hit, at := d.recurred(ds, hourOf(fixed)+1, hourOf(last)); hit {
			return d.reopen(ds, int64(at)*3600+3599, "came back within the verification window after the fix")
		}
	}
	if d.watermark < end {
		return nil
	}
	v := d.verification(ds, fixed, end)
	def.Verification = &v
	ev := time.Unix(end, 0).UTC()
	def.VerifiedAt = &ev
	def.Status = StatusVerified
	def.Revision++
	def.UpdatedAt = d.now().UTC()
	if def.Andon != nil {
		def.Andon.Active = false
	}
	ch := Change{At: d.now().UTC(), EventTime: &ev, Actor: ActorDetector, Action: ActionVerified, From: StatusFixed, To: StatusVerified,
		Note: fmt.Sprintf("no recurrence in the %d days after the fix; %d contacts came in (rate %.4g -> %.4g per %s), %.1f contacts avoided",
			int(d.cfg.VerifyWindow/(24*time.Hour)), v.OccurrencesAfter, v.RateBefore, v.RateAfter, v.Unit, v.ContactsAvoided)}
	def.History = append(def.History, ch)
	d.dirty[def.ID] = true
	return []Event{{Type: EventUpdated, DefectID: def.ID, At: ev, Change: &ch}}
}

// recurred looks for a window ending in the hours fromHour..toHour (all
// after the fix) whose occurrences are more than a fixed defect should
// still see: its everyday rate before it opened, or ResidualShare of its
// rate while it lasted, whichever is larger. It returns the first hour
// where that happens.
func (d *Detector) recurred(ds *defectState, fromHour, toHour int32) (bool, int32) {
	def := ds.d
	if def.FixedAt == nil {
		return false, 0
	}
	fixedHour := hourOf(def.FixedAt.Unix())
	fromHour = max(fromHour, fixedHour+1)
	if toHour < fromHour {
		return false, 0
	}
	// The defect's rate while it lasted (a day at least).
	var during int32
	for h, n := range ds.hourly {
		if h <= fixedHour {
			during += n
		}
	}
	span := float64(def.FixedAt.Unix()-def.FirstSeen.Unix()) / day
	rate := float64(during) / max(1, span)
	expect := max(ds.baseline, d.cfg.ResidualShare*rate)
	alpha := d.cfg.Alpha
	if alpha >= 1 {
		// The literal twice rule: two occurrences after the fix are a
		// recurrence.
		expect, alpha = 0, 1
	}
	// Prefix sums of the hourly counts after the fix, up to toHour.
	start := fixedHour + 1
	prefix := make([]int32, toHour-start+2)
	for h := start; h <= toHour; h++ {
		prefix[h-start+1] = prefix[h-start] + ds.hourly[h]
	}
	for end := fromHour; end <= toHour; end++ {
		if ds.hourly[end] == 0 {
			continue
		}
		for _, w := range d.wins {
			lo := max(end-int32(w/3600)+1, start)
			n := prefix[end-start+1] - prefix[lo-start]
			if n < 2 {
				continue
			}
			if poissonTail(int(n), expect*float64(w)/day) <= alpha {
				return true, end
			}
		}
	}
	return false, 0
}

// verification measures a fix: the defect's contacts per unit while it
// lasted and in the window after the fix.
func (d *Detector) verification(ds *defectState, fixed, end int64) Verification {
	def := ds.d
	var before, after int
	for dd, n := range ds.daily {
		t := int64(dd) * day
		switch {
		case t+day <= fixed:
			before += int(n)
		case t >= fixed && t < end:
			after += int(n)
		}
	}
	// Occurrences on the fix day itself: split by hour.
	fixDay := dayOf(fixed)
	if int64(fixDay)*day != fixed {
		for h, n := range ds.hourly {
			if dayOf(int64(h)*3600) != fixDay {
				continue
			}
			if int64(h)*3600 < fixed {
				before += int(n)
			} else {
				after += int(n)
			}
		}
	}
	unitsBefore, unitBefore := d.units(def.FirstSeen.Unix(), fixed)
	unitsAfter, unitAfter := d.units(fixed, end)
	unit := "order"
	if unitBefore != "order" || unitAfter != "order" {
		unit = "day"
		unitsBefore = float64(fixed-def.FirstSeen.Unix()) / day
		unitsAfter = float64(end-fixed) / day
	}
	v := Verification{From: time.Unix(fixed, 0).UTC(), To: time.Unix(end, 0).UTC(), Unit: unit, UnitsAfter: unitsAfter, OccurrencesAfter: after}
	if unitsBefore > 0 {
		v.RateBefore = float64(before) / unitsBefore
	}
	if unitsAfter > 0 {
		v.RateAfter = float64(after) / unitsAfter
	}
	v.ContactsAvoided = round2((v.RateBefore - v.RateAfter) * unitsAfter)
	return v
}

// units counts the units between two event times: orders when orders were
// counted on every whole day of the span, else days.
func (d *Detector) units(from, to int64) (float64, string) {
	if to <= from {
		return 0, "day"
	}
	var n float64
	for dd := dayOf(from); dd <= dayOf(to-1); dd++ {
		o, ok := d.orders[dd]
		if !ok || o == 0 {
			return float64(to-from) / day, "day"
		}
		// The share of the day inside the span.
		lo, hi := max(from, int64(dd)*day), min(to, int64(dd+1)*day)
		n += float64(o) * float64(hi-lo) / day
	}
	return n, "order"
}

// Filter selects defects for List.
type Filter struct {
	Status, Owner, BIV, Reason, Kind string
	// Sort is "impact" (estimated cost, highest first; the default) or
	// "recent" (last seen, latest first).
	Sort  string
	Limit int
}

// List returns copies of the defects that pass the filter.
func (d *Detector) List(f Filter) []*Defect {
	var out []*Defect
	for _, ds := range d.defects {
		def := ds.d
		if f.Status != "" && def.Status != f.Status || f.Owner != "" && def.Owner != f.Owner || f.BIV != "" && def.BIV != f.BIV ||
			f.Reason != "" && def.Reason != f.Reason || f.Kind != "" && def.Kind != f.Kind {
			continue
		}
		out = append(out, d.snapshotDefect(ds))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if f.Sort == "recent" {
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
		} else if a.EstimatedCost != b.EstimatedCost {
			return a.EstimatedCost > b.EstimatedCost
		}
		return a.ID > b.ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// Get returns a copy of one defect.
func (d *Detector) Get(id string) (*Defect, bool) {
	ds := d.defects[id]
	if ds == nil {
		return nil, false
	}
	return d.snapshotDefect(ds), true
}

// snapshotDefect returns a copy of a defect with its daily series.
func (d *Detector) snapshotDefect(ds *defectState) *Defect {
	def := ds.d.clone()
	def.Daily = series(ds.daily)
	return def
}

func series(m map[int32]int32) []DayCount {
	days := slices.Sorted(maps.Keys(m))
	out := make([]DayCount, 0, len(days))
	for _, dd := range days {
		if m[dd] > 0 {
			out = append(out, DayCount{Day: dayString(dd), Count: int(m[dd])})
		}
	}
	return out
}

// Period is the contacts per unit of one span of event time.
type Period struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Contacts int       `json:"contacts"`
	Units    float64   `json:"units"`
	Unit     string    `json:"unit"`
	// CPX is contacts per unit (per order: CPO).
	CPX float64 `json:"cpx"`
}

// CPX compares contacts per unit before a defect, while it lasted and after
// its fix, for the defect itself (its reason and subject) and for its
// reason as a whole.
type CPX struct {
	Subject map[string]*Period `json:"subject"`
	Reason  map[string]*Period `json:"reason"`
}

// CPXOf returns the before, during and (once fixed) after periods of a
// defect. Before is the BaselineDays before its first contact (for the
// subject, its everyday rate recorded when it opened).
func (d *Detector) CPXOf(id string) (CPX, bool) {
	ds := d.defects[id]
	if ds == nil {
		return CPX{}, false
	}
	def := ds.d
	first := def.FirstSeen.Unix()
	spans := map[string][2]int64{"before": {first - int64(d.cfg.BaselineDays)*day, first}}
	end := d.watermark
	if def.FixedAt != nil {
		end = def.FixedAt.Unix()
		after := min(d.watermark, end+int64(d.cfg.VerifyWindow/time.Second))
		if after > end {
			spans["after"] = [2]int64{end, after}
		}
	}
	spans["during"] = [2]int64{first, max(end, first+1)}
	out := CPX{Subject: map[string]*Period{}, Reason: map[string]*Period{}}
	var rd map[int32]int32
	if rc := d.reasons[def.Reason]; rc != nil {
		rd = rc.daily
	}
	for name, sp := range spans {
		units, unit := d.units(sp[0], sp[1])
		mk := func(n int) *Period {
			p := &Period{From: time.Unix(sp[0], 0).UTC(), To: time.Unix(sp[1], 0).UTC(), Contacts: n, Units: round2(units), Unit: unit}
			if units > 0 {
				p.CPX = float64(n) / units
			}
			return p
		}
		var subj int
		if name == "before" {
			subj = int(ds.baseline*float64(sp[1]-sp[0])/day + 0.5)
		} else {
			subj = countSpan(ds.daily, ds.hourly, sp[0], sp[1])
		}
		out.Subject[name] = mk(subj)
		out.Reason[name] = mk(countDays(rd, sp[0], sp[1]))
	}
	return out, true
}

// countSpan counts a defect's occurrences in [from, to): whole days from
// the daily series, the edges by hour.
func countSpan(daily, hourly map[int32]int32, from, to int64) int {
	n := 0
	for h, c := range hourly {
		t := int64(h) * 3600
		if t >= from && t < to {
			n += int(c)
		}
	}
	if len(hourly) > 0 {
		return n
	}
	for dd, c := range daily {
		t := int64(dd) * day
		if t >= from && t < to {
			n += int(c)
		}
	}
	return n
}

// countDays counts a reason's contacts on the days of [from, to).
func countDays(m map[int32]int32, from, to int64) int {
	n := 0
	for dd := dayOf(from); dd <= dayOf(to-1); dd++ {
		n += int(m[dd])
	}
	return n
}

// Summary counts defects by status and BIV kind and lists the active
// andons, for metrics.
type Summary struct {
	ByStatusBIV map[[2]string]int
	Andons      []ActiveAndon
}

// ActiveAndon is a pulled andon cord nobody has taken yet.
type ActiveAndon struct {
	DefectID, Owner string
}

// Summarize returns the counts behind the service's gauges.
func (d *Detector) Summarize() Summary {
	s := Summary{ByStatusBIV: map[[2]string]int{}}
	for _, ds := range d.defects {
		def := ds.d
		s.ByStatusBIV[[2]string{def.Status, def.BIV}]++
		if def.Andon != nil && def.Andon.Active {
			s.Andons = append(s.Andons, ActiveAndon{DefectID: def.ID, Owner: def.Owner})
		}
	}
	return s
}

// TakeDirty returns the ids of the defects changed since the last call,
// in id order.
func (d *Detector) TakeDirty() []string {
	ids := slices.Sorted(maps.Keys(d.dirty))
	clear(d.dirty)
	return ids
}
