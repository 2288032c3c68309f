package analytics

import (
	"errors"
	"fmt"
	"time"

	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// UnitOrder is the unit counted from nc.order.created events, by the day
// each order was placed.
const UnitOrder = "order"

// overflowName is the value a dimension folds new values into once it
// holds its most distinct values; noneName shows an empty value.
const (
	overflowName = "(other)"
	noneName     = "(none)"
)

// noGap marks a contact that is not a repeat within the longest window.
const noGap = 0xFFFF

// ValidUnitName reports whether name may name a unit kind recorded through
// POST /v1/units: lower_snake_case, at most 64 characters, not "order" or
// "orders" (orders are counted from their events).
func ValidUnitName(name string) bool {
	if name == "" || len(name) > 64 || name == UnitOrder || name == "orders" || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// stat is what the aggregate keeps for a group of contacts.
type stat struct {
	// contacts counted.
	contacts int64
	// timed is how many of them have a handle time.
	timed int64
	// handle is the handle seconds of the timed contacts.
	handle float64
}

func contactStat(handleSeconds float64) stat {
	if handleSeconds > 0 {
		return stat{contacts: 1, timed: 1, handle: handleSeconds}
	}
	return stat{contacts: 1}
}

func (s *stat) add(o stat, sign int64) {
	s.contacts += sign * o.contacts
	s.timed += sign * o.timed
	s.handle += float64(sign) * o.handle
}

func (s stat) zero() bool { return s.contacts == 0 && s.timed == 0 }

// dims identifies a cell of one day: interned ids of the contact's reason,
// channel, locale and product. The owner and the reason's parent are
// derived from the reason at query time, with the taxonomy in force then.
type dims struct {
	reason, channel, locale uint16
	product                 uint32
}

// repeatKey counts repeat contacts of a day by reason and by the hours
// since the same customer's previous contact about it (rounded up).
type repeatKey struct {
	reason, gap uint16
}

// dayAgg is everything counted on one day.
type dayAgg struct {
	// cells is the cube: contacts by reason x channel x locale x product.
	cells map[dims]stat
	// rc, product and locale are roll-ups of cells kept for fast queries:
	// rc[reason][channel], contacts by product id and by locale id.
	rc      [][]stat
	product map[uint32]int64
	locale  []int64
	// repeats counts repeat contacts by reason and gap hours.
	repeats map[repeatKey]int64
}

func newDayAgg() *dayAgg {
	return &dayAgg{cells: map[dims]stat{}, product: map[uint32]int64{}, repeats: map[repeatKey]int64{}}
}

func (d *dayAgg) rcAt(reason, channel uint16) *stat {
	for int(reason) >= len(d.rc) {
		d.rc = append(d.rc, nil)
	}
	row := d.rc[reason]
	for int(channel) >= len(row) {
		row = append(row, stat{})
	}
	d.rc[reason] = row
	return &row[channel]
}

// addCell adds (sign 1) or removes (sign -1) s in the cell k and the
// reason x channel roll-up.
func (d *dayAgg) addCell(k dims, s stat, sign int64) {
	c := d.cells[k]
	c.add(s, sign)
	if c.zero() {
		delete(d.cells, k)
	} else {
		d.cells[k] = c
	}
	d.rcAt(k.reason, k.channel).add(s, sign)
}

// addContact counts s in k and in every roll-up.
func (d *dayAgg) addContact(k dims, s stat) {
	d.addCell(k, s, 1)
	d.product[k.product] += s.contacts
	for int(k.locale) >= len(d.locale) {
		d.locale = append(d.locale, 0)
	}
	d.locale[k.locale] += s.contacts
}

func (d *dayAgg) addRepeat(k repeatKey, n int64) {
	v := d.repeats[k] + n
	if v == 0 {
		delete(d.repeats, k)
	} else {
		d.repeats[k] = v
	}
}

// recent is what is remembered of a contact counted within the horizon:
// where it is counted, so that a duplicate is recognised and a relabel
// moves exactly that contact.
type recent struct {
	day Day
	d   dims
	gap uint16
}

// interner maps the values of one dimension to small ids. After limit
// distinct values every new value maps to overflowName.
type interner struct {
	ids   map[string]uint32
	names []string
	limit int
}

func newInterner(limit int) *interner {
	return &interner{ids: map[string]uint32{}, limit: limit}
}

func (in *interner) id(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	if len(in.names) >= in.limit && s != overflowName {
		return in.id(overflowName)
	}
	id := uint32(len(in.names))
	in.ids[s] = id
	in.names = append(in.names, s)
	return id
}

func (in *interner) lookup(s string) (uint32, bool) {
	id, ok := in.ids[s]
	return id, ok
}

// Cursor is how far into each stream the aggregate has counted: the
// stream sequence of the last event applied. An event at or below it is a
// redelivery and is skipped.
type Cursor struct {
	Contacts uint64
	Orders   uint64
}

// AggregateConfig configures an Aggregate.
type AggregateConfig struct {
	// Location is the time zone contacts and orders are counted in.
	Location *time.Location
	// Taxonomy resolves merged reasons, parents, owners, values and costs.
	Taxonomy *taxonomy.Taxonomy
	// CostPerMinute, when above 0, prices a contact with a handle time at
	// handle minutes x CostPerMinute instead of its channel's cost.
	CostPerMinute float64
	// Horizon is the longest repeat window, and how long a contact is
	// remembered by id (to reject duplicates and to relabel it exactly).
	Horizon time.Duration
	// MaxProducts bounds the distinct products counted; later ones are
	// counted as "(other)".
	MaxProducts int
}

// Aggregate counts contacts by day x reason x channel x locale x product
// (owner and reason parent follow from the reason) and units by kind and
// day. Its size grows with the days and the dimension combinations seen,
// plus, for repeats and exact relabels, a bounded memory of the contacts
// of the last Horizon: not with the contacts counted overall.
//
// An Aggregate is not safe for concurrent use; the service guards it.
type Aggregate struct {
	cfg      AggregateConfig
	horizon  int64
	reasons  *interner
	channels *interner
	locales  *interner
	products *interner
	days     map[Day]*dayAgg
	units    map[string]map[Day]int64
	// firstTags counts contacts by (reason<<16 | channel) as first tagged,
	// never moved by relabels, so that the counter metric only goes up.
	firstTags map[uint32]int64
	// recent remembers the contacts received within the horizon of the
	// watermark, by a hash of their id.
	recent map[uint64]recent
	// seen holds, per hashed (customer, reason[, order]) key, the latest
	// contact time (unix seconds), within the horizon.
	seen map[uint64]int64
	// recentByDay and seenByDay list the keys of recent and seen by day
	// (the contact's day; the day of the time stored), so that pruning
	// visits only the keys that may have expired. A key may be listed
	// under several days; it is deleted only once its value expired.
	recentByDay map[Day][]uint64
	seenByDay   map[Day][]uint64
	watermark   int64
	prunedAt    Day
	cursor      Cursor
}

// NewAggregate returns an empty aggregate.
func NewAggregate(cfg AggregateConfig) *Aggregate {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 30 * 24 * time.Hour
	}
	if cfg.MaxProducts <= 0 {
		cfg.MaxProducts = 10000
	}
	return &Aggregate{
		cfg:         cfg,
		horizon:     int64(cfg.Horizon / time.Second),
		reasons:     newInterner(60000),
		channels:    newInterner(1000),
		locales:     newInterner(1000),
		products:    newInterner(cfg.MaxProducts),
		days:        map[Day]*dayAgg{},
		units:       map[string]map[Day]int64{},
		firstTags:   map[uint32]int64{},
		recent:      map[uint64]recent{},
		seen:        map[uint64]int64{},
		recentByDay: map[Day][]uint64{},
		seenByDay:   map[Day][]uint64{},
	}
}

// Cursor returns the stream sequences the aggregate covers.
func (a *Aggregate) Cursor() Cursor { return a.cursor }

// SetCursor records the stream sequences the aggregate covers.
func (a *Aggregate) SetCursor(c Cursor) { a.cursor = c }

// Location returns the time zone days are counted in.
func (a *Aggregate) Location() *time.Location { return a.cfg.Location }

func (a *Aggregate) day(d Day) *dayAgg {
	da := a.days[d]
	if da == nil {
		da = newDayAgg()
		a.days[d] = da
	}
	return da
}

// ErrInvalidEvent marks an event the aggregate can never count (no
// contact id, no time ...); the consumer dead-letters it.
var ErrInvalidEvent = errors.New("invalid event")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidEvent}, args...)...)
}

// Tag counts a tagged contact on the day it was received, under its
// reason, and reports whether it was counted: a contact already counted
// (the same contact id within the horizon) is a duplicate and is not.
func (a *Aggregate) Tag(ev *pb.ContactTagged) (bool, error) {
	c := ev.GetContact()
	if c.GetId() == "" {
		return false, invalid("tagged event without a contact id")
	}
	at, ok := contactTime(c)
	if !ok {
		return false, invalid("contact %s has no received_at", c.GetId())
	}
	key := hashString(c.GetId())
	if _, dup := a.recent[key]; dup {
		return false, nil
	}
	reason := ev.GetTag().GetReason()
	if reason == "" {
		reason = taxonomy.Unclassified
	}
	day := DayOf(at, a.cfg.Location)
	k := dims{
		reason:  uint16(a.reasons.id(reason)),
		channel: uint16(a.channels.id(c.GetChannel())),
		locale:  uint16(a.locales.id(c.GetLocale())),
		product: a.products.id(c.GetProduct()),
	}
	da := a.day(day)
	da.addContact(k, contactStat(c.GetHandleSeconds()))
	unix := at.Unix()
	gap := a.repeatGap(c.GetCustomerId(), c.GetOrderId(), a.resolve(reason), unix)
	if gap != noGap {
		da.addRepeat(repeatKey{k.reason, gap}, 1)
	}
	a.firstTags[uint32(k.reason)<<16|uint32(k.channel)]++
	if unix > a.watermark {
		a.watermark = unix
		a.prune()
	}
	if unix >= a.watermark-a.horizon {
		a.remember(key, recent{day: day, d: k, gap: gap})
	}
	return true, nil
}

func contactTime(c *pb.Contact) (time.Time, bool) {
	switch {
	case c.GetReceivedAt() != nil:
		return c.GetReceivedAt().AsTime(), true
	case c.GetIngestedAt() != nil:
		return c.GetIngestedAt().AsTime(), true
	}
	return time.Time{}, false
}

// Relabel moves a contact from its previous reason to its new one and
// reports whether anything moved. A contact remembered within the horizon
// moves from where it is counted (a repeated relabel changes nothing);
// an older one moves from the event's previous_reason on the day and
// dimensions the event carries, and only if such a contact is counted
// there.
func (a *Aggregate) Relabel(ev *pb.ContactRelabeled) (bool, error) {
	c := ev.GetContact()
	if c.GetId() == "" || ev.GetTag() == nil {
		return false, invalid("relabel without a contact id or a tag")
	}
	to := ev.GetTag().GetReason()
	if to == "" {
		to = taxonomy.Unclassified
	}
	s := contactStat(c.GetHandleSeconds())
	key := hashString(c.GetId())
	if r, ok := a.recent[key]; ok {
		toID := uint16(a.reasons.id(to))
		if r.d.reason == toID {
			return false, nil
		}
		da := a.day(r.day)
		nd := r.d
		nd.reason = toID
		da.addCell(r.d, s, -1)
		da.addCell(nd, s, 1)
		if r.gap != noGap {
			da.addRepeat(repeatKey{r.d.reason, r.gap}, -1)
			da.addRepeat(repeatKey{toID, r.gap}, 1)
		}
		r.d = nd
		a.recent[key] = r
		return true, nil
	}
	from := ev.GetPreviousReason()
	if from == "" || from == to {
		return false, nil
	}
	at, ok := contactTime(c)
	if !ok {
		return false, invalid("contact %s has no received_at", c.GetId())
	}
	da := a.days[DayOf(at, a.cfg.Location)]
	fromID, ok1 := a.reasons.lookup(from)
	channel, ok2 := a.channels.lookup(c.GetChannel())
	locale, ok3 := a.locales.lookup(c.GetLocale())
	product, ok4 := a.products.lookup(c.GetProduct())
	if !ok4 {
		product, ok4 = a.products.lookup(overflowName)
	}
	if da == nil || !ok1 || !ok2 || !ok3 || !ok4 {
		return false, nil
	}
	k := dims{reason: uint16(fromID), channel: uint16(channel), locale: uint16(locale), product: product}
	if da.cells[k].contacts < 1 {
		return false, nil
	}
	nd := k
	nd.reason = uint16(a.reasons.id(to))
	da.addCell(k, s, -1)
	da.addCell(nd, s, 1)
	return true, nil
}

// Order counts an order on the day it was placed.
func (a *Aggregate) Order(ev *pb.OrderCreated) error {
	o := ev.GetOrder()
	if o == nil {
		return invalid("order event without an order")
	}
	ts := o.GetPlacedAt()
	if ts == nil {
		ts = o.GetIngestedAt()
	}
	if ts == nil {
		ts = ev.GetMeta().GetOccurredAt()
	}
	if ts == nil {
		return invalid("order %s has no placed_at", o.GetOrderId())
	}
	a.addUnits(UnitOrder, DayOf(ts.AsTime(), a.cfg.Location), 1)
	return nil
}

// Units records daily counts of a unit: each replaces the earlier count of
// its day. Nothing is recorded when any count is invalid.
func (a *Aggregate) Units(ev *pb.UnitsRecorded) error {
	if !ValidUnitName(ev.GetUnit()) {
		return invalid("unit %q is not a valid unit name", ev.GetUnit())
	}
	days := make([]Day, len(ev.GetCounts()))
	for i, c := range ev.GetCounts() {
		d, err := ParseDay(c.GetDay())
		if err != nil {
			return invalid("unit %s: %v", ev.GetUnit(), err)
		}
		if c.GetCount() < 0 {
			return invalid("unit %s: negative count on %s", ev.GetUnit(), c.GetDay())
		}
		days[i] = d
	}
	m := a.units[ev.GetUnit()]
	if m == nil {
		m = map[Day]int64{}
		a.units[ev.GetUnit()] = m
	}
	for i, c := range ev.GetCounts() {
		m[days[i]] = c.GetCount()
	}
	return nil
}

func (a *Aggregate) addUnits(unit string, d Day, n int64) {
	m := a.units[unit]
	if m == nil {
		m = map[Day]int64{}
		a.units[unit] = m
	}
	m[d] += n
}

// HasUnit reports whether the unit is known: orders always are, other
// units once a count was recorded.
func (a *Aggregate) HasUnit(unit string) bool {
	_, ok := a.units[unit]
	return ok || unit == UnitOrder
}

// UnitNames returns the units with recorded counts (orders included).
func (a *Aggregate) UnitNames() []string {
	out := []string{UnitOrder}
	for u := range a.units {
		if u != UnitOrder {
			out = append(out, u)
		}
	}
	return out
}

// resolve returns the code a reason stands for today (merges followed).
func (a *Aggregate) resolve(code string) string {
	if a.cfg.Taxonomy != nil {
		if r, ok := a.cfg.Taxonomy.Resolve(code); ok {
			return r.Code
		}
	}
	return code
}

// repeatGap returns the hours (rounded up) since the customer's previous
// contact about the same reason, and the same order when both contacts
// name one, or noGap when there was none within the horizon; and records
// this contact as the latest.
//
// Three keys are tracked per customer and reason: any order ("a"), no
// order ("n") and each order ("o"). A contact naming an order repeats a
// contact about that order or one naming none; a contact naming no order
// repeats any earlier contact about the reason.
func (a *Aggregate) repeatGap(customer, order, reason string, at int64) uint16 {
	if customer == "" {
		return noGap
	}
	kAny := hashParts("a", customer, reason, "")
	kNone := hashParts("n", customer, reason, "")
	var last int64
	var found bool
	take := func(k uint64) {
		if v, ok := a.seen[k]; ok && (!found || v > last) {
			last, found = v, true
		}
	}
	if order != "" {
		kOrder := hashParts("o", customer, reason, order)
		take(kOrder)
		take(kNone)
		a.see(kOrder, at)
	} else {
		take(kAny)
		a.see(kNone, at)
	}
	a.see(kAny, at)
	if !found || at < last || at-last > a.horizon {
		return noGap
	}
	return uint16((at - last + 3599) / 3600)
}

// remember records a contact counted within the horizon.
func (a *Aggregate) remember(key uint64, r recent) {
	a.recent[key] = r
	a.recentByDay[r.day] = append(a.recentByDay[r.day], key)
}

// see records at as the latest contact time of a repeat key.
func (a *Aggregate) see(key uint64, at int64) {
	old, ok := a.seen[key]
	if ok && old >= at {
		return
	}
	a.seen[key] = at
	if d := dayOfUnix(at); !ok || dayOfUnix(old) != d {
		a.seenByDay[d] = append(a.seenByDay[d], key)
	}
}

// prune forgets contacts and repeat keys older than the horizon, once a
// day of the watermark. It visits only the days that expired.
func (a *Aggregate) prune() {
	wd := dayOfUnix(a.watermark)
	if wd <= a.prunedAt {
		return
	}
	a.prunedAt = wd
	cutoff := a.watermark - a.horizon
	// Days are local; one day of slack covers any time zone offset.
	cutoffDay := dayOfUnix(cutoff) - 1
	for d, keys := range a.seenByDay {
		if d >= cutoffDay {
			continue
		}
		for _, k := range keys {
			if t, ok := a.seen[k]; ok && t < cutoff {
				delete(a.seen, k)
			}
		}
		delete(a.seenByDay, d)
	}
	for d, keys := range a.recentByDay {
		if d >= cutoffDay {
			continue
		}
		for _, k := range keys {
			if r, ok := a.recent[k]; ok && r.day < cutoffDay {
				delete(a.recent, k)
			}
		}
		delete(a.recentByDay, d)
	}
}

// Stats are sizes of the aggregate, for logs and metrics.
type Stats struct {
	Days, Cells, Remembered, RepeatKeys int
}

// Stats returns the aggregate's sizes.
func (a *Aggregate) Stats() Stats {
	s := Stats{Days: len(a.days), Remembered: len(a.recent), RepeatKeys: len(a.seen)}
	for _, d := range a.days {
		s.Cells += len(d.cells)
	}
	return s
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashString is FNV-1a: stable across processes, so hashes can be stored
// in snapshots.
func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashParts(kind, customer, reason, order string) uint64 {
	h := uint64(fnvOffset)
	for _, p := range [4]string{kind, customer, reason, order} {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= fnvPrime
		}
		h ^= 0xff
		h *= fnvPrime
	}
	return h
}
