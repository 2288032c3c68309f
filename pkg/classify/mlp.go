package classify

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// mlpParams are the settings of the neural network blended with the SVMs.
type mlpParams struct {
	// Hidden is the number of rectified linear units of the hidden layer.
	Hidden int
	// Epochs is the number of passes over the training examples.
	Epochs int
	// Rate is the Adagrad learning rate.
	Rate float64
	// Dropout is the probability that a hidden unit is silenced for one
	// training example.
	Dropout float64
	// Nets is the number of networks trained from different seeds whose
	// logits are averaged (merged into one network of Nets*Hidden units).
	Nets int
}

// defaultMLP are the network settings Train uses (measured on Banking77
// with 5-fold cross-validation; see docs/quality.md). Two networks of 64
// units were 0.2 points more accurate but predicted at about 15,000-21,000
// texts a second on one core, too close to the 20,000 the tagger needs.
var defaultMLP = mlpParams{Hidden: 32, Epochs: 10, Rate: 0.05, Dropout: 0.3, Nets: 2}

// mlp is a network with one hidden layer of rectified linear units over the
// same sparse vector the SVMs read, trained with softmax cross-entropy. Its
// logits are added, weighted, to the SVM scores: it captures interactions
// of features that a linear model cannot.
type mlp struct {
	in, hidden, k int
	// w1 holds the hidden-layer weights feature by feature (in rows of
	// hidden values), so a sparse input reads contiguous rows.
	w1 []float32
	b1 []float32
	// w2 holds the output weights hidden unit by hidden unit (hidden rows
	// of k values).
	w2 []float32
	b2 []float32
}

// netScratch is the working memory of mlp.logits.
type netScratch struct {
	h, o   []float32
	active sparse
}

// logits writes the network's class logits for x to out (len k).
func (m *mlp) logits(x sparse, s *netScratch, out []float64) {
	s.h = append(s.h[:0], m.b1...)
	addRows(s.h, m.w1, x)
	// The active (positive) hidden units select rows of the output layer
	// like a sparse input.
	s.active.idx, s.active.val = s.active.idx[:0], s.active.val[:0]
	for u, hv := range s.h {
		if hv > 0 {
			s.active.idx = append(s.active.idx, int32(u))
			s.active.val = append(s.active.val, hv)
		}
	}
	s.o = append(s.o[:0], m.b2...)
	addRows(s.o, m.w2, s.active)
	for c, v := range s.o {
		out[c] = float64(v)
	}
}

// trainMLPs trains p.Nets networks concurrently, each from its own seed
// derived from seed, and merges them into one network whose logits are
// their mean: the hidden layers side by side, the output layers stacked and
// halved (for two). Averaging two networks halves the variance their random
// starts and dropout add; the merged network costs the same to evaluate as
// one network of that many units.
func trainMLPs(ctx context.Context, rows []sparse, y []int, k, dim int, p mlpParams, seed uint64) (*mlp, error) {
	n := max(p.Nets, 1)
	nets := make([]*mlp, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nets[i], errs[i] = trainMLP(ctx, rows, y, k, dim, p, seed*0x9e3779b97f4a7c15+uint64(i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if n == 1 {
		return nets[0], nil
	}
	hd := p.Hidden
	m := &mlp{in: dim, hidden: n * hd, k: k,
		w1: make([]float32, 0, dim*n*hd), b1: make([]float32, 0, n*hd),
		w2: make([]float32, 0, n*hd*k), b2: make([]float32, k)}
	for f := range dim {
		for _, net := range nets {
			m.w1 = append(m.w1, net.w1[f*hd:f*hd+hd]...)
		}
	}
	scale := 1 / float32(n)
	for _, net := range nets {
		m.b1 = append(m.b1, net.b1...)
		for _, w := range net.w2 {
			m.w2 = append(m.w2, w*scale)
		}
		for c, b := range net.b2 {
			m.b2[c] += b * scale
		}
	}
	return m, nil
}

// trainMLP fits the network by stochastic gradient descent with Adagrad
// step sizes, one example at a time in an order drawn from seed; dropout
// masks come from the same stream, so the result depends only on the
// seed.
func trainMLP(ctx context.Context, rows []sparse, y []int, k, dim int, p mlpParams, seed uint64) (*mlp, error) {
	hd := p.Hidden
	rng := rand.New(rand.NewPCG(seed, 0x3119))
	m := &mlp{in: dim, hidden: hd, k: k,
		w1: make([]float32, dim*hd), b1: make([]float32, hd),
		w2: make([]float32, hd*k), b2: make([]float32, k)}
	// Inputs are unit-length per block, so small first-layer weights give
	// hidden units of order 0.1; the output layer starts at the usual
	// 1/sqrt(fan-in) scale.
	for i := range m.w1 {
		m.w1[i] = float32(rng.NormFloat64() * 0.16)
	}
	s2 := 1 / math.Sqrt(float64(hd))
	for i := range m.w2 {
		m.w2[i] = float32(rng.NormFloat64() * s2)
	}
	// Adagrad accumulators, started slightly above zero.
	// Adagrad keeps one accumulator per row of each layer (row-wise
	// Adagrad: the mean squared gradient of the row's weights), which costs
	// one square root per row instead of one per weight; on Banking77 it
	// measured as accurate as one accumulator per weight, or more.
	g1 := make([]float32, dim)
	g2 := make([]float32, hd)
	gb1 := make([]float32, hd)
	gb2 := make([]float32, k)
	for _, g := range [][]float32{g1, g2, gb1, gb2} {
		for i := range g {
			g[i] = 1e-8
		}
	}
	rate := float32(p.Rate)
	keep := float32(1 / (1 - p.Dropout))
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	h := make([]float32, hd)
	active := make([]int, 0, hd)
	dh := make([]float32, hd)
	out := make([]float64, k)
	d := make([]float32, k)
	for range p.Epochs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			x := rows[i]
			copy(h, m.b1)
			addRows(h, m.w1, x)
			active = active[:0]
			for u := range h {
				// The draw happens for every unit so the stream does not
				// depend on the activations.
				drop := rng.Float64() < p.Dropout
				if h[u] > 0 && !drop {
					h[u] *= keep
					active = append(active, u)
				} else {
					h[u] = 0
				}
			}
			for c := range out {
				out[c] = float64(m.b2[c])
			}
			for _, u := range active {
				hv := h[u]
				row := m.w2[u*k : u*k+k]
				o := out[:len(row)]
				for c, w := range row {
					o[c] += float64(hv * w)
				}
			}
			mx := math.Inf(-1)
			for _, o := range out {
				mx = max(mx, o)
			}
			var z float64
			for c, o := range out {
				e := math.Exp(o - mx)
				out[c] = e
				z += e
			}
			for c := range out {
				d[c] = float32(out[c] / z)
			}
			d[y[i]]--
			var dsq float32
			for _, v := range d {
				dsq += v * v
			}
			dsq /= float32(k)
			// Output layer: gradient of the hidden units first, with the
			// weights before this step.
			for _, u := range active {
				row := m.w2[u*k : u*k+k]
				dd := d[:len(row)]
				var s float32
				for c, w := range row {
					s += dd[c] * w
				}
				dh[u] = s * keep
				hv := h[u]
				g2[u] += hv * hv * dsq
				step := rate * hv / sqrt32(g2[u])
				for c := range row {
					row[c] -= step * dd[c]
				}
			}
			for c := range d {
				gb2[c] += d[c] * d[c]
				m.b2[c] -= rate * d[c] / sqrt32(gb2[c])
			}
			for _, u := range active {
				gb1[u] += dh[u] * dh[u]
				m.b1[u] -= rate * dh[u] / sqrt32(gb1[u])
			}
			var sq float32
			for _, u := range active {
				sq += dh[u] * dh[u]
			}
			sq /= float32(max(len(active), 1))
			for j, f := range x.idx {
				v := x.val[j]
				row := m.w1[int(f)*hd : int(f)*hd+hd]
				g1[f] += v * v * sq
				step := rate * v / sqrt32(g1[f])
				for _, u := range active {
					row[u] -= step * dh[u]
				}
			}
		}
	}
	return m, nil
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// defaultBlend is the weight of the network's logits when training skips
// the calibration that would choose it.
const defaultBlend = 0.1

// maxHidden bounds the hidden layer (Options.Hidden and saved models).
const maxHidden = 4096

// blendGrid are the network weights the calibration tries.
var blendGrid = []float64{0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6}

// fitBlend picks the weight of the network's logits from blendGrid that
// gets the most cross-validated examples right (the out-of-scope class
// included; the smallest weight on a tie), adds the weighted logits to the
// scores and returns the weight. A weight must beat the SVMs alone by more
// than chance on the examples where the two disagree (McNemar's test at
// about 5%: fixed - broken > 2 sqrt(fixed + broken)), so small data sets
// where the network only adds noise keep the SVMs alone. It returns 0 when
// there is no network.
func (cv *cvResult) fitBlend() float64 {
	for i := range cv.y {
		if cv.net[i] == nil {
			return 0
		}
	}
	predict := func(i int, w float64) int {
		s, n := cv.scores[i], cv.net[i]
		top := -1
		var topScore float64
		for c := range s {
			if math.IsInf(s[c], -1) {
				continue
			}
			if v := s[c] + w*n[c]; top < 0 || v > topScore {
				top, topScore = c, v
			}
		}
		return top
	}
	base := make([]bool, len(cv.y))
	baseRight := 0
	for i, yi := range cv.y {
		if cv.known(i) {
			base[i] = predict(i, 0) == yi
			if base[i] {
				baseRight++
			}
		}
	}
	best, bestRight := 0.0, baseRight
	for _, w := range blendGrid {
		if w == 0 {
			continue
		}
		fixed, broken := 0, 0
		for i, yi := range cv.y {
			if !cv.known(i) {
				continue
			}
			switch right := predict(i, w) == yi; {
			case right && !base[i]:
				fixed++
			case !right && base[i]:
				broken++
			}
		}
		gain := fixed - broken
		if float64(gain) > 2*math.Sqrt(float64(fixed+broken)) && baseRight+gain > bestRight {
			best, bestRight = w, baseRight+gain
		}
	}
	if best == 0 {
		return 0
	}
	cv.svm = make([][]float64, len(cv.y))
	for i := range cv.y {
		cv.svm[i] = slices.Clone(cv.scores[i])
		for c, v := range cv.net[i] {
			cv.scores[i][c] += best * v
		}
	}
	return best
}
