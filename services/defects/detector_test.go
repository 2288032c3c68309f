package defects

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/taxonomy"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func testTaxonomy(t testing.TB) *taxonomy.Taxonomy {
	t.Helper()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

// literal is the twice rule without a baseline: any second customer within
// the window opens a defect.
func literal() DetectorConfig { return DetectorConfig{Alpha: 1} }

func newTestDetector(t testing.TB, cfg DetectorConfig) *Detector {
	t.Helper()
	d, err := NewDetector(cfg, testTaxonomy(t), func() time.Time { return t0.Add(2 * time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// contact builds a damaged-item contact about a product.
func contact(id, customer, order, product string, at time.Time) Contact {
	return Contact{
		ID: id, ExternalID: "ext-" + id, CustomerID: customer, OrderID: order, Reason: "damaged_item", Channel: "email",
		Product: product, Text: "The " + product + " arrived broken.", ReceivedAt: at,
	}
}

func opened(events []Event) []string {
	var out []string
	for _, e := range events {
		if e.Type == EventOpened {
			out = append(out, e.DefectID)
		}
	}
	return out
}

// restart writes d's snapshot and reads it into fresh, as a restarted
// service does, and returns fresh.
func restart(t *testing.T, d, fresh *Detector) *Detector {
	t.Helper()
	var buf bytes.Buffer
	if err := d.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if err := fresh.ReadSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return fresh
}

func feed(d *Detector, cs ...Contact) []Event {
	var out []Event
	for _, c := range cs {
		out = append(out, d.Observe(c)...)
	}
	return out
}

func TestTwiceRule(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name     string
		contacts []Contact
		// want lists the kinds of the defects that open, in order.
		want []string
	}{
		{"two customers, same subject", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)),
		}, []string{KindSubject}},
		{"two customers, different subjects", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "VASE", t0.Add(time.Hour)),
		}, nil},
		{"same customer and order twice is rework, not a cross-customer defect", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "alice", "o1", "MUG", t0.Add(time.Hour)),
		}, []string{KindRework}},
		{"same customer, another order: neither", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "alice", "o2", "MUG", t0.Add(time.Hour)),
		}, nil},
		{"repeat after the repeat window is no rework", []Contact{
			contact("c1", "alice", "o1", "VASE", t0), contact("c2", "alice", "o1", "LAMP", t0.Add(7*day+time.Minute)),
		}, nil},
		{"second customer just inside the window", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(30*day-time.Second)),
		}, []string{KindSubject}},
		{"second customer just outside the window", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(30*day+time.Second)),
		}, nil},
		{"the third occurrence attaches, it opens nothing new", []Contact{
			contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)),
			contact("c3", "carol", "o3", "MUG", t0.Add(2*time.Hour)),
		}, []string{KindSubject}},
		{"unclassified never makes a defect", []Contact{
			{ID: "c1", CustomerID: "alice", Reason: "unclassified", Text: "hello hello hello hello", ReceivedAt: t0},
			{ID: "c2", CustomerID: "bob", Reason: "unclassified", Text: "hello hello hello hello", ReceivedAt: t0.Add(time.Minute)},
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDetector(t, literal())
			var kinds []string
			for _, id := range opened(feed(d, c.contacts...)) {
				def, _ := d.Get(id)
				kinds = append(kinds, def.Kind)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(c.want) {
				t.Fatalf("opened %v, want %v", kinds, c.want)
			}
		})
	}
}

func TestDefectRecord(t *testing.T) {
	d := newTestDetector(t, literal())
	ev := feed(d,
		contact("c1", "alice", "o1", "MUG", t0),
		contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)),
		contact("c3", "bob", "o2", "MUG", t0.Add(2*time.Hour)), // bob again: a repeat too
	)
	ids := opened(ev)
	if len(ids) != 2 {
		t.Fatalf("want a subject and a rework defect, got %v", ids)
	}
	def, _ := d.Get(ids[0])
	if def.Title != "Damaged item: product MUG" || def.Owner != "warehouse" || def.Status != StatusOpen {
		t.Errorf("title %q owner %q status %q", def.Title, def.Owner, def.Status)
	}
	if def.Occurrences != 3 || def.Customers != 2 || def.Orders != 2 {
		t.Errorf("occurrences %d customers %d orders %d, want 3, 2, 2", def.Occurrences, def.Customers, def.Orders)
	}
	if !def.FirstSeen.Equal(t0) || !def.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("first %s last %s", def.FirstSeen, def.LastSeen)
	}
	if def.EstimatedCost != 12 { // three e-mails at 4.0
		t.Errorf("estimated cost %v, want 12", def.EstimatedCost)
	}
	if len(def.Evidence) != 3 || def.Evidence[0].ContactID != "c1" || !strings.Contains(def.Evidence[0].Text, "MUG") {
		t.Errorf("evidence %+v", def.Evidence)
	}
	if def.BIV != taxonomy.BIVBreakdown {
		t.Errorf("biv %q, want breakdown (the reason's default, and 'broken' says so too)", def.BIV)
	}
	rw, _ := d.Get(ids[1])
	if rw.Kind != KindRework || rw.BIV != taxonomy.BIVRework || rw.Occurrences != 2 || rw.Evidence[1].RepeatOf != "c2" {
		t.Errorf("rework defect %+v", rw)
	}
	if again := defectID(t0.Add(time.Hour).Unix(), def.Signature, "c2"); again != def.ID {
		t.Errorf("id %s is not derived from time, signature and opening contact (%s)", def.ID, again)
	}
}

func TestBIVCues(t *testing.T) {
	m := newCueMatcher()
	cases := []struct {
		text string
		want string
	}{
		{"I'm contacting you again about this", taxonomy.BIVRework},
		{"It is still not here", taxonomy.BIVRework},
		{"我又来问了", taxonomy.BIVRework},
		{"The handle is broken", taxonomy.BIVBreakdown},
		{"The app shows an error", taxonomy.BIVBreakdown},
		{"杯子坏了", taxonomy.BIVBreakdown},
		{"支付错误", taxonomy.BIVBreakdown},
		{"You sent the wrong size", taxonomy.BIVMistake},
		{"The invoice is incorrect", taxonomy.BIVMistake},
		{"发错货了", taxonomy.BIVMistake},
		{"Delivery is so slow", taxonomy.BIVInefficiency},
		{"I have been waiting for a week", taxonomy.BIVInefficiency},
		{"物流太慢", taxonomy.BIVInefficiency},
		{"Sometimes it works", taxonomy.BIVVariation},
		{"Each agent gives a different answer", taxonomy.BIVVariation},
		{"有时候可以有时候不行", taxonomy.BIVVariation},
		{"Thank you for the quick help", ""},
	}
	for _, c := range cases {
		got := m.Match(c.text)
		var kinds []string
		for k, on := range got {
			if on {
				kinds = append(kinds, bivKinds[k])
			}
		}
		if c.want == "" {
			if len(kinds) != 0 {
				t.Errorf("%q: cues %v, want none", c.text, kinds)
			}
			continue
		}
		if len(kinds) != 1 || kinds[0] != c.want {
			t.Errorf("%q: cues %v, want [%s]", c.text, kinds, c.want)
		}
	}
	// A defect takes the kind most of its contacts say, else the reason's.
	if k := refineBIV("variation", [5]int32{0, 3, 0, 0, 0}, 4, 0.4); k != taxonomy.BIVRework {
		t.Errorf("3 of 4 say again: %s", k)
	}
	if k := refineBIV("variation", [5]int32{0, 1, 0, 0, 0}, 4, 0.4); k != "variation" {
		t.Errorf("1 of 4 says again: %s", k)
	}
}

func TestTextClusters(t *testing.T) {
	cases := []struct {
		name  string
		texts [2]string
		open  bool
	}{
		{"near-identical English", [2]string{
			"I cannot download the invoice for my order, the download button on the invoice page does nothing",
			"i cannot download the invoice for my order. the download button on the invoice page does nothing!!",
		}, true},
		{"same reason, different wording", [2]string{
			"I cannot download the invoice for my order, the download button on the invoice page does nothing",
			"Please send me a VAT receipt with my company name for last month",
		}, false},
		{"near-identical Chinese", [2]string{
			"发票下载按钮点了没有反应，订单页面的发票一直下载不了",
			"发票下载按钮点了没有反应，订单页面的发票一直下载不了！！",
		}, true},
		{"different Chinese", [2]string{
			"发票下载按钮点了没有反应，订单页面的发票一直下载不了",
			"请帮我开一张公司抬头的增值税发票",
		}, false},
		{"too short to say", [2]string{"invoice?", "invoice?"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDetector(t, literal())
			ev := feed(d,
				Contact{ID: "c1", CustomerID: "alice", Reason: "invoice", Text: c.texts[0], ReceivedAt: t0},
				Contact{ID: "c2", CustomerID: "bob", Reason: "invoice", Text: c.texts[1], ReceivedAt: t0.Add(time.Hour)},
			)
			ids := opened(ev)
			if (len(ids) == 1) != c.open {
				t.Fatalf("opened %v, want open=%v", ids, c.open)
			}
			if c.open {
				def, _ := d.Get(ids[0])
				if def.Kind != KindText || len(def.Terms) == 0 || !strings.HasPrefix(def.Title, "Invoice and receipt: \"") {
					t.Errorf("text defect %q kind %s terms %v", def.Title, def.Kind, def.Terms)
				}
			}
		})
	}
}

func TestRelabelMovesOccurrence(t *testing.T) {
	d := newTestDetector(t, literal())
	ids := opened(feed(d,
		contact("c1", "alice", "o1", "MUG", t0),
		contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)),
		contact("c3", "carol", "o3", "MUG", t0.Add(2*time.Hour)),
	))
	if len(ids) != 1 {
		t.Fatalf("opened %v", ids)
	}
	moved := contact("c3", "carol", "o3", "MUG", t0.Add(2*time.Hour))
	moved.Reason = "wrong_or_missing_item"
	d.Relabel(moved)
	def, _ := d.Get(ids[0])
	if def.Occurrences != 2 || def.Customers != 2 {
		t.Fatalf("after the relabel the defect has %d occurrences from %d customers, want 2 from 2", def.Occurrences, def.Customers)
	}
	for _, e := range def.Evidence {
		if e.ContactID == "c3" {
			t.Fatal("the relabeled contact is still evidence")
		}
	}
	// Under its new reason it counts: a second customer there opens one.
	other := contact("c4", "dave", "o4", "MUG", t0.Add(3*time.Hour))
	other.Reason = "wrong_or_missing_item"
	got := opened(d.Observe(other))
	if len(got) != 1 {
		t.Fatalf("the moved contact did not count under its new reason: %v", got)
	}
	if def2, _ := d.Get(got[0]); def2.Reason != "wrong_or_missing_item" || def2.Customers != 2 {
		t.Errorf("new defect %+v", def2)
	}
	// Relabel to the same reason again changes nothing.
	if ev := d.Relabel(other); len(ev) != 0 {
		t.Errorf("relabel to the same reason: %v", ev)
	}
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	d := newTestDetector(t, literal())
	c1, c2 := contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour))
	ids := opened(feed(d, c1, c2))
	if ev := feed(d, c1, c2, c2); len(ev) != 0 {
		t.Fatalf("seen contacts again gave events %v", ev)
	}
	def, _ := d.Get(ids[0])
	if def.Occurrences != 2 {
		t.Fatalf("occurrences %d after redelivery, want 2", def.Occurrences)
	}
}

func TestLifecycleTransitions(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		path    []string // statuses set before the last one
		patch   Patch
		wantErr error
		field   string
		msg     string
	}{
		{nil, Patch{Status: str(StatusAcknowledged)}, nil, "", ""},
		{nil, Patch{Status: str(StatusFixing)}, nil, "", ""},
		{nil, Patch{Status: str(StatusFixed)}, nil, "", ""},
		{nil, Patch{Status: str(StatusWontfix), Reason: str("supplier change next quarter")}, nil, "", ""},
		{nil, Patch{Status: str(StatusWontfix)}, ErrInvalidPatch, "reason", "wontfix needs a reason"},
		{nil, Patch{Status: str(StatusVerified)}, ErrInvalidTransition, "", "cannot go from open to verified: verified is decided by the data"},
		{nil, Patch{Status: str("closed")}, ErrInvalidPatch, "status", "unknown status"},
		{[]string{StatusFixing}, Patch{Status: str(StatusAcknowledged)}, ErrInvalidTransition, "", "cannot go from fixing to acknowledged"},
		{[]string{StatusFixed}, Patch{Status: str(StatusOpen)}, nil, "", ""},
		{[]string{StatusFixed}, Patch{Status: str(StatusFixing)}, ErrInvalidTransition, "", "cannot go from fixed to fixing"},
		{[]string{StatusWontfix}, Patch{Status: str(StatusOpen)}, nil, "", ""},
		{nil, Patch{Owner: str("nobody")}, ErrInvalidPatch, "owner", "unknown owner"},
		{nil, Patch{Owner: str("logistics"), Note: str("carrier informed"), PublicNotice: str("Some mugs arrive broken; we are on it.")}, nil, "", ""},
		{nil, Patch{Reason: str("because")}, ErrInvalidPatch, "reason", "reason goes with status wontfix only"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			d := newTestDetector(t, literal())
			id := opened(feed(d, contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour))))[0]
			for _, st := range c.path {
				p := Patch{Status: &st}
				if st == StatusWontfix {
					p.Reason = str("not worth it")
				}
				if _, err := d.Patch(id, p, "ops"); err != nil {
					t.Fatalf("set up %s: %v", st, err)
				}
			}
			before, _ := d.Get(id)
			_, err := d.Patch(id, c.patch, "ops-lead")
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if err != nil {
				var pe *PatchError
				if c.field != "" && (!errors.As(err, &pe) || pe.Field != c.field) {
					t.Errorf("error %v names no field %q", err, c.field)
				}
				if !strings.Contains(err.Error(), c.msg) {
					t.Errorf("error %q does not say %q", err, c.msg)
				}
				after, _ := d.Get(id)
				if after.Revision != before.Revision || len(after.History) != len(before.History) {
					t.Error("a refused change changed the defect")
				}
				return
			}
			after, _ := d.Get(id)
			last := after.History[len(after.History)-1]
			if last.Actor != "ops-lead" || last.At.IsZero() {
				t.Errorf("history entry %+v has no actor or time", last)
			}
			if c.patch.Status != nil && after.Status != *c.patch.Status {
				t.Errorf("status %s, want %s", after.Status, *c.patch.Status)
			}
		})
	}
}

// background feeds one contact of another reason every hour from start
// until end, to move event time on.
func background(d *Detector, start, end time.Time) {
	i := 0
	for at := start; at.Before(end); at = at.Add(time.Hour) {
		i++
		d.Observe(Contact{ID: fmt.Sprint("bg-", at.Unix()), CustomerID: fmt.Sprint("bg-", i), Reason: "where_is_my_order", Text: "where is it", ReceivedAt: at})
	}
}

func TestVerifiedByData(t *testing.T) {
	d := newTestDetector(t, literal())
	var cs []Contact
	for i := range 10 {
		cs = append(cs, contact(fmt.Sprint("c", i), fmt.Sprint("cust", i), fmt.Sprint("o", i), "MUG", t0.Add(time.Duration(i)*2*time.Hour)))
	}
	id := opened(feed(d, cs...))[0]
	for day := -1; day < 40; day++ {
		for range 100 {
			d.CountOrder(t0.AddDate(0, 0, day))
		}
	}
	fixed := t0.Add(24 * time.Hour)
	st := StatusFixed
	if _, err := d.Patch(id, Patch{Status: &st, FixedAt: &fixed}, "ops"); err != nil {
		t.Fatal(err)
	}
	// One straggler after the fix is the residual, not a recurrence.
	feed(d, contact("late", "zed", "o99", "MUG", fixed.Add(5*24*time.Hour)))
	background(d, fixed, fixed.Add(13*24*time.Hour))
	d.Verify()
	if def, _ := d.Get(id); def.Status != StatusFixed {
		t.Fatalf("status %s before the verification window ended", def.Status)
	}
	background(d, fixed.Add(13*24*time.Hour), fixed.Add(14*24*time.Hour+2*time.Hour))
	d.Verify()
	def, _ := d.Get(id)
	if def.Status != StatusVerified || def.Verification == nil {
		t.Fatalf("status %s, verification %+v", def.Status, def.Verification)
	}
	v := def.Verification
	if v.Unit != "order" || v.OccurrencesAfter != 1 || v.UnitsAfter != 1400 {
		t.Errorf("verification %+v", v)
	}
	// 10 contacts over the day of 100 orders before, 1 in 1,400 orders after.
	if v.RateBefore < 0.09 || v.RateBefore > 0.11 || v.ContactsAvoided < 130 || v.ContactsAvoided > 142 {
		t.Errorf("rate before %g, contacts avoided %g", v.RateBefore, v.ContactsAvoided)
	}
	if last := def.History[len(def.History)-1]; last.Action != ActionVerified || last.Actor != ActorDetector {
		t.Errorf("last history entry %+v", last)
	}
	cpx, _ := d.CPXOf(id)
	if cpx.Subject["after"] == nil || cpx.Subject["during"].Contacts != 10 || cpx.Reason["during"].Unit != "order" {
		t.Errorf("cpx %+v", cpx)
	}
}

func TestRecurrenceReopensAndPullsAndon(t *testing.T) {
	d := newTestDetector(t, literal())
	id := opened(feed(d, contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour))))[0]
	st := StatusFixed
	fixed := t0.Add(2 * time.Hour)
	if _, err := d.Patch(id, Patch{Status: &st, FixedAt: &fixed}, "ops"); err != nil {
		t.Fatal(err)
	}
	ev := feed(d, contact("c3", "carol", "o3", "MUG", t0.Add(3*time.Hour)), contact("c4", "dave", "o4", "MUG", t0.Add(4*time.Hour)))
	var andon, reopened bool
	for _, e := range ev {
		andon = andon || e.Type == EventAndon
		reopened = reopened || e.Reopened
	}
	def, _ := d.Get(id)
	if !reopened || !andon || def.Status != StatusOpen || def.Reopened != 1 || def.Andon == nil || def.Andon.Cause != "recurrence" {
		t.Fatalf("reopened %v andon %v status %s andon %+v", reopened, andon, def.Status, def.Andon)
	}
	// Taking the cord (acknowledging) clears it.
	ack := StatusAcknowledged
	if _, err := d.Patch(id, Patch{Status: &ack}, "ops"); err != nil {
		t.Fatal(err)
	}
	if def, _ := d.Get(id); def.Andon.Active {
		t.Error("andon still active after acknowledgement")
	}
	if s := d.Summarize(); len(s.Andons) != 0 {
		t.Errorf("active andons %v", s.Andons)
	}
}

func TestAndonSpike(t *testing.T) {
	cfg := literal()
	cfg.AndonPerHour = 4
	d := newTestDetector(t, cfg)
	var pulled []Event
	for i := range 6 {
		for _, e := range d.Observe(contact(fmt.Sprint("c", i), fmt.Sprint("cust", i), fmt.Sprint("o", i), "MUG", t0.Add(time.Duration(i)*10*time.Minute))) {
			if e.Type == EventAndon {
				pulled = append(pulled, e)
			}
		}
	}
	if len(pulled) != 1 {
		t.Fatalf("andon pulled %d times, want once (at the 4th contact within the hour)", len(pulled))
	}
	def, _ := d.Get(pulled[0].DefectID)
	if def.Andon.Cause != "spike" || def.Andon.LastHour != 4 {
		t.Errorf("andon %+v", def.Andon)
	}
	s := d.Summarize()
	if len(s.Andons) != 1 || s.Andons[0].Owner != "warehouse" {
		t.Errorf("summary andons %+v", s.Andons)
	}

	// The same spike arriving months late is written down, not pulled.
	late, err := NewDetector(cfg, testTaxonomy(t), func() time.Time { return t0.AddDate(0, 3, 0) })
	if err != nil {
		t.Fatal(err)
	}
	var ev []Event
	for i := range 6 {
		ev = append(ev, late.Observe(contact(fmt.Sprint("c", i), fmt.Sprint("cust", i), fmt.Sprint("o", i), "MUG", t0.Add(time.Duration(i)*10*time.Minute)))...)
	}
	for _, e := range ev {
		if e.Type == EventAndon {
			t.Fatal("a spike from three months ago pulled the andon")
		}
	}
	if s := late.Summarize(); len(s.Andons) != 0 {
		t.Errorf("active andons for past contacts: %+v", s.Andons)
	}
	def, _ = late.Get(opened(ev)[0])
	if n := strings.Count(fmt.Sprint(def.History), "recorded, not pulled"); n != 1 {
		t.Errorf("history records the past spike %d times, want once", n)
	}
}

// TestBaselineKeepsEverydayQuiet: with the default significance a product
// that every day has a few damaged-item contacts is no defect, while a
// burst on a product that had none is.
func TestBaselineKeepsEverydayQuiet(t *testing.T) {
	d := newTestDetector(t, DetectorConfig{})
	n := 0
	next := func(product string, at time.Time) Contact {
		n++
		return contact(fmt.Sprint("c", n), fmt.Sprint("cust", n), fmt.Sprint("o", n), product, at)
	}
	start := t0.Add(-21 * 24 * time.Hour)
	var everyday []string
	for day := range 21 {
		for h := 0; h < 24; h += 3 {
			at := start.Add(time.Duration(day*24+h) * time.Hour)
			for _, p := range []string{"MUG", "VASE", "LAMP"} {
				everyday = append(everyday, opened(d.Observe(next(p, at.Add(time.Duration(len(p))*time.Minute))))...)
			}
			d.Observe(Contact{ID: fmt.Sprint("w", n), CustomerID: fmt.Sprint("w", n), Reason: "where_is_my_order", Text: "where is it", ReceivedAt: at})
			n++
		}
	}
	for _, id := range everyday {
		if def, _ := d.Get(id); def.Kind == KindSubject {
			t.Errorf("everyday contacts opened %q", def.Title)
		}
	}
	var burst []string
	for i := range 5 {
		burst = append(burst, opened(d.Observe(next("KETTLE", t0.Add(time.Duration(i)*20*time.Minute))))...)
	}
	if len(burst) != 1 {
		t.Fatalf("a burst on a new product opened %v", burst)
	}
	def, _ := d.Get(burst[0])
	if def.Subject["product"] != "KETTLE" || def.BaselinePerDay != 0 {
		t.Errorf("opened %q baseline %v", def.Title, def.BaselinePerDay)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	build := func() *Detector { return newTestDetector(t, literal()) }
	first := []Contact{
		contact("c1", "alice", "o1", "MUG", t0), contact("c2", "bob", "o2", "MUG", t0.Add(time.Hour)),
		contact("c3", "bob", "o2", "VASE", t0.Add(2*time.Hour)),
		{ID: "t1", CustomerID: "x", Reason: "invoice", Text: "the invoice download button does nothing at all today", ReceivedAt: t0},
	}
	second := []Contact{
		contact("c4", "carol", "o4", "VASE", t0.Add(3*time.Hour)),
		contact("c5", "dave", "o5", "MUG", t0.Add(4*time.Hour)),
		{ID: "t2", CustomerID: "y", Reason: "invoice", Text: "the invoice download button does nothing at all today!", ReceivedAt: t0.Add(time.Hour)},
	}
	straight := build()
	feed(straight, first...)
	straight.SetCovered("contacts", 42)
	restored := restart(t, straight, build())
	if restored.Covered("contacts") != 42 {
		t.Errorf("covered %d", restored.Covered("contacts"))
	}
	a, b := feed(straight, second...), feed(restored, second...)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("after a snapshot the detector decides differently:\n%v\n%v", a, b)
	}
	la, lb := straight.List(Filter{}), restored.List(Filter{})
	// MUG, VASE, bob's rework (o2 twice) and the invoice wording.
	if len(la) != len(lb) || len(la) != 4 {
		t.Fatalf("%d and %d defects, want 4", len(la), len(lb))
	}
	for i := range la {
		if la[i].ID != lb[i].ID || la[i].Occurrences != lb[i].Occurrences || la[i].Customers != lb[i].Customers {
			t.Errorf("defect %d differs: %+v vs %+v", i, la[i], lb[i])
		}
	}
}

func TestLateContactsDoNotCount(t *testing.T) {
	d := newTestDetector(t, literal())
	feed(d, contact("now", "zed", "o0", "LAMP", t0))
	// Two customers about the same product, but 40 days before the latest
	// contact: history arriving late opens nothing.
	ev := feed(d, contact("c1", "alice", "o1", "MUG", t0.AddDate(0, 0, -40)), contact("c2", "bob", "o2", "MUG", t0.AddDate(0, 0, -40).Add(time.Hour)))
	if ids := opened(ev); len(ids) != 0 {
		t.Fatalf("late contacts opened %v", ids)
	}
}

// TestDefectConcentration: a defect reports the subject keys, other than
// its own, on which most of its contacts share one value; a relabel takes
// a contact out, and a restart keeps the counts.
func TestDefectConcentration(t *testing.T) {
	d := newTestDetector(t, literal())
	mk := func(id, customer, carrier string, h int) Contact {
		c := contact(id, customer, "o-"+id, "MUG", t0.Add(time.Duration(h)*time.Hour))
		c.Metadata = map[string]string{"carrier": carrier}
		return c
	}
	// The first two differ in carrier, so the defect is the product's.
	ids := opened(feed(d, mk("c1", "alice", "SwiftShip", 0), mk("c2", "bob", "Parcelo", 1)))
	if len(ids) != 1 {
		t.Fatalf("opened %v", ids)
	}
	feed(d, mk("c3", "carol", "SwiftShip", 2), mk("c4", "dave", "SwiftShip", 3), mk("c5", "erin", "SwiftShip", 4))
	def, _ := d.Get(ids[0])
	if def.Subject["product"] != "MUG" || def.Subject["carrier"] != "" {
		t.Fatalf("defect subject %v, want the product alone", def.Subject)
	}
	want := []Concentration{{Key: "carrier", Value: "SwiftShip", Occurrences: 4, Share: 0.8}}
	if !reflect.DeepEqual(def.Concentration, want) {
		t.Fatalf("concentration %+v, want %+v", def.Concentration, want)
	}
	moved := mk("c5", "erin", "SwiftShip", 4)
	moved.Reason = "wrong_or_missing_item"
	d.Relabel(moved)
	def, _ = d.Get(ids[0])
	want = []Concentration{{Key: "carrier", Value: "SwiftShip", Occurrences: 3, Share: 0.75}}
	if !reflect.DeepEqual(def.Concentration, want) {
		t.Fatalf("after a relabel: concentration %+v, want %+v", def.Concentration, want)
	}
	restored := restart(t, d, newTestDetector(t, literal()))
	feed(restored, mk("c6", "frank", "Parcelo", 5))
	def, _ = restored.Get(ids[0])
	want = []Concentration{{Key: "carrier", Value: "SwiftShip", Occurrences: 3, Share: 0.6}}
	if !reflect.DeepEqual(def.Concentration, want) {
		t.Errorf("after a restart and one more: concentration %+v, want %+v", def.Concentration, want)
	}
	// No value holds more than half of the contacts: nothing to report.
	feed(restored, mk("c7", "gina", "Parcelo", 6))
	if def, _ = restored.Get(ids[0]); len(def.Concentration) != 0 {
		t.Errorf("3 of 6 on SwiftShip, 3 on Parcelo: concentration %+v, want none", def.Concentration)
	}
}
