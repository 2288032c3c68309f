package analytics

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/nocontact/nocontact/pkg/pb"
)

// applyAll feeds events to an aggregate as the consumers would.
func applyAll(t testing.TB, a *Aggregate, events ...proto.Message) {
	t.Helper()
	for _, ev := range events {
		var err error
		switch ev := ev.(type) {
		case *pb.ContactTagged:
			_, err = a.Tag(ev)
		case *pb.ContactRelabeled:
			_, err = a.Relabel(ev)
		case *pb.OrderCreated:
			err = a.Order(ev)
		case *pb.UnitsRecorded:
			err = a.Units(ev)
		}
		if err != nil {
			t.Fatalf("apply %T: %v", ev, err)
		}
	}
}

func datasetAggregate(t testing.TB, zoneName string, costPerMinute float64) *Aggregate {
	t.Helper()
	a := NewAggregate(AggregateConfig{Location: zone(t, zoneName), Taxonomy: testTaxonomy(t), CostPerMinute: costPerMinute})
	orders, contacts := dataset()
	applyAll(t, a, orders...)
	applyAll(t, a, contacts...)
	return a
}

type wantPoint struct {
	period   string
	contacts int64
	units    int64
	cpx      *float64
}

func checkPoints(t *testing.T, name string, got []Point, want []wantPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d: %+v", name, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Period != w.period || g.Contacts != w.contacts || g.Units != w.units || !sameRatio(g.CPX, w.cpx) {
			t.Errorf("%s point %d: got %s %d/%d cpx %v, want %s %d/%d cpx %v", name, i, g.Period, g.Contacts, g.Units, deref(g.CPX), w.period, w.contacts, w.units, deref(w.cpx))
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestCPXOverallByInterval(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	tests := []struct {
		interval string
		want     []wantPoint
	}{
		{IntervalDay, []wantPoint{
			{"2026-11-01", 2, 3, f64(2.0 / 3)},
			{"2026-11-02", 2, 2, f64(1)},
			{"2026-11-03", 2, 3, f64(2.0 / 3)},
		}},
		// 1 November 2026 is a Sunday: its week starts on 26 October.
		{IntervalWeek, []wantPoint{
			{"2026-10-26", 2, 3, f64(2.0 / 3)},
			{"2026-11-02", 4, 5, f64(0.8)},
		}},
		{IntervalMonth, []wantPoint{{"2026-11-01", 6, 8, f64(0.75)}}},
	}
	for _, tt := range tests {
		t.Run(tt.interval, func(t *testing.T) {
			rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: tt.interval, Range: days(t, "2026-11-01", "2026-11-03")})
			checkPoints(t, "overall", rep.Overall.Points, tt.want)
			if rep.Overall.Total.Contacts != 6 || rep.Overall.Total.Units != 8 || !sameRatio(rep.Overall.Total.CPX, f64(0.75)) {
				t.Errorf("total %+v, want 6 contacts, 8 orders, CPO 0.75", rep.Overall.Total)
			}
			if len(rep.Series) != 0 {
				t.Errorf("series without by: %+v", rep.Series)
			}
		})
	}
}

func TestCPXTimeZoneDayBoundaries(t *testing.T) {
	// In UTC, c2 and c3 (15:30Z, 16:30Z) and o3, o4 fall on 1 November;
	// o1 (31 Oct 16:30Z) falls on 31 October.
	a := datasetAggregate(t, "UTC", 0)
	rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, Range: days(t, "2026-10-31", "2026-11-03")})
	checkPoints(t, "utc", rep.Overall.Points, []wantPoint{
		{"2026-10-31", 0, 1, f64(0)},
		{"2026-11-01", 3, 3, f64(1)},
		{"2026-11-02", 1, 1, f64(1)},
		{"2026-11-03", 2, 3, f64(2.0 / 3)},
	})
}

func TestCPXSeriesByDimension(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	tests := []struct {
		by   string
		want map[string]int64
		// first is the key of the first series (most contacts).
		first string
	}{
		{ByReason, map[string]int64{"where_is_my_order": 3, "late_delivery": 1, "payment_failed": 1, "product_quality": 1}, "where_is_my_order"},
		{ByReasonParent, map[string]int64{"where_is_my_order": 3, "late_delivery": 1, "payment_billing": 1, "product_quality": 1}, "where_is_my_order"},
		{ByOwner, map[string]int64{"logistics": 4, "payments": 1, "quality": 1}, "logistics"},
		{ByChannel, map[string]int64{"phone": 2, "email": 2, "chat": 2}, "chat"},
		{ByLocale, map[string]int64{"en": 4, "zh": 2}, "en"},
		{ByProduct, map[string]int64{"blender": 2, "mug": 1, "shoes": 1, "(none)": 2}, "(none)"},
	}
	for _, tt := range tests {
		t.Run(tt.by, func(t *testing.T) {
			rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, By: tt.by, Range: days(t, "2026-11-01", "2026-11-03")})
			got := map[string]int64{}
			var sum [3]int64
			for _, s := range rep.Series {
				got[s.Key] = s.Total.Contacts
				if !sameRatio(s.Total.CPX, f64(float64(s.Total.Contacts)/8)) {
					t.Errorf("%s: cpx %v, want %d/8", s.Key, deref(s.Total.CPX), s.Total.Contacts)
				}
				for p, pt := range s.Points {
					sum[p] += pt.Contacts
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("series %v, want %v", got, tt.want)
			}
			for k, n := range tt.want {
				if got[k] != n {
					t.Errorf("%s: %d contacts, want %d (all: %v)", k, got[k], n, got)
				}
			}
			if rep.Series[0].Key != tt.first {
				t.Errorf("first series %s, want %s", rep.Series[0].Key, tt.first)
			}
			// The series of each day add up to the overall figure.
			for p, pt := range rep.Overall.Points {
				if sum[p] != pt.Contacts {
					t.Errorf("day %s: series add up to %d, overall %d", pt.Period, sum[p], pt.Contacts)
				}
			}
		})
	}
}

func TestCPXReasonSeriesPointsAndTrend(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	// 2-3 Nov against 31 Oct-1 Nov: overall 4/5 = 0.8 against 2/3;
	// where_is_my_order 2/5 (c3, c6) against 1/3 (c1).
	rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, By: ByReason, Range: days(t, "2026-11-02", "2026-11-03")})
	if rep.PreviousFrom != "2026-10-31" || rep.PreviousTo != "2026-11-01" {
		t.Errorf("previous range %s..%s", rep.PreviousFrom, rep.PreviousTo)
	}
	o := rep.Overall
	if o.Previous.Contacts != 2 || o.Previous.Units != 3 || o.Change.Contacts != 2 ||
		!sameRatio(o.Change.CPX, f64(0.8-2.0/3)) || !sameRatio(o.Change.CPXRatio, f64((0.8-2.0/3)/(2.0/3))) {
		t.Errorf("overall trend %+v %+v cpx %v ratio %v", o.Previous, o.Change, deref(o.Change.CPX), deref(o.Change.CPXRatio))
	}
	w := rep.Series[0]
	if w.Key != "where_is_my_order" || w.Name != "Where is my order" {
		t.Fatalf("first series %s %q", w.Key, w.Name)
	}
	checkPoints(t, w.Key, w.Points, []wantPoint{{"2026-11-02", 1, 2, f64(0.5)}, {"2026-11-03", 1, 3, f64(1.0 / 3)}})
	if !sameRatio(w.Total.CPX, f64(0.4)) || !sameRatio(w.Previous.CPX, f64(1.0/3)) || !sameRatio(w.Change.CPXRatio, f64(0.2)) {
		t.Errorf("where_is_my_order total %v previous %v ratio %v", deref(w.Total.CPX), deref(w.Previous.CPX), deref(w.Change.CPXRatio))
	}
	// product_quality (c2) is only in the previous range: it stays, at 0.
	for _, s := range rep.Series {
		if s.Key == "product_quality" && (s.Total.Contacts != 0 || s.Previous.Contacts != 1 || s.Change.Contacts != -1) {
			t.Errorf("product_quality %+v", s)
		}
	}
}

func TestCPXLimitFoldsSeries(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalMonth, By: ByReason, Range: days(t, "2026-11-01", "2026-11-03"), Limit: 2})
	if len(rep.Series) != 3 || rep.Series[0].Key != "where_is_my_order" || rep.Series[2].Key != "(other)" || rep.Series[2].Total.Contacts != 2 {
		t.Fatalf("series %+v", rep.Series)
	}
}

func TestRelabelMovesTheContact(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	r := days(t, "2026-11-03", "2026-11-03")
	count := func(reason string) int64 {
		for _, s := range a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, By: ByReason, Range: r}).Series {
			if s.Key == reason {
				return s.Total.Contacts
			}
		}
		return 0
	}
	// 3 Nov: c5 moved to late_delivery, c6 (tracking_request) counts as
	// where_is_my_order.
	if count("where_is_my_order") != 1 || count("late_delivery") != 1 {
		t.Fatalf("3 Nov: where_is_my_order %d, late_delivery %d; want 1 and 1", count("where_is_my_order"), count("late_delivery"))
	}
	_, contacts := dataset()
	relabel := contacts[len(contacts)-1].(*pb.ContactRelabeled)
	// The same relabel again, and a relabel that names a stale previous
	// reason, change nothing: the contact is remembered where it is.
	stale := proto.Clone(relabel).(*pb.ContactRelabeled)
	stale.PreviousReason = "damaged_item"
	for _, ev := range []*pb.ContactRelabeled{relabel, stale} {
		moved, err := a.Relabel(ev)
		if err != nil || moved {
			t.Fatalf("relabel again: moved %v, err %v", moved, err)
		}
	}
	// Back to where_is_my_order.
	back := relabeled(contacts[4].(*pb.ContactTagged), "where_is_my_order")
	back.PreviousReason = "late_delivery"
	if moved, err := a.Relabel(back); err != nil || !moved {
		t.Fatalf("relabel back: moved %v, err %v", moved, err)
	}
	if count("where_is_my_order") != 2 || count("late_delivery") != 0 {
		t.Fatalf("after moving back: where_is_my_order %d, late_delivery %d", count("where_is_my_order"), count("late_delivery"))
	}
	if rep := a.CPX(CPXQuery{Unit: UnitOrder, Interval: IntervalDay, Range: r}); rep.Overall.Total.Contacts != 2 {
		t.Errorf("relabels changed the day's total: %d", rep.Overall.Total.Contacts)
	}
}

func TestRelabelBeyondHorizonUsesPreviousReason(t *testing.T) {
	// With a 1-day horizon, c1 (1 Nov) is forgotten once c7 (9 Nov) is
	// counted; its relabel moves it from the event's previous reason.
	a := NewAggregate(AggregateConfig{Location: zone(t, testZone), Taxonomy: testTaxonomy(t), Horizon: 24 * time.Hour})
	_, contacts := dataset()
	applyAll(t, a, contacts[:7]...) // c1..c7
	c1 := contacts[0].(*pb.ContactTagged)
	if a.Stats().Remembered != 1 {
		t.Fatalf("remembered %d contacts, want only c7", a.Stats().Remembered)
	}
	r := days(t, "2026-11-01", "2026-11-01")
	before := a.Cost(r, CostByReason)
	moved, err := a.Relabel(relabeled(c1, "late_delivery"))
	if err != nil || !moved {
		t.Fatalf("moved %v, err %v", moved, err)
	}
	after := a.Pareto(r)
	if len(after.Reasons) != 2 || after.Contacts != 2 || after.Reasons[0].Reason != "late_delivery" && after.Reasons[1].Reason != "late_delivery" {
		t.Fatalf("after relabel: %+v (before %+v)", after.Reasons, before.Rows)
	}
	// A relabel of a contact that is not counted where it says is ignored.
	ghost := relabeled(c1, "late_delivery")
	ghost.Contact = proto.Clone(c1.Contact).(*pb.Contact)
	ghost.Contact.Id = "ghost"
	ghost.PreviousReason = "damaged_item"
	if moved, _ := a.Relabel(ghost); moved {
		t.Fatal("a relabel of an uncounted contact moved something")
	}
}

func TestDuplicateContactIsCountedOnce(t *testing.T) {
	a := NewAggregate(AggregateConfig{Location: time.UTC, Taxonomy: testTaxonomy(t)})
	ev := tagged(datasetContacts()[0])
	for i, want := range []bool{true, false, false} {
		counted, err := a.Tag(ev)
		if err != nil || counted != want {
			t.Fatalf("tag %d: counted %v, err %v; want %v", i, counted, err, want)
		}
	}
	if rep := a.Pareto(days(t, "2026-11-01", "2026-11-01")); rep.Contacts != 1 {
		t.Fatalf("%d contacts counted, want 1", rep.Contacts)
	}
}

func TestInvalidEvents(t *testing.T) {
	a := NewAggregate(AggregateConfig{Location: time.UTC, Taxonomy: testTaxonomy(t)})
	noTime := tagged(datasetContacts()[0])
	noTime.Contact.ReceivedAt = nil
	tests := []struct {
		name  string
		apply func() error
	}{
		{"tag without contact", func() error { _, err := a.Tag(&pb.ContactTagged{}); return err }},
		{"tag without time", func() error { _, err := a.Tag(noTime); return err }},
		{"relabel without tag", func() error {
			_, err := a.Relabel(&pb.ContactRelabeled{Contact: &pb.Contact{Id: "x"}})
			return err
		}},
		{"order without order", func() error { return a.Order(&pb.OrderCreated{}) }},
		{"order without time", func() error { return a.Order(&pb.OrderCreated{Order: &pb.Order{OrderId: "x"}}) }},
		{"units named order", func() error {
			return a.Units(&pb.UnitsRecorded{Unit: "order", Counts: []*pb.UnitCount{{Day: "2026-11-01", Count: 1}}})
		}},
		{"units with a bad day", func() error {
			return a.Units(&pb.UnitsRecorded{Unit: "shipments", Counts: []*pb.UnitCount{{Day: "2026-11-01", Count: 1}, {Day: "1 Nov", Count: 1}}})
		}},
		{"negative units", func() error {
			return a.Units(&pb.UnitsRecorded{Unit: "shipments", Counts: []*pb.UnitCount{{Day: "2026-11-01", Count: -1}}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.apply(); !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("got %v, want ErrInvalidEvent", err)
			}
		})
	}
	if a.HasUnit("shipments") {
		t.Error("an invalid units event recorded something")
	}
}

func TestUnitsReplaceTheirDay(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	applyAll(t, a,
		&pb.UnitsRecorded{Unit: "shipments", Counts: []*pb.UnitCount{{Day: "2026-11-01", Count: 10}, {Day: "2026-11-02", Count: 4}}},
		&pb.UnitsRecorded{Unit: "shipments", Counts: []*pb.UnitCount{{Day: "2026-11-02", Count: 5}, {Day: "2026-11-03", Count: 5}}},
	)
	rep := a.CPX(CPXQuery{Unit: "shipments", Interval: IntervalDay, Range: days(t, "2026-11-01", "2026-11-03")})
	checkPoints(t, "shipments", rep.Overall.Points, []wantPoint{
		{"2026-11-01", 2, 10, f64(0.2)}, {"2026-11-02", 2, 5, f64(0.4)}, {"2026-11-03", 2, 5, f64(0.4)},
	})
}

func TestParetoMatrixCost(t *testing.T) {
	r := Range{}
	t.Run("pareto", func(t *testing.T) {
		a := datasetAggregate(t, testZone, 0)
		r = days(t, "2026-11-01", "2026-11-03")
		rep := a.Pareto(r)
		want := []struct {
			reason     string
			contacts   int64
			share, cum float64
			cost       float64
			vital      bool
		}{
			{"where_is_my_order", 3, 0.5, 0.5, 12, true},
			{"late_delivery", 1, 1.0 / 6, 4.0 / 6, 4, true},
			{"payment_failed", 1, 1.0 / 6, 5.0 / 6, 6, true},
			{"product_quality", 1, 1.0 / 6, 1, 4, false},
		}
		if rep.Contacts != 6 || !near(rep.Cost, 26) || len(rep.Reasons) != len(want) {
			t.Fatalf("pareto %+v", rep)
		}
		for i, w := range want {
			g := rep.Reasons[i]
			if g.Reason != w.reason || g.Contacts != w.contacts || !near(g.Share, w.share) || !near(g.CumulativeShare, w.cum) || !near(g.Cost, w.cost) || g.VitalFew != w.vital {
				t.Errorf("row %d: %+v, want %+v", i, g, w)
			}
		}
	})
	t.Run("matrix", func(t *testing.T) {
		a := datasetAggregate(t, testZone, 0)
		rep := a.Matrix(days(t, "2026-11-01", "2026-11-03"), UnitOrder)
		want := map[string]struct {
			contacts int64
			reasons  []string
		}{
			"eliminate": {4, []string{"where_is_my_order", "late_delivery"}},
			"automate":  {1, []string{"payment_failed"}},
			"simplify":  {1, []string{"product_quality"}},
			"leverage":  {0, nil},
		}
		if rep.Units != 8 || rep.Contacts != 6 || len(rep.Quadrants) != 4 || len(rep.Unplaced) != 0 {
			t.Fatalf("matrix %+v", rep)
		}
		for _, q := range rep.Quadrants {
			w := want[q.Action]
			if q.Contacts != w.contacts || !sameRatio(q.CPX, f64(float64(w.contacts)/8)) || len(q.Reasons) != len(w.reasons) {
				t.Errorf("%s: %+v, want %+v", q.Action, q, w)
				continue
			}
			for i, r := range q.Reasons {
				if r.Reason != w.reasons[i] || r.Action != q.Action {
					t.Errorf("%s reason %d: %+v", q.Action, i, r)
				}
			}
		}
	})
	tests := []struct {
		name          string
		by            string
		costPerMinute float64
		want          map[string]float64
		total         float64
	}{
		{"owner", CostByOwner, 0, map[string]float64{"logistics": 16, "payments": 6, "quality": 4}, 26},
		{"reason", CostByReason, 0, map[string]float64{"where_is_my_order": 12, "late_delivery": 4, "payment_failed": 6, "product_quality": 4}, 26},
		// 1 per minute: c1 (300s, phone) costs 5 instead of 6, c4 (600s,
		// phone) 10 instead of 6.
		{"owner by handle time", CostByOwner, 1, map[string]float64{"logistics": 15, "payments": 10, "quality": 4}, 29},
	}
	for _, tt := range tests {
		t.Run("cost "+tt.name, func(t *testing.T) {
			a := datasetAggregate(t, testZone, tt.costPerMinute)
			rep := a.Cost(days(t, "2026-11-01", "2026-11-03"), tt.by)
			if !near(rep.Cost, tt.total) || rep.Contacts != 6 || len(rep.Rows) != len(tt.want) {
				t.Fatalf("cost %+v", rep)
			}
			for _, row := range rep.Rows {
				if !near(row.Cost, tt.want[row.Key]) || !near(row.Share, tt.want[row.Key]/tt.total) {
					t.Errorf("%s: cost %v share %v, want %v", row.Key, row.Cost, row.Share, tt.want[row.Key])
				}
			}
			if rep.Rows[0].Cost < rep.Rows[len(rep.Rows)-1].Cost {
				t.Error("rows are not most expensive first")
			}
		})
	}
}

func TestRepeatWindows(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	tests := []struct {
		name          string
		from, to      string
		hours         int
		contacts      int64
		repeats       int64
		reasonRepeats int64
	}{
		// c3 repeats c1 after 14.5h (rounded up: 15h).
		{"7d over 1-3 Nov", "2026-11-01", "2026-11-03", 168, 6, 1, 1},
		{"15h", "2026-11-01", "2026-11-03", 15, 6, 1, 1},
		{"14h", "2026-11-01", "2026-11-03", 14, 6, 0, 0},
		// c7 comes 178.5h after c3: a repeat within 8 days, not 7.
		{"7d over 1-9 Nov", "2026-11-01", "2026-11-09", 168, 7, 1, 1},
		{"8d over 1-9 Nov", "2026-11-01", "2026-11-09", 192, 7, 2, 2},
		{"8d on 9 Nov only", "2026-11-09", "2026-11-09", 192, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := a.Repeat(days(t, tt.from, tt.to), tt.hours)
			if rep.Overall.Contacts != tt.contacts || rep.Overall.Repeats != tt.repeats ||
				!sameRatio(rep.Overall.Rate, f64(float64(tt.repeats)/float64(tt.contacts))) {
				t.Fatalf("overall %+v rate %v", rep.Overall, deref(rep.Overall.Rate))
			}
			if w := rep.Reasons[0]; tt.reasonRepeats > 0 && (w.Reason != "where_is_my_order" || w.Repeats != tt.reasonRepeats) {
				t.Fatalf("reasons %+v", rep.Reasons)
			}
		})
	}
}

func TestRepeatMatchesOrderWhenKnown(t *testing.T) {
	a := NewAggregate(AggregateConfig{Location: time.UTC, Taxonomy: testTaxonomy(t)})
	c := func(id, at, order string) *pb.ContactTagged {
		return tagged(contactSpec{id: id, at: at, channel: "email", reason: "refund_status", customer: "u9", order: order})
	}
	applyAll(t, a,
		c("r1", "2026-11-01T00:00:00Z", "A"),
		c("r2", "2026-11-01T01:00:00Z", "B"), // another order: not a repeat
		c("r3", "2026-11-01T02:00:00Z", ""),  // no order: repeats any (r2)
		c("r4", "2026-11-01T03:00:00Z", "C"), // order C: repeats r3, which named none
		c("r5", "2026-11-01T04:00:00Z", "A"), // order A: repeats r1 (A) and r3 (none)
		c("r6", "2026-11-20T04:00:00Z", "A"), // 19 days later: beyond 7d
		tagged(contactSpec{id: "r7", at: "2026-11-20T05:00:00Z", channel: "email", reason: "refund_status", order: "A"}), // no customer
	)
	rep := a.Repeat(days(t, "2026-11-01", "2026-11-30"), 168)
	if rep.Overall.Contacts != 7 || rep.Overall.Repeats != 3 {
		t.Fatalf("repeats %+v, want 3 of 7 (r3, r4, r5)", rep.Overall)
	}
	if rep = a.Repeat(days(t, "2026-11-01", "2026-11-30"), 30*24); rep.Overall.Repeats != 4 {
		t.Fatalf("30d repeats %d, want 4 (r6 too)", rep.Overall.Repeats)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	a := datasetAggregate(t, testZone, 0)
	a.SetCursor(Cursor{Contacts: 42, Orders: 7})
	data, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := NewAggregate(a.cfg)
	if err := b.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if b.Cursor() != a.Cursor() || b.Stats() != a.Stats() {
		t.Fatalf("cursor %+v stats %+v, want %+v %+v", b.Cursor(), b.Stats(), a.Cursor(), a.Stats())
	}
	r := days(t, "2026-10-01", "2026-11-30")
	for _, by := range []string{ByReason, ByChannel, ByProduct, ByLocale} {
		q := CPXQuery{Unit: UnitOrder, Interval: IntervalDay, By: by, Range: r}
		if !sameJSON(t, a.CPX(q), b.CPX(q)) {
			t.Errorf("by %s differs after the round trip", by)
		}
	}
	if !sameJSON(t, a.Repeat(r, 192), b.Repeat(r, 192)) || !sameJSON(t, a.Cost(r, CostByOwner), b.Cost(r, CostByOwner)) {
		t.Error("repeat or cost differ after the round trip")
	}
	// The state after the round trip still rejects duplicates and moves
	// relabels exactly.
	_, contacts := dataset()
	if counted, _ := b.Tag(contacts[1].(*pb.ContactTagged)); counted {
		t.Error("a duplicate was counted after the round trip")
	}
	data2, _ := b.MarshalBinary()
	if len(data2) != len(data) {
		t.Errorf("re-encoded snapshot is %d bytes, first %d", len(data2), len(data))
	}

	t.Run("other time zone", func(t *testing.T) {
		c := NewAggregate(AggregateConfig{Location: time.UTC, Taxonomy: testTaxonomy(t)})
		if err := c.UnmarshalBinary(data); !errors.Is(err, ErrSnapshot) {
			t.Fatalf("got %v, want ErrSnapshot", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		for _, cut := range []int{0, 3, len(snapshotMagic) + 2, len(data) / 2, len(data) - 1} {
			c := NewAggregate(a.cfg)
			if err := c.UnmarshalBinary(data[:cut]); !errors.Is(err, ErrSnapshot) {
				t.Fatalf("cut at %d: got %v, want ErrSnapshot", cut, err)
			}
		}
		bad := bytes.Clone(data)
		bad[len(bad)-3] ^= 0xff
		c := NewAggregate(a.cfg)
		_ = c.UnmarshalBinary(bad) // must not panic; the content may or may not parse
	})
}

func TestDayOf(t *testing.T) {
	tests := []struct {
		at, zone, want string
	}{
		{"2026-11-01T15:59:59Z", testZone, "2026-11-01"},
		{"2026-11-01T16:00:00Z", testZone, "2026-11-02"},
		{"2026-11-01T03:59:59Z", "America/New_York", "2026-10-31"}, // EDT ends 1 Nov 06:00Z
		{"2026-11-01T04:00:00Z", "America/New_York", "2026-11-01"},
		{"2026-11-02T04:59:59Z", "America/New_York", "2026-11-01"}, // EST, UTC-5
		{"1969-12-31T23:00:00Z", "UTC", "1969-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.at+" "+tt.zone, func(t *testing.T) {
			got := DayOf(ts(tt.at).AsTime(), zone(t, tt.zone)).String()
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDayStringMatchesTheCalendar(t *testing.T) {
	for d := Day(-719468); d < 2932897; d += 97 { // 0000-03-01 to 9999-12-31
		if got, want := d.String(), d.Time().Format(time.DateOnly); got != want {
			t.Fatalf("day %d: %s, want %s", d, got, want)
		}
		back, err := ParseDay(d.String())
		if d >= 0 && d.Time().Year() <= 2200 && (err != nil || back != d) {
			t.Fatalf("day %d: parsed back as %d, %v", d, back, err)
		}
	}
}
