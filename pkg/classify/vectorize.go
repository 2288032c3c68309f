package classify

import (
	"math"
	"slices"
)

// vocab is the feature dictionary learned from training texts: the hash of
// every feature seen in at least minDF texts, with its inverse document
// frequency.
type vocab struct {
	keys  []uint64 // sorted; a feature's index is its position
	idf   []float32
	index map[uint64]int32
	// unknownIDF weighs a feature absent from the dictionary when it counts
	// towards a block's norm (see vectorizer.unknownInNorm).
	unknownIDF float32
}

func newVocab(keys []uint64, idf []float32, unknownIDF float32) *vocab {
	v := &vocab{keys: keys, idf: idf, unknownIDF: unknownIDF, index: make(map[uint64]int32, len(keys))}
	for i, k := range keys {
		v.index[k] = int32(i)
	}
	return v
}

// buildVocab counts document frequencies over the texts' features and keeps
// those seen in at least minDF texts, with smoothed idf
// ln((1+n)/(1+df)) + 1.
func buildVocab(docs []hashes, minDF int) *vocab {
	df := map[uint64]int32{}
	var seen []uint64
	for i := range docs {
		seen = seen[:0]
		for b := range docs[i] {
			seen = append(seen, docs[i][b]...)
		}
		slices.Sort(seen)
		seen = slices.Compact(seen)
		for _, h := range seen {
			df[h]++
		}
	}
	keys := make([]uint64, 0, len(df))
	for h, c := range df {
		if int(c) >= minDF {
			keys = append(keys, h)
		}
	}
	slices.Sort(keys)
	n := float64(len(docs))
	idf := make([]float32, len(keys))
	for i, k := range keys {
		idf[i] = float32(math.Log((1+n)/(1+float64(df[k]))) + 1)
	}
	return newVocab(keys, idf, float32(math.Log(1+n)+1))
}

// sparse is a feature vector: indices into the vocabulary and their values.
type sparse struct {
	idx []int32
	val []float32
}

// vectorizer turns feature hashes into weighted, normalised sparse vectors.
type vectorizer struct {
	voc *vocab
	// blockWeight scales each block after its L2 normalisation.
	blockWeight [numBlocks]float32
	// unknownInNorm counts features missing from the dictionary in a
	// block's norm, so that a text made mostly of unseen words gets a short
	// vector and low scores: a cue that it fits no known reason.
	unknownInNorm bool
}

// vectorize appends the vector of h to out (reusing its storage) and
// returns it together with the fraction of the text's feature mass the
// dictionary knows. counts is working memory of one entry per dictionary
// feature, all zero, and left all zero; unknown features are sorted in
// place at the end of h's slices.
func (vz *vectorizer) vectorize(h *hashes, counts []uint16, out sparse) (sparse, float64) {
	out.idx, out.val = out.idx[:0], out.val[:0]
	var knownSq, totalSq float64
	for b := range h {
		hs := h[b]
		start := len(out.idx)
		unknown := 0
		for _, x := range hs {
			k, ok := vz.voc.index[x]
			if !ok {
				hs[unknown] = x
				unknown++
				continue
			}
			if counts[k] == 0 {
				out.idx = append(out.idx, k)
			}
			if counts[k] < math.MaxUint16 {
				counts[k]++
			}
		}
		var sumSq, unknownSq float64
		for i := start; i < len(out.idx); i++ {
			k := out.idx[i]
			v := float64(vz.voc.idf[k])
			if c := counts[k]; c > 1 {
				v *= 1 + math.Log(float64(c))
			}
			counts[k] = 0
			out.val = append(out.val, float32(v))
			sumSq += v * v
		}
		unk := hs[:unknown]
		slices.Sort(unk)
		for i := 0; i < len(unk); {
			j := i + 1
			for j < len(unk) && unk[j] == unk[i] {
				j++
			}
			v := (1 + math.Log(float64(j-i))) * float64(vz.voc.unknownIDF)
			unknownSq += v * v
			i = j
		}
		knownSq += sumSq
		totalSq += sumSq + unknownSq
		norm := sumSq
		if vz.unknownInNorm {
			norm += unknownSq
		}
		if norm == 0 {
			continue
		}
		scale := float64(vz.blockWeight[b]) / math.Sqrt(norm)
		for i := start; i < len(out.val); i++ {
			out.val[i] = float32(float64(out.val[i]) * scale)
		}
	}
	coverage := 0.0
	if totalSq > 0 {
		coverage = math.Sqrt(knownSq / totalSq)
	}
	return out, coverage
}
