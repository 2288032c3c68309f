package classify

import (
	"context"
	"sync"
	"testing"

	"github.com/nocontact/nocontact/pkg/pb"
)

func TestReasonClassifier(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 1})
	rc := NewReasonClassifier(m, 0.3)
	ctx := context.Background()

	tag, ok := rc.Classify(ctx, &pb.Contact{Subject: "Refund", Text: "I still have not received my refund"})
	if !ok || tag.GetReason() != "refund_status" {
		t.Fatalf("refund contact: %v ok=%v", tag, ok)
	}
	if tag.GetMethod() != pb.TagMethod_TAG_METHOD_MODEL || tag.GetModelVersion() != m.Version() {
		t.Errorf("tag method %v version %q, want model %q", tag.GetMethod(), tag.GetModelVersion(), m.Version())
	}
	if n := len(tag.GetAlternatives()); n != 3 {
		t.Errorf("%d alternatives, want 3 runners-up", n)
	}
	for _, a := range tag.GetAlternatives() {
		if a.GetReason() == tag.GetReason() || a.GetScore() > tag.GetConfidence() {
			t.Errorf("alternative %v repeats or beats the reason %s %.2f", a, tag.GetReason(), tag.GetConfidence())
		}
	}

	tag, ok = rc.Classify(ctx, &pb.Contact{Text: "what will the weather be like on mars tomorrow"})
	if ok || tag == nil || len(tag.GetAlternatives()) == 0 {
		t.Errorf("out-of-scope contact: %v ok=%v, want not ok with a best guess and alternatives", tag, ok)
	}

	strict := NewReasonClassifier(m, 1.01)
	if _, ok := strict.Classify(ctx, &pb.Contact{Text: "where is my refund"}); ok {
		t.Error("a confidence below the minimum was applied")
	}

	empty := NewReasonClassifier(nil, 0)
	if tag, ok := empty.Classify(ctx, &pb.Contact{Text: "where is my refund"}); ok || tag != nil {
		t.Errorf("no model: %v ok=%v", tag, ok)
	}
}

// TestReasonClassifierHotSwap swaps models while classifying from many
// goroutines; run with -race.
func TestReasonClassifierHotSwap(t *testing.T) {
	a := trainSynthetic(t, Options{Seed: 1, SkipCalibration: true})
	b := trainSynthetic(t, Options{Seed: 2, SkipCalibration: true})
	rc := NewReasonClassifier(a, 0)
	versions := map[string]bool{a.Version(): true, b.Version(): true}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				tag, _ := rc.Classify(context.Background(), &pb.Contact{Text: "my parcel has not arrived"})
				if tag == nil || !versions[tag.GetModelVersion()] || tag.GetReason() != "delivery_late" {
					errs <- tag.String()
					return
				}
			}
		}()
	}
	for i := range 50 {
		if i%2 == 0 {
			rc.Swap(b)
		} else {
			rc.Swap(a)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("tag during swaps: %s", e)
	}
	if old := rc.Swap(b); old != a {
		t.Error("Swap did not return the previous model")
	}
	if rc.Model() != b {
		t.Error("Model() is not the model swapped in")
	}
}
