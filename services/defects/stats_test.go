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
