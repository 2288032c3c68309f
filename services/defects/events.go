package defects

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// Subjects of the defect events, under the installation's prefix.
func (s *Service) subject(name string) string { return s.deps.Bus.Subjects.Prefix + "." + name }

// event turns a detector event into the protobuf event to publish. Event
// ids are derived from the defect and what happened, so that a replay
// publishes nothing twice within JetStream's duplicate window.
func (s *Service) event(e Event, d *Defect) (bus.Event, bool) {
	meta := func(id string) *pb.EventMeta {
		return &pb.EventMeta{EventId: id, OccurredAt: timestamppb.New(s.cfg.Now()), SchemaVersion: 1, Producer: "defects", CorrelationId: d.ID}
	}
	switch e.Type {
	case EventOpened:
		id := "defect-opened:" + d.ID
		return bus.Event{Subject: s.subject("defect.opened"), ID: id, Msg: &pb.DefectOpened{Meta: meta(id), Defect: toPB(d), ContactId: e.ContactID}}, true
	case EventRecurred:
		id := "defect-recurred:" + d.ID + ":" + e.ContactID
		return bus.Event{Subject: s.subject("defect.recurred"), ID: id, Msg: &pb.DefectRecurred{
			Meta: meta(id), DefectId: d.ID, ContactId: e.ContactID, ReceivedAt: timestamppb.New(e.At),
			Occurrences: int64(d.Occurrences), Reopened: e.Reopened, Status: d.Status,
		}}, true
	case EventUpdated:
		if e.Change == nil {
			return bus.Event{}, false // a relabel took a contact out: the record is rewritten, no event
		}
		id := "defect-updated:" + d.ID + ":" + strconv.FormatUint(d.Revision, 10) + ":" + e.Change.Action + ":" + strconv.FormatInt(e.Change.At.UnixNano(), 36)
		return bus.Event{Subject: s.subject("defect.updated"), ID: id, Msg: &pb.DefectUpdated{
			Meta: meta(id), Defect: toPB(d), Actor: e.Change.Actor, Action: e.Change.Action,
			From: e.Change.From, To: e.Change.To, Note: e.Change.Note,
		}}, true
	case EventAndon:
		a := d.Andon
		if a == nil {
			return bus.Event{}, false
		}
		id := "andon-pulled:" + d.ID + ":" + strconv.Itoa(a.Pulls)
		return bus.Event{Subject: s.subject("andon.pulled"), ID: id, Msg: &pb.AndonPulled{
			Meta: meta(id), DefectId: d.ID, Owner: d.Owner, Title: d.Title, Cause: a.Cause, LastHour: int64(a.LastHour),
			EventTime: timestamppb.New(a.EventTime), Reason: d.Reason, Biv: d.BIV,
		}}, true
	}
	return bus.Event{}, false
}

// toPB is the event summary of a defect.
func toPB(d *Defect) *pb.Defect {
	out := &pb.Defect{
		Id: d.ID, Signature: d.Signature, Kind: d.Kind, Reason: d.Reason, Subject: d.Subject, Terms: d.Terms, Title: d.Title,
		Biv: d.BIV, Owner: d.Owner, Status: d.Status, FirstSeen: ts(d.FirstSeen), LastSeen: ts(d.LastSeen), OpenedAt: ts(d.OpenedAt),
		Occurrences: int64(d.Occurrences), Customers: int64(d.Customers), Orders: int64(d.Orders), EstimatedCost: d.EstimatedCost,
		PublicNotice: d.PublicNotice, Revision: d.Revision,
	}
	if d.FixedAt != nil {
		out.FixedAt = ts(*d.FixedAt)
	}
	for _, e := range d.Evidence {
		out.EvidenceContactIds = append(out.EvidenceContactIds, e.ContactID)
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// AndonAlert is the JSON body POSTed to andon webhooks.
type AndonAlert struct {
	// Type is always "andon.pulled".
	Type     string `json:"type"`
	DefectID string `json:"defect_id"`
	Title    string `json:"title"`
	Reason   string `json:"reason"`
	BIV      string `json:"biv"`
	Owner    string `json:"owner"`
	// OwnerContact is where the owner's alerts go (taxonomy owner contact).
	OwnerContact string `json:"owner_contact,omitempty"`
	Status       string `json:"status"`
	// Cause is spike or recurrence.
	Cause       string    `json:"cause"`
	LastHour    int       `json:"last_hour"`
	Occurrences int       `json:"occurrences"`
	EventTime   time.Time `json:"event_time"`
	PulledAt    time.Time `json:"pulled_at"`
	Pull        int       `json:"pull"`
}

func andonPayload(d *Defect, tax *taxonomy.Taxonomy) AndonAlert {
	a := AndonAlert{
		Type: "andon.pulled", DefectID: d.ID, Title: d.Title, Reason: d.Reason, BIV: d.BIV, Owner: d.Owner,
		Status: d.Status, Occurrences: d.Occurrences,
	}
	if o, ok := tax.Owner(d.Owner); ok {
		a.OwnerContact = o.Contact
	}
	if d.Andon != nil {
		a.Cause, a.LastHour, a.EventTime, a.PulledAt, a.Pull = d.Andon.Cause, d.Andon.LastHour, d.Andon.EventTime, d.Andon.PulledAt, d.Andon.Pulls
	}
	return a
}
