package classify

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
)

// svmParams are the settings of one binary linear SVM.
type svmParams struct {
	// C is the cost of a squared hinge loss unit; larger fits closer.
	C float64
	// PosWeight multiplies C for the positive examples.
	PosWeight float64
	// Eps is the stopping tolerance on the projected gradient.
	Eps float64
	// MaxIter bounds the passes over the data.
	MaxIter int
	// Bias is the value of the constant feature that carries the intercept.
	Bias float64
}

// trainBinarySVM fits an L2-regularised squared-hinge linear SVM by dual
// coordinate descent with shrinking (Hsieh et al., 2008, as in LIBLINEAR).
// rows are the examples, pos marks the positive ones, dim the number of
// features; it returns the weights with the intercept last. rng orders the
// coordinates, which makes the result depend only on its seed.
func trainBinarySVM(rows []sparse, sqNorm []float64, pos []bool, dim int, p svmParams, rng *rand.Rand) []float64 {
	n := len(rows)
	w := make([]float64, dim+1)
	alpha := make([]float64, n)
	diag := make([]float64, n)
	qd := make([]float64, n)
	y := make([]float64, n)
	index := make([]int, n)
	for i := range n {
		c := p.C
		y[i] = -1
		if pos[i] {
			c *= p.PosWeight
			y[i] = 1
		}
		diag[i] = 0.5 / c
		qd[i] = diag[i] + sqNorm[i] + p.Bias*p.Bias
		index[i] = i
	}
	active := n
	pgMaxOld, pgMinOld := math.Inf(1), math.Inf(-1)
	for iter := 0; iter < p.MaxIter; iter++ {
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for s := 0; s < active; s++ {
			j := s + rng.IntN(active-s)
			index[s], index[j] = index[j], index[s]
		}
		for s := 0; s < active; s++ {
			i := index[s]
			r := rows[i]
			dot := w[dim] * p.Bias
			for k, f := range r.idx {
				dot += w[f] * float64(r.val[k])
			}
			g := y[i]*dot - 1 + alpha[i]*diag[i]
			pg := g
			if alpha[i] == 0 {
				if g > pgMaxOld {
					active--
					index[s], index[active] = index[active], index[s]
					s--
					continue
				}
				if g > 0 {
					pg = 0
				}
			}
			pgMax = max(pgMax, pg)
			pgMin = min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				old := alpha[i]
				alpha[i] = max(alpha[i]-g/qd[i], 0)
				d := (alpha[i] - old) * y[i]
				for k, f := range r.idx {
					w[f] += d * float64(r.val[k])
				}
				w[dim] += d * p.Bias
			}
		}
		if pgMax-pgMin <= p.Eps {
			if active == n {
				break
			}
			active = n
			pgMaxOld, pgMinOld = math.Inf(1), math.Inf(-1)
			continue
		}
		pgMaxOld, pgMinOld = pgMax, pgMin
		if pgMaxOld <= 0 {
			pgMaxOld = math.Inf(1)
		}
		if pgMinOld >= 0 {
			pgMinOld = math.Inf(-1)
		}
	}
	w[dim] *= p.Bias
	return w
}

// linear is a trained one-vs-rest linear model: weights laid out feature
// by feature (dim rows of k class weights) so that scoring a sparse vector
// reads contiguous memory.
type linear struct {
	k       int
	weights []float32
	bias    []float32
}

// scores writes the class scores of x to out, accumulating in acc
// (working memory, returned for reuse) in float32 like the weights.
func (l *linear) scores(x sparse, acc []float32, out []float64) ([]float32, []float64) {
	acc = append(acc[:0], l.bias...)
	addRows(acc, l.weights, x)
	out = out[:0]
	for _, a := range acc {
		out = append(out, float64(a))
	}
	return acc, out
}

// addRows adds to acc the rows of w (of len(acc) values each) that x
// selects, each times its value in x. Four rows go together, so acc is
// loaded and stored once per four rows: about twice as fast as one row at
// a time.
func addRows(acc, w []float32, x sparse) {
	k := len(acc)
	idx, val := x.idx, x.val[:len(x.idx)]
	j := 0
	for ; j+4 <= len(idx); j += 4 {
		f0, f1, f2, f3 := int(idx[j])*k, int(idx[j+1])*k, int(idx[j+2])*k, int(idx[j+3])*k
		v0, v1, v2, v3 := val[j], val[j+1], val[j+2], val[j+3]
		r0 := w[f0 : f0+k][:len(acc)]
		r1 := w[f1 : f1+k][:len(acc)]
		r2 := w[f2 : f2+k][:len(acc)]
		r3 := w[f3 : f3+k][:len(acc)]
		for c := range acc {
			acc[c] += v0*r0[c] + v1*r1[c] + v2*r2[c] + v3*r3[c]
		}
	}
	for ; j < len(idx); j++ {
		f := int(idx[j]) * k
		v := val[j]
		r := w[f : f+k][:len(acc)]
		for c := range acc {
			acc[c] += v * r[c]
		}
	}
}

// trainOVR fits one binary SVM per class, spread over workers goroutines.
// Each class has its own random stream derived from seed, so the result
// does not depend on scheduling.
func trainOVR(ctx context.Context, rows []sparse, y []int, k, dim int, p svmParams, balance bool, seed uint64, workers int) (*linear, error) {
	sqNorm := make([]float64, len(rows))
	for i, r := range rows {
		for _, v := range r.val {
			sqNorm[i] += float64(v) * float64(v)
		}
	}
	counts := make([]int, k)
	for _, c := range y {
		counts[c]++
	}
	out := &linear{k: k, weights: make([]float32, dim*k), bias: make([]float32, k)}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pos := make([]bool, len(rows))
			for c := range jobs {
				for i, yi := range y {
					pos[i] = yi == c
				}
				pc := p
				if balance && counts[c] > 0 {
					// Weigh the class's examples as if classes were of equal size.
					pc.PosWeight = float64(len(rows)) / float64(k) / float64(counts[c])
				}
				rng := rand.New(rand.NewPCG(seed, uint64(c)+1))
				w := trainBinarySVM(rows, sqNorm, pos, dim, pc, rng)
				for f := range dim {
					out.weights[f*k+c] = float32(w[f])
				}
				out.bias[c] = float32(w[dim])
			}
		}()
	}
	var err error
	for c := 0; c < k; c++ {
		if err = ctx.Err(); err != nil {
			break
		}
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return out, nil
}
