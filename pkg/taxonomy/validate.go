package taxonomy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nocontact/nocontact/pkg/textproc"
)

// ErrInvalid is matched (with errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("invalid taxonomy")

// ValidationError lists every problem Validate found, each naming its place in
// the file, e.g. `reasons[3] (late_delivery): unknown owner "logistcs"`.
type ValidationError struct {
	// Problems are the problems in file order.
	Problems []string
}

// Error returns all problems on one line, separated by semicolons.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid taxonomy: %d problem(s): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Validate checks the whole taxonomy and returns a *ValidationError listing every
// problem, or nil. It checks that
//   - the version is at least 1;
//   - owner, channel and reason codes are present, lower_snake_case and unique
//     within their list, and have at least one name;
//   - costs are finite and not negative, and the channels include every code
//     of RequiredChannels;
//   - a reason's parent exists, is not retired and parents form no cycle;
//   - every active reason has a known owner, a BIV kind and both values; BIV,
//     complaint and value fields hold known words;
//   - merged_into names another reason and merges form no cycle;
//   - keywords are not empty and no keyword (compared by stems, or as
//     normalised text for CJK) belongs to two reasons;
//   - article ids are not empty and subject keys are lower_snake_case;
//   - exactly one reason is Unclassified, active and top-level.
func (t *Taxonomy) Validate() error {
	v := validator{}
	if t.Version < 1 {
		v.addf("version: must be at least 1, got %d", t.Version)
	}
	owners := v.codes("owners", len(t.Owners), func(i int) (string, map[string]string, float64) {
		o := t.Owners[i]
		return o.Code, o.Names, o.CostPerContact
	})
	channels := v.codes("channels", len(t.Channels), func(i int) (string, map[string]string, float64) {
		c := t.Channels[i]
		return c.Code, c.Names, c.CostPerContact
	})
	for _, code := range RequiredChannels() {
		if _, ok := channels[code]; !ok {
			v.addf("channels: missing required channel %q", code)
		}
	}
	reasons := make(map[string]int, len(t.Reasons))
	for i, r := range t.Reasons {
		if j, dup := reasons[r.Code]; dup && r.Code != "" {
			v.addf("%s: duplicate code, first at reasons[%d]", reasonPlace(i, r), j)
			continue
		}
		if r.Code != "" {
			reasons[r.Code] = i
		}
	}
	keywords := make(map[string]int)
	for i, r := range t.Reasons {
		v.reason(t, i, r, reasons, owners, keywords)
	}
	v.cycles(t, reasons, "parent", func(r Reason) string { return r.Parent })
	v.cycles(t, reasons, "merged_into", func(r Reason) string { return r.MergedInto })
	if i, ok := reasons[Unclassified]; !ok {
		v.addf("reasons: missing the %q reason", Unclassified)
	} else if r := t.Reasons[i]; r.Parent != "" || r.MergedInto != "" {
		v.addf("%s: must be top-level and active", reasonPlace(i, r))
	}
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	problems []string
}

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func reasonPlace(i int, r Reason) string {
	if r.Code == "" {
		return fmt.Sprintf("reasons[%d]", i)
	}
	return fmt.Sprintf("reasons[%d] (%s)", i, r.Code)
}

// codes checks the codes, names and costs of a list of owners or channels and
// returns the index of each valid code.
func (v *validator) codes(list string, n int, at func(int) (string, map[string]string, float64)) map[string]int {
	seen := make(map[string]int, n)
	for i := range n {
		code, names, cost := at(i)
		place := fmt.Sprintf("%s[%d]", list, i)
		if code != "" {
			place = fmt.Sprintf("%s[%d] (%s)", list, i, code)
		}
		v.code(place, code)
		if j, dup := seen[code]; dup && code != "" {
			v.addf("%s: duplicate code, first at %s[%d]", place, list, j)
		} else if code != "" {
			seen[code] = i
		}
		v.names(place, names)
		if cost < 0 || math.IsNaN(cost) || math.IsInf(cost, 0) {
			v.addf("%s: cost_per_contact must be a non-negative number, got %v", place, cost)
		}
	}
	return seen
}

func (v *validator) code(place, code string) {
	switch {
	case code == "":
		v.addf("%s: empty code", place)
	case !isSnakeCase(code):
		v.addf("%s: code %q is not lower_snake_case (a-z, 0-9, _; starting with a letter; at most 64 characters)", place, code)
	}
}

func (v *validator) names(place string, names map[string]string) {
	ok := false
	for locale, name := range names {
		if !isLocale(locale) {
			v.addf("%s: names: invalid locale %q", place, locale)
		}
		ok = ok || strings.TrimSpace(name) != ""
	}
	if !ok {
		v.addf("%s: no name", place)
	}
}

func (v *validator) reason(t *Taxonomy, i int, r Reason, reasons, owners, keywords map[string]int) {
	place := reasonPlace(i, r)
	v.code(place, r.Code)
	v.names(place, r.Names)
	active := r.MergedInto == ""
	if r.Parent != "" {
		switch p, ok := reasons[r.Parent]; {
		case r.Parent == r.Code:
			v.addf("%s: is its own parent", place)
		case !ok:
			v.addf("%s: unknown parent %q", place, r.Parent)
		case active && t.Reasons[p].MergedInto != "":
			v.addf("%s: parent %q is merged into %q", place, r.Parent, t.Reasons[p].MergedInto)
		}
	}
	if r.MergedInto != "" {
		if r.MergedInto == r.Code {
			v.addf("%s: is merged into itself", place)
		} else if _, ok := reasons[r.MergedInto]; !ok {
			v.addf("%s: merged_into unknown reason %q", place, r.MergedInto)
		}
	}
	switch _, ok := owners[r.Owner]; {
	case r.Owner == "" && active:
		v.addf("%s: missing owner", place)
	case r.Owner != "" && !ok:
		v.addf("%s: unknown owner %q", place, r.Owner)
	}
	switch r.BIV {
	case BIVMistake, BIVRework, BIVBreakdown, BIVInefficiency, BIVVariation:
	case "":
		if active {
			v.addf("%s: missing biv (one of mistake, rework, breakdown, inefficiency, variation)", place)
		}
	default:
		v.addf("%s: invalid biv %q (want mistake, rework, breakdown, inefficiency or variation)", place, r.BIV)
	}
	switch r.Complaint {
	case "", ComplaintTransactional, ComplaintAttitude, ComplaintOpinion:
	default:
		v.addf("%s: invalid complaint %q (want transactional, attitude or opinion)", place, r.Complaint)
	}
	for _, axis := range []struct{ name, value string }{{"customer", r.Value.Customer}, {"company", r.Value.Company}} {
		switch axis.value {
		case ValueLow, ValueHigh:
		case "":
			if active {
				v.addf("%s: missing value.%s (low or high)", place, axis.name)
			}
		default:
			v.addf("%s: invalid value.%s %q (want low or high)", place, axis.name, axis.value)
		}
	}
	for locale, list := range sortedKeywords(r.Keywords) {
		if !isLocale(locale) {
			v.addf("%s: keywords: invalid locale %q", place, locale)
		}
		for _, kw := range list {
			key, ok := keywordKey(kw)
			if !ok {
				v.addf("%s: keywords.%s: keyword %q has no words", place, locale, kw)
				continue
			}
			if j, dup := keywords[key]; dup {
				other := t.Reasons[j]
				if j == i {
					v.addf("%s: keywords.%s: keyword %q is listed twice", place, locale, kw)
				} else {
					v.addf("%s: keywords.%s: keyword %q is also a keyword of %s", place, locale, kw, reasonPlace(j, other))
				}
				continue
			}
			keywords[key] = i
		}
	}
	for k, a := range r.Articles {
		if strings.TrimSpace(a) == "" {
			v.addf("%s: articles[%d]: empty article id", place, k)
		}
	}
	for k, key := range r.SubjectKeys {
		if !isSnakeCase(key) {
			v.addf("%s: subject_keys[%d]: %q is not lower_snake_case", place, k, key)
		}
	}
}

// cycles reports every reason that reaches itself by following link.
func (v *validator) cycles(t *Taxonomy, reasons map[string]int, name string, link func(Reason) string) {
	for i, r := range t.Reasons {
		path := []string{r.Code}
		next := link(r)
		for steps := 0; next != "" && next != r.Code && steps <= len(t.Reasons); steps++ {
			j, ok := reasons[next]
			if !ok {
				break
			}
			path = append(path, next)
			next = link(t.Reasons[j])
		}
		if next == r.Code && next != "" && len(path) > 1 {
			v.addf("%s: %s cycle %s", reasonPlace(i, r), name, strings.Join(append(path, r.Code), " -> "))
		}
	}
}

// sortedKeywords returns the keyword lists with locales in a stable order
// ("en" first, then alphabetical) so that problems are reported the same way
// every time.
func sortedKeywords(m map[string][]string) func(func(string, []string) bool) {
	return func(yield func(string, []string) bool) {
		locales := make([]string, 0, len(m))
		for l := range m {
			locales = append(locales, l)
		}
		sortLocales(locales)
		for _, l := range locales {
			if !yield(l, m[l]) {
				return
			}
		}
	}
}

func sortLocales(locales []string) {
	slices.SortFunc(locales, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "en":
			return -1
		case b == "en":
			return 1
		}
		return strings.Compare(a, b)
	})
}

// keywordKey returns the form under which a keyword is matched and compared:
// the normalised text for a keyword with CJK characters, otherwise its stems
// joined by spaces. It reports false when the keyword has nothing to match.
func keywordKey(kw string) (string, bool) {
	n := textproc.Normalize(kw)
	if hasCJK(n) {
		return n, true
	}
	var stems []string
	for _, tok := range textproc.Tokenize(n) {
		stems = append(stems, tok.Stem)
	}
	if len(stems) == 0 {
		return "", false
	}
	return strings.Join(stems, " "), true
}

func hasCJK(s string) bool {
	for _, r := range s {
		if textproc.IsCJK(r) {
			return true
		}
	}
	return false
}

func isSnakeCase(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isLocale accepts a BCP 47 style tag of a two or three letter language with an
// optional region or script: "en", "zh", "zh-hant", "pt-br".
func isLocale(s string) bool {
	lang, rest, _ := strings.Cut(s, "-")
	if len(lang) < 2 || len(lang) > 3 || len(rest) > 8 {
		return false
	}
	for _, c := range lang + rest {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
