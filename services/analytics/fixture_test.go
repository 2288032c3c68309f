package analytics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// The hand-computed dataset, counted in Asia/Shanghai (UTC+8, no daylight
// saving): every figure the tests expect is worked out in comments.
//
// Orders by local day: 1 Nov: o1 (31 Oct 16:30Z = 1 Nov 00:30), o2, o3
// (15:59:59Z = 23:59:59); 2 Nov: o4 (16:00Z = 2 Nov 00:00), o5; 3 Nov: o6,
// o7, o8. So 3, 2, 3 and 8 in all.
//
// Contacts by local day (channel cost phone 6, email 4, chat 3):
//
//	c1 1 Nov 10:00 phone  where_is_my_order u1/o1 blender en 300s
//	c2 1 Nov 23:30 email  product_quality   u2/o2 mug     en (15:30Z)
//	c3 2 Nov 00:30 chat   where_is_my_order u1/o1 blender en (1 Nov 16:30Z): repeats c1 after 14.5h
//	c4 2 Nov 18:00 phone  payment_failed    u3    shoes   zh 600s
//	c5 3 Nov 09:00 email  where_is_my_order u4          zh, relabeled to late_delivery
//	c6 3 Nov 10:00 chat   tracking_request  u5/o5       en (merged into where_is_my_order)
//	c7 9 Nov 11:00 phone  where_is_my_order u1/o1       en: 178.5h after c3, a repeat within 8d, not 7d
//
// 1-3 Nov: 6 contacts, 8 orders: CPO 0.75; per day 2/3, 2/2, 2/3.
// By reason: where_is_my_order 3 (c1 c3 c6), late_delivery 1, payment_failed
// 1, product_quality 1. By owner: logistics 4, payments 1, quality 1.
// Cost: where_is_my_order 6+3+3 = 12, late_delivery 4, payment_failed 6,
// product_quality 4: 26; logistics 16, payments 6, quality 4.
const testZone = "Asia/Shanghai"

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

type contactSpec struct {
	id, at, channel, reason, customer, order, product, locale string
	handle                                                    float64
}

func tagged(c contactSpec) *pb.ContactTagged {
	return &pb.ContactTagged{
		Meta: &pb.EventMeta{EventId: "tagged:" + c.id, SchemaVersion: 1, Producer: "test"},
		Contact: &pb.Contact{
			Id: c.id, Channel: c.channel, ReceivedAt: ts(c.at), CustomerId: c.customer, OrderId: c.order,
			Product: c.product, Locale: c.locale, HandleSeconds: c.handle, Text: "text",
		},
		Tag: &pb.Tag{Reason: c.reason, Confidence: 1, Method: pb.TagMethod_TAG_METHOD_RULE},
	}
}

func relabeled(t *pb.ContactTagged, to string) *pb.ContactRelabeled {
	return &pb.ContactRelabeled{
		Meta:           &pb.EventMeta{EventId: "relabel:" + t.Contact.Id + ":" + to, SchemaVersion: 1, Producer: "test"},
		Contact:        t.Contact,
		PreviousReason: t.Tag.Reason,
		Tag:            &pb.Tag{Reason: to, Confidence: 1, Method: pb.TagMethod_TAG_METHOD_REVIEW},
		Actor:          "reviewer",
	}
}

func order(id, at string) *pb.OrderCreated {
	return &pb.OrderCreated{
		Meta:  &pb.EventMeta{EventId: "order:" + id, SchemaVersion: 1, Producer: "test"},
		Order: &pb.Order{OrderId: id, PlacedAt: ts(at), Source: "test"},
	}
}

func datasetContacts() []contactSpec {
	return []contactSpec{
		{"c1", "2026-11-01T02:00:00Z", "phone", "where_is_my_order", "u1", "o1", "blender", "en", 300},
		{"c2", "2026-11-01T15:30:00Z", "email", "product_quality", "u2", "o2", "mug", "en", 0},
		{"c3", "2026-11-01T16:30:00Z", "chat", "where_is_my_order", "u1", "o1", "blender", "en", 0},
		{"c4", "2026-11-02T10:00:00Z", "phone", "payment_failed", "u3", "", "shoes", "zh", 600},
		{"c5", "2026-11-03T01:00:00Z", "email", "where_is_my_order", "u4", "", "", "zh", 0},
		{"c6", "2026-11-03T02:00:00Z", "chat", "tracking_request", "u5", "o5", "", "en", 0},
		{"c7", "2026-11-09T03:00:00Z", "phone", "where_is_my_order", "u1", "o1", "", "en", 0},
	}
}

func datasetOrders() [][2]string {
	return [][2]string{
		{"o1", "2026-10-31T16:30:00Z"}, {"o2", "2026-11-01T04:00:00Z"}, {"o3", "2026-11-01T15:59:59Z"},
		{"o4", "2026-11-01T16:00:00Z"}, {"o5", "2026-11-02T05:00:00Z"},
		{"o6", "2026-11-03T05:00:00Z"}, {"o7", "2026-11-03T06:00:00Z"}, {"o8", "2026-11-03T07:00:00Z"},
	}
}

// dataset returns the events in publishing order: orders, contacts, a
// duplicate of c1, and the relabel of c5.
func dataset() (orders, contacts []proto.Message) {
	for _, o := range datasetOrders() {
		orders = append(orders, order(o[0], o[1]))
	}
	var c5 *pb.ContactTagged
	for _, c := range datasetContacts() {
		ev := tagged(c)
		if c.id == "c5" {
			c5 = ev
		}
		contacts = append(contacts, ev)
	}
	contacts = append(contacts, tagged(datasetContacts()[0]), relabeled(c5, "late_delivery"))
	return orders, contacts
}

func testTaxonomy(t testing.TB) *taxonomy.Taxonomy {
	t.Helper()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(t testing.TB, s string) Day {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func days(t testing.TB, from, to string) Range {
	return Range{From: day(t, from), To: day(t, to)}
}

func f64(v float64) *float64 { return &v }

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

func sameRatio(got, want *float64) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	return near(*got, *want)
}

func sameJSON(t testing.TB, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
