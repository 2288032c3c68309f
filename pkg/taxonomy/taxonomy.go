// Package taxonomy holds the contact reason taxonomy: the reasons customers
// contact the company for, the departments that own them, and the contact
// channels with their cost, loaded from YAML and validated so that every service
// reads the same codes.
//
// A Taxonomy is immutable once parsed and safe for concurrent use. Reason codes
// are stable: a renamed or retired reason keeps its code and points to its
// successor with merged_into, so that history stays comparable.
package taxonomy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Unclassified is the code of the reason every taxonomy must have, given to
// contacts that no other reason fits.
const Unclassified = "unclassified"

// The kinds of process defect (Mr. BIV) a reason's defects default to.
const (
	BIVMistake      = "mistake"
	BIVRework       = "rework"
	BIVBreakdown    = "breakdown"
	BIVInefficiency = "inefficiency"
	BIVVariation    = "variation"
)

// The complaint kinds a reason may carry.
const (
	ComplaintTransactional = "transactional"
	ComplaintAttitude      = "attitude"
	ComplaintOpinion       = "opinion"
)

// The two levels of each axis of the value/irritant matrix.
const (
	ValueLow  = "low"
	ValueHigh = "high"
)

// The actions of the value/irritant matrix, returned by Value.Action.
const (
	ActionEliminate = "eliminate"
	ActionAutomate  = "automate"
	ActionSimplify  = "simplify"
	ActionLeverage  = "leverage"
)

// RequiredChannels lists the channel codes every taxonomy must define, in the
// order dashboards show them.
func RequiredChannels() []string {
	return []string{"phone", "email", "chat", "social", "web", "self_service", "other"}
}

//go:embed default.yaml
var defaultYAML []byte

// Taxonomy is a versioned set of reasons, owners and channels.
type Taxonomy struct {
	// Version is bumped whenever the file changes in a way that affects tagging
	// or reporting; tags record the version they were made with.
	Version int `yaml:"version"`
	// Reasons are the contact reasons, in file order.
	Reasons []Reason `yaml:"reasons"`
	// Owners are the departments outside the contact centre that own reasons.
	Owners []Owner `yaml:"owners"`
	// Channels are the ways customers contact the company.
	Channels []Channel `yaml:"channels"`

	idx *index
}

// Reason is why a customer had to contact the company.
type Reason struct {
	// Code is the stable identifier, lower_snake_case, e.g. "where_is_my_order".
	Code string `yaml:"code"`
	// Parent is the code of the parent reason, empty for a top-level reason.
	Parent string `yaml:"parent,omitempty"`
	// Names is the display name per locale ("en", "zh", ...).
	Names map[string]string `yaml:"names"`
	// Description explains the reason per locale, for agents and reviewers.
	Description map[string]string `yaml:"description,omitempty"`
	// Owner is the code of the department that owns the reason and its cost.
	Owner string `yaml:"owner,omitempty"`
	// BIV is the kind of process defect the reason's defects default to: one of
	// BIVMistake, BIVRework, BIVBreakdown, BIVInefficiency, BIVVariation.
	BIV string `yaml:"biv,omitempty"`
	// Complaint is the complaint kind when the reason is a complaint: one of
	// ComplaintTransactional, ComplaintAttitude, ComplaintOpinion, or empty.
	Complaint string `yaml:"complaint,omitempty"`
	// Value places the reason on the value/irritant matrix.
	Value Value `yaml:"value"`
	// Keywords are per locale the words and phrases that signal the reason:
	// English entries match whole stemmed words, CJK entries match substrings.
	Keywords map[string][]string `yaml:"keywords,omitempty"`
	// Articles are the ids of the FAQ articles that answer the reason.
	Articles []string `yaml:"articles,omitempty"`
	// SubjectKeys are the contact fields or metadata keys (product, carrier,
	// warehouse, promo_code, app_version ...) that identify "the same issue"
	// when deciding whether two contacts are one process defect.
	SubjectKeys []string `yaml:"subject_keys,omitempty"`
	// MergedInto is, for a retired reason, the code of the reason that replaced
	// it; history tagged with the old code is reported under the new one.
	MergedInto string `yaml:"merged_into,omitempty"`
}

// Value is a reason's place on the value/irritant matrix: how valuable the
// contact is to the customer and to the company, each ValueLow or ValueHigh.
type Value struct {
	// Customer is the value of the contact to the customer.
	Customer string `yaml:"customer"`
	// Company is the value of the contact to the company.
	Company string `yaml:"company"`
}

// Action returns what to do about contacts in this cell of the matrix:
// ActionEliminate (low/low), ActionAutomate (low to the customer, high to the
// company), ActionSimplify (high to the customer, low to the company) or
// ActionLeverage (high/high). It returns "" when either axis is not set.
func (v Value) Action() string {
	switch {
	case v.Customer == ValueLow && v.Company == ValueLow:
		return ActionEliminate
	case v.Customer == ValueLow && v.Company == ValueHigh:
		return ActionAutomate
	case v.Customer == ValueHigh && v.Company == ValueLow:
		return ActionSimplify
	case v.Customer == ValueHigh && v.Company == ValueHigh:
		return ActionLeverage
	}
	return ""
}

// Owner is a department outside the contact centre that owns reasons, their
// cost and their fixes.
type Owner struct {
	// Code is the stable identifier, lower_snake_case.
	Code string `yaml:"code"`
	// Names is the display name per locale.
	Names map[string]string `yaml:"names"`
	// CostPerContact is the cost charged to the owner for each contact about
	// one of its reasons, in the company's currency-less cost unit.
	CostPerContact float64 `yaml:"cost_per_contact"`
	// Contact is where alerts for the owner go: an e-mail address or a team
	// channel.
	Contact string `yaml:"contact,omitempty"`
}

// Channel is a way customers contact the company.
type Channel struct {
	// Code is the stable identifier, lower_snake_case.
	Code string `yaml:"code"`
	// Names is the display name per locale.
	Names map[string]string `yaml:"names"`
	// CostPerContact is the average cost of one contact on this channel.
	CostPerContact float64 `yaml:"cost_per_contact"`
}

// Name returns the reason's name in locale, falling back to English and then
// to its code.
func (r Reason) Name(locale string) string { return localName(r.Names, locale, r.Code) }

// Name returns the owner's name in locale, falling back to English and then to
// its code.
func (o Owner) Name(locale string) string { return localName(o.Names, locale, o.Code) }

// Name returns the channel's name in locale, falling back to English and then
// to its code.
func (c Channel) Name(locale string) string { return localName(c.Names, locale, c.Code) }

func localName(names map[string]string, locale, code string) string {
	if n := names[locale]; n != "" {
		return n
	}
	if n := names["en"]; n != "" {
		return n
	}
	return code
}

// index holds the lookup maps built once a taxonomy has been validated.
type index struct {
	reasons  map[string]int
	owners   map[string]int
	channels map[string]int
	children map[string][]int
}

// Parse decodes a taxonomy from YAML and validates it. Decoding is strict: an
// unknown key is an error that names its line. Validation problems are returned
// together in a *ValidationError.
func Parse(data []byte) (*Taxonomy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Taxonomy
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse taxonomy: document is empty")
		}
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.idx = buildIndex(&t)
	return &t, nil
}

// Load reads and parses the taxonomy file at path.
func Load(path string) (*Taxonomy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read taxonomy %s: %w", path, err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load taxonomy %s: %w", path, err)
	}
	return t, nil
}

// Default returns a new copy of the built-in e-commerce taxonomy, with English
// and Chinese names and keywords.
func Default() (*Taxonomy, error) {
	t, err := Parse(defaultYAML)
	if err != nil {
		return nil, fmt.Errorf("default taxonomy: %w", err)
	}
	return t, nil
}

// DefaultYAML returns the source of the built-in taxonomy, as a starting point
// for a company's own file.
func DefaultYAML() []byte {
	return bytes.Clone(defaultYAML)
}

func buildIndex(t *Taxonomy) *index {
	idx := &index{
		reasons:  make(map[string]int, len(t.Reasons)),
		owners:   make(map[string]int, len(t.Owners)),
		channels: make(map[string]int, len(t.Channels)),
		children: make(map[string][]int),
	}
	for i, r := range t.Reasons {
		idx.reasons[r.Code] = i
		if r.Parent != "" {
			idx.children[r.Parent] = append(idx.children[r.Parent], i)
		}
	}
	for i, o := range t.Owners {
		idx.owners[o.Code] = i
	}
	for i, c := range t.Channels {
		idx.channels[c.Code] = i
	}
	return idx
}

func (t *Taxonomy) reasonAt(code string) int {
	if t.idx != nil {
		if i, ok := t.idx.reasons[code]; ok {
			return i
		}
		return -1
	}
	for i := range t.Reasons {
		if t.Reasons[i].Code == code {
			return i
		}
	}
	return -1
}

// Reason returns the reason with code, as written (merges are not followed; see
// Resolve). The returned value shares its maps and slices with the taxonomy and
// must not be modified.
func (t *Taxonomy) Reason(code string) (Reason, bool) {
	if i := t.reasonAt(code); i >= 0 {
		return t.Reasons[i], true
	}
	return Reason{}, false
}

// Owner returns the owner with code.
func (t *Taxonomy) Owner(code string) (Owner, bool) {
	if t.idx != nil {
		if i, ok := t.idx.owners[code]; ok {
			return t.Owners[i], true
		}
		return Owner{}, false
	}
	for _, o := range t.Owners {
		if o.Code == code {
			return o, true
		}
	}
	return Owner{}, false
}

// Channel returns the channel with code.
func (t *Taxonomy) Channel(code string) (Channel, bool) {
	if t.idx != nil {
		if i, ok := t.idx.channels[code]; ok {
			return t.Channels[i], true
		}
		return Channel{}, false
	}
	for _, c := range t.Channels {
		if c.Code == code {
			return c, true
		}
	}
	return Channel{}, false
}

// Children returns the reasons whose parent is code, in file order, merged
// ones included.
func (t *Taxonomy) Children(code string) []Reason {
	var out []Reason
	if t.idx != nil {
		for _, i := range t.idx.children[code] {
			out = append(out, t.Reasons[i])
		}
		return out
	}
	for _, r := range t.Reasons {
		if r.Parent == code && code != "" {
			out = append(out, r)
		}
	}
	return out
}

// Root returns the top-level ancestor of the reason with code (the reason
// itself when it has no parent). It reports false for an unknown code or a
// broken parent chain.
func (t *Taxonomy) Root(code string) (Reason, bool) {
	r, ok := t.Reason(code)
	for steps := 0; ok && r.Parent != ""; steps++ {
		if steps > len(t.Reasons) {
			return Reason{}, false
		}
		r, ok = t.Reason(r.Parent)
	}
	return r, ok
}

// Resolve returns the reason that code stands for today: the reason itself,
// or, for a retired reason, the end of its merged_into chain. It reports false
// for an unknown code or a broken chain.
func (t *Taxonomy) Resolve(code string) (Reason, bool) {
	r, ok := t.Reason(code)
	for steps := 0; ok && r.MergedInto != ""; steps++ {
		if steps > len(t.Reasons) {
			return Reason{}, false
		}
		r, ok = t.Reason(r.MergedInto)
	}
	return r, ok
}

// TopLevel returns the active (not merged) reasons without a parent, in file
// order.
func (t *Taxonomy) TopLevel() []Reason {
	var out []Reason
	for _, r := range t.Reasons {
		if r.Parent == "" && r.MergedInto == "" {
			out = append(out, r)
		}
	}
	return out
}
