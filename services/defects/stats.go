package defects

import "math"

// poissonTail returns P(X >= n) for X ~ Poisson(mu): how surprising it is
// to see n or more occurrences when mu are expected. It returns 1 for
// n <= 0 and for a non-positive mu with n > 0 it returns 0 (anything is a
// surprise when nothing is expected).
func poissonTail(n int, mu float64) float64 {
	if n <= 0 {
		return 1
	}
	if mu <= 0 {
		return 0
	}
	if float64(n) <= mu {
		// At or below the mean the tail is at least about a half: never
		// significant, and summing it would be slow for large mu.
		return 1
	}
	// Sum the upper tail from its first (largest) term; for n > mu the
	// terms fall at least geometrically.
	lg, _ := math.Lgamma(float64(n) + 1)
	term := math.Exp(-mu + float64(n)*math.Log(mu) - lg)
	sum := 0.0
	for k := n; k < n+1000; k++ {
		sum += term
		term *= mu / float64(k+1)
		if term < sum*1e-12 {
			break
		}
	}
	return math.Min(1, sum)
}

// binomialTail returns P(X >= k) for X ~ Binomial(n, p), n may be
// fractional (a baseline with pseudo-counts): the regularized incomplete
// beta function I_p(k, n-k+1).
func binomialTail(k int, n, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case float64(k) > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return regIncBeta(float64(k), n-float64(k)+1, p)
}

// regIncBeta is the regularized incomplete beta function I_x(a, b)
// (Numerical Recipes, continued fraction by the modified Lentz method).
func regIncBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 300
		eps     = 1e-14
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
