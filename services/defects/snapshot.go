package defects

import (
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
)

// snapshotVersion is bumped whenever the snapshot layout changes; an older
// snapshot is then ignored and the state rebuilt from the streams.
const snapshotVersion = 3

// ErrSnapshotVersion is returned for a snapshot of another layout.
var ErrSnapshotVersion = errors.New("snapshot of another version")

// snapshot is the detector's whole working state, as saved.
type snapshot struct {
	Version   int
	Covered   map[string]uint64
	Watermark int64
	FirstDay  int32
	PrunedDay int32
	Occs      []snapOcc
	Sigs      []snapSig
	Rework    map[string]string
	Clusters  map[string][]textCluster
	Defects   []snapDefect
	Orders    map[int32]int32
	Reasons   map[string]snapCounter
	Counters  map[string]snapCounter
	All       snapCounter
	Ignored   map[string]int64
	Terms     map[string]snapTerms
}

type snapOcc struct {
	ID, Ext, Customer, Order, Reason, Channel, Text string
	At                                              int64
	Cues                                            [len(bivKinds)]bool
	Cued                                            bool
	Sigs, Named, Rare                               []string
	Judged, Unusual                                 bool
	ClaimedBy, ReworkBy, RepeatOf, RepeatOfExt      string
}

type snapSig struct {
	Key, Reason, Kind string
	Subject           [][2]string
	Terms             []string
	Daily             map[int32]int32
	Defect            string
}

type snapCounter struct {
	Hours []hourCount
	Daily map[int32]int32
	First int64
}

func (c *counter) snap() snapCounter {
	return snapCounter{Hours: c.hours, Daily: c.daily, First: c.first}
}

func (s snapCounter) counter() *counter {
	return &counter{hours: s.Hours, daily: orEmpty(s.Daily), first: s.First}
}

type snapDefect struct {
	Defect            *Defect
	Sig               string
	Customers, Orders map[string]int32
	Daily, Hourly     map[int32]int32
	Recent            []int64
	Cues              [len(bivKinds)]int32
	Cost              float64
	Evidence, Latest  []Evidence
	Baseline          float64
	Keys              int
	PastPull          int32
	Values            map[string]int32
}

// WriteSnapshot writes the detector's working state (gob, gzip) so that
// ReadSnapshot can restore it without replaying the streams.
func (d *Detector) WriteSnapshot(w io.Writer) error {
	s := snapshot{
		Version: snapshotVersion, Covered: d.covered, Watermark: d.watermark, FirstDay: d.firstDay, PrunedDay: d.prunedDay,
		Rework: map[string]string{}, Clusters: map[string][]textCluster{}, Orders: d.orders,
		Reasons: map[string]snapCounter{}, Counters: map[string]snapCounter{}, All: d.all.snap(), Ignored: d.ignored,
		Terms: d.snapTerms(),
	}
	for _, id := range slices.Sorted(maps.Keys(d.contacts)) {
		o := d.contacts[id]
		s.Occs = append(s.Occs, snapOcc{
			ID: o.id, Ext: o.ext, Customer: o.customer, Order: o.order, Reason: o.reason, Channel: o.channel, Text: o.text,
			At: o.at, Cues: o.cues, Cued: o.cued, Sigs: o.sigs, Named: o.named, Rare: o.rare, Judged: o.judged, Unusual: o.unusual, ClaimedBy: o.claimedBy, ReworkBy: o.reworkBy, RepeatOf: o.repeatOf, RepeatOfExt: o.repeatOfExt,
		})
	}
	for _, key := range slices.Sorted(maps.Keys(d.sigs)) {
		sg := d.sigs[key]
		s.Sigs = append(s.Sigs, snapSig{Key: sg.key, Reason: sg.reason, Kind: sg.kind, Subject: sg.subject, Terms: sg.terms, Daily: sg.daily, Defect: sg.defect})
	}
	for k, o := range d.rework {
		s.Rework[k] = o.id
	}
	for r, ci := range d.clusters {
		var list []textCluster
		for _, id := range slices.Sorted(maps.Keys(ci.clusters)) {
			list = append(list, *ci.clusters[id])
		}
		s.Clusters[r] = list
	}
	for _, id := range slices.Sorted(maps.Keys(d.defects)) {
		ds := d.defects[id]
		s.Defects = append(s.Defects, snapDefect{
			Defect: ds.d, Sig: ds.sig, Customers: ds.customers, Orders: ds.orders, Daily: ds.daily, Hourly: ds.hourly,
			Recent: ds.recent, Cues: ds.cues, Cost: ds.cost, Evidence: ds.evidence, Latest: ds.latest, Baseline: ds.baseline, Keys: ds.keys, PastPull: ds.pastPull,
			Values: ds.values,
		})
	}
	for r, c := range d.reasons {
		s.Reasons[r] = c.snap()
	}
	for k, c := range d.counters {
		s.Counters[k] = c.snap()
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("defects: snapshot: %w", err)
	}
	if err := gob.NewEncoder(zw).Encode(&s); err != nil {
		return fmt.Errorf("defects: encode snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("defects: snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot replaces the detector's state with a snapshot written by
// WriteSnapshot.
func (d *Detector) ReadSnapshot(r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("defects: read snapshot: %w", err)
	}
	var s snapshot
	if err := gob.NewDecoder(zr).Decode(&s); err != nil {
		return fmt.Errorf("defects: decode snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("defects: %w: %d (want %d)", ErrSnapshotVersion, s.Version, snapshotVersion)
	}
	fresh, err := NewDetector(d.cfg, d.tax, d.now)
	if err != nil {
		return err
	}
	*d = *fresh
	d.covered = orEmpty(s.Covered)
	d.watermark, d.firstDay, d.prunedDay = s.Watermark, s.FirstDay, s.PrunedDay
	d.orders = orEmpty(s.Orders)
	d.all = s.All.counter()
	d.ignored = orEmpty(s.Ignored)
	for _, sg := range s.Sigs {
		d.sigs[sg.Key] = &signature{key: sg.Key, reason: sg.Reason, kind: sg.Kind, subject: sg.Subject, terms: sg.Terms, daily: orEmpty(sg.Daily), defect: sg.Defect}
	}
	for _, so := range s.Occs {
		o := &occ{
			id: so.ID, ext: so.Ext, customer: so.Customer, order: so.Order, reason: so.Reason, channel: so.Channel, text: so.Text,
			at: so.At, cues: so.Cues, cued: so.Cued, sigs: so.Sigs, named: so.Named, rare: so.Rare, judged: so.Judged, unusual: so.Unusual, claimedBy: so.ClaimedBy, reworkBy: so.ReworkBy, repeatOf: so.RepeatOf, repeatOfExt: so.RepeatOfExt,
		}
		d.contacts[o.id] = o
		for _, key := range o.sigs {
			if sg := d.sigs[key]; sg != nil {
				sg.recent = append(sg.recent, o)
				if o.unusual {
					sg.lastUnusual = max(sg.lastUnusual, o.at)
				}
			}
		}
	}
	for _, sg := range d.sigs {
		sort.SliceStable(sg.recent, func(i, j int) bool { return sg.recent[i].at < sg.recent[j].at })
	}
	for k, id := range s.Rework {
		if o := d.contacts[id]; o != nil {
			d.rework[k] = o
		}
	}
	for r, list := range s.Clusters {
		ci := newClusterIndex()
		for i := range list {
			c := list[i]
			ci.add(&c)
		}
		ci.next = len(list)
		d.clusters[r] = ci
	}
	for _, sd := range s.Defects {
		ds := &defectState{
			d: sd.Defect, sig: sd.Sig, customers: orEmpty(sd.Customers), orders: orEmpty(sd.Orders), daily: orEmpty(sd.Daily),
			hourly: orEmpty(sd.Hourly), recent: sd.Recent, cues: sd.Cues, cost: sd.Cost, evidence: sd.Evidence, latest: sd.Latest,
			baseline: sd.Baseline, keys: sd.Keys, pastPull: sd.PastPull, values: orEmpty(sd.Values),
		}
		d.defects[ds.d.ID] = ds
		d.bySig[ds.sig] = ds.d.ID
	}
	for r, c := range s.Reasons {
		d.reasons[r] = c.counter()
	}
	for k, c := range s.Counters {
		d.counters[k] = c.counter()
	}
	d.restoreTerms(s.Terms)
	return nil
}

func orEmpty[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// Adopt takes a person's lifecycle changes from a stored copy of a defect
// that is newer than the detector's (a PATCH made after the snapshot the
// detector was restored from): status, owner, note, notice, fix and
// history. It reports whether anything was taken.
func (d *Detector) Adopt(stored *Defect) bool {
	ds := d.defects[stored.ID]
	if ds == nil || stored.Revision <= ds.d.Revision {
		return false
	}
	def := ds.d
	def.Status, def.Owner, def.Note, def.PublicNotice, def.WontfixReason = stored.Status, stored.Owner, stored.Note, stored.PublicNotice, stored.WontfixReason
	def.FixedAt, def.VerifiedAt, def.Verification, def.Andon = stored.FixedAt, stored.VerifiedAt, stored.Verification, stored.Andon
	def.History = slices.Clone(stored.History)
	def.Revision, def.UpdatedAt, def.Reopened = stored.Revision, stored.UpdatedAt, stored.Reopened
	d.dirty[def.ID] = true
	return true
}
