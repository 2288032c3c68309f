// Package textproc holds the text utilities every service shares for English and
// Chinese (and other CJK) contact text: normalisation, locale detection, stemming,
// tokenisation for keyword rules and classifiers, and masking of personal data.
//
// All functions are pure and safe for concurrent use.
package textproc

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns s in the canonical form used for matching and indexing:
// Unicode NFKC (so full-width letters, digits and punctuation become their ASCII
// forms and compatibility characters are unfolded), lower case, typographic
// apostrophes and quotes folded to ASCII ' and ", invisible format characters
// (zero-width spaces, joiners, BOM) removed, and every run of whitespace or
// control characters collapsed to one space, with none at either end.
func Normalize(s string) string {
	if s == "" {
		return ""
	}
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			// Invalid input bytes are dropped rather than carried into indexes.
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		switch r {
		case '\u2018', '\u2019', '\u201a', '\u201b', '\u02bc', '\u2032':
			r = '\''
		case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033':
			r = '"'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// IsCJK reports whether r is a Chinese, Japanese or Korean character: a Han
// ideograph, Hiragana, Katakana (including the prolonged sound mark) or a Hangul
// syllable or jamo. Such characters are written without spaces between words.
func IsCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.Is(unicode.Han, r) ||
		unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) ||
		r == '\u30fc'
}

// DetectLocale guesses the language of s from its scripts. It returns "ja" when
// Kana make up at least a tenth of the CJK characters, "ko" when Hangul dominates,
// "zh" for other Han text, and "en" for everything else that contains letters.
// CJK text counts one unit per character and other text two units per word (a
// Chinese word is about two characters long), so "我的iPhone坏了" is "zh" while
// "Order from 上海" is "en". Text without any letter returns "".
func DetectLocale(s string) string {
	var han, kana, hangul, words int
	inWord := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			isLetter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
			if isLetter && !inWord {
				words++
			}
			inWord = isLetter || (inWord && '0' <= r && r <= '9')
			continue
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || r == '\u30fc':
			kana++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			if !inWord {
				words++
			}
			inWord = true
			continue
		}
		inWord = false
	}
	cjk := han + kana + hangul
	switch {
	case cjk == 0 && words == 0:
		return ""
	case cjk < 2*words:
		return "en"
	case hangul*2 >= cjk:
		return "ko"
	case kana*10 >= cjk:
		return "ja"
	default:
		return "zh"
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
