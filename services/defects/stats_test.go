package defects

import (
	"math"
	"testing"
)

func TestPoissonTail(t *testing.T) {
	cases := []struct {
		n    int
		mu   float64
		want float64
	}{
		{0, 1, 1},
		{2, 1, 1 - math.Exp(-1)*2},
		{2, 0.1, 1 - math.Exp(-0.1)*(1+0.1)},
		{3, 0.5, 1 - math.Exp(-0.5)*(1+0.5+0.125)},
		{5, 0, 0},
		{2, 3, 1}, // at or below the mean: never significant
	}
	for _, c := range cases {
		if got := poissonTail(c.n, c.mu); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("poissonTail(%d, %g) = %g, want %g", c.n, c.mu, got, c.want)
		}
	}
}

func TestBinomialTail(t *testing.T) {
	// Exact sums for small n.
	exact := func(k, n int, p float64) float64 {
		s := 0.0
		for i := k; i <= n; i++ {
			lg1, _ := math.Lgamma(float64(n + 1))
			lg2, _ := math.Lgamma(float64(i + 1))
			lg3, _ := math.Lgamma(float64(n - i + 1))
			s += math.Exp(lg1 - lg2 - lg3 + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
		}
		return s
	}
	for _, c := range []struct {
		k, n int
		p    float64
	}{{1, 1, 0.3}, {2, 10, 0.01}, {3, 40, 0.02}, {5, 30, 0.0158}, {20, 50, 0.5}, {9, 52, 0.0158}} {
		got, want := binomialTail(c.k, float64(c.n), c.p), exact(c.k, c.n, c.p)
		if math.Abs(got-want) > 1e-9*math.Max(1, want) && math.Abs(got-want)/want > 1e-6 {
			t.Errorf("binomialTail(%d, %d, %g) = %g, want %g", c.k, c.n, c.p, got, want)
		}
	}
	if got := binomialTail(2, 2, 0.1); math.Abs(got-0.01) > 1e-12 {
		t.Errorf("two of two at 0.1: %g", got)
	}
}

// TestScaleSignificance: a sensitivity multiplies every opening
// significance (defaults included), leaves the literal twice rule alone and
// refuses factors outside its range.
func TestScaleSignificance(t *testing.T) {
	var c DetectorConfig
	if err := c.ScaleSignificance(10); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*b }
	if !near(c.Alpha, 10*DefaultAlpha) || !near(c.NovelAlpha, 10*DefaultNovelAlpha) || !near(c.NamedAlpha, 10*DefaultNamedAlpha) || !near(c.UnusualAlpha, 10*DefaultUnusualAlpha) {
		t.Errorf("scaled by 10: %g %g %g %g", c.Alpha, c.NovelAlpha, c.NamedAlpha, c.UnusualAlpha)
	}
	c = DetectorConfig{NovelAlpha: 0.2}
	if err := c.ScaleSignificance(1000); err != nil || c.NovelAlpha != 0.5 || !near(c.Alpha, 1000*DefaultAlpha) {
		t.Errorf("scaled by 1000: %v novel %g alpha %g, want 0.5 (capped) and 1e-3", err, c.NovelAlpha, c.Alpha)
	}
	literal := DetectorConfig{Alpha: 1}
	if err := literal.ScaleSignificance(0.1); err != nil || literal.Alpha != 1 || literal.UnusualAlpha != 0 {
		t.Errorf("literal rule changed: %v %+v", err, literal)
	}
	for _, s := range []float64{0, -1, 0.001, 5000} {
		if err := (&DetectorConfig{}).ScaleSignificance(s); err == nil {
			t.Errorf("sensitivity %g accepted", s)
		}
	}
}
