package classify

import (
	"math"
	"sort"
)

// numCues is the number of cues the out-of-scope detector reads.
const numCues = 5

// cues are what the out-of-scope detector knows about one prediction:
// the calibrated probability of the best reason (as log-odds), its lead
// over the second, the raw score of the best reason, the share of the
// text's feature mass the dictionary knows, and the probability of the
// out-of-scope class (0 without one).
type cues [numCues]float64

func makeCues(p, scores []float64, oos int, coverage float64) cues {
	best, second := -1, -1
	for c, pc := range p {
		if c == oos {
			continue
		}
		switch {
		case best < 0 || pc > p[best]:
			best, second = c, best
		case second < 0 || pc > p[second]:
			second = c
		}
	}
	var c cues
	if best < 0 {
		return c
	}
	p1 := min(max(p[best], 1e-6), 1-1e-6)
	c[0] = math.Log(p1 / (1 - p1))
	if second >= 0 {
		c[1] = p[best] - p[second]
	} else {
		c[1] = p[best]
	}
	c[2] = scores[best]
	c[3] = coverage
	if oos >= 0 {
		c[4] = p[oos]
	}
	return c
}

// detector is a logistic regression over the cues that estimates the
// probability that a prediction should not be applied: the text is out of
// scope, or the best reason is wrong. It is fitted on cross-validated
// predictions.
type detector struct {
	mean, scale cues
	w           cues
	b           float64
}

// prob returns the probability that the prediction with cues c should be
// rejected.
func (d *detector) prob(c cues) float64 {
	z := d.b
	for i := range c {
		z += d.w[i] * (c[i] - d.mean[i]) / d.scale[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// fitDetector fits the detector by Newton's method on weighted examples
// (target true: reject) with a light L2 penalty.
func fitDetector(xs []cues, target []bool, weight []float64) *detector {
	d := &detector{}
	var wsum float64
	for i, x := range xs {
		for j := range x {
			d.mean[j] += weight[i] * x[j]
		}
		wsum += weight[i]
	}
	for j := range d.mean {
		d.mean[j] /= wsum
	}
	for i, x := range xs {
		for j := range x {
			dx := x[j] - d.mean[j]
			d.scale[j] += weight[i] * dx * dx
		}
	}
	for j := range d.scale {
		d.scale[j] = math.Sqrt(d.scale[j] / wsum)
		if d.scale[j] < 1e-9 {
			d.scale[j] = 1
		}
	}
	const n = numCues + 1
	const l2 = 1e-3
	theta := make([]float64, n) // w then b
	z := make([]float64, n)
	for range 50 {
		var g [n]float64
		var h [n][n]float64
		for i, x := range xs {
			for j := range x {
				z[j] = (x[j] - d.mean[j]) / d.scale[j]
			}
			z[numCues] = 1
			var s float64
			for j := range z {
				s += theta[j] * z[j]
			}
			p := 1 / (1 + math.Exp(-s))
			t := 0.0
			if target[i] {
				t = 1
			}
			wi := weight[i] / wsum
			for j := range z {
				g[j] += wi * (p - t) * z[j]
				for k := range z {
					h[j][k] += wi * p * (1 - p) * z[j] * z[k]
				}
			}
		}
		for j := 0; j < numCues; j++ {
			g[j] += l2 * theta[j]
			h[j][j] += l2
		}
		h[numCues][numCues] += 1e-9
		step := solve(h, g)
		var norm float64
		for j := range theta {
			theta[j] -= step[j]
			norm += step[j] * step[j]
		}
		if norm < 1e-16 {
			break
		}
	}
	copy(d.w[:], theta[:numCues])
	d.b = theta[numCues]
	return d
}

// solve returns x with a x = b by Gaussian elimination with partial
// pivoting (a is small and positive definite).
func solve(a [numCues + 1][numCues + 1]float64, b [numCues + 1]float64) [numCues + 1]float64 {
	const n = numCues + 1
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		if math.Abs(a[col][col]) < 1e-300 {
			continue
		}
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			for c := col; c < n; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	var x [n]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		if math.Abs(a[r][r]) > 1e-300 {
			x[r] = s / a[r][r]
		}
	}
	return x
}

// rejection is one cross-validated prediction as the threshold search
// sees it.
type rejection struct {
	score   float64 // detector probability that it should be rejected
	oosWins bool    // the out-of-scope class scored highest
	correct bool    // the best reason is the true one
	isOOS   bool    // the text fits none of its model's reasons
}

// bestThreshold returns the detector probability above which a text is
// out of scope: the one that maximises
// (1-prior)*in-scope accuracy + prior*out-of-scope recall. It returns
// false when rs lacks in-scope or out-of-scope examples to learn from.
func bestThreshold(rs []rejection, prior float64) (float64, bool) {
	var nIn, nOOS int
	for _, r := range rs {
		if r.isOOS {
			nOOS++
		} else {
			nIn++
		}
	}
	if nOOS == 0 || nIn == 0 {
		return 1, false
	}
	// Sort by decreasing score; lowering the threshold past an example
	// rejects it.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].score > rs[j].score })
	var inRight, oosRight int
	for _, r := range rs {
		switch {
		case r.isOOS && r.oosWins:
			oosRight++
		case !r.isOOS && r.correct && !r.oosWins:
			inRight++
		}
	}
	objective := func() float64 {
		return (1-prior)*float64(inRight)/float64(nIn) + prior*float64(oosRight)/float64(nOOS)
	}
	bestT, bestS := 1.0, objective()
	for i, r := range rs {
		switch {
		case r.isOOS && !r.oosWins:
			oosRight++
		case !r.isOOS && r.correct && !r.oosWins:
			inRight--
		}
		if i+1 < len(rs) && rs[i+1].score == r.score {
			continue
		}
		if s := objective(); s > bestS {
			next := 0.0
			if i+1 < len(rs) {
				next = rs[i+1].score
			}
			bestT, bestS = (r.score+next)/2, s
		}
	}
	return bestT, true
}
