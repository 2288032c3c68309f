package textproc

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// TokenKind says what a Token stands for.
type TokenKind uint8

// The kinds of token produced by Tokenize.
const (
	// TokenWord is a run of letters (and digits) in a script written with spaces,
	// such as English; its Stem is the Snowball English stem.
	TokenWord TokenKind = iota + 1
	// TokenNumber is a run of digits only; its Stem equals its Text.
	TokenNumber
	// TokenCJKUnigram is a single CJK character.
	TokenCJKUnigram
	// TokenCJKBigram is two adjacent CJK characters of the same run; it shares
	// the Pos of its first character.
	TokenCJKBigram
)

// String returns the kind's lower-case name, as used in logs and feature names.
func (k TokenKind) String() string {
	switch k {
	case TokenWord:
		return "word"
	case TokenNumber:
		return "number"
	case TokenCJKUnigram:
		return "cjk1"
	case TokenCJKBigram:
		return "cjk2"
	default:
		return "unknown"
	}
}

// Token is one unit of normalised text.
type Token struct {
	// Kind says whether the token is a word, a number or a CJK n-gram.
	Kind TokenKind
	// Text is the token as it appears in the normalised text.
	Text string
	// Stem is the form to match and count on: the English stem of a word
	// (apostrophes removed, so "hasn't" and "hasnt" agree) and Text otherwise.
	Stem string
	// Pos is the token's ordinal among words, numbers and CJK characters.
	// Consecutive tokens differ by one; a sentence or clause punctuation mark
	// (. , ; : ! ? and their CJK forms) between them leaves a gap of one more, so
	// that a phrase does not match across it. A bigram has the Pos of its first
	// character.
	Pos int
	// Start and End are the token's byte offsets in the normalised text.
	Start, End int
}

// Tokens normalises s with Normalize and splits the result with Tokenize.
func Tokens(s string) []Token {
	return Tokenize(Normalize(s))
}

// Tokenize splits text that is already normalised (see Normalize) into tokens in
// text order. Runs of letters and digits outside CJK become one TokenWord (or
// TokenNumber when all digits); an apostrophe between letters stays inside the
// word, any other symbol or space separates words. Each run of CJK characters
// yields every character as a TokenCJKUnigram followed, when another character
// of the run follows it, by the bigram of the two.
func Tokenize(text string) []Token {
	tokens := make([]Token, 0, tokenEstimate(text))
	pos := 0
	gap := false
	advance := func() int {
		if gap {
			pos++
			gap = false
		}
		p := pos
		pos++
		return p
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case IsCJK(r):
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if !IsCJK(r) {
					break
				}
				p := advance()
				uni := text[i : i+size]
				tokens = append(tokens, Token{Kind: TokenCJKUnigram, Text: uni, Stem: uni, Pos: p, Start: i, End: i + size})
				if i+size < len(text) {
					r2, size2 := utf8.DecodeRuneInString(text[i+size:])
					if IsCJK(r2) {
						bi := text[i : i+size+size2]
						tokens = append(tokens, Token{Kind: TokenCJKBigram, Text: bi, Stem: bi, Pos: p, Start: i, End: i + size + size2})
					}
				}
				i += size
			}
		case isWordRune(r):
			start := i
			digits := true
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if r == '\'' && i > start && i+1 < len(text) {
					next, _ := utf8.DecodeRuneInString(text[i+1:])
					prev, _ := utf8.DecodeLastRuneInString(text[:i])
					if unicode.IsLetter(prev) && unicode.IsLetter(next) && !IsCJK(next) {
						digits = false
						i += size
						continue
					}
				}
				if !isWordRune(r) && !unicode.Is(unicode.Mn, r) {
					break
				}
				if r < '0' || r > '9' {
					digits = false
				}
				i += size
			}
			word := text[start:i]
			tok := Token{Kind: TokenWord, Text: word, Stem: word, Pos: advance(), Start: start, End: i}
			if digits {
				tok.Kind = TokenNumber
			} else {
				tok.Stem = Stem(word)
			}
			tokens = append(tokens, tok)
		default:
			if isClauseBreak(r) {
				gap = true
			}
			i += size
		}
	}
	return tokens
}

// Stem returns the Snowball (Porter2) English stem of word in lower case, so that
// "refund", "refunds", "refunded" and "refunding" all give "refund". Apostrophes
// are removed first ("hasn't" and "hasnt" agree). Words shorter than three
// letters and words containing CJK characters are returned lower-cased but
// otherwise unchanged.
func Stem(word string) string {
	w := strings.ToLower(word)
	if strings.ContainsAny(w, "'\u2019") {
		w = strings.Map(func(r rune) rune {
			if r == '\'' || r == '\u2019' {
				return -1
			}
			return r
		}, w)
	}
	if len(w) < 3 {
		return w
	}
	for _, r := range w {
		if IsCJK(r) {
			return w
		}
	}
	env := snowballstem.NewEnv(w)
	english.Stem(env)
	return env.Current()
}

// tokenEstimate guesses how many tokens Tokenize will produce, to size its
// result once: two per three-byte (CJK) character, one per space.
func tokenEstimate(text string) int {
	n := 4
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c >= 0xe0:
			n += 2
		case c == ' ':
			n++
		}
	}
	return n
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z'
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !IsCJK(r)
}

func isClauseBreak(r rune) bool {
	switch r {
	case '.', ',', ';', ':', '!', '?', '\u3002', '\uff0c', '\uff1b', '\uff1a', '\uff01', '\uff1f', '\u3001':
		return true
	}
	return false
}
