package textproc

import (
	"math"
	"sort"
)

// isStopWord reports English function words (as stems) and Chinese
// particles that say nothing about what a contact is about.
func isStopWord(stem string) bool {
	switch stem {
	case "a", "an", "the", "and", "or", "but", "if", "to", "of", "in", "on", "at", "by", "for", "with",
		"from", "as", "is", "are", "was", "were", "be", "been", "am", "do", "did", "doe", "have", "has", "had",
		"i", "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these", "those",
		"he", "she", "they", "them", "their", "what", "which", "who", "how", "when", "where", "why",
		"can", "could", "would", "should", "will", "shall", "may", "might", "must", "not", "no", "so",
		"there", "here", "about", "please", "hi", "hello", "thank", "thanks", "just", "get", "got", "im",
		"dont", "cant", "wont", "didnt", "isnt", "doesnt", "any", "some", "all", "up", "out", "again", "veri", "also", "too", "than", "then",
		"的", "了", "是", "我", "你", "吗", "呢", "吧", "啊", "在", "和", "也", "就", "都", "还", "请", "一个":
		return true
	}
	return false
}

// Terms returns the content terms of a text: English stems without stop
// words, numbers left out, and CJK character bigrams (single characters
// when a run is one character long). Similarity and clustering work on them.
func Terms(text string) []string {
	toks := Tokens(text)
	out := make([]string, 0, len(toks))
	lone := map[int]bool{}
	for _, t := range toks {
		if t.Kind == TokenCJKUnigram {
			lone[t.Pos] = true
		}
	}
	for _, t := range toks {
		if t.Kind == TokenCJKBigram {
			delete(lone, t.Pos)
			delete(lone, t.Pos+1)
		}
	}
	for _, t := range toks {
		switch t.Kind {
		case TokenWord:
			if len(t.Stem) > 1 && !isStopWord(t.Stem) {
				out = append(out, t.Stem)
			}
		case TokenCJKBigram:
			if !isStopWord(t.Text) {
				out = append(out, t.Text)
			}
		case TokenCJKUnigram:
			if lone[t.Pos] && !isStopWord(t.Text) {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

// Group is one cluster of similar texts.
type Group struct {
	// Members are the indexes of the texts in the group, in input order.
	Members []int
	// Terms are the group's most characteristic terms, strongest first
	// (in the surface form seen most often).
	Terms []string
}

type sparse map[int]float64

// Cluster groups texts whose TF-IDF vectors have a cosine similarity of at
// least threshold to a group's centroid: one pass in input order, then
// groups whose centroids are that similar are merged, so the grouping
// hardly depends on the order (and not at all for a given order). Groups
// are returned largest first; each carries up to 5 top terms.
func Cluster(texts []string, threshold float64) []Group {
	vocab := map[string]int{}
	var surface []map[string]int
	docs := make([]map[int]float64, len(texts))
	df := map[int]int{}
	for i, text := range texts {
		tf := map[int]float64{}
		for _, t := range Terms(text) {
			id, ok := vocab[t]
			if !ok {
				id = len(vocab)
				vocab[t] = id
				surface = append(surface, map[string]int{})
			}
			tf[id]++
		}
		for id := range tf {
			df[id]++
		}
		docs[i] = tf
	}
	for _, t := range Tokens(joinAll(texts)) {
		if id, ok := vocab[t.Stem]; ok && t.Kind == TokenWord {
			surface[id][t.Text]++
		}
	}
	n := float64(len(texts))
	vecs := make([]sparse, len(texts))
	for i, tf := range docs {
		v := sparse{}
		var norm float64
		for id, c := range tf {
			w := (1 + math.Log(c)) * (1 + math.Log((1+n)/(1+float64(df[id]))))
			if w > 0 {
				v[id] = w
				norm += w * w
			}
		}
		norm = math.Sqrt(norm)
		for id := range v {
			v[id] /= norm
		}
		vecs[i] = v
	}
	type group struct {
		members []int
		sum     sparse
		normSq  float64
	}
	var groups []*group
	for i, v := range vecs {
		if len(v) == 0 {
			continue
		}
		best, bestSim := -1, threshold
		for g, gr := range groups {
			if s := cosine(v, gr.sum, gr.normSq); s >= bestSim {
				best, bestSim = g, s
			}
		}
		if best < 0 {
			groups = append(groups, &group{sum: sparse{}})
			best = len(groups) - 1
		}
		gr := groups[best]
		gr.members = append(gr.members, i)
		for id, w := range v {
			old := gr.sum[id]
			gr.sum[id] = old + w
			gr.normSq += 2*old*w + w*w
		}
	}
	// A single pass depends on the order of the texts (a text that links
	// two others may come last): merge groups whose centroids are similar
	// enough until none are.
	for {
		bi, bj, best := -1, -1, threshold
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				if s := centroidCosine(groups[i].sum, groups[i].normSq, groups[j].sum, groups[j].normSq); s >= best {
					bi, bj, best = i, j, s
				}
			}
		}
		if bi < 0 {
			break
		}
		a, b := groups[bi], groups[bj]
		a.members = append(a.members, b.members...)
		sort.Ints(a.members)
		for id, w := range b.sum {
			old := a.sum[id]
			a.sum[id] = old + w
			a.normSq += 2*old*w + w*w
		}
		groups = append(groups[:bj], groups[bj+1:]...)
	}
	names := make([]string, len(vocab))
	for t, id := range vocab {
		names[id] = t
		most := 0
		for form, c := range surface[id] {
			if c > most || c == most && form < names[id] {
				names[id], most = form, c
			}
		}
	}
	out := make([]Group, 0, len(groups))
	for _, gr := range groups {
		ids := make([]int, 0, len(gr.sum))
		for id := range gr.sum {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(a, b int) bool {
			wa, wb := gr.sum[ids[a]], gr.sum[ids[b]]
			return wa > wb || wa == wb && names[ids[a]] < names[ids[b]]
		})
		g := Group{Members: gr.members}
		for _, id := range ids[:min(5, len(ids))] {
			g.Terms = append(g.Terms, names[id])
		}
		out = append(out, g)
	}
	sort.SliceStable(out, func(a, b int) bool { return len(out[a].Members) > len(out[b].Members) })
	return out
}

func joinAll(texts []string) string {
	n := 0
	for _, t := range texts {
		n += len(t) + 1
	}
	b := make([]byte, 0, n)
	for _, t := range texts {
		b = append(b, t...)
		b = append(b, '\n')
	}
	return string(b)
}

// centroidCosine is the cosine of two unnormalised centroid sums.
func centroidCosine(a sparse, na float64, b sparse, nb float64) float64 {
	if na <= 0 || nb <= 0 {
		return 0
	}
	if len(b) < len(a) {
		a, b = b, a
	}
	var dot float64
	for id, w := range a {
		dot += w * b[id]
	}
	return dot / math.Sqrt(na*nb)
}

// cosine of a unit vector a and an unnormalised centroid sum whose squared
// norm is normSq.
func cosine(a, sum sparse, normSq float64) float64 {
	if normSq <= 0 {
		return 0
	}
	var dot float64
	for id, w := range a {
		dot += w * sum[id]
	}
	return dot / math.Sqrt(normSq)
}
