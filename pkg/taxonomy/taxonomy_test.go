package taxonomy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// baseYAML is a small valid taxonomy; tests append reasons to it.
const baseYAML = `version: 1
owners:
  - {code: logistics, names: {en: Logistics}, cost_per_contact: 4.5, contact: logistics@example.com}
  - {code: customer_service, names: {en: Customer service}, cost_per_contact: 3}
channels:
  - {code: phone, names: {en: Phone}, cost_per_contact: 6}
  - {code: email, names: {en: Email}, cost_per_contact: 4}
  - {code: chat, names: {en: Chat}, cost_per_contact: 3}
  - {code: social, names: {en: Social}, cost_per_contact: 3.5}
  - {code: web, names: {en: Web}, cost_per_contact: 2}
  - {code: self_service, names: {en: Self-service}, cost_per_contact: 0.1}
  - {code: other, names: {en: Other}, cost_per_contact: 4}
reasons:
  - code: unclassified
    names: {en: Unclassified}
    owner: customer_service
    biv: variation
    value: {customer: low, company: low}
`

func validYAML(reasons string) string {
	return baseYAML + strings.TrimPrefix(reasons, "\n")
}

func mustParse(t *testing.T, src string) *Taxonomy {
	t.Helper()
	tx, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tx
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error, all required
	}{
		{"empty", "", []string{"document is empty"}},
		{"bad yaml", "version: [1\nreasons: {", []string{"parse taxonomy", "yaml"}},
		{"wrong type", "version: two\n", []string{"parse taxonomy", "line 1"}},
		{"unknown top-level key", "version: 1\nreason: []\n", []string{"line 2", "field reason not found"}},
		{"unknown reason key", validYAML(`
  - code: late_delivery
    names: {en: Late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
    keyword: {en: [late]}
`), []string{"line 24", "field keyword not found"}},
		{"version", strings.Replace(baseYAML, "version: 1", "version: 0", 1), []string{"version: must be at least 1, got 0"}},
		{"empty reason code", validYAML(`
  - names: {en: Nameless}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), []string{"reasons[1]: empty code"}},
		{"bad code format", validYAML(`
  - code: Late-Delivery
    names: {en: Late}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), []string{`reasons[1] (Late-Delivery): code "Late-Delivery" is not lower_snake_case`}},
		{"duplicate reason", validYAML(`
  - code: unclassified
    names: {en: Again}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), []string{"reasons[1] (unclassified): duplicate code, first at reasons[0]"}},
		{"unknown owner", validYAML(`
  - code: late_delivery
    names: {en: Late}
    owner: logistcs
    biv: inefficiency
    value: {customer: low, company: low}
`), []string{`reasons[1] (late_delivery): unknown owner "logistcs"`}},
		{"missing fields of active reason", validYAML(`
  - code: late_delivery
    names: {en: Late}
`), []string{
			"reasons[1] (late_delivery): missing owner",
			"reasons[1] (late_delivery): missing biv",
			"reasons[1] (late_delivery): missing value.customer",
			"reasons[1] (late_delivery): missing value.company",
		}},
		{"invalid enums", validYAML(`
  - code: late_delivery
    names: {en: Late}
    owner: logistics
    biv: mistakes
    complaint: angry
    value: {customer: medium, company: HIGH}
`), []string{
			`invalid biv "mistakes"`,
			`invalid complaint "angry"`,
			`invalid value.customer "medium"`,
			`invalid value.company "HIGH"`,
		}},
		{"no name", validYAML(`
  - code: late_delivery
    names: {en: " "}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
`), []string{"reasons[1] (late_delivery): no name"}},
		{"unknown parent", validYAML(`
  - code: late_delivery
    parent: delivery
    names: {en: Late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
`), []string{`reasons[1] (late_delivery): unknown parent "delivery"`}},
		{"own parent", validYAML(`
  - code: late_delivery
    parent: late_delivery
    names: {en: Late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
`), []string{"reasons[1] (late_delivery): is its own parent"}},
		{"parent cycle", validYAML(`
  - code: a_reason
    parent: b_reason
    names: {en: A}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
  - code: b_reason
    parent: a_reason
    names: {en: B}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), []string{
			"reasons[1] (a_reason): parent cycle a_reason -> b_reason -> a_reason",
			"reasons[2] (b_reason): parent cycle b_reason -> a_reason -> b_reason",
		}},
		{"merged into unknown", validYAML(`
  - code: old_reason
    names: {en: Old}
    merged_into: new_reason
`), []string{`reasons[1] (old_reason): merged_into unknown reason "new_reason"`}},
		{"merge cycle", validYAML(`
  - code: a_reason
    names: {en: A}
    merged_into: b_reason
  - code: b_reason
    names: {en: B}
    merged_into: a_reason
`), []string{"merged_into cycle a_reason -> b_reason -> a_reason"}},
		{"child of merged reason", validYAML(`
  - code: old_reason
    names: {en: Old}
    merged_into: unclassified
  - code: child_reason
    parent: old_reason
    names: {en: Child}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), []string{`reasons[2] (child_reason): parent "old_reason" is merged into "unclassified"`}},
		{"keyword problems", validYAML(`
  - code: late_delivery
    names: {en: Late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
    keywords: {en: [delayed, "!!!", Delays], zh: [延误], english: [late]}
  - code: lost_parcel
    names: {en: Lost}
    owner: logistics
    biv: breakdown
    value: {customer: low, company: low}
    keywords: {en: [delay], zh: [延误]}
`), []string{
			`reasons[1] (late_delivery): keywords.en: keyword "!!!" has no words`,
			`reasons[1] (late_delivery): keywords.en: keyword "Delays" is listed twice`,
			`reasons[1] (late_delivery): keywords: invalid locale "english"`,
			`reasons[2] (lost_parcel): keywords.en: keyword "delay" is also a keyword of reasons[1] (late_delivery)`,
			`reasons[2] (lost_parcel): keywords.zh: keyword "延误" is also a keyword of reasons[1] (late_delivery)`,
		}},
		{"articles and subject keys", validYAML(`
  - code: late_delivery
    names: {en: Late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
    articles: [faq-late, ""]
    subject_keys: [carrier, Warehouse]
`), []string{
			"reasons[1] (late_delivery): articles[1]: empty article id",
			`reasons[1] (late_delivery): subject_keys[1]: "Warehouse" is not lower_snake_case`,
		}},
		{"unclassified missing", strings.Replace(baseYAML, "code: unclassified", "code: other_reason", 1),
			[]string{`reasons: missing the "unclassified" reason`}},
		{"unclassified merged", strings.Replace(validYAML(`
  - code: general
    names: {en: General}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
`), "    owner: customer_service\n", "    merged_into: general\n", 1), []string{`reasons[0] (unclassified): must be top-level and active`}},
		{"owner and channel problems", strings.NewReplacer(
			"{code: customer_service, names: {en: Customer service}, cost_per_contact: 3}",
			"{code: logistics, names: {en: Again}, cost_per_contact: -1}",
			"{code: social, names: {en: Social}, cost_per_contact: 3.5}",
			"{code: Social, names: {}, cost_per_contact: 3.5}",
		).Replace(baseYAML), []string{
			"owners[1] (logistics): duplicate code, first at owners[0]",
			"owners[1] (logistics): cost_per_contact must be a non-negative number, got -1",
			`channels[3] (Social): code "Social" is not lower_snake_case`,
			"channels[3] (Social): no name",
			`channels: missing required channel "social"`,
			`reasons[0] (unclassified): unknown owner "customer_service"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidationErrorListsAllProblems(t *testing.T) {
	src := strings.Replace(validYAML(`
  - code: late_delivery
    parent: nowhere
    names: {en: Late}
    owner: logistcs
    biv: slow
    value: {customer: low, company: low}
`), "version: 1", "version: 0", 1)
	_, err := Parse([]byte(src))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Parse error %v is not a *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	want := []string{
		"version: must be at least 1, got 0",
		`reasons[1] (late_delivery): unknown parent "nowhere"`,
		`reasons[1] (late_delivery): unknown owner "logistcs"`,
		`reasons[1] (late_delivery): invalid biv "slow" (want mistake, rework, breakdown, inefficiency or variation)`,
	}
	if !reflect.DeepEqual(verr.Problems, want) {
		t.Errorf("problems\n got  %q\n want %q", verr.Problems, want)
	}
	if !strings.HasPrefix(err.Error(), "invalid taxonomy: 4 problem(s): version") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestValidateHandBuilt(t *testing.T) {
	tx := &Taxonomy{Version: 1}
	err := tx.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	if len(verr.Problems) != len(RequiredChannels())+1 {
		t.Errorf("problems = %q, want one per required channel and the missing unclassified reason", verr.Problems)
	}
}

func TestLookups(t *testing.T) {
	src := validYAML(`
  - code: delivery
    names: {en: Delivery, zh: 配送}
    owner: logistics
    biv: variation
    value: {customer: low, company: low}
  - code: late_delivery
    parent: delivery
    names: {en: Late delivery}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
  - code: very_late
    parent: late_delivery
    names: {en: Very late}
    owner: logistics
    biv: inefficiency
    value: {customer: low, company: low}
  - code: lost_parcel
    parent: delivery
    names: {en: Lost parcel}
    owner: logistics
    biv: breakdown
    value: {customer: low, company: high}
  - code: parcel_missing
    names: {en: Parcel missing}
    merged_into: lost_parcel
  - code: gone_missing
    names: {en: Gone missing}
    merged_into: parcel_missing
`)
	parsed := mustParse(t, src)
	// A hand-built copy without the lookup index must answer the same.
	handBuilt := &Taxonomy{Version: parsed.Version, Reasons: parsed.Reasons, Owners: parsed.Owners, Channels: parsed.Channels}
	for name, tx := range map[string]*Taxonomy{"parsed": parsed, "hand-built": handBuilt} {
		t.Run(name, func(t *testing.T) {
			if r, ok := tx.Reason("late_delivery"); !ok || r.Parent != "delivery" {
				t.Errorf("Reason(late_delivery) = %+v, %v", r, ok)
			}
			if _, ok := tx.Reason("nope"); ok {
				t.Error("Reason(nope) found")
			}
			if o, ok := tx.Owner("logistics"); !ok || o.CostPerContact != 4.5 || o.Contact != "logistics@example.com" {
				t.Errorf("Owner(logistics) = %+v, %v", o, ok)
			}
			if _, ok := tx.Owner("nope"); ok {
				t.Error("Owner(nope) found")
			}
			if c, ok := tx.Channel("self_service"); !ok || c.CostPerContact != 0.1 {
				t.Errorf("Channel(self_service) = %+v, %v", c, ok)
			}
			if _, ok := tx.Channel("fax"); ok {
				t.Error("Channel(fax) found")
			}
			if got := codes(tx.Children("delivery")); !reflect.DeepEqual(got, []string{"late_delivery", "lost_parcel"}) {
				t.Errorf("Children(delivery) = %v", got)
			}
			if got := tx.Children("very_late"); len(got) != 0 {
				t.Errorf("Children(very_late) = %v", codes(got))
			}
			if got := tx.Children(""); len(got) != 0 {
				t.Errorf("Children(\"\") = %v", codes(got))
			}
			for code, want := range map[string]string{"very_late": "delivery", "delivery": "delivery", "unclassified": "unclassified"} {
				if r, ok := tx.Root(code); !ok || r.Code != want {
					t.Errorf("Root(%s) = %s, %v; want %s", code, r.Code, ok, want)
				}
			}
			if _, ok := tx.Root("nope"); ok {
				t.Error("Root(nope) found")
			}
			for code, want := range map[string]string{"gone_missing": "lost_parcel", "parcel_missing": "lost_parcel", "lost_parcel": "lost_parcel"} {
				if r, ok := tx.Resolve(code); !ok || r.Code != want {
					t.Errorf("Resolve(%s) = %s, %v; want %s", code, r.Code, ok, want)
				}
			}
			if _, ok := tx.Resolve("nope"); ok {
				t.Error("Resolve(nope) found")
			}
			if got := codes(tx.TopLevel()); !reflect.DeepEqual(got, []string{"unclassified", "delivery"}) {
				t.Errorf("TopLevel() = %v", got)
			}
			if got := codes(tx.Reasons); got[0] != "unclassified" || got[len(got)-1] != "gone_missing" {
				t.Errorf("reasons not in file order: %v", got)
			}
		})
	}
}

func TestNames(t *testing.T) {
	r := Reason{Code: "late_delivery", Names: map[string]string{"en": "Late delivery", "zh": "配送延误"}}
	for locale, want := range map[string]string{"zh": "配送延误", "en": "Late delivery", "fr": "Late delivery"} {
		if got := r.Name(locale); got != want {
			t.Errorf("Name(%s) = %q, want %q", locale, got, want)
		}
	}
	if got := (Owner{Code: "finance"}).Name("en"); got != "finance" {
		t.Errorf("Owner without names: Name = %q, want the code", got)
	}
	if got := (Channel{Code: "chat", Names: map[string]string{"zh": "聊天"}}).Name("de"); got != "chat" {
		t.Errorf("Channel without en name: Name = %q, want the code", got)
	}
}

func TestValueAction(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Value{ValueLow, ValueLow}, ActionEliminate},
		{Value{ValueLow, ValueHigh}, ActionAutomate},
		{Value{ValueHigh, ValueLow}, ActionSimplify},
		{Value{ValueHigh, ValueHigh}, ActionLeverage},
		{Value{}, ""},
		{Value{Customer: ValueHigh}, ""},
	}
	for _, tt := range tests {
		if got := tt.v.Action(); got != tt.want {
			t.Errorf("%+v.Action() = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taxonomy.yaml")
	if err := os.WriteFile(path, []byte(baseYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tx, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, ok := tx.Reason(Unclassified); !ok {
		t.Error("loaded taxonomy has no unclassified reason")
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read taxonomy") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) error = %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "load taxonomy "+bad) || !errors.Is(err, ErrInvalid) {
		t.Errorf("Load(bad) error = %v", err)
	}
}

func TestDefaultTaxonomy(t *testing.T) {
	tx, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	top := tx.TopLevel()
	if len(top) < 15 || len(top) > 25 {
		t.Errorf("default taxonomy has %d top-level reasons, want 15-25", len(top))
	}
	required := []string{
		"pre_sale_question", "where_is_my_order", "late_delivery", "damaged_item", "wrong_or_missing_item",
		"product_quality", "return_request", "refund_status", "payment_billing", "account_login",
		"promotion_coupon", "cancellation", "staff_attitude", "suggestion", Unclassified,
	}
	for _, code := range required {
		r, ok := tx.Reason(code)
		if !ok {
			t.Errorf("default taxonomy lacks %s", code)
			continue
		}
		if r.Parent != "" || r.MergedInto != "" {
			t.Errorf("%s is not an active top-level reason", code)
		}
	}
	for _, r := range tx.Reasons {
		if r.Names["en"] == "" || r.Names["zh"] == "" {
			t.Errorf("%s lacks an en or zh name: %v", r.Code, r.Names)
		}
		if r.MergedInto != "" || r.Code == Unclassified {
			continue
		}
		if len(r.Keywords["en"]) < 5 || len(r.Keywords["zh"]) < 5 {
			t.Errorf("%s has %d en and %d zh keywords, want at least 5 each", r.Code, len(r.Keywords["en"]), len(r.Keywords["zh"]))
		}
		if r.Value.Action() == "" {
			t.Errorf("%s has no place on the value matrix", r.Code)
		}
	}
	for _, code := range RequiredChannels() {
		if c, ok := tx.Channel(code); !ok || c.Names["zh"] == "" {
			t.Errorf("channel %s missing or without zh name", code)
		}
	}
	want := map[string]float64{"phone": 6, "email": 4, "chat": 3, "social": 3.5, "web": 2, "self_service": 0.1, "other": 4}
	for code, cost := range want {
		if c, _ := tx.Channel(code); c.CostPerContact != cost {
			t.Errorf("channel %s costs %v, want %v", code, c.CostPerContact, cost)
		}
	}
	matrix := map[string]string{
		"where_is_my_order": ActionEliminate,
		"pre_sale_question": ActionLeverage,
		"staff_attitude":    ActionLeverage,
	}
	for code, action := range matrix {
		if r, _ := tx.Reason(code); r.Value.Action() != action {
			t.Errorf("%s is in %q, want %q", code, r.Value.Action(), action)
		}
	}
	if r, _ := tx.Resolve("tracking_request"); r.Code != "where_is_my_order" {
		t.Errorf("Resolve(tracking_request) = %s", r.Code)
	}
	if got := codes(tx.Children("payment_billing")); len(got) < 2 {
		t.Errorf("payment_billing children = %v", got)
	}
	// Default returns independent copies.
	other, _ := Default()
	other.Reasons[0].Code = "changed"
	if tx.Reasons[0].Code == "changed" {
		t.Error("Default() returned shared state")
	}
	if string(DefaultYAML()) != string(defaultYAML) {
		t.Error("DefaultYAML differs from the embedded file")
	}
}

func codes(rs []Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}
