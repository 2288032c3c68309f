package demo

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tone is how a customer sounds.
type tone int

const (
	polite tone = iota
	neutral
	angry
	numTones
)

// bank is what customers say about one reason in one language. A contact's
// text is composed from parts drawn independently: an opener, one core
// sentence that carries the reason, optional details and an ask, a closer.
// Cores, details and asks may name the reason; openers and closers never do
// (a test checks that they match no keyword), so the reason comes from what
// the customer says, and the space of texts is the product of every list.
type bank struct {
	cores    []string // the sentence that says what is wrong; each family words it its own way
	implicit []string // the same said without any keyword of the taxonomy, as people often do
	details  []string // context: dates, what happened before, what they tried
	asks     []string // what the customer wants
	subjects []string // e-mail subject lines
}

// language holds the phrasing of one locale.
type language struct {
	code      string
	reasons   map[string]*bank
	defects   map[string]*bank // cores about a planted defect, by defect key
	openers   [numTones][]string
	closers   [numTones][]string
	followUps []string // the start of a repeat contact
	orderRefs []string // a sentence naming the order
	phone     []string // an agent's note opening a phone contact
	subjects  []string // generic e-mail subject lines
	names     []string // sign-offs
	space     string   // between sentences
}

// implicitShare is the share of contacts that say their reason without a
// keyword: the keyword rules cannot tag them, a learned classifier can.
const implicitShare = 0.09

// slots are the values a template's {placeholders} take.
type slots struct {
	product, other, order, carrier, city, code, app, pay, amount, days, weekday, page, feature, agent string
}

func (s *slots) fill(t string) string {
	if !strings.Contains(t, "{") {
		return t
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		b.WriteString(s.value(t[i+1 : i+j]))
		t = t[i+j+1:]
	}
}

// value is the value of a slot; an empty slot stays "{name}" so that tests
// notice a template that needs a value the contact does not have.
func (s *slots) value(name string) string {
	v := s.lookup(name)
	if v == "" {
		return "{" + name + "}"
	}
	return v
}

func (s *slots) lookup(name string) string {
	switch name {
	case "product":
		return s.product
	case "other":
		return s.other
	case "order":
		return s.order
	case "carrier":
		return s.carrier
	case "city":
		return s.city
	case "code":
		return s.code
	case "app":
		return s.app
	case "pay":
		return s.pay
	case "amount":
		return s.amount
	case "days":
		return s.days
	case "weekday":
		return s.weekday
	case "page":
		return s.page
	case "feature":
		return s.feature
	case "agent":
		return s.agent
	}
	return ""
}

// message is one composed contact text.
type message struct {
	subject string
	text    string
}

// composeArgs are the choices behind one contact's text.
type composeArgs struct {
	reason  string
	defect  string // planted defect key, or ""
	tone    tone
	channel string
	repeat  bool
	hasOrd  bool
	slots   slots
}

// compose writes a contact's text. Every choice draws from r, so the text
// is a function of the seed.
func (l *language) compose(r *rng, a composeArgs) message {
	b := l.reasons[a.reason]
	var parts []string
	phone := a.channel == "phone"
	if phone {
		parts = append(parts, pick(r, l.phone))
	} else if r.chance(openerChance(a.channel)) {
		parts = append(parts, pick(r, l.openers[a.tone]))
	}
	if a.repeat {
		parts = append(parts, pick(r, l.followUps))
	}
	core := pickFor(r, b.cores, a.hasOrd)
	if len(b.implicit) > 0 && r.chance(implicitShare) {
		core = pickFor(r, b.implicit, a.hasOrd)
	}
	if d := l.defects[a.defect]; d != nil && r.chance(0.75) {
		core = pickFor(r, d.cores, a.hasOrd)
		if len(d.details) > 0 && r.chance(0.5) {
			core += l.space + pickFor(r, d.details, a.hasOrd)
		}
	}
	parts = append(parts, core)
	var extra []string
	if len(b.details) > 0 && r.chance(0.4) {
		extra = append(extra, pickFor(r, b.details, a.hasOrd))
	}
	if a.hasOrd && !strings.Contains(core, "{order}") && r.chance(0.45) {
		extra = append(extra, pick(r, l.orderRefs))
	}
	if len(b.asks) > 0 && r.chance(0.55) {
		extra = append(extra, pickFor(r, b.asks, a.hasOrd))
	}
	if len(extra) > 1 && r.chance(0.3) {
		extra[0], extra[len(extra)-1] = extra[len(extra)-1], extra[0]
	}
	parts = append(parts, extra...)
	if !phone && r.chance(closerChance(a.channel)) {
		parts = append(parts, pick(r, l.closers[a.tone]))
	}
	for i, p := range parts {
		parts[i] = a.slots.fill(p)
	}
	text := strings.Join(parts, l.space)
	if a.channel == "email" && r.chance(0.6) {
		text += "\n\n" + pick(r, l.names)
	}
	text = l.style(r, text, a)
	var m message
	if a.channel == "email" && r.chance(0.7) {
		subj := pickFor(r, l.subjects, a.hasOrd)
		if len(b.subjects) > 0 && r.chance(0.5) {
			subj = pickFor(r, b.subjects, a.hasOrd)
		}
		m.subject = a.slots.fill(subj)
	}
	m.text = text
	return m
}

// pickFor picks a template, one without {order} when the contact has no
// order.
func pickFor(r *rng, list []string, hasOrder bool) string {
	t := pick(r, list)
	if hasOrder || !strings.Contains(t, "{order}") {
		return t
	}
	var ok []string
	for _, s := range list {
		if !strings.Contains(s, "{order}") {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return t
	}
	return pick(r, ok)
}

func openerChance(channel string) float64 {
	switch channel {
	case "email":
		return 0.85
	case "chat":
		return 0.5
	case "web":
		return 0.4
	}
	return 0.3
}

func closerChance(channel string) float64 {
	switch channel {
	case "email":
		return 0.8
	case "chat":
		return 0.35
	}
	return 0.45
}

// style applies what people do to text: chat in lower case, shouting when
// angry, and the odd typo (English only).
func (l *language) style(r *rng, text string, a composeArgs) string {
	if l.code != "en" {
		if a.tone == angry && r.chance(0.4) {
			text = strings.TrimRight(text, "。！!") + "！！"
		}
		if r.chance(0.3) {
			text = strings.NewReplacer("，", ",", "？", "?", "！", "!").Replace(text)
		}
		return text
	}
	if a.channel == "chat" && r.chance(0.35) {
		text = strings.ToLower(strings.TrimRight(text, "."))
	}
	if a.tone == angry && r.chance(0.25) {
		text = strings.TrimRight(text, ".!") + "!!!"
	}
	if r.chance(0.15) {
		text = typo(r, text)
		if r.chance(0.2) {
			text = typo(r, text)
		}
	}
	return text
}

// typo changes one word of at least five letters: swaps two letters, drops
// or doubles one. Words with digits or capitals (ids, names) are kept.
func typo(r *rng, text string) string {
	words := strings.Split(text, " ")
	for range 8 {
		i := r.intn(len(words))
		w := words[i]
		if utf8.RuneCountInString(w) < 5 || !lowerWord(w) {
			continue
		}
		j := 1 + r.intn(len(w)-3)
		switch r.intn(3) {
		case 0:
			w = w[:j] + string(w[j+1]) + string(w[j]) + w[j+2:]
		case 1:
			w = w[:j] + w[j+1:]
		default:
			w = w[:j] + string(w[j]) + w[j:]
		}
		words[i] = w
		return strings.Join(words, " ")
	}
	return text
}

func lowerWord(w string) bool {
	for _, c := range w {
		if !unicode.IsLower(c) || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
