package classify

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// reasonTemplates are a few contact reasons in English and Chinese, each
// as openings and endings that combine into varied texts.
var reasonTemplates = map[string][2][]string{
	"refund_status": {
		{"where is my refund", "i still have not received my refund", "when will i get my money back", "the refund is not in my account", "has my refund been processed"},
		{"", " yet", " for the returned shoes", " it has been two weeks", " please check", " for order 12345"},
	},
	"delivery_late": {
		{"my parcel has not arrived", "the package is late", "the courier never delivered my order", "delivery is delayed again", "tracking says delivered but nothing came"},
		{"", " yet", " and i need it tomorrow", " it has been ten days", " please help", " for order 98765"},
	},
	"password_reset": {
		{"i forgot my password", "i cannot log in to my account", "please reset my password", "the login page rejects my password", "locked out of my account"},
		{"", " again", " since this morning", " what should i do", " on the app", " after the update"},
	},
	"cancel_order": {
		{"please cancel my order", "i want to cancel the purchase", "how do i cancel an order", "cancel order before it ships", "i changed my mind cancel it"},
		{"", " now", " i ordered by mistake", " and refund the card", " thanks", " placed yesterday"},
	},
	"refund_zh": {
		{"我的退款什么时候到账", "还没有收到退款", "退款一直没有到", "申请的退款怎么还没处理", "退货后钱没有退回"},
		{"", "？", "，已经两个星期了", "，请帮我查一下", "，订单号12345"},
	},
	"delivery_zh": {
		{"我的快递还没到", "包裹什么时候送到", "物流信息一直不更新", "快递员没有送货", "显示已签收但是没收到"},
		{"", "？", "，已经十天了", "，请帮我查一下", "，急用"},
	},
}

// synthetic returns n examples of every reason, in an order fixed by seed.
func synthetic(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Example
	for _, label := range slices.Sorted(maps.Keys(reasonTemplates)) {
		t := reasonTemplates[label]
		for range n {
			text := t[0][rng.IntN(len(t[0]))] + t[1][rng.IntN(len(t[1]))]
			out = append(out, Example{Text: text, Label: label})
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// trainSynthetic trains on the synthetic reasons, failing the test on error.
func trainSynthetic(t testing.TB, opts Options) *Model {
	t.Helper()
	m, err := Train(context.Background(), synthetic(30, 1), opts)
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	return m
}

func saved(t testing.TB, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatalf("save: %v", err)
	}
	return buf.Bytes()
}

func TestTrainIsDeterministic(t *testing.T) {
	a := saved(t, trainSynthetic(t, Options{Seed: 7, Workers: 1}))
	b := saved(t, trainSynthetic(t, Options{Seed: 7, Workers: 4}))
	if !bytes.Equal(a, b) {
		t.Fatal("same data and seed gave different model bytes (1 vs 4 workers)")
	}
	c := saved(t, trainSynthetic(t, Options{Seed: 8}))
	if bytes.Equal(a, c) {
		t.Error("a different seed gave identical model bytes")
	}
}

func TestLearnsReasonsInEnglishAndChinese(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 1})
	tests := []struct{ text, want string }{
		{"Where is my refund? It has been two weeks", "refund_status"},
		{"the courier never delivered my parcel", "delivery_late"},
		{"I forgot my password and cannot log in", "password_reset"},
		{"please cancel the order i placed yesterday", "cancel_order"},
		{"退款什么时候到账？", "refund_zh"},
		{"快递一直没到，物流也不更新", "delivery_zh"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			p := m.Predict(tt.text)
			if p.Top[0].Label != tt.want {
				t.Fatalf("Predict(%q) best = %s (%v), want %s", tt.text, p.Top[0].Label, p.Top, tt.want)
			}
			if p.OutOfScope || p.Label != tt.want {
				t.Errorf("Predict(%q) = %s out of scope %v (confidence %.2f, threshold %.2f), want %s applied",
					tt.text, p.Label, p.OutOfScope, p.Confidence, m.Threshold(), tt.want)
			}
			if len(p.Top) != 3 || p.Top[0].Probability < p.Top[1].Probability || p.Top[1].Probability < p.Top[2].Probability {
				t.Errorf("Top = %v, want three reasons best first", p.Top)
			}
		})
	}
}

func TestTextFittingNoReasonIsOutOfScope(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 1})
	for _, text := range []string{
		"what will the weather be like on mars tomorrow",
		"tell me a joke about penguins and volcanoes",
		"明天火星上的天气怎么样",
	} {
		p := m.Predict(text)
		if !p.OutOfScope || p.Label != Unclassified {
			t.Errorf("Predict(%q) = %s (confidence %.2f), want out of scope", text, p.Label, p.Confidence)
		}
		if len(p.Top) == 0 {
			t.Errorf("Predict(%q) has no best guess", text)
		}
	}
}

func TestOOSLabelIsLearnedAsAClass(t *testing.T) {
	ex := synthetic(30, 2)
	for i, text := range []string{
		"what is the capital of peru", "play some jazz music", "how tall is mount everest",
		"set an alarm for six am", "what is the weather in paris", "tell me a fun fact",
		"who won the football match", "translate hello into french", "how many cups in a litre",
		"book a table for two tonight", "what time is it in tokyo", "recommend a good movie",
	} {
		ex = append(ex, Example{Text: text, Label: "oos"}, Example{Text: text + fmt.Sprint(" ", i), Label: "oos"})
	}
	m, err := Train(context.Background(), ex, Options{Seed: 3, OOSLabel: "oos"})
	if err != nil {
		t.Fatal(err)
	}
	if m.OOSLabel() != "oos" {
		t.Fatalf("OOSLabel() = %q", m.OOSLabel())
	}
	p := m.Predict("what is the capital of france")
	if !p.OutOfScope {
		t.Errorf("general knowledge question: %+v, want out of scope", p)
	}
	for _, s := range p.Top {
		if s.Label == "oos" {
			t.Errorf("Top holds the out-of-scope class: %v", p.Top)
		}
	}
	if p := m.Predict("where is my refund"); p.OutOfScope || p.Label != "refund_status" {
		t.Errorf("refund question: %+v", p)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		ex   []Example
		opts Options
	}{
		{"one label", []Example{{"a", "x"}, {"b", "x"}}, Options{}},
		{"empty text", []Example{{"a", "x"}, {" ", "y"}}, Options{}},
		{"empty label", []Example{{"a", "x"}, {"b", ""}}, Options{}},
		{"bad folds", synthetic(3, 1), Options{Folds: 1}},
		{"bad prior", synthetic(3, 1), Options{OOSPrior: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Train(context.Background(), tt.ex, tt.opts); err == nil {
				t.Error("Train succeeded, want an error")
			}
		})
	}
}

func TestTrainOnTinyData(t *testing.T) {
	// Some folds then lack a label, or every example.
	m, err := Train(context.Background(), []Example{{"refund please", "refund"}, {"parcel late", "delivery"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Predict("refund please"); p.Top[0].Label != "refund" {
		t.Errorf("Predict = %+v", p)
	}
}

func TestTrainStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, synthetic(10, 1), Options{}); err == nil {
		t.Fatal("Train with a cancelled context succeeded")
	}
}

func TestScore(t *testing.T) {
	pred := func(label string, oos bool) Prediction {
		p := Prediction{Label: label, OutOfScope: oos, Top: []Scored{{Label: "refund", Probability: 0.4}}}
		if oos {
			p.Label = Unclassified
		}
		return p
	}
	tests := []struct {
		name        string
		p           Prediction
		truth, oos  string
		wantCorrect bool
	}{
		{"applied right", pred("refund", false), "refund", "oos", true},
		{"rejected in-scope", pred("refund", true), "refund", "oos", false},
		{"rejected oos", pred("refund", true), "oos", "oos", true},
		{"applied to oos", pred("refund", false), "oos", "oos", false},
		{"closed set scores best guess", pred("refund", true), "refund", "", true},
		{"closed set wrong", pred("refund", false), "delivery", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Score(tt.p, tt.truth, tt.oos); got.Correct != tt.wantCorrect {
				t.Errorf("Score = %+v, want correct %v", got, tt.wantCorrect)
			}
		})
	}
}

func TestEvaluateCountsUnseenLabels(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 1, SkipCalibration: true})
	test := []Example{{"where is my refund", "refund_status"}, {"where is my refund", "never_trained"}}
	r := Evaluate(m, test, "")
	if r.N != 2 || r.Correct != 1 || r.Unseen["never_trained"] != 1 || r.Accuracy != 0.5 {
		t.Errorf("report = %+v", r)
	}
}

func TestFoldsAreStratified(t *testing.T) {
	ex := synthetic(10, 4)
	folds := Folds(ex, 5, 1)
	perFold := map[string][5]int{}
	for i, f := range folds {
		c := perFold[ex[i].Label]
		c[f]++
		perFold[ex[i].Label] = c
	}
	for label, c := range perFold {
		for f, n := range c {
			if n != 2 {
				t.Errorf("label %s fold %d has %d examples, want 2", label, f, n)
			}
		}
	}
}

func TestVersionNamesContent(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 1})
	if v := m.Version(); !strings.HasPrefix(v, "model-") || len(v) != len("model-")+8 {
		t.Errorf("Version() = %q", v)
	}
	if other := trainSynthetic(t, Options{Seed: 2}); other.Version() == m.Version() {
		t.Error("two different models share a version")
	}
}
