package textproc

import (
	"reflect"
	"testing"
)

func TestTermsDropStopWordsAndKeepChineseBigrams(t *testing.T) {
	got := Terms("Where is my gift card? I can't find the gift cards")
	want := []string{"gift", "card", "find", "gift", "card"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Terms = %q, want %q", got, want)
	}
	zh := Terms("礼品卡在哪里")
	if len(zh) == 0 || zh[0] != "礼品" {
		t.Errorf("Chinese terms = %q, want bigrams starting with 礼品", zh)
	}
}

func TestClusterGroupsSimilarTextsInBothLanguages(t *testing.T) {
	texts := []string{
		"How do I buy a gift card for my sister?",
		"Can I pay with a gift card at checkout?",
		"Do you sell gift cards?",
		"Is there a loyalty points programme?",
		"How do loyalty points work, how many points per order?",
		"礼品卡怎么买？",
		"可以买礼品卡吗",
		"Will it rain tomorrow?",
	}
	groups := Cluster(texts, 0.2)
	find := func(i int) int {
		for g, gr := range groups {
			for _, m := range gr.Members {
				if m == i {
					return g
				}
			}
		}
		return -1
	}
	if find(0) != find(1) || find(0) != find(2) {
		t.Errorf("gift-card questions split: %+v", groups)
	}
	if find(3) != find(4) || find(3) == find(0) {
		t.Errorf("loyalty questions not grouped apart: %+v", groups)
	}
	if find(5) != find(6) || find(5) == find(0) {
		t.Errorf("Chinese gift-card questions not grouped together: %+v", groups)
	}
	if len(groups[find(7)].Members) != 1 {
		t.Errorf("unrelated text joined a group: %+v", groups)
	}
	if g := groups[find(0)]; !(g.Terms[0] == "gift" && g.Terms[1] == "card" || g.Terms[0] == "card" && g.Terms[1] == "gift") {
		t.Errorf("top terms of the gift-card group = %q, want gift and card first", g.Terms)
	}
	if !reflect.DeepEqual(Cluster(texts, 0.2), groups) {
		t.Error("clustering is not deterministic")
	}
}

func TestClusterDoesNotDependOnOrder(t *testing.T) {
	texts := []string{
		"Can I recycle the packaging the blender came in?",
		"Is the packaging plastic free and recyclable?",
		"Is your packaging recyclable?",
	}
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, p := range perms {
		in := []string{texts[p[0]], texts[p[1]], texts[p[2]]}
		if g := Cluster(in, 0.25); len(g) != 1 {
			t.Errorf("order %v: %d groups, want the three packaging questions in one", p, len(g))
		}
	}
}
