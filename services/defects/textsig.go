package defects

import (
	"hash/fnv"
	"math/bits"
	"slices"
	"strconv"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// fingerprint is what a contact's wording is compared by: a 64-bit SimHash
// of its content terms and word pairs (English stems without stop words,
// Chinese character bigrams), and the set of those features for an exact
// similarity check.
type fingerprint struct {
	hash     uint64
	features []uint64 // sorted, distinct
	terms    []string // content terms in text order, for titles
}

// newFingerprint computes the fingerprint of a text. Numbers and personal
// data are left out (order numbers differ between customers).
func newFingerprint(text string) fingerprint {
	terms := textproc.Terms(textproc.MaskPII(text))
	var feats []uint64
	h := func(s string) uint64 {
		f := fnv.New64a()
		_, _ = f.Write([]byte(s))
		return f.Sum64()
	}
	for i, t := range terms {
		feats = append(feats, h(t))
		if i > 0 {
			feats = append(feats, h(terms[i-1]+"\x00"+t))
		}
	}
	slices.Sort(feats)
	feats = slices.Compact(feats)
	var v [64]int
	for _, f := range feats {
		for b := range 64 {
			if f&(1<<b) != 0 {
				v[b]++
			} else {
				v[b]--
			}
		}
	}
	var hash uint64
	for b := range 64 {
		if v[b] > 0 {
			hash |= 1 << b
		}
	}
	return fingerprint{hash: hash, features: feats, terms: terms}
}

// jaccard is the share of features two fingerprints have in common.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	i, j, common := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			common++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// textCluster is a group of near-identical contact texts within one reason.
type textCluster struct {
	ID       string
	Hash     uint64
	Features []uint64
	Terms    []string
	LastSeen int64
}

// clusterIndex finds, within one reason, the cluster a fingerprint belongs
// to. Near-duplicates by SimHash differ in few bits, so any two within
// maxBits (at most 3) of each other agree exactly on at least one of four
// 16-bit blocks: each block indexes the clusters (Manku et al., 2007), and
// candidates are confirmed by the Jaccard similarity of their features.
type clusterIndex struct {
	clusters map[string]*textCluster
	blocks   [4]map[uint16][]string
	next     int
}

func newClusterIndex() *clusterIndex {
	ci := &clusterIndex{clusters: map[string]*textCluster{}}
	for i := range ci.blocks {
		ci.blocks[i] = map[uint16][]string{}
	}
	return ci
}

// assign returns the cluster of fp, creating one when no cluster is similar
// enough: SimHash within maxBits and feature Jaccard at least minJaccard.
func (ci *clusterIndex) assign(reason string, fp fingerprint, at int64, maxBits int, minJaccard float64) *textCluster {
	var best *textCluster
	bestSim := minJaccard
	seen := map[string]bool{}
	for b := range 4 {
		key := uint16(fp.hash >> (16 * b))
		for _, id := range ci.blocks[b][key] {
			if seen[id] {
				continue
			}
			seen[id] = true
			c := ci.clusters[id]
			if c == nil || bits.OnesCount64(c.Hash^fp.hash) > maxBits {
				continue
			}
			if s := jaccard(c.Features, fp.features); s >= bestSim {
				best, bestSim = c, s
			}
		}
	}
	if best == nil {
		ci.next++
		best = &textCluster{ID: reason + "~" + hex64(fp.hash), Hash: fp.hash, Features: fp.features, Terms: topTerms(fp.terms, 5)}
		if ci.clusters[best.ID] != nil {
			best.ID += "-" + strconv.Itoa(ci.next)
		}
		ci.add(best)
	}
	best.LastSeen = max(best.LastSeen, at)
	return best
}

func (ci *clusterIndex) add(c *textCluster) {
	ci.clusters[c.ID] = c
	for b := range 4 {
		key := uint16(c.Hash >> (16 * b))
		ci.blocks[b][key] = append(ci.blocks[b][key], c.ID)
	}
}

// prune forgets clusters not seen since before.
func (ci *clusterIndex) prune(before int64) {
	for id, c := range ci.clusters {
		if c.LastSeen >= before {
			continue
		}
		delete(ci.clusters, id)
		for b := range 4 {
			key := uint16(c.Hash >> (16 * b))
			ids := slices.DeleteFunc(ci.blocks[b][key], func(s string) bool { return s == id })
			if len(ids) == 0 {
				delete(ci.blocks[b], key)
			} else {
				ci.blocks[b][key] = ids
			}
		}
	}
}

// topTerms returns up to n distinct terms in order of first appearance.
func topTerms(terms []string, n int) []string {
	var out []string
	for _, t := range terms {
		if !slices.Contains(out, t) {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
