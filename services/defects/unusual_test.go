package defects

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// wordingWorld feeds three weeks of everyday late deliveries (one an hour,
// over two carriers and two regions, so Quickpost in the north has about
// six a day) and where-is-my-order questions, in English and Chinese, with
// products and cities substituted into a handful of sentences. varied
// makes every everyday late delivery also carry words of its own (a
// reason whose contacts are all worded differently). It returns the
// detector, a late-delivery contact maker and the defects the everyday
// contacts opened.
func wordingWorld(t *testing.T, varied bool) (*Detector, func(customer, text string, at time.Time) Contact, []string) {
	t.Helper()
	d := newTestDetector(t, DetectorConfig{})
	products := []string{"desk lamp", "ceramic mug", "yoga mat", "wool scarf", "kettle", "running shoes"}
	productsZH := []string{"台灯", "马克杯", "瑜伽垫", "围巾", "电水壶", "跑鞋"}
	cities := []string{"Leeds", "York", "Bristol", "Cardiff"}
	citiesZH := []string{"北京", "天津", "沈阳", "成都"}
	en := []string{
		"My order is late, the %s should have arrived on Monday.", "The %s still hasn't arrived. I live in %s.",
		"It's been six days and I'm still waiting for my %s.", "Delivery is taking too long, the %s is late. I'm in %s.",
		"The package with my %s never arrived.", "We are way past the delivery date for the %s and nobody can tell me anything.",
	}
	zh := []string{"%s迟迟不到，怎么回事？我在%s。", "快递太慢了，%s几天了还没送到。", "物流延误了，%s一直没到，我在%s。", "%s已经过了预计送达时间，还没到。"}
	wismo := []string{"Where is my %s? I live in %s.", "Has my %s shipped yet?", "我的%s到哪了？我在%s。"}
	n := 0
	fill := func(tpl, product, city string) string {
		if strings.Count(tpl, "%s") == 2 {
			return fmt.Sprintf(tpl, product, city)
		}
		return fmt.Sprintf(tpl, product)
	}
	var everyday []string
	start := t0.Add(-21 * 24 * time.Hour)
	for h := 0; h < 21*24; h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		carrier, region := []string{"Quickpost", "Swiftline"}[h%2], []string{"north", "south"}[h/2%2]
		var text string
		if h%4 == 3 {
			text = fill(zh[h/4%len(zh)], productsZH[h/3%len(productsZH)], citiesZH[h/5%len(citiesZH)])
		} else {
			text = fill(en[h%len(en)], products[h/3%len(products)], cities[h/5%len(cities)])
		}
		if varied {
			text += fmt.Sprintf(" Also the %s wobbled, and the %s.", nonce(h), nonce(h+7919))
		}
		n++
		c := Contact{ID: fmt.Sprint("e", n), CustomerID: fmt.Sprint("everyday", n), OrderID: fmt.Sprint("o", n), Reason: "late_delivery",
			Channel: "email", Text: text, Metadata: map[string]string{"carrier": carrier, "region": region}, ReceivedAt: at.Add(5 * time.Minute)}
		everyday = append(everyday, opened(d.Observe(c))...)
		w := wismo[h%len(wismo)]
		p, city := products[h/2%len(products)], cities[h/3%len(cities)]
		if h%len(wismo) == 2 {
			p, city = productsZH[h/2%len(productsZH)], citiesZH[h/3%len(citiesZH)]
		}
		d.Observe(Contact{ID: fmt.Sprint("w", h), CustomerID: fmt.Sprint("w", h), Reason: "where_is_my_order", Text: fill(w, p, city),
			Metadata: map[string]string{"carrier": carrier, "region": region}, ReceivedAt: at.Add(35 * time.Minute)})
	}
	mk := func(customer, text string, at time.Time) Contact {
		n++
		return Contact{ID: fmt.Sprint("t", n), CustomerID: customer, OrderID: fmt.Sprint("o", n), Reason: "late_delivery", Channel: "email",
			Text: text, Metadata: map[string]string{"carrier": "Quickpost", "region": "north"}, ReceivedAt: at}
	}
	return d, mk, everyday
}

// nonce is a made-up word, different for every i.
func nonce(i int) string {
	const letters = "bcdfghjklmnpqrstvwxz"
	var b []byte
	for v := i*2654435761%1000003 + 1000; v > 0; v /= len(letters) {
		b = append(b, letters[v%len(letters)], "aeiou"[v%5])
	}
	return string(b)
}

// observeAll feeds three contacts an hour and a half apart and returns
// the defects they opened and at which contact the first opened.
func observeAll(d *Detector, mk func(customer, text string, at time.Time) Contact, prefix string, texts []string) ([]string, int) {
	var ids []string
	at := 0
	for i, text := range texts {
		ids = append(ids, opened(d.Observe(mk(fmt.Sprint(prefix, i), text, t0.Add(time.Duration(i)*90*time.Minute))))...)
		if len(ids) > 0 && at == 0 {
			at = i + 1
		}
	}
	return ids, at
}

var rareDelays = []string{
	"The courier has had my parcel for a week and keeps pushing the date. My neighbour has the same problem.",
	"Another delayed delivery with this courier here, they keep pushing the date and my neighbour is waiting too.",
	"The courier has had my parcel since last Tuesday, the tracking hasn't updated anything since.",
}

// TestUnusualWordingOpensByThird: three customers of a busy subject who
// describe a late delivery in words the reason's contacts do not use open
// a defect by the third, although three contacts in a few hours are
// within the subject's everyday rate; the same three in everyday words do
// not.
func TestUnusualWordingOpensByThird(t *testing.T) {
	d, mk, everyday := wordingWorld(t, false)
	if len(everyday) != 0 {
		t.Fatalf("everyday late deliveries opened %d defects", len(everyday))
	}
	ids, at := observeAll(d, mk, "rare", rareDelays)
	if len(ids) != 1 {
		t.Fatalf("three customers in rare words opened %d defects, want 1", len(ids))
	}
	def, _ := d.Get(ids[0])
	if def.Subject["carrier"] != "Quickpost" {
		t.Errorf("opened %q %v", def.Title, def.Subject)
	}
	note := def.History[0].Note
	if !regexp.MustCompile(`2 of 2 customers describe it in words rare for this reason`).MatchString(note) {
		t.Errorf("opening note %q does not say why", note)
	}
	if at != 2 {
		t.Errorf("opened at contact %d, want the 2nd: both customers wrote unusually", at)
	}
	if def.BaselinePerDay < 3 {
		t.Errorf("baseline %v a day: the subject should have an everyday rate", def.BaselinePerDay)
	}
	t.Logf("opened at the %d. contact: %s", at, note)

	d2, mk2, _ := wordingWorld(t, false)
	plain := []string{"The kettle still hasn't arrived. I live in Leeds.", "My order is late, the yoga mat should have arrived on Monday.",
		"It's been six days and I'm still waiting for my desk lamp."}
	if ids, _ := observeAll(d2, mk2, "plain", plain); len(ids) > 0 {
		def, _ := d2.Get(ids[0])
		t.Errorf("three everyday contacts opened %q: %s", def.Title, def.History[0].Note)
	}
}

// TestUnusualWordingWhereEveryContactIsVaried: where the reason's everyday
// contacts are worded every which way (each has words of its own), three
// more with rare words are nothing new.
func TestUnusualWordingWhereEveryContactIsVaried(t *testing.T) {
	d, mk, everyday := wordingWorld(t, true)
	if len(everyday) != 0 {
		t.Fatalf("everyday late deliveries opened %d defects", len(everyday))
	}
	if ids, _ := observeAll(d, mk, "rare", rareDelays); len(ids) > 0 {
		def, _ := d.Get(ids[0])
		t.Errorf("rare words at the everyday share opened %q: %s", def.Title, def.History[0].Note)
	}
}

// TestUnusualWordingChinese: Chinese contacts in characters the reason's
// contacts do not use open a defect by the third; a product name and a
// city the shop knows, in an everyday sentence, are no new wording,
// although the reason has never seen them.
func TestUnusualWordingChinese(t *testing.T) {
	d, mk, _ := wordingWorld(t, false)
	// A product and a city the shop's other contacts name, never in a
	// late delivery so far.
	for i := range 40 {
		d.Observe(Contact{ID: fmt.Sprint("s", i), CustomerID: fmt.Sprint("s", i), Reason: "where_is_my_order", Text: "我的蓝牙耳机到哪了？我在杭州。",
			ReceivedAt: t0.Add(-time.Duration(4+i) * 12 * time.Hour)})
	}
	named := []string{"蓝牙耳机迟迟不到，怎么回事？我在杭州。", "快递太慢了，蓝牙耳机几天了还没送到。我在杭州。", "物流延误了，蓝牙耳机一直没到，我在杭州。"}
	if ids, _ := observeAll(d, mk, "named", named); len(ids) > 0 {
		def, _ := d.Get(ids[0])
		t.Errorf("a known product and city in everyday sentences opened %q: %s", def.Title, def.History[0].Note)
	}
	d2, mk2, _ := wordingWorld(t, false)
	rare := []string{"快递公司把包裹压了一个星期，邻居也一样，客服电话打不通。", "快递公司一直改派送日期，邻居的包裹也压着。",
		"快递公司压着我的包裹一个星期了，客服电话一直打不通。"}
	ids, at := observeAll(d2, mk2, "rare", rare)
	if len(ids) != 1 {
		t.Fatalf("three customers in rare words opened %d defects, want 1", len(ids))
	}
	def, _ := d2.Get(ids[0])
	t.Logf("opened at the %d. contact: %s", at, def.History[0].Note)
}

// TestUnusualSurvivesSnapshot: the reason's wording, the verdicts of
// recent contacts and the unusual share are in the snapshot, so a
// restarted detector opens the same defect.
func TestUnusualSurvivesSnapshot(t *testing.T) {
	straight, mk, _ := wordingWorld(t, false)
	straight.Observe(mk("rare0", rareDelays[0], t0))
	restored := restart(t, straight, newTestDetector(t, DetectorConfig{}))
	var a, b []string
	for i, text := range rareDelays[1:] {
		c := mk(fmt.Sprint("rare", i+1), text, t0.Add(time.Duration(i+1)*90*time.Minute))
		a, b = append(a, opened(straight.Observe(c))...), append(b, opened(restored.Observe(c))...)
	}
	if len(a) != 1 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("straight opened %v, restored %v; want the same one defect", a, b)
	}
}

// TestMisspelt: a rare word that is a usual word of the shop with two
// letters swapped, one doubled or one dropped is a typo, not new wording.
func TestMisspelt(t *testing.T) {
	shop := newTermModel()
	var usual []term
	for _, w := range []string{"arrived", "package", "delivery"} {
		usual = append(usual, term{h: hashTerm(textproc.Stem(w))})
	}
	for range 2000 {
		shop.count(0, usual, 1)
	}
	shop.rebuild(1, 28)
	for _, c := range []struct {
		word string
		want bool
	}{{"arived", true}, {"pacakge", true}, {"delivvery", true}, {"padding", false}, {"neighbour", false}, {"pkg", false}} {
		if got := misspelt(c.word, shop); got != c.want {
			t.Errorf("misspelt(%q) = %v, want %v", c.word, got, c.want)
		}
	}
}
