package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// snapshotMagic starts every snapshot; the last byte is the format
// version, bumped on any incompatible change (an unreadable snapshot is
// discarded and the aggregate rebuilt from the streams).
const snapshotMagic = "NCAGG\x01"

// ErrSnapshot marks a snapshot that cannot be read.
var ErrSnapshot = errors.New("unreadable snapshot")

// MarshalBinary encodes the whole aggregate with the stream sequences it
// covers and the time zone its days are in. The roll-ups are not stored:
// they are rebuilt from the cells.
func (a *Aggregate) MarshalBinary() ([]byte, error) {
	w := &writer{buf: make([]byte, 0, 1<<16)}
	w.buf = append(w.buf, snapshotMagic...)
	w.str(a.cfg.Location.String())
	w.uvarint(a.cursor.Contacts)
	w.uvarint(a.cursor.Orders)
	w.varint(a.watermark)
	w.varint(int64(a.prunedAt))
	for _, in := range []*interner{a.reasons, a.channels, a.locales, a.products} {
		w.uvarint(uint64(len(in.names)))
		for _, n := range in.names {
			w.str(n)
		}
	}
	w.uvarint(uint64(len(a.days)))
	for d, da := range a.days {
		w.varint(int64(d))
		w.uvarint(uint64(len(da.cells)))
		for k, s := range da.cells {
			w.uvarint(uint64(k.reason))
			w.uvarint(uint64(k.channel))
			w.uvarint(uint64(k.locale))
			w.uvarint(uint64(k.product))
			w.varint(s.contacts)
			w.varint(s.timed)
			w.float(s.handle)
		}
		w.uvarint(uint64(len(da.repeats)))
		for k, n := range da.repeats {
			w.uvarint(uint64(k.reason))
			w.uvarint(uint64(k.gap))
			w.varint(n)
		}
	}
	w.uvarint(uint64(len(a.units)))
	for u, m := range a.units {
		w.str(u)
		w.uvarint(uint64(len(m)))
		for d, n := range m {
			w.varint(int64(d))
			w.varint(n)
		}
	}
	w.uvarint(uint64(len(a.firstTags)))
	for k, n := range a.firstTags {
		w.uvarint(uint64(k))
		w.varint(n)
	}
	w.uvarint(uint64(len(a.recent)))
	for k, r := range a.recent {
		w.fixed(k)
		w.varint(int64(r.day))
		w.uvarint(uint64(r.d.reason))
		w.uvarint(uint64(r.d.channel))
		w.uvarint(uint64(r.d.locale))
		w.uvarint(uint64(r.d.product))
		w.uvarint(uint64(r.gap))
	}
	w.uvarint(uint64(len(a.seen)))
	for k, t := range a.seen {
		w.fixed(k)
		w.varint(t)
	}
	return w.buf, nil
}

// SnapshotZone returns the time zone a snapshot's days are counted in.
func SnapshotZone(data []byte) (string, error) {
	r := &reader{buf: data}
	if !r.magic() {
		return "", fmt.Errorf("%w: not an analytics snapshot", ErrSnapshot)
	}
	zone := r.str()
	return zone, r.err
}

// UnmarshalBinary replaces the aggregate's state with a snapshot's. The
// snapshot must have been taken in the same time zone.
func (a *Aggregate) UnmarshalBinary(data []byte) error {
	r := &reader{buf: data}
	if !r.magic() {
		return fmt.Errorf("%w: not an analytics snapshot", ErrSnapshot)
	}
	if zone := r.str(); r.err == nil && zone != a.cfg.Location.String() {
		return fmt.Errorf("%w: counted in time zone %s, not %s", ErrSnapshot, zone, a.cfg.Location)
	}
	fresh := NewAggregate(a.cfg)
	fresh.cursor = Cursor{Contacts: r.uvarint(), Orders: r.uvarint()}
	fresh.watermark = r.varint()
	fresh.prunedAt = Day(r.varint())
	for _, in := range []*interner{fresh.reasons, fresh.channels, fresh.locales, fresh.products} {
		n := r.count()
		for range n {
			s := r.str()
			if r.err != nil {
				break
			}
			id := uint32(len(in.names))
			in.ids[s] = id
			in.names = append(in.names, s)
		}
	}
	lims := [4]uint64{uint64(len(fresh.reasons.names)), uint64(len(fresh.channels.names)), uint64(len(fresh.locales.names)), uint64(len(fresh.products.names))}
	readDims := func() dims {
		var v [4]uint64
		for i := range v {
			v[i] = r.uvarint()
			if r.err == nil && v[i] >= lims[i] {
				r.fail("dimension id out of range")
			}
		}
		return dims{reason: uint16(v[0]), channel: uint16(v[1]), locale: uint16(v[2]), product: uint32(v[3])}
	}
	for range r.count() {
		da := fresh.day(Day(r.varint()))
		for range r.count() {
			k := readDims()
			s := stat{contacts: r.varint(), timed: r.varint(), handle: r.float()}
			if r.err != nil {
				break
			}
			da.addContact(k, s)
		}
		for range r.count() {
			reason, gap, n := r.uvarint(), r.uvarint(), r.varint()
			if r.err == nil && reason >= lims[0] {
				r.fail("reason id out of range")
			}
			if r.err != nil {
				break
			}
			da.repeats[repeatKey{uint16(reason), uint16(gap)}] = n
		}
	}
	for range r.count() {
		u := r.str()
		m := map[Day]int64{}
		for range r.count() {
			d, n := Day(r.varint()), r.varint()
			m[d] = n
		}
		fresh.units[u] = m
	}
	for range r.count() {
		k, n := r.uvarint(), r.varint()
		if r.err == nil && (k>>16 >= lims[0] || k&0xffff >= lims[1]) {
			r.fail("first-tag key out of range")
		}
		fresh.firstTags[uint32(k)] = n
	}
	for range r.count() {
		k := r.fixed()
		day := Day(r.varint())
		d := readDims()
		gap := r.uvarint()
		fresh.remember(k, recent{day: day, d: d, gap: uint16(gap)})
	}
	for range r.count() {
		k := r.fixed()
		fresh.see(k, r.varint())
	}
	if r.err == nil && r.pos != len(r.buf) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return r.err
	}
	*a = *fresh
	return nil
}

type writer struct{ buf []byte }

func (w *writer) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *writer) varint(v int64)   { w.buf = binary.AppendVarint(w.buf, v) }
func (w *writer) fixed(v uint64)   { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *writer) float(v float64)  { w.fixed(math.Float64bits(v)) }
func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// reader decodes what writer wrote; after the first error every read
// returns zero and err keeps that error.
type reader struct {
	buf []byte
	pos int
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrSnapshot, msg, r.pos)
	}
}

func (r *reader) magic() bool {
	if len(r.buf) < len(snapshotMagic) || string(r.buf[:len(snapshotMagic)]) != snapshotMagic {
		return false
	}
	r.pos = len(snapshotMagic)
	return true
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n <= 0 {
		r.fail("bad number")
		return 0
	}
	r.pos += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf[r.pos:])
	if n <= 0 {
		r.fail("bad number")
		return 0
	}
	r.pos += n
	return v
}

func (r *reader) fixed() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.buf)-r.pos < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.buf[r.pos:])
	r.pos += 8
	return v
}

func (r *reader) float() float64 { return math.Float64frombits(r.fixed()) }

// count reads a length, refusing one larger than the bytes left (every
// element takes at least one byte), so a corrupt snapshot cannot make the
// decoder allocate or loop without end.
func (r *reader) count() int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.buf)-r.pos) {
		r.fail("length beyond the end")
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.buf[r.pos : r.pos+n])
	r.pos += n
	return s
}
