package defects

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNamesValue(t *testing.T) {
	for _, c := range []struct {
		text, value string
		want        bool
	}{
		{"since the update to 5.2.0 my payment failed", "5.2.0", true},
		{"新版本5.2.0付不了款", "5.2.0", true},
		{"i'm on 5.2.01 now", "5.2.0", false},
		{"i'm on 5.2.0.1 now", "5.2.0", false},
		{"version 5.2.0.", "5.2.0", true},
		{"the code spring20 is rejected", "SPRING20", true},
		{"the code spring200 is rejected", "SPRING20", false},
		{"i tried two cards", "card", false},
		{"my card was declined", "card", true},
		{"ios", "ios", false}, // too short to be an attribution
	} {
		if got := namesValue(strings.ToLower(c.text), c.value); got != c.want {
			t.Errorf("namesValue(%q, %q) = %v, want %v", c.text, c.value, got, c.want)
		}
	}
}

// paymentFailures returns a maker of payment-failure contacts on an app
// version, each with an id and order of its own.
func paymentFailures() func(customer, version, text string, at time.Time) Contact {
	n := 0
	return func(customer, version, text string, at time.Time) Contact {
		n++
		return Contact{
			ID: fmt.Sprint("p", n), CustomerID: customer, OrderID: fmt.Sprint("o", n), Reason: "payment_failed", Channel: "chat",
			Text: text, Metadata: map[string]string{"app_version": version, "payment_method": "wallet"}, ReceivedAt: at,
		}
	}
}

// namedWorld feeds three weeks of everyday payment failures on app
// versions 5.1.0 and 5.0.9 (about six a day each), a share of which quote
// their version (namingEvery: one in so many; 0: none), and returns the
// detector and a contact maker.
func namedWorld(t *testing.T, namingEvery int) (*Detector, func(customer, version, text string, at time.Time) Contact, []string) {
	t.Helper()
	d := newTestDetector(t, DetectorConfig{})
	mk := paymentFailures()
	var opened []string
	start := t0.Add(-21 * 24 * time.Hour)
	for h := 0; h < 21*24; h += 2 {
		at := start.Add(time.Duration(h) * time.Hour)
		v := []string{"5.1.0", "5.0.9"}[h/2%2]
		text := "My payment failed at checkout, it keeps spinning."
		if namingEvery > 0 && h/2%namingEvery == 0 {
			text = "My payment failed at checkout on version " + v + "."
		}
		for _, e := range d.Observe(mk(fmt.Sprint("everyday", h), v, text, at.Add(7*time.Minute))) {
			if e.Type == EventOpened {
				opened = append(opened, e.DefectID)
			}
		}
		d.Observe(Contact{ID: fmt.Sprint("w", h), CustomerID: fmt.Sprint("w", h), Reason: "where_is_my_order", Text: "where is it", ReceivedAt: at})
	}
	return d, mk, opened
}

// TestNamedSubjectOpensByThird: customers who name their app version in
// a reason whose contacts never do open a defect on that version by the
// third of them, although the version has an everyday rate and three
// contacts in a few hours are within it.
func TestNamedSubjectOpensByThird(t *testing.T) {
	d, mk, everyday := namedWorld(t, 0)
	if len(everyday) != 0 {
		t.Fatalf("everyday payment failures opened %d defects", len(everyday))
	}
	texts := []string{"Since the update to 5.1.0 my payment failed every time.", "Payment error after I updated to 5.1.0.",
		"My card is declined on version 5.1.0 but fine on the laptop."}
	var ids []string
	at := 0
	for i, text := range texts {
		ids = append(ids, opened(d.Observe(mk(fmt.Sprint("named", i), "5.1.0", text, t0.Add(time.Duration(i)*80*time.Minute))))...)
		if len(ids) > 0 && at == 0 {
			at = i + 1
		}
	}
	if len(ids) != 1 {
		t.Fatalf("three customers naming 5.1.0 opened %d defects, want 1", len(ids))
	}
	def, _ := d.Get(ids[0])
	if def.Title != "Payment failed: app version 5.1.0" || def.Subject["app_version"] != "5.1.0" {
		t.Errorf("opened %q %v", def.Title, def.Subject)
	}
	if note := def.History[0].Note; !strings.Contains(note, "customers name app version 5.1.0 in their own words") {
		t.Errorf("opening note %q does not say why", note)
	}
	if def.BaselinePerDay < 5 {
		t.Errorf("baseline %v a day: the version should have an everyday rate", def.BaselinePerDay)
	}
	t.Logf("opened at the %d. contact: %s", at, def.History[0].Note)

	// The same three contacts without naming the version are within its
	// everyday rate: no defect.
	d2, mk2, _ := namedWorld(t, 0)
	for i := range texts {
		if ids := opened(d2.Observe(mk2(fmt.Sprint("plain", i), "5.1.0", "My payment failed again at checkout.", t0.Add(time.Duration(i)*80*time.Minute)))); len(ids) > 0 {
			def, _ := d2.Get(ids[0])
			t.Errorf("three everyday contacts opened %q", def.Title)
		}
	}
}

// TestNamedWhereNamingIsEveryday: where the reason's contacts often quote
// their version (one in four here), three more that do are nothing new.
func TestNamedWhereNamingIsEveryday(t *testing.T) {
	d, mk, everyday := namedWorld(t, 4)
	if len(everyday) != 0 {
		t.Fatalf("everyday payment failures opened %d defects", len(everyday))
	}
	for i, text := range []string{"Since the update to 5.1.0 my payment failed every time.", "Payment error after I updated to 5.1.0.",
		"My card is declined on version 5.1.0 but fine on the laptop."} {
		if ids := opened(d.Observe(mk(fmt.Sprint("named", i), "5.1.0", text, t0.Add(time.Duration(i)*80*time.Minute)))); len(ids) > 0 {
			def, _ := d.Get(ids[0])
			t.Errorf("naming at the everyday share opened %q: %s", def.Title, def.History[0].Note)
		}
	}
}

// TestNamedSurvivesSnapshot: what the named test knows (which contacts
// named their subject, and how often the reason's contacts do) is in the
// snapshot, so a restarted detector opens the same defect.
func TestNamedSurvivesSnapshot(t *testing.T) {
	straight, mk, _ := namedWorld(t, 0)
	first := mk("named0", "5.1.0", "Since the update to 5.1.0 my payment failed every time.", t0)
	straight.Observe(first)
	restored := restart(t, straight, newTestDetector(t, DetectorConfig{}))
	second := mk("named1", "5.1.0", "Payment error after I updated to 5.1.0.", t0.Add(80*time.Minute))
	a, b := opened(straight.Observe(second)), opened(restored.Observe(second))
	if len(a) != 1 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("straight opened %v, restored %v; want the same one defect", a, b)
	}
}

// TestNamedWhereTheValueIsOftenNamed: the reason's contacts seldom quote
// their version (0.8% of them), but this version's do (one in ten of its
// contacts, as "Can I pay with PayPal?" names the method it asks about);
// three more that do are nothing new for it.
func TestNamedWhereTheValueIsOftenNamed(t *testing.T) {
	d := newTestDetector(t, DetectorConfig{})
	var versions []string
	for i := range 12 {
		versions = append(versions, fmt.Sprintf("5.0.%d", 5+i))
	}
	mk := paymentFailures()
	start := t0.Add(-21 * 24 * time.Hour)
	for h := 0; h < 21*24*2; h++ {
		at := start.Add(time.Duration(h) * 30 * time.Minute)
		v := versions[h%len(versions)]
		text := "My payment failed at checkout, it keeps spinning."
		if v == "5.0.5" && h/len(versions)%10 == 0 {
			text = "Does the payment work on 5.0.5 at all? It failed."
		}
		if ids := opened(d.Observe(mk(fmt.Sprint("everyday", h), v, text, at.Add(7*time.Minute)))); len(ids) > 0 {
			def, _ := d.Get(ids[0])
			t.Fatalf("everyday payment failures opened %q", def.Title)
		}
		d.Observe(Contact{ID: fmt.Sprint("w", h), CustomerID: fmt.Sprint("w", h), Reason: "where_is_my_order", Text: "where is it", ReceivedAt: at})
	}
	for i := range 3 {
		text := "Does the payment work on 5.0.5 at all? It failed."
		if ids := opened(d.Observe(mk(fmt.Sprint("named", i), "5.0.5", text, t0.Add(time.Duration(i)*40*time.Minute)))); len(ids) > 0 {
			def, _ := d.Get(ids[0])
			t.Errorf("naming a value its contacts often name opened %q: %s", def.Title, def.History[0].Note)
		}
	}
}
