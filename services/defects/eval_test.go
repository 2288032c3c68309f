package defects

import (
	"slices"
	"testing"
	"time"
)

// TestEvaluate: planted defects are matched by their reason and subject, or
// by the contacts that opened them (also under a parent reason the tagger
// chose); rework defects count when their repeats are repeats in the
// truth; the rest are wrong; the detection occurrence is the latest planted
// contact among those that opened the defect.
func TestEvaluate(t *testing.T) {
	at := time.Date(2025, 2, 27, 8, 0, 0, 0, time.UTC)
	truth := Truth{
		Defects: []TruthDefect{{
			Key: "payment_release", Reason: "payment_failed", Subject: map[string]string{"app_version": "5.2.0"},
			FirstDate: "2025-02-27", FixDate: "2025-03-02", ContactIDs: []string{"p1", "p2", "p3", "p4", "p5", "p6"},
		}},
		Repeats: []TruthRepeat{{ContactID: "r2", RepeatOf: "r1", Reason: "where_is_my_order"}},
	}
	open := func(ids ...string) []Evidence {
		var ev []Evidence
		for _, id := range ids {
			ev = append(ev, Evidence{ContactID: "n-" + id, ExternalID: id, ReceivedAt: at, Opening: true})
		}
		return ev
	}
	fixed := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	defects := []*Defect{
		// The planted defect, opened at its third contact, fixed on its fix day and verified.
		{ID: "d1", Kind: KindSubject, Reason: "payment_failed", Subject: map[string]string{"app_version": "5.2.0"},
			Status: StatusVerified, FixedAt: &fixed, OpenedAt: at, Evidence: open("p1", "x9", "p3")},
		// Planted contacts the tagger put under the parent reason: the same defect.
		{ID: "d2", Kind: KindSubject, Reason: "payment_billing", Subject: map[string]string{"app_version": "5.2.0"},
			Status: StatusOpen, OpenedAt: at.Add(time.Hour), Evidence: open("p4", "p5", "x1")},
		// The parent reason with the planted subject but everyday contacts: wrong.
		{ID: "d3", Kind: KindSubject, Reason: "payment_billing", Subject: map[string]string{"app_version": "5.2.0"},
			Status: StatusOpen, OpenedAt: at.Add(2 * time.Hour), Evidence: open("x2", "x3", "p6")},
		// Another family, planted contacts or not: wrong.
		{ID: "d4", Kind: KindSubject, Reason: "account_login", Subject: map[string]string{"app_version": "5.2.0"},
			Status: StatusOpen, OpenedAt: at.Add(3 * time.Hour), Evidence: open("p2", "p5")},
		// A genuine rework and one whose "repeat" the truth does not know.
		{ID: "d5", Kind: KindRework, Reason: "where_is_my_order", Status: StatusOpen, OpenedAt: at,
			Evidence: []Evidence{{ExternalID: "r1", Opening: true}, {ExternalID: "r2", RepeatOf: "n-r1", RepeatOfExternal: "r1", Opening: true}}},
		{ID: "d6", Kind: KindRework, Reason: "late_delivery", Status: StatusOpen, OpenedAt: at,
			Evidence: []Evidence{{ExternalID: "s1", Opening: true}, {ExternalID: "s2", RepeatOf: "n-s1", RepeatOfExternal: "s1", Opening: true}}},
	}
	ev := Evaluate(truth, defects)
	if ev.Planted != 1 || ev.Detected != 1 || ev.Recall != 1 {
		t.Errorf("planted %d detected %d recall %v, want 1 1 1", ev.Planted, ev.Detected, ev.Recall)
	}
	if ev.Opened != 6 || ev.Correct != 3 || ev.Precision != 0.5 {
		t.Errorf("opened %d correct %d precision %v, want 6 3 0.5 (wrong: %v)", ev.Opened, ev.Correct, ev.Precision, ev.Wrong)
	}
	var wrong []string
	for _, w := range ev.Wrong {
		wrong = append(wrong, w[:2])
	}
	slices.Sort(wrong)
	if !slices.Equal(wrong, []string{"d3", "d4", "d6"}) {
		t.Errorf("wrong %v, want d3, d4 and d6", ev.Wrong)
	}
	if p := ev.PlantedDetail[0]; p.DefectID != "d1" || p.DetectionOccurrence != 3 || !p.VerifiedAfterFix {
		t.Errorf("planted detail %+v, want d1 at its 3rd contact, verified after the fix", p)
	}
	if ev.MedianDetectionOccurrence != 3 || ev.VerifiedAfterFix != 1 {
		t.Errorf("median %v verified %d, want 3 and 1", ev.MedianDetectionOccurrence, ev.VerifiedAfterFix)
	}
}
