package classify

import (
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// Feature namespaces: every feature is the FNV-1a hash of its namespace byte
// followed by its text, so a word and a character n-gram with the same
// letters never meet.
const (
	nsWord    = 'w'
	nsBigram  = 'b'
	nsNumber  = 'n'
	nsChar    = 'c'
	nsCJKChar = 'k'
	nsCJK     = 'j'
)

// The two blocks of the feature vector; each is weighted and L2-normalised
// on its own.
const (
	blockWord = iota
	blockChar
	numBlocks
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func nsHash(ns byte) uint64 { return hashByte(fnvOffset, ns) }

// featureConfig is the featurizer's settings; it is part of the model.
type featureConfig struct {
	// CharMin and CharMax bound the length in characters of the n-grams
	// taken inside each space-padded word of a language written with spaces.
	CharMin, CharMax int
	// CJKMax is the longest character n-gram taken inside a run of CJK
	// characters padded with boundary marks (unigrams and bigrams always
	// come from the tokenizer).
	CJKMax int
	// WordBigrams adds pairs of adjacent word stems not split by a clause
	// break.
	WordBigrams bool
}

// hashes holds the feature hashes of one text, per block, with repeats.
type hashes [numBlocks][]uint64

func (h *hashes) reset() {
	for b := range h {
		h[b] = h[b][:0]
	}
}

// extract appends the feature hashes of text to out.
func (fc featureConfig) extract(text string, out *hashes) {
	norm := textproc.Normalize(text)
	toks := textproc.Tokenize(norm)
	var prev uint64
	prevPos := -2
	for i := 0; i < len(toks); i++ {
		t := &toks[i]
		switch t.Kind {
		case textproc.TokenWord, textproc.TokenNumber:
			var h uint64
			if t.Kind == textproc.TokenNumber {
				// The digits rarely repeat (order numbers, amounts); their
				// count says more.
				h = hashByte(hashString(nsHash(nsNumber), t.Stem), byte(min(len(t.Stem), 12)))
				out[blockWord] = append(out[blockWord], hashByte(nsHash(nsNumber), byte(min(len(t.Stem), 12))))
			} else {
				h = hashString(nsHash(nsWord), t.Stem)
				fc.charGrams(t.Text, out)
			}
			out[blockWord] = append(out[blockWord], h)
			if fc.WordBigrams && t.Pos == prevPos+1 {
				out[blockWord] = append(out[blockWord], (prev*31+h)^nsHash(nsBigram))
			}
			prev, prevPos = h, t.Pos
		case textproc.TokenCJKUnigram:
			// Gather the run of CJK characters that starts here.
			start, end := i, i
			for j := i; j < len(toks); j++ {
				if toks[j].Kind == textproc.TokenCJKBigram {
					continue
				}
				if toks[j].Kind != textproc.TokenCJKUnigram || (j > start && toks[j].Start != toks[end].End) {
					break
				}
				end = j
			}
			for j := start; j <= end; j++ {
				tj := &toks[j]
				if tj.Kind == textproc.TokenCJKUnigram || tj.Kind == textproc.TokenCJKBigram {
					out[blockWord] = append(out[blockWord], hashString(nsHash(nsCJK), tj.Text))
				}
			}
			fc.cjkGrams(norm[toks[start].Start:toks[end].End], out)
			prevPos = -2
			i = end
		}
	}
}

// charGrams appends the character n-grams of the word padded with a space
// on each side, as scikit-learn's char_wb analyzer does.
func (fc featureConfig) charGrams(word string, out *hashes) {
	if fc.CharMax < fc.CharMin || fc.CharMax <= 0 {
		return
	}
	var offs [66]int
	n := 0
	for i := range word {
		if n == len(offs)-1 {
			return // very long words are noise (URLs, ids)
		}
		offs[n] = i
		n++
	}
	offs[n] = len(word)
	// Positions 0 and n+1 are the pads.
	seg := func(h uint64, k int) uint64 {
		if k == 0 || k == n+1 {
			return hashByte(h, ' ')
		}
		return hashString(h, word[offs[k-1]:offs[k]])
	}
	total := n + 2
	for s := 0; s < total; s++ {
		h := nsHash(nsChar)
		for k := s; k < total && k-s < fc.CharMax; k++ {
			h = seg(h, k)
			if k-s+1 >= fc.CharMin {
				out[blockChar] = append(out[blockChar], h)
			}
		}
	}
}

// cjkGrams appends the character n-grams of lengths 2..CJKMax of a run of
// CJK characters padded with a boundary mark on each side.
func (fc featureConfig) cjkGrams(run string, out *hashes) {
	if fc.CJKMax < 2 {
		return
	}
	offs := make([]int, 0, utf8.RuneCountInString(run)+1)
	for i := range run {
		offs = append(offs, i)
	}
	n := len(offs)
	offs = append(offs, len(run))
	seg := func(h uint64, k int) uint64 {
		if k == 0 || k == n+1 {
			return hashByte(h, 0)
		}
		return hashString(h, run[offs[k-1]:offs[k]])
	}
	total := n + 2
	for s := 0; s < total; s++ {
		h := nsHash(nsCJKChar)
		for k := s; k < total && k-s < fc.CJKMax; k++ {
			h = seg(h, k)
			if k-s+1 >= 2 {
				out[blockChar] = append(out[blockChar], h)
			}
		}
	}
}
