package analytics

import (
	"cmp"
	"slices"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// The dimensions a CPX series can be broken down by.
const (
	ByReason       = "reason"
	ByReasonParent = "reason_parent"
	ByChannel      = "channel"
	ByProduct      = "product"
	ByOwner        = "owner"
	ByLocale       = "locale"
)

// Range is an inclusive range of days.
type Range struct {
	From, To Day
}

// Days returns how many days the range holds.
func (r Range) Days() int { return int(r.To-r.From) + 1 }

// Previous returns the range of equal length that ends the day before r.
func (r Range) Previous() Range {
	n := r.To - r.From + 1
	return Range{From: r.From - n, To: r.From - 1}
}

// ratio returns n/d, or nil when d is 0 (a CPX without units is unknown,
// not zero).
func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

// Point is one period of a CPX series.
type Point struct {
	// Period is the first day of the period (YYYY-MM-DD).
	Period   string   `json:"period"`
	Contacts int64    `json:"contacts"`
	Units    int64    `json:"units"`
	CPX      *float64 `json:"cpx"`
}

// Totals are a series' figures over a whole range.
type Totals struct {
	Contacts int64    `json:"contacts"`
	Units    int64    `json:"units"`
	CPX      *float64 `json:"cpx"`
}

// Change compares a series with the previous range of equal length.
type Change struct {
	// Contacts is the difference in contacts.
	Contacts int64 `json:"contacts"`
	// CPX is the difference in CPX (nil when either is unknown).
	CPX *float64 `json:"cpx"`
	// CPXRatio is the relative change of CPX: 0.25 is 25% more contacts
	// per unit (nil when the previous CPX is unknown or 0).
	CPXRatio *float64 `json:"cpx_ratio"`
}

// Series is CPX over time for one value of a dimension (or overall).
type Series struct {
	Key      string  `json:"key,omitempty"`
	Name     string  `json:"name,omitempty"`
	Points   []Point `json:"points"`
	Total    Totals  `json:"total"`
	Previous Totals  `json:"previous"`
	Change   Change  `json:"change"`
}

// CPXQuery asks for contacts per unit over a range of days.
type CPXQuery struct {
	Unit     string
	Interval string
	// By is the dimension of the series ("" for the overall figure only).
	By    string
	Range Range
	// Limit is the most series returned; the others are folded into
	// "(other)". 0 means no limit.
	Limit int
}

// CPXReport is the answer to a CPXQuery. Every series divides by the same
// units (all orders, not orders of that reason or channel), so the series
// of a period add up to the overall CPX.
type CPXReport struct {
	Unit         string   `json:"unit"`
	Interval     string   `json:"interval"`
	By           string   `json:"by,omitempty"`
	From         string   `json:"from"`
	To           string   `json:"to"`
	PreviousFrom string   `json:"previous_from"`
	PreviousTo   string   `json:"previous_to"`
	Overall      Series   `json:"overall"`
	Series       []Series `json:"series"`
}

// keyer maps the interned ids of a dimension to series keys, caching the
// taxonomy lookups per id.
type keyer struct {
	a      *Aggregate
	by     string
	index  map[string]int
	keys   []string
	cache  []int
	cached []bool
}

func newKeyer(a *Aggregate, by string) *keyer {
	return &keyer{a: a, by: by, index: map[string]int{}}
}

// of returns the series index of the value with id (of the keyer's
// dimension, or a reason id for reason, reason_parent and owner).
func (k *keyer) of(id uint32) int {
	if int(id) < len(k.cached) && k.cached[id] {
		return k.cache[id]
	}
	for int(id) >= len(k.cached) {
		k.cache = append(k.cache, 0)
		k.cached = append(k.cached, false)
	}
	key := k.a.keyName(k.by, id)
	i, ok := k.index[key]
	if !ok {
		i = len(k.keys)
		k.index[key] = i
		k.keys = append(k.keys, key)
	}
	k.cache[id], k.cached[id] = i, true
	return i
}

// keyName returns the series key of an interned value.
func (a *Aggregate) keyName(by string, id uint32) string {
	switch by {
	case ByReason:
		return a.resolve(a.reasons.names[id])
	case ByReasonParent:
		return a.parentOf(a.reasons.names[id])
	case ByOwner:
		return a.ownerOf(a.reasons.names[id])
	case ByChannel:
		return shown(a.channels.names[id])
	case ByProduct:
		return shown(a.products.names[id])
	case ByLocale:
		return shown(a.locales.names[id])
	}
	return ""
}

func shown(v string) string {
	if v == "" {
		return noneName
	}
	return v
}

func (a *Aggregate) parentOf(code string) string {
	code = a.resolve(code)
	if a.cfg.Taxonomy != nil {
		if r, ok := a.cfg.Taxonomy.Root(code); ok {
			return r.Code
		}
	}
	return code
}

func (a *Aggregate) ownerOf(code string) string {
	if a.cfg.Taxonomy != nil {
		if r, ok := a.cfg.Taxonomy.Resolve(code); ok && r.Owner != "" {
			return r.Owner
		}
	}
	return noneName
}

// displayName returns the English name of a series key, when the taxonomy
// has one.
func (a *Aggregate) displayName(by, key string) string {
	t := a.cfg.Taxonomy
	if t == nil {
		return ""
	}
	switch by {
	case ByReason, ByReasonParent:
		if r, ok := t.Reason(key); ok {
			return r.Name("en")
		}
	case ByOwner:
		if o, ok := t.Owner(key); ok {
			return o.Name("en")
		}
	case ByChannel:
		if c, ok := t.Channel(key); ok {
			return c.Name("en")
		}
	}
	return ""
}

// eachCount calls fn with the series index and contacts of every value of
// the keyer's dimension counted on the day.
func (a *Aggregate) eachCount(da *dayAgg, k *keyer, fn func(i int, n int64)) {
	switch k.by {
	case ByReason, ByReasonParent, ByOwner:
		for r, row := range da.rc {
			var n int64
			for _, s := range row {
				n += s.contacts
			}
			if n != 0 {
				fn(k.of(uint32(r)), n)
			}
		}
	case ByChannel:
		for _, row := range da.rc {
			for ch, s := range row {
				if s.contacts != 0 {
					fn(k.of(uint32(ch)), s.contacts)
				}
			}
		}
	case ByProduct:
		for p, n := range da.product {
			if n != 0 {
				fn(k.of(p), n)
			}
		}
	case ByLocale:
		for l, n := range da.locale {
			if n != 0 {
				fn(k.of(uint32(l)), n)
			}
		}
	}
}

func (da *dayAgg) total() int64 {
	var n int64
	for _, row := range da.rc {
		for _, s := range row {
			n += s.contacts
		}
	}
	return n
}

// unitsOn returns the units counted on a day.
func (a *Aggregate) unitsOn(unit string, d Day) int64 { return a.units[unit][d] }

// unitsIn returns the units counted in a range.
func (a *Aggregate) unitsIn(unit string, r Range) int64 {
	m := a.units[unit]
	if len(m) == 0 {
		return 0
	}
	var n int64
	if len(m) < r.Days() {
		for d, v := range m {
			if d >= r.From && d <= r.To {
				n += v
			}
		}
		return n
	}
	for d := r.From; d <= r.To; d++ {
		n += m[d]
	}
	return n
}

// CPX answers a CPXQuery.
func (a *Aggregate) CPX(q CPXQuery) CPXReport {
	starts, index := periods(q.Range.From, q.Range.To, q.Interval)
	names := make([]string, len(starts))
	for i, d := range starts {
		names[i] = d.String()
	}
	prev := q.Range.Previous()
	rep := CPXReport{
		Unit: q.Unit, Interval: q.Interval, By: q.By,
		From: q.Range.From.String(), To: q.Range.To.String(),
		PreviousFrom: prev.From.String(), PreviousTo: prev.To.String(),
		Series: []Series{},
	}
	unitPoints := make([]int64, len(starts))
	overall := make([]int64, len(starts))
	var k *keyer
	var contacts [][]int64
	var prevContacts []int64
	if q.By != "" {
		k = newKeyer(a, q.By)
	}
	grow := func() {
		for len(contacts) < len(k.keys) {
			contacts = append(contacts, make([]int64, len(starts)))
			prevContacts = append(prevContacts, 0)
		}
	}
	for d := q.Range.From; d <= q.Range.To; d++ {
		p := index[d-q.Range.From]
		unitPoints[p] += a.unitsOn(q.Unit, d)
		da := a.days[d]
		if da == nil {
			continue
		}
		overall[p] += da.total()
		if k != nil {
			a.eachCount(da, k, func(i int, n int64) {
				if i >= len(contacts) {
					grow()
				}
				contacts[i][p] += n
			})
		}
	}
	var overallPrev int64
	for d := prev.From; d <= prev.To; d++ {
		da := a.days[d]
		if da == nil {
			continue
		}
		overallPrev += da.total()
		if k != nil {
			a.eachCount(da, k, func(i int, n int64) {
				if i >= len(contacts) {
					grow()
				}
				prevContacts[i] += n
			})
		}
	}
	units := a.unitsIn(q.Unit, q.Range)
	prevUnits := a.unitsIn(q.Unit, prev)
	rep.Overall = buildSeries("", "", names, overall, unitPoints, units, overallPrev, prevUnits)
	if k == nil {
		return rep
	}
	grow()
	for i, key := range k.keys {
		s := buildSeries(key, a.displayName(q.By, key), names, contacts[i], unitPoints, units, prevContacts[i], prevUnits)
		if s.Total.Contacts == 0 && s.Previous.Contacts == 0 {
			continue
		}
		rep.Series = append(rep.Series, s)
	}
	slices.SortFunc(rep.Series, func(x, y Series) int {
		return cmp.Or(cmp.Compare(y.Total.Contacts, x.Total.Contacts), cmp.Compare(y.Previous.Contacts, x.Previous.Contacts), cmp.Compare(x.Key, y.Key))
	})
	if q.Limit > 0 && len(rep.Series) > q.Limit {
		rep.Series = foldSeries(rep.Series, q.Limit, names, unitPoints, units, prevUnits)
	}
	return rep
}

func buildSeries(key, name string, periods []string, contacts, unitPoints []int64, units, prevContacts, prevUnits int64) Series {
	s := Series{Key: key, Name: name, Points: make([]Point, len(periods))}
	cpx := make([]float64, len(periods))
	for p, period := range periods {
		s.Points[p] = Point{Period: period, Contacts: contacts[p], Units: unitPoints[p]}
		if unitPoints[p] != 0 {
			cpx[p] = float64(contacts[p]) / float64(unitPoints[p])
			s.Points[p].CPX = &cpx[p]
		}
		s.Total.Contacts += contacts[p]
	}
	s.Total.Units = units
	s.Total.CPX = ratio(s.Total.Contacts, units)
	s.Previous = Totals{Contacts: prevContacts, Units: prevUnits, CPX: ratio(prevContacts, prevUnits)}
	s.Change = change(s.Total, s.Previous)
	return s
}

func change(cur, prev Totals) Change {
	c := Change{Contacts: cur.Contacts - prev.Contacts}
	if cur.CPX != nil && prev.CPX != nil {
		d := *cur.CPX - *prev.CPX
		c.CPX = &d
		if *prev.CPX != 0 {
			r := d / *prev.CPX
			c.CPXRatio = &r
		}
	}
	return c
}

// foldSeries keeps the first limit series (sorted) and adds the others
// into one "(other)" series.
func foldSeries(all []Series, limit int, periods []string, unitPoints []int64, units, prevUnits int64) []Series {
	keep := all[:limit:limit]
	contacts := make([]int64, len(periods))
	var prev int64
	for _, s := range all[limit:] {
		for p, pt := range s.Points {
			contacts[p] += pt.Contacts
		}
		prev += s.Previous.Contacts
	}
	if i := slices.IndexFunc(keep, func(s Series) bool { return s.Key == overflowName }); i >= 0 {
		for p, pt := range keep[i].Points {
			contacts[p] += pt.Contacts
		}
		prev += keep[i].Previous.Contacts
		keep = slices.Delete(slices.Clone(keep), i, i+1)
	}
	return append(keep, buildSeries(overflowName, "", periods, contacts, unitPoints, units, prev, prevUnits))
}

// reasonChannels sums the stats of a range by reason id and channel id.
func (a *Aggregate) reasonChannels(r Range) [][]stat {
	var out [][]stat
	for d := r.From; d <= r.To; d++ {
		da := a.days[d]
		if da == nil {
			continue
		}
		for len(out) < len(da.rc) {
			out = append(out, nil)
		}
		for ri, row := range da.rc {
			for len(out[ri]) < len(row) {
				out[ri] = append(out[ri], stat{})
			}
			for ch, s := range row {
				out[ri][ch].add(s, 1)
			}
		}
	}
	return out
}

// cost prices a group of contacts of one reason on one channel: handle
// minutes x cost per minute for the contacts with a handle time (when a
// cost per minute is configured), the channel's cost per contact for the
// others, and the reason owner's cost per contact when the channel is not
// in the taxonomy.
func (a *Aggregate) cost(reason, channel string, s stat) float64 {
	t := a.cfg.Taxonomy
	if t == nil {
		return 0
	}
	perContact := 0.0
	if c, ok := t.Channel(channel); ok {
		perContact = c.CostPerContact
	} else if r, ok := t.Resolve(reason); ok {
		if o, ok := t.Owner(r.Owner); ok {
			perContact = o.CostPerContact
		}
	}
	if a.cfg.CostPerMinute > 0 && s.timed > 0 {
		return s.handle/60*a.cfg.CostPerMinute + float64(s.contacts-s.timed)*perContact
	}
	return float64(s.contacts) * perContact
}

// reasonFigures are one resolved reason's contacts and cost over a range.
type reasonFigures struct {
	code     string
	contacts int64
	cost     float64
	handle   float64
}

// byReason sums contacts and cost per resolved reason over a range.
func (a *Aggregate) byReason(r Range) map[string]*reasonFigures {
	out := map[string]*reasonFigures{}
	for ri, row := range a.reasonChannels(r) {
		code := a.resolve(a.reasons.names[ri])
		f := out[code]
		for ch, s := range row {
			if s.contacts == 0 {
				continue
			}
			if f == nil {
				f = &reasonFigures{code: code}
				out[code] = f
			}
			f.contacts += s.contacts
			f.handle += s.handle
			f.cost += a.cost(code, a.channels.names[ch], s)
		}
	}
	return out
}

func sortedFigures(m map[string]*reasonFigures) []*reasonFigures {
	out := make([]*reasonFigures, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y *reasonFigures) int {
		return cmp.Or(cmp.Compare(y.contacts, x.contacts), cmp.Compare(x.code, y.code))
	})
	return out
}

// ParetoRow is one reason of the Pareto analysis.
type ParetoRow struct {
	Reason          string  `json:"reason"`
	Name            string  `json:"name,omitempty"`
	Owner           string  `json:"owner"`
	Contacts        int64   `json:"contacts"`
	Share           float64 `json:"share"`
	CumulativeShare float64 `json:"cumulative_share"`
	Cost            float64 `json:"cost"`
	// VitalFew marks the reasons that together make the first 80% of
	// contacts (the one crossing 80% included): the few to fix first.
	VitalFew bool `json:"vital_few"`
}

// ParetoReport ranks reasons by contacts.
type ParetoReport struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	Contacts int64       `json:"contacts"`
	Cost     float64     `json:"cost"`
	Reasons  []ParetoRow `json:"reasons"`
}

// Pareto ranks the reasons of a range by contacts, with each one's share,
// the cumulative share and its cost.
func (a *Aggregate) Pareto(r Range) ParetoReport {
	rep := ParetoReport{From: r.From.String(), To: r.To.String(), Reasons: []ParetoRow{}}
	figs := sortedFigures(a.byReason(r))
	for _, f := range figs {
		rep.Contacts += f.contacts
		rep.Cost += f.cost
	}
	var cum int64
	for _, f := range figs {
		before := cum
		cum += f.contacts
		rep.Reasons = append(rep.Reasons, ParetoRow{
			Reason: f.code, Name: a.displayName(ByReason, f.code), Owner: a.ownerOf(f.code),
			Contacts: f.contacts, Cost: f.cost,
			Share:           float64(f.contacts) / float64(rep.Contacts),
			CumulativeShare: float64(cum) / float64(rep.Contacts),
			VitalFew:        float64(before) < 0.8*float64(rep.Contacts),
		})
	}
	return rep
}

// MatrixReason is one reason placed on the value/irritant matrix.
type MatrixReason struct {
	Reason   string   `json:"reason"`
	Name     string   `json:"name,omitempty"`
	Owner    string   `json:"owner"`
	Contacts int64    `json:"contacts"`
	CPX      *float64 `json:"cpx"`
	// Action is what to do about the reason: eliminate, automate,
	// simplify or leverage ("" when its values are not set).
	Action string `json:"action"`
}

// Quadrant is one cell of the value/irritant matrix.
type Quadrant struct {
	Action        string         `json:"action"`
	CustomerValue string         `json:"customer_value"`
	CompanyValue  string         `json:"company_value"`
	Contacts      int64          `json:"contacts"`
	CPX           *float64       `json:"cpx"`
	Reasons       []MatrixReason `json:"reasons"`
}

// MatrixReport is the value/irritant matrix over a range.
type MatrixReport struct {
	From      string     `json:"from"`
	To        string     `json:"to"`
	Unit      string     `json:"unit"`
	Units     int64      `json:"units"`
	Contacts  int64      `json:"contacts"`
	CPX       *float64   `json:"cpx"`
	Quadrants []Quadrant `json:"quadrants"`
	// Unplaced are reasons without values (unknown codes, or values not
	// set in the taxonomy).
	Unplaced []MatrixReason `json:"unplaced"`
}

// Matrix places every reason of a range in its quadrant of the
// value/irritant matrix, with its volume and CPX.
func (a *Aggregate) Matrix(r Range, unit string) MatrixReport {
	units := a.unitsIn(unit, r)
	rep := MatrixReport{From: r.From.String(), To: r.To.String(), Unit: unit, Units: units, Unplaced: []MatrixReason{}}
	cells := []struct{ action, customer, company string }{
		{taxonomy.ActionEliminate, taxonomy.ValueLow, taxonomy.ValueLow},
		{taxonomy.ActionAutomate, taxonomy.ValueLow, taxonomy.ValueHigh},
		{taxonomy.ActionSimplify, taxonomy.ValueHigh, taxonomy.ValueLow},
		{taxonomy.ActionLeverage, taxonomy.ValueHigh, taxonomy.ValueHigh},
	}
	for _, c := range cells {
		rep.Quadrants = append(rep.Quadrants, Quadrant{Action: c.action, CustomerValue: c.customer, CompanyValue: c.company, Reasons: []MatrixReason{}})
	}
	for _, f := range sortedFigures(a.byReason(r)) {
		mr := MatrixReason{
			Reason: f.code, Name: a.displayName(ByReason, f.code), Owner: a.ownerOf(f.code),
			Contacts: f.contacts, CPX: ratio(f.contacts, units), Action: a.actionOf(f.code),
		}
		rep.Contacts += f.contacts
		i := slices.IndexFunc(rep.Quadrants, func(q Quadrant) bool { return q.Action == mr.Action })
		if i < 0 {
			rep.Unplaced = append(rep.Unplaced, mr)
			continue
		}
		rep.Quadrants[i].Reasons = append(rep.Quadrants[i].Reasons, mr)
		rep.Quadrants[i].Contacts += f.contacts
	}
	for i := range rep.Quadrants {
		rep.Quadrants[i].CPX = ratio(rep.Quadrants[i].Contacts, units)
	}
	rep.CPX = ratio(rep.Contacts, units)
	return rep
}

// actionOf returns the matrix action of a reason, or of its top-level
// parent when the reason itself has no values.
func (a *Aggregate) actionOf(code string) string {
	t := a.cfg.Taxonomy
	if t == nil {
		return ""
	}
	if r, ok := t.Resolve(code); ok {
		if act := r.Value.Action(); act != "" {
			return act
		}
		if root, ok := t.Root(r.Code); ok {
			return root.Value.Action()
		}
	}
	return ""
}

// The groupings of the cost report.
const (
	CostByOwner  = "owner"
	CostByReason = "reason"
)

// CostRow is the contact cost of one owner or reason.
type CostRow struct {
	Key      string `json:"key"`
	Name     string `json:"name,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Contacts int64  `json:"contacts"`
	// HandleMinutes are the handle minutes of the contacts that have one.
	HandleMinutes float64 `json:"handle_minutes"`
	Cost          float64 `json:"cost"`
	// Share is the row's share of the total cost.
	Share float64 `json:"share"`
}

// CostReport allocates contact cost to owners or reasons.
type CostReport struct {
	By       string    `json:"by"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Contacts int64     `json:"contacts"`
	Cost     float64   `json:"cost"`
	Rows     []CostRow `json:"rows"`
}

// Cost allocates the contact cost of a range to the reasons' owners (by
// CostByOwner) or to the reasons (CostByReason), most expensive first.
func (a *Aggregate) Cost(r Range, by string) CostReport {
	rep := CostReport{By: by, From: r.From.String(), To: r.To.String(), Rows: []CostRow{}}
	rows := map[string]*CostRow{}
	for _, f := range a.byReason(r) {
		key, owner := f.code, a.ownerOf(f.code)
		if by == CostByOwner {
			key, owner = owner, ""
		}
		row := rows[key]
		if row == nil {
			name := a.displayName(ByReason, key)
			if by == CostByOwner {
				name = a.displayName(ByOwner, key)
			}
			row = &CostRow{Key: key, Name: name, Owner: owner}
			rows[key] = row
		}
		row.Contacts += f.contacts
		row.Cost += f.cost
		row.HandleMinutes += f.handle / 60
		rep.Contacts += f.contacts
		rep.Cost += f.cost
	}
	for _, row := range rows {
		if rep.Cost > 0 {
			row.Share = row.Cost / rep.Cost
		}
		rep.Rows = append(rep.Rows, *row)
	}
	slices.SortFunc(rep.Rows, func(x, y CostRow) int {
		return cmp.Or(cmp.Compare(y.Cost, x.Cost), cmp.Compare(y.Contacts, x.Contacts), cmp.Compare(x.Key, y.Key))
	})
	return rep
}

// RepeatRow is the repeat rate of one reason (or overall).
type RepeatRow struct {
	Reason   string   `json:"reason,omitempty"`
	Name     string   `json:"name,omitempty"`
	Contacts int64    `json:"contacts"`
	Repeats  int64    `json:"repeats"`
	Rate     *float64 `json:"rate"`
}

// RepeatReport is the repeat-contact rate over a range.
type RepeatReport struct {
	Window      string      `json:"window"`
	WindowHours int         `json:"window_hours"`
	From        string      `json:"from"`
	To          string      `json:"to"`
	Overall     RepeatRow   `json:"overall"`
	Reasons     []RepeatRow `json:"reasons"`
}

// Repeat returns, for the contacts received in a range, how many repeat
// an earlier contact of the same customer about the same reason (and
// order, when known) within windowHours.
func (a *Aggregate) Repeat(r Range, windowHours int) RepeatReport {
	rep := RepeatReport{WindowHours: windowHours, From: r.From.String(), To: r.To.String(), Reasons: []RepeatRow{}}
	rows := map[string]*RepeatRow{}
	row := func(ri int) *RepeatRow {
		code := a.resolve(a.reasons.names[ri])
		x := rows[code]
		if x == nil {
			x = &RepeatRow{Reason: code, Name: a.displayName(ByReason, code)}
			rows[code] = x
		}
		return x
	}
	for d := r.From; d <= r.To; d++ {
		da := a.days[d]
		if da == nil {
			continue
		}
		for ri, rc := range da.rc {
			var n int64
			for _, s := range rc {
				n += s.contacts
			}
			if n != 0 {
				row(ri).Contacts += n
			}
		}
		for k, n := range da.repeats {
			if int(k.gap) <= windowHours {
				row(int(k.reason)).Repeats += n
			}
		}
	}
	for _, x := range rows {
		x.Rate = ratio(x.Repeats, x.Contacts)
		rep.Overall.Contacts += x.Contacts
		rep.Overall.Repeats += x.Repeats
		rep.Reasons = append(rep.Reasons, *x)
	}
	rep.Overall.Rate = ratio(rep.Overall.Repeats, rep.Overall.Contacts)
	slices.SortFunc(rep.Reasons, func(x, y RepeatRow) int {
		return cmp.Or(cmp.Compare(y.Repeats, x.Repeats), cmp.Compare(y.Contacts, x.Contacts), cmp.Compare(x.Reason, y.Reason))
	})
	return rep
}
