package defects

import (
	"strings"

	"github.com/nocontact/nocontact/pkg/taxonomy"
	"github.com/nocontact/nocontact/pkg/textproc"
)

// bivKinds are the five kinds of process defect, in the order cue counts
// are kept.
var bivKinds = [...]string{taxonomy.BIVMistake, taxonomy.BIVRework, taxonomy.BIVBreakdown, taxonomy.BIVInefficiency, taxonomy.BIVVariation}

// cueSet holds the cue words of one kind: English stems (single words or
// phrases of stems) and Chinese substrings.
type cueSet struct {
	kind    int
	stems   [][]string
	chinese []string
}

// cueWords are the words that say what kind of defect a customer met,
// whatever the reason: "again" says the first answer did not resolve it
// (rework), "broken" that something broke down, and so on. English entries
// are matched as stemmed words, Chinese entries as substrings; the longest
// Chinese entry wins where they overlap (错误 is an error, a breakdown; 错
// alone is a mistake).
func cueWords() []cueSet {
	en := func(phrases ...string) [][]string {
		out := make([][]string, len(phrases))
		for i, p := range phrases {
			for _, w := range strings.Fields(p) {
				out[i] = append(out[i], textproc.Stem(w))
			}
		}
		return out
	}
	return []cueSet{
		{kind: 0, stems: en("wrong", "incorrect", "mistake", "mistaken", "wrongly", "not what i ordered", "mix up", "mixed up"),
			chinese: []string{"错", "不对", "搞错", "弄错", "发错", "不是我买的"}},
		{kind: 1, stems: en("again", "still", "second time", "third time", "already told", "already contacted", "keep asking", "once more", "yet again"),
			chinese: []string{"又", "再次", "还是", "第二次", "第三次", "仍然", "依然", "已经说过", "一直"}},
		{kind: 2, stems: en("broken", "broke", "break", "error", "fail", "failed", "failure", "crash", "crashed", "not working", "doesn't work", "stopped working", "snapped", "cracked", "smashed"),
			chinese: []string{"坏了", "坏的", "损坏", "破损", "碎了", "错误", "失败", "故障", "崩溃", "打不开", "用不了", "断了", "裂了"}},
		{kind: 3, stems: en("slow", "slowly", "waiting", "wait", "delay", "delayed", "forever", "took ages", "too long", "ages"),
			chinese: []string{"太慢", "慢", "等了", "等待", "延误", "迟迟", "好久", "太久"}},
		{kind: 4, stems: en("sometimes", "different answer", "different answers", "inconsistent", "contradict", "contradicts", "one place", "each time", "depends who"),
			chinese: []string{"有时", "不一样", "不一致", "矛盾", "说法不同", "每次都不"}},
	}
}

// cueMatcher finds the BIV cue words of a text.
type cueMatcher struct {
	sets    []cueSet
	chinese []cjkCue // every Chinese cue, longest first
}

type cjkCue struct {
	text string
	kind int
}

func newCueMatcher() *cueMatcher {
	m := &cueMatcher{sets: cueWords()}
	for _, s := range m.sets {
		for _, c := range s.chinese {
			m.chinese = append(m.chinese, cjkCue{c, s.kind})
		}
	}
	// Longest first, so that 错误 (breakdown) is taken before 错 (mistake).
	for i := 1; i < len(m.chinese); i++ {
		for j := i; j > 0 && len(m.chinese[j].text) > len(m.chinese[j-1].text); j-- {
			m.chinese[j], m.chinese[j-1] = m.chinese[j-1], m.chinese[j]
		}
	}
	return m
}

// Match returns which kinds the text has cue words for.
func (m *cueMatcher) Match(text string) [len(bivKinds)]bool {
	var out [len(bivKinds)]bool
	toks := textproc.Tokens(text)
	var stems []string
	hasCJK := false
	for _, t := range toks {
		switch t.Kind {
		case textproc.TokenWord, textproc.TokenNumber:
			stems = append(stems, t.Stem)
		case textproc.TokenCJKUnigram:
			hasCJK = true
		}
	}
	for _, s := range m.sets {
		for _, phrase := range s.stems {
			if containsPhrase(stems, phrase) {
				out[s.kind] = true
				break
			}
		}
	}
	if hasCJK {
		norm := textproc.Normalize(text)
		for _, c := range m.chinese {
			if strings.Contains(norm, c.text) {
				out[c.kind] = true
				// Blank the match so a shorter cue inside it does not count.
				norm = strings.ReplaceAll(norm, c.text, " ")
			}
		}
	}
	return out
}

func containsPhrase(words, phrase []string) bool {
	if len(phrase) == 0 || len(words) < len(phrase) {
		return false
	}
outer:
	for i := 0; i+len(phrase) <= len(words); i++ {
		for j, p := range phrase {
			if words[i+j] != p {
				continue outer
			}
		}
		return true
	}
	return false
}

// refineBIV picks a defect's kind: the reason's default unless one kind of
// cue word is said in at least cueShare of the defect's contacts (and in
// two of them at least); rework defects stay rework.
func refineBIV(def string, cues [len(bivKinds)]int32, contacts int, share float64) string {
	best, bestN := -1, int32(0)
	for k, n := range cues {
		if n > bestN {
			best, bestN = k, n
		}
	}
	if best >= 0 && bestN >= 2 && float64(bestN) >= share*float64(contacts) {
		return bivKinds[best]
	}
	return def
}
