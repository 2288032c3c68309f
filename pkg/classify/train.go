package classify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Example is one labelled training or test text.
type Example struct {
	// Text is the customer's words.
	Text string
	// Label is the reason code the text was given.
	Label string
}

// Options are the settings of Train. The zero value of every field means
// its default, so Options{} trains the recommended model.
type Options struct {
	// Seed drives every random choice (folds, held-out labels, coordinate
	// order): the same examples and seed give a byte-identical model.
	Seed uint64
	// OOSLabel names the label of training texts that fit no reason (such
	// as "oos"). Those texts are learned as a class of their own; a text
	// predicted as that class is out of scope. Empty when the data has none.
	OOSLabel string
	// C is the SVM cost: higher fits the training data more closely
	// (default 0.5).
	C float64
	// Epochs bounds the passes of the solver over the data (default 200;
	// it usually stops earlier, at convergence).
	Epochs int
	// MinDF drops features seen in fewer training texts (default 1).
	MinDF int
	// CharMin and CharMax bound the character n-grams taken inside words
	// (default 2 and 5).
	CharMin, CharMax int
	// CJKMax is the longest character n-gram taken inside Chinese,
	// Japanese or Korean text (default 3).
	CJKMax int
	// WordWeight and CharWeight scale the word and the character block of
	// the feature vector (default 1 each).
	WordWeight, CharWeight float64
	// Hidden is the number of hidden units of each of the two neural
	// networks whose mean logits are added to the SVM scores (default 32);
	// negative trains the SVMs alone. The calibration cross-validation
	// chooses the networks' weight (0.1 when calibration is skipped) and
	// leaves them out when they do not help.
	Hidden int
	// Unbalanced trains with every example weighing the same; by default
	// the examples of each reason weigh as if reasons were equally common.
	Unbalanced bool
	// Folds is the number of cross-validation folds used to calibrate
	// probabilities and learn the out-of-scope threshold (default 3).
	Folds int
	// SkipCalibration trains only the final model: probabilities use the
	// default temperature and no text is rejected for low confidence.
	SkipCalibration bool
	// OOSPrior is the share of out-of-scope texts the rejection threshold
	// is tuned for: the threshold maximises
	// (1-OOSPrior)*in-scope accuracy + OOSPrior*out-of-scope recall over
	// the cross-validated predictions, which is the accuracy expected when
	// that share of the texts fit no reason. The default is 0.2 when the
	// data has OOSLabel texts, and a conservative 0.5 when it has none and
	// the out-of-scope texts are simulated by held-out reasons.
	OOSPrior float64
	// HoldOutLabels is the share of reasons hidden from each fold's model
	// so that their texts stand in for out-of-scope ones. The default is
	// 0.2 when the data has no OOSLabel texts and none when it has; set it
	// negative to never hold reasons out.
	HoldOutLabels float64
	// Workers is the number of goroutines training uses (default
	// GOMAXPROCS). The model does not depend on it.
	Workers int
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

func (o *Options) setDefaults() {
	if o.C == 0 {
		o.C = 0.5
	}
	if o.Epochs == 0 {
		o.Epochs = 200
	}
	if o.MinDF == 0 {
		o.MinDF = 1
	}
	if o.CharMin == 0 && o.CharMax == 0 {
		o.CharMin, o.CharMax = 2, 5
	}
	if o.CJKMax == 0 {
		o.CJKMax = 3
	}
	if o.WordWeight == 0 {
		o.WordWeight = 1
	}
	if o.CharWeight == 0 {
		o.CharWeight = 1
	}
	if o.Folds == 0 {
		o.Folds = 3
	}
	if o.Hidden == 0 {
		o.Hidden = defaultMLP.Hidden
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Validate reports the first setting that cannot be used.
func (o Options) Validate() error {
	switch {
	case o.C < 0:
		return fmt.Errorf("C %g: must be positive", o.C)
	case o.Epochs < 0:
		return fmt.Errorf("epochs %d: must be positive", o.Epochs)
	case o.MinDF < 0:
		return fmt.Errorf("min df %d: must be positive", o.MinDF)
	case o.CharMin < 0 || o.CharMax < o.CharMin || o.CharMax > 12:
		return fmt.Errorf("char n-grams %d-%d: need 0 <= min <= max <= 12", o.CharMin, o.CharMax)
	case o.CJKMax < 0 || o.CJKMax > 8:
		return fmt.Errorf("cjk n-grams up to %d: need 0..8", o.CJKMax)
	case o.WordWeight < 0 || o.CharWeight < 0:
		return errors.New("block weights must not be negative")
	case o.Hidden > maxHidden:
		return fmt.Errorf("hidden units %d: at most %d", o.Hidden, maxHidden)
	case o.Folds < 0 || o.Folds == 1:
		return fmt.Errorf("folds %d: need at least 2", o.Folds)
	case o.OOSPrior < 0 || o.OOSPrior >= 1:
		return fmt.Errorf("oos prior %g: need 0 <= p < 1", o.OOSPrior)
	case o.HoldOutLabels >= 1:
		return fmt.Errorf("held-out label share %g: need < 1", o.HoldOutLabels)
	}
	return nil
}

// ErrTooFewLabels is returned by Train and ReadExamples when the examples
// carry fewer than two distinct labels: there is nothing to tell apart.
var ErrTooFewLabels = errors.New("need at least two distinct labels")

// Train learns a model from labelled examples. It cross-validates on the
// examples to calibrate the probabilities and to fit the detector that
// decides when a text is out of scope, then fits the final model on all of
// them.
func Train(ctx context.Context, examples []Example, opts Options) (*Model, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	labels, y, err := labelIndex(examples)
	if err != nil {
		return nil, err
	}
	oos := slices.Index(labels, opts.OOSLabel)
	if opts.OOSLabel == "" {
		oos = -1
	}
	if opts.OOSPrior == 0 {
		opts.OOSPrior = 0.5
		if oos >= 0 {
			opts.OOSPrior = 0.2
		}
	}
	if opts.HoldOutLabels == 0 && oos < 0 {
		opts.HoldOutLabels = 0.2
	}
	fc := featureConfig{CharMin: opts.CharMin, CharMax: opts.CharMax, CJKMax: opts.CJKMax, WordBigrams: true}
	feats := make([]hashes, len(examples))
	parallel(len(examples), opts.Workers, func(i int) { fc.extract(examples[i].Text, &feats[i]) })
	tr := trainer{slots: make(chan struct{}, opts.Workers), opts: opts, fc: fc, feats: feats, y: y, k: len(labels), oos: oos}

	// The final SVMs do not depend on the calibration, so they train
	// alongside the cross-validation folds; the final network trains once
	// the calibration has given it a weight (at once without calibration).
	all := make([]int, len(examples))
	for i := range all {
		all[i] = i
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fit *fitted
	finalErr := make(chan error, 1)
	go func() {
		var err error
		fit, err = tr.fit(ctx, all, nil, opts.Seed, opts.SkipCalibration)
		if err != nil {
			cancel()
		}
		finalErr <- err
	}()
	temperature, threshold := 1.0, 1.0
	blend := defaultBlend
	var det *detector
	var stats CVStats
	if !opts.SkipCalibration {
		cv, err := tr.crossValidate(ctx)
		if err != nil {
			cancel()
			if ferr := <-finalErr; ferr != nil && !errors.Is(ferr, context.Canceled) {
				return nil, ferr
			}
			return nil, err
		}
		blend = cv.fitBlend()
		temperature = cv.fitTemperature()
		det, threshold = cv.fitDetector(temperature, opts.OOSPrior, opts.Seed)
		stats = cv.stats(temperature, det, threshold)
		stats.Folds = opts.Folds
		opts.Logf("calibration: network weight %.3f temperature %.3f threshold %.3f", blend, temperature, threshold)
	}
	if err := <-finalErr; err != nil {
		return nil, err
	}
	if blend > 0 && fit.net == nil {
		if err := tr.addNet(ctx, fit, opts.Seed); err != nil {
			return nil, err
		}
	}
	fit.xs, fit.ys = nil, nil
	m := &Model{
		labels:      labels,
		oos:         oos,
		fc:          fc,
		vz:          fit.vz,
		lin:         fit.lin,
		temperature: temperature,
		det:         det,
		threshold:   threshold,
		cv:          stats,
	}
	if fit.net != nil && blend > 0 {
		m.net, m.blend = fit.net, blend
	}
	if err := m.seal(); err != nil {
		return nil, err
	}
	return m, nil
}

// labelIndex checks the examples and numbers their labels in sorted order.
func labelIndex(examples []Example) ([]string, []int, error) {
	set := map[string]int{}
	for i, e := range examples {
		if strings.TrimSpace(e.Text) == "" {
			return nil, nil, fmt.Errorf("example %d: empty text", i+1)
		}
		if e.Label == "" {
			return nil, nil, fmt.Errorf("example %d: empty label", i+1)
		}
		set[e.Label] = 0
	}
	if len(set) < 2 {
		return nil, nil, fmt.Errorf("%d examples: %w", len(examples), ErrTooFewLabels)
	}
	labels := make([]string, 0, len(set))
	for l := range set {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for i, l := range labels {
		set[l] = i
	}
	y := make([]int, len(examples))
	for i, e := range examples {
		y[i] = set[e.Label]
	}
	return labels, y, nil
}

// trainer holds the featurised examples shared by the fold fits.
type trainer struct {
	// slots bounds the fits that run at once to Options.Workers.
	slots chan struct{}
	opts  Options
	fc    featureConfig
	feats []hashes
	y     []int
	k     int
	oos   int
}

// fitted is one model trained on a subset of the examples and classes.
type fitted struct {
	vz      *vectorizer
	lin     *linear
	net     *mlp  // nil when Options.Hidden < 0 or not trained
	classes []int // global class of each of lin's and net's outputs
	// xs and ys are the training vectors and local classes.
	xs []sparse
	ys []int
}

// fit trains on the rows given, leaving out the classes in drop: the SVMs,
// and the network too when withNet is set and Options.Hidden > 0.
func (t *trainer) fit(ctx context.Context, rows []int, drop map[int]bool, seed uint64, withNet bool) (*fitted, error) {
	if t.slots != nil {
		select {
		case t.slots <- struct{}{}:
			defer func() { <-t.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var keep []int
	for _, r := range rows {
		if !drop[t.y[r]] {
			keep = append(keep, r)
		}
	}
	docs := make([]hashes, len(keep))
	for i, r := range keep {
		docs[i] = t.feats[r]
	}
	voc := buildVocab(docs, t.opts.MinDF)
	vz := &vectorizer{unknownInNorm: true, voc: voc, blockWeight: [numBlocks]float32{float32(t.opts.WordWeight), float32(t.opts.CharWeight)}}
	local := map[int]int{}
	var classes []int
	for c := 0; c < t.k; c++ {
		if !drop[c] {
			local[c] = len(classes)
			classes = append(classes, c)
		}
	}
	xs := make([]sparse, len(keep))
	ys := make([]int, len(keep))
	counts := make([]uint16, len(voc.keys))
	for i, r := range keep {
		xs[i] = vz.vectorizeCopy(t.feats[r], counts)
		ys[i] = local[t.y[r]]
	}
	fit := &fitted{vz: vz, classes: classes, xs: xs, ys: ys}
	// The network trains on one goroutine next to the SVMs.
	netErr := make(chan error, 1)
	if withNet {
		go func() { netErr <- t.addNet(ctx, fit, seed) }()
	} else {
		netErr <- nil
	}
	p := svmParams{C: t.opts.C, PosWeight: 1, Eps: 0.1, MaxIter: t.opts.Epochs, Bias: 1}
	lin, err := trainOVR(ctx, xs, ys, len(classes), len(voc.keys), p, !t.opts.Unbalanced, seed, t.opts.Workers)
	if nerr := <-netErr; err == nil {
		err = nerr
	}
	if err != nil {
		return nil, err
	}
	fit.lin = lin
	return fit, nil
}

// addNet trains the network of a fit (nothing when Options.Hidden < 0).
func (t *trainer) addNet(ctx context.Context, fit *fitted, seed uint64) error {
	if t.opts.Hidden <= 0 {
		return nil
	}
	mp := defaultMLP
	mp.Hidden = t.opts.Hidden
	net, err := trainMLPs(ctx, fit.xs, fit.ys, len(fit.classes), len(fit.vz.voc.keys), mp, seed)
	if err != nil {
		return err
	}
	fit.net = net
	return nil
}

// vectorizeCopy vectorises a copy of h, leaving h as it was.
func (vz *vectorizer) vectorizeCopy(h hashes, counts []uint16) sparse {
	var c hashes
	for b := range h {
		c[b] = slices.Clone(h[b])
	}
	x, _ := vz.vectorize(&c, counts, sparse{})
	return x
}

// cvResult holds the out-of-fold scores of every example.
type cvResult struct {
	y      []int
	oos    int
	scores [][]float64 // per example, per global class; -Inf where the fold model lacked the class
	// net holds the network's logits like scores (nil rows without a
	// network); fitBlend adds them to scores.
	net [][]float64
	// svm holds the SVM scores alone, which the out-of-scope detector
	// reads: the same rows as scores until fitBlend adds the network.
	svm [][]float64
	// coverage is the share of each example's feature mass its fold's
	// dictionary knew.
	coverage []float64
}

// crossValidate scores every example with a model that did not see it.
// Each fold's model also misses a share of the reasons, so that their
// texts show how the model reacts to text that fits none of its reasons.
func (t *trainer) crossValidate(ctx context.Context) (*cvResult, error) {
	folds := stratifiedFolds(t.y, t.k, t.opts.Folds, t.opts.Seed)
	rng := rand.New(rand.NewPCG(t.opts.Seed, 0x5eed))
	var inScope []int
	for c := 0; c < t.k; c++ {
		if c != t.oos {
			inScope = append(inScope, c)
		}
	}
	rng.Shuffle(len(inScope), func(i, j int) { inScope[i], inScope[j] = inScope[j], inScope[i] })
	res := &cvResult{y: t.y, oos: t.oos, scores: make([][]float64, len(t.y)), net: make([][]float64, len(t.y)), coverage: make([]float64, len(t.y))}
	res.svm = res.scores
	// Folds train concurrently (t.fit bounds how many at once); each
	// writes only its own test examples' entries.
	errs := make([]error, t.opts.Folds)
	var wg sync.WaitGroup
	for f := 0; f < t.opts.Folds; f++ {
		var train, test []int
		for i, fi := range folds {
			if fi == f {
				test = append(test, i)
			} else {
				train = append(train, i)
			}
		}
		drop := map[int]bool{}
		if t.opts.HoldOutLabels > 0 {
			// Reasons are dealt round the folds so each is held out once
			// when the share is 1/Folds.
			n := int(math.Round(t.opts.HoldOutLabels * float64(len(inScope))))
			for j := 0; j < n; j++ {
				drop[inScope[(f*n+j)%len(inScope)]] = true
			}
			if len(inScope)-len(drop) < 2 {
				clear(drop)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fit, err := t.fit(ctx, train, drop, t.opts.Seed+uint64(f)+1, true)
			if err != nil {
				errs[f] = fmt.Errorf("fold %d: %w", f+1, err)
				return
			}
			t.scoreFold(fit, test, res)
			t.opts.Logf("fold %d/%d: %d train, %d test, %d reasons held out", f+1, t.opts.Folds, len(train), len(test), len(drop))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// scoreFold records the SVM scores, network logits and coverage of the
// test examples under a fold's model, by global class (-Inf SVM scores
// for the classes the fold's model lacks).
func (t *trainer) scoreFold(fit *fitted, test []int, res *cvResult) {
	var h hashes
	var x sparse
	var s, o []float64
	var acc []float32
	var ns netScratch
	if fit.net != nil {
		o = make([]float64, fit.net.k)
	}
	counts := make([]uint16, len(fit.vz.voc.keys))
	for _, i := range test {
		h.reset()
		for b := range h {
			h[b] = append(h[b], t.feats[i][b]...)
		}
		x, res.coverage[i] = fit.vz.vectorize(&h, counts, x)
		acc, s = fit.lin.scores(x, acc, s)
		full := make([]float64, t.k)
		for c := range full {
			full[c] = math.Inf(-1)
		}
		for j, c := range fit.classes {
			full[c] = s[j]
		}
		res.scores[i] = full
		if fit.net != nil {
			fit.net.logits(x, &ns, o)
			net := make([]float64, t.k)
			for j, c := range fit.classes {
				net[c] = o[j]
			}
			res.net[i] = net
		}
	}
}

// stratifiedFolds assigns each example to one of k folds so that every
// label is spread evenly over the folds.
func stratifiedFolds(y []int, numLabels, k int, seed uint64) []int {
	byLabel := make([][]int, numLabels)
	for i, c := range y {
		byLabel[c] = append(byLabel[c], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	folds := make([]int, len(y))
	next := 0
	for _, rows := range byLabel {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		for _, r := range rows {
			folds[r] = next % k
			next++
		}
	}
	return folds
}

// Folds assigns each example to one of k cross-validation folds (0..k-1),
// spreading every label evenly over the folds, in an order fixed by seed.
func Folds(examples []Example, k int, seed uint64) []int {
	index := map[string]int{}
	y := make([]int, len(examples))
	var names []string
	for _, e := range examples {
		if _, ok := index[e.Label]; !ok {
			index[e.Label] = 0
			names = append(names, e.Label)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		index[n] = i
	}
	for i, e := range examples {
		y[i] = index[e.Label]
	}
	return stratifiedFolds(y, len(names), max(k, 1), seed)
}

// softmax writes the probabilities of scores at temperature t to p; classes
// scored -Inf get zero.
func softmax(scores []float64, t float64, p []float64) []float64 {
	p = p[:0]
	m := math.Inf(-1)
	for _, s := range scores {
		m = max(m, s)
	}
	var z float64
	for _, s := range scores {
		e := math.Exp((s - m) * t)
		p = append(p, e)
		z += e
	}
	for i := range p {
		p[i] /= z
	}
	return p
}

// known reports whether example i's label was among its fold model's classes.
func (cv *cvResult) known(i int) bool { return !math.IsInf(cv.scores[i][cv.y[i]], -1) }

// fitTemperature finds the factor on the scores that minimises the negative
// log-likelihood of the true labels of the examples whose fold model knew
// their label.
func (cv *cvResult) fitTemperature() float64 {
	nll := func(t float64) float64 {
		var sum float64
		var p []float64
		for i := range cv.y {
			if !cv.known(i) {
				continue
			}
			p = softmax(cv.scores[i], t, p)
			sum -= math.Log(max(p[cv.y[i]], 1e-12))
		}
		return sum
	}
	// Golden-section search on log t.
	lo, hi := math.Log(0.1), math.Log(200.0)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := nll(math.Exp(a)), nll(math.Exp(b))
	for range 60 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = nll(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = nll(math.Exp(b))
		}
	}
	return math.Exp((lo + hi) / 2)
}

// fitDetector fits the out-of-scope detector on the cross-validated
// predictions at temperature t and picks its threshold for the prior. It
// returns a nil detector when no example was out of scope for its model.
//
// The threshold is the mean of the best thresholds of bootstrap resamples
// of the predictions (drawn with seed): with few out-of-scope examples the
// objective can have two nearly equal peaks far apart, and a single pick
// would jump between them with the seed.
func (cv *cvResult) fitDetector(t, prior float64, seed uint64) (*detector, float64) {
	n := len(cv.y)
	xs := make([]cues, n)
	rs := make([]rejection, n)
	target := make([]bool, n)
	weight := make([]float64, n)
	var nIn, nOOS int
	var p []float64
	for i, yi := range cv.y {
		p = softmax(cv.scores[i], t, p)
		xs[i] = makeCues(p, cv.svm[i], cv.oos, cv.coverage[i])
		best := -1
		for c, pc := range p {
			if c != cv.oos && (best < 0 || pc > p[best]) {
				best = c
			}
		}
		r := rejection{correct: best == yi, isOOS: yi == cv.oos || !cv.known(i)}
		if cv.oos >= 0 {
			r.oosWins = p[cv.oos] > p[best]
		}
		rs[i] = r
		target[i] = r.isOOS || !r.correct
		if r.isOOS {
			nOOS++
		} else {
			nIn++
		}
	}
	if nOOS == 0 || nIn == 0 {
		return nil, 1
	}
	for i, r := range rs {
		if r.isOOS {
			weight[i] = prior / float64(nOOS)
		} else {
			weight[i] = (1 - prior) / float64(nIn)
		}
	}
	d := fitDetector(xs, target, weight)
	for i := range rs {
		rs[i].score = d.prob(xs[i])
	}
	const resamples = 32
	rng := rand.New(rand.NewPCG(seed, 0xb007))
	sample := make([]rejection, len(rs))
	var sum float64
	used := 0
	for range resamples {
		for i := range sample {
			sample[i] = rs[rng.IntN(len(rs))]
		}
		if th, ok := bestThreshold(sample, prior); ok {
			sum += th
			used++
		}
	}
	if used == 0 {
		th, _ := bestThreshold(rs, prior)
		return d, th
	}
	return d, sum / float64(used)
}

// CVStats are the figures of the cross-validation Train runs to calibrate
// a model: every example predicted by a model that did not see it (and
// that missed the held-out reasons).
type CVStats struct {
	// Folds is the number of folds; 0 when training skipped calibration.
	Folds int
	// InScopeN is the number of examples whose reason their fold model
	// knew, and Accuracy the share of them whose best reason was right.
	InScopeN int
	Accuracy float64
	// InScopeAccuracy is the share of those examples whose right reason
	// would have been applied (not found out of scope).
	InScopeAccuracy float64
	// OOSN is the number of examples out of scope for their fold model
	// (OOSLabel texts and texts of held-out reasons), and OOSRecall the
	// share of them found out of scope.
	OOSN      int
	OOSRecall float64
}

// stats scores the cross-validated predictions with the final calibration.
func (cv *cvResult) stats(t float64, det *detector, threshold float64) CVStats {
	var st CVStats
	var best, inApplied, oosFound int
	var p []float64
	m := &Model{oos: cv.oos, det: det, threshold: threshold}
	var buf [1]int
	for i, yi := range cv.y {
		p = softmax(cv.scores[i], t, p)
		top, rejected := m.rank(p, cv.svm[i], cv.coverage[i], buf[:])
		if yi == cv.oos || !cv.known(i) {
			st.OOSN++
			if rejected {
				oosFound++
			}
			continue
		}
		st.InScopeN++
		if top[0] == yi {
			best++
			if !rejected {
				inApplied++
			}
		}
	}
	if st.InScopeN > 0 {
		st.Accuracy = float64(best) / float64(st.InScopeN)
		st.InScopeAccuracy = float64(inApplied) / float64(st.InScopeN)
	}
	if st.OOSN > 0 {
		st.OOSRecall = float64(oosFound) / float64(st.OOSN)
	}
	return st
}

// parallel calls fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 1 || n < 64 {
		for i := range n {
			fn(i)
		}
		return
	}
	done := make(chan struct{})
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
			done <- struct{}{}
		}()
	}
	for range workers {
		<-done
	}
}
