package classify

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// trainWithNetwork trains on the synthetic reasons without calibration, so
// the model keeps its network at the default weight.
func trainWithNetwork(t testing.TB, seed uint64, workers int) *Model {
	t.Helper()
	m := trainSynthetic(t, Options{Seed: seed, Workers: workers, SkipCalibration: true})
	if m.net == nil || m.blend != defaultBlend {
		t.Fatalf("model without calibration has network %v weight %g, want a network at %g", m.net != nil, m.blend, defaultBlend)
	}
	return m
}

func TestNetworkIsDeterministicAndRoundTrips(t *testing.T) {
	m := trainWithNetwork(t, 3, 1)
	a := saved(t, m)
	if b := saved(t, trainWithNetwork(t, 3, 4)); !bytes.Equal(a, b) {
		t.Fatal("same data and seed gave different model bytes with a network (1 vs 4 workers)")
	}
	got, err := Load(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got.net == nil || got.blend != m.blend || got.Version() != m.Version() {
		t.Fatalf("loaded network %v weight %g version %s, saved weight %g version %s", got.net != nil, got.blend, got.Version(), m.blend, m.Version())
	}
	for _, e := range synthetic(5, 42) {
		p, q := m.Predict(e.Text), got.Predict(e.Text)
		if p.Label != q.Label || p.Confidence != q.Confidence {
			t.Fatalf("Predict(%q): %+v before save, %+v after load", e.Text, p, q)
		}
	}
	// The network changes the scores: a model without it predicts other
	// probabilities for some text.
	plain := trainSynthetic(t, Options{Seed: 3, SkipCalibration: true, Hidden: -1})
	differ := false
	for _, e := range synthetic(5, 42) {
		if plain.Predict(e.Text).Confidence != m.Predict(e.Text).Confidence {
			differ = true
		}
	}
	if !differ {
		t.Error("the network does not change any probability")
	}
}

func TestNetworkLearnsWhatALinearModelCannot(t *testing.T) {
	// Exclusive or of two words: no linear model separates it.
	var rows []sparse
	var y []int
	for range 50 {
		for a := range 2 {
			for b := range 2 {
				x := sparse{idx: []int32{int32(a), int32(2 + b)}, val: []float32{1, 1}}
				rows = append(rows, x)
				y = append(y, a^b)
			}
		}
	}
	m, err := trainMLP(context.Background(), rows, y, 2, 4, mlpParams{Hidden: 16, Epochs: 30, Rate: 0.05, Dropout: 0.1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ns netScratch
	out := make([]float64, 2)
	for i := range 4 {
		m.logits(rows[i], &ns, out)
		if got := argmaxIndex(out); got != y[i] {
			t.Errorf("input %v: class %d (logits %v), want %d", rows[i].idx, got, out, y[i])
		}
	}
}

func argmaxIndex(s []float64) int {
	b := 0
	for i, v := range s {
		if v > s[b] {
			b = i
		}
	}
	return b
}

func TestTrainMLPStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows := []sparse{{idx: []int32{0}, val: []float32{1}}, {idx: []int32{1}, val: []float32{1}}}
	if _, err := trainMLP(ctx, rows, []int{0, 1}, 2, 2, defaultMLP, 1); err == nil {
		t.Fatal("trainMLP ignored a cancelled context")
	}
}

// cvWithNetwork builds cross-validated scores of n examples of two
// classes where the SVM gets wrongSVM of them wrong and the network's
// logits point to the right class of fixByNet of those (and to a random
// class elsewhere).
func cvWithNetwork(n, wrongSVM, fixByNet int, seed uint64) *cvResult {
	rng := rand.New(rand.NewPCG(seed, 1))
	cv := &cvResult{oos: -1}
	for i := range n {
		yi := i % 2
		s := []float64{-0.5, -0.5}
		s[yi] = 0.5
		net := []float64{0, 0}
		if i < wrongSVM {
			s[yi], s[1-yi] = -0.1, 0.1
			if i < fixByNet {
				net[yi] = 5
			}
		} else {
			net[rng.IntN(2)] = 1
		}
		cv.y = append(cv.y, yi)
		cv.scores = append(cv.scores, s)
		cv.net = append(cv.net, net)
		cv.coverage = append(cv.coverage, 1)
	}
	cv.svm = cv.scores
	return cv
}

func TestFitBlendNeedsMoreThanChance(t *testing.T) {
	cv := cvWithNetwork(1000, 100, 60, 1)
	w := cv.fitBlend()
	if w == 0 {
		t.Fatal("network that fixes 60 of 100 errors got no weight")
	}
	// Example 0 (class 0): SVM scores -0.1, 0.1; network logits 5, 0.
	if want := -0.1 + w*5; math.Abs(cv.scores[0][0]-want) > 1e-12 || cv.scores[0][1] != 0.1 {
		t.Errorf("blended scores %v at weight %g, want [%g 0.1]", cv.scores[0], w, want)
	}
	if cv.svm[0][0] != -0.1 || cv.svm[0][1] != 0.1 {
		t.Errorf("SVM scores %v after blending, want them kept as [-0.1 0.1]", cv.svm[0])
	}
	// One fixed example is no evidence.
	if w := cvWithNetwork(1000, 100, 1, 1).fitBlend(); w != 0 {
		t.Errorf("network that fixes one error got weight %g, want 0", w)
	}
	// No network, no weight.
	cv = cvWithNetwork(10, 5, 5, 1)
	cv.net[3] = nil
	if w := cv.fitBlend(); w != 0 {
		t.Errorf("weight %g without a network for every example, want 0", w)
	}
}

func TestMergedNetworksAverageTheirLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var rows []sparse
	var y []int
	for i := range 200 {
		a, b := int32(rng.IntN(10)), int32(10+rng.IntN(10))
		rows = append(rows, sparse{idx: []int32{a, b}, val: []float32{0.8, 0.6}})
		y = append(y, (int(a)+int(b)+i%2)%3)
	}
	p := mlpParams{Hidden: 8, Epochs: 3, Rate: 0.05, Dropout: 0.2, Nets: 2}
	seed := uint64(9)
	merged, err := trainMLPs(context.Background(), rows, y, 3, 20, p, seed)
	if err != nil {
		t.Fatal(err)
	}
	if merged.hidden != 16 {
		t.Fatalf("merged network has %d hidden units, want 16", merged.hidden)
	}
	var single [2]*mlp
	for i := range single {
		if single[i], err = trainMLP(context.Background(), rows, y, 3, 20, p, seed*0x9e3779b97f4a7c15+uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var ns netScratch
	out, o := make([]float64, 3), make([]float64, 3)
	for _, x := range rows[:20] {
		merged.logits(x, &ns, out)
		want := make([]float64, 3)
		for _, n := range single {
			n.logits(x, &ns, o)
			for c := range want {
				want[c] += o[c] / 2
			}
		}
		for c := range want {
			if math.Abs(out[c]-want[c]) > 1e-4 {
				t.Fatalf("merged logits %v, mean of the two networks %v", out, want)
			}
		}
	}
}
