package tagger

import (
	"context"
	"testing"

	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
)

// fixed is a classifier with a set answer, standing in for the model.
type fixed struct {
	tag *pb.Tag
	ok  bool
}

func (f fixed) Classify(context.Context, *pb.Contact) (*pb.Tag, bool) { return f.tag, f.ok }

func TestDecideOrder(t *testing.T) {
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	rules := NewRules(tax, 0.5)
	confident := fixed{&pb.Tag{Reason: "refund_status", Confidence: 0.9, Method: pb.TagMethod_TAG_METHOD_MODEL, ModelVersion: "model-x"}, true}
	unsure := fixed{&pb.Tag{Reason: "refund_status", Confidence: 0.3, Method: pb.TagMethod_TAG_METHOD_MODEL, ModelVersion: "model-x",
		Alternatives: []*pb.ReasonScore{{Reason: "return_request", Score: 0.2}}}, false}
	cases := []struct {
		name       string
		contact    *pb.Contact
		model      Classifier
		reason     string
		method     pb.TagMethod
		review     bool
		firstAlt   string
		confidence float64
	}{
		{"valid agent code wins over rules", &pb.Contact{Text: "The mug arrived broken", AgentReason: "payment_billing"}, confident, "payment_billing", pb.TagMethod_TAG_METHOD_AGENT, false, "", 1},
		{"merged agent code resolves to its successor", &pb.Contact{Text: "hello", AgentReason: "tracking_request"}, confident, "where_is_my_order", pb.TagMethod_TAG_METHOD_AGENT, false, "", 1},
		{"unknown agent code falls through to rules", &pb.Contact{Text: "The mug arrived broken", AgentReason: "no_such_code"}, confident, "damaged_item", pb.TagMethod_TAG_METHOD_RULE, false, "", -1},
		{"confident rule before the model", &pb.Contact{Text: "The mug arrived broken"}, confident, "damaged_item", pb.TagMethod_TAG_METHOD_RULE, false, "", -1},
		{"model when no rule matches", &pb.Contact{Text: "Will it rain tomorrow?"}, confident, "refund_status", pb.TagMethod_TAG_METHOD_MODEL, false, "", 0.9},
		{"unsure model: unclassified with its candidates, to review", &pb.Contact{Text: "Will it rain tomorrow?"}, unsure, Unclassified, pb.TagMethod_TAG_METHOD_MODEL, true, "refund_status", 0},
		{"nothing at all: unclassified, to review", &pb.Contact{Text: "Will it rain tomorrow?"}, fixed{}, Unclassified, pb.TagMethod_TAG_METHOD_RULE, true, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tag := NewDecider(tax, rules, c.model).Decide(context.Background(), c.contact)
			if tag.Reason != c.reason || tag.Method != c.method || tag.NeedsReview != c.review {
				t.Fatalf("tag = %v, want %s by %s (review %v)", tag, c.reason, c.method, c.review)
			}
			if c.confidence >= 0 && tag.Confidence != c.confidence {
				t.Errorf("confidence %v, want %v", tag.Confidence, c.confidence)
			}
			if c.firstAlt != "" && (len(tag.Alternatives) == 0 || tag.Alternatives[0].Reason != c.firstAlt) {
				t.Errorf("alternatives %v, want %s first", tag.Alternatives, c.firstAlt)
			}
			if len(tag.Alternatives) > 3 {
				t.Errorf("%d alternatives, want at most 3", len(tag.Alternatives))
			}
		})
	}
}
