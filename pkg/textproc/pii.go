package textproc

import (
	"strings"
	"unicode/utf8"
)

// The placeholders MaskPII writes in place of personal data.
const (
	MaskEmail = "[email]"
	MaskPhone = "[phone]"
	MaskCard  = "[card]"
)

// MaskPII replaces personal data in s with placeholders and leaves everything else,
// including its spacing, byte for byte as it was:
//
//   - e-mail addresses (ASCII local part, a domain of at least two labels ending in
//     a top-level domain of letters) become MaskEmail;
//   - payment card numbers become MaskCard: 13 to 19 digits that pass the Luhn
//     check and start with an issuer digit 2-6, written either unbroken or in card
//     groups (4-4-4-4, 4-4-4-4-3, 4-6-5 ...) separated by spaces or dashes;
//   - phone numbers become MaskPhone: international numbers starting with "+" (8 to
//     15 digits in any grouping), North American numbers written in groups
//     ("(555) 123-4567", "555-123-4567", "555.123.4567", "1-555-123-4567"), and
//     Chinese mobile numbers (1[3-9] and nine more digits, unbroken or 3-4-4).
//
// Numbers that are part of an identifier are kept: a digit run glued to ASCII
// letters or joined to them by "-", "/" or "_" ("ORD-2024-000123", "SKU-4411"),
// prices after a currency sign, decimals, dates and times. A local phone number
// (not starting with "+") is also kept when "#" precedes it or when it follows an
// order cue such as "order", "order number:", "tracking", "invoice", "订单号" or
// "运单号是", because those are order references rather than phones; card numbers
// are masked whatever precedes them. Digits may be ASCII or full-width.
//
// MaskPII is idempotent and runs in time linear in len(s), without regular
// expressions; text without digits or "@" is returned without allocating.
func MaskPII(s string) string {
	if !mayHoldPII(s) {
		return s
	}
	return maskNumbers(maskEmails(s))
}

func mayHoldPII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		// 0xEF is the lead byte of the full-width forms, including digits.
		if c == '@' || '0' <= c && c <= '9' || c == 0xEF {
			return true
		}
	}
	return false
}

// maskEmails replaces each e-mail address in s with MaskEmail.
func maskEmails(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] has been written to b or replaced
	changed := false
	for i := 0; i < len(s); {
		at := strings.IndexByte(s[i:], '@')
		if at < 0 {
			break
		}
		at += i
		start := at
		for start > last && isLocalPartByte(s[start-1]) {
			start--
		}
		for start < at && s[start] == '.' {
			start++
		}
		end := emailDomainEnd(s, at+1)
		if start == at || end < 0 {
			i = at + 1
			continue
		}
		if !changed {
			b.Grow(len(s))
			changed = true
		}
		b.WriteString(s[last:start])
		b.WriteString(MaskEmail)
		last, i = end, end
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isLocalPartByte(c byte) bool {
	return isASCIIAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// emailDomainEnd returns the end of the longest domain starting at p that has at
// least two labels and ends in an alphabetic top-level domain, or -1.
func emailDomainEnd(s string, p int) int {
	end := -1
	for labels := 1; ; labels++ {
		q := p
		for q < len(s) && (isASCIIAlnum(s[q]) || s[q] == '-') {
			q++
		}
		if q == p || s[p] == '-' || s[q-1] == '-' {
			return end
		}
		if labels >= 2 && q-p >= 2 && isASCIIAlpha(s[p:q]) {
			end = q
		}
		if q >= len(s) || s[q] != '.' {
			return end
		}
		p = q + 1
	}
}

type sepKind uint8

const (
	sepNone sepKind = iota // first group, or directly next to a parenthesis
	sepSpace
	sepDash
	sepDot
)

// numGroup is one run of digits inside a candidate number.
type numGroup struct {
	start, end int // byte range, including parentheses when paren is set
	from, to   int // range of the group's ASCII digits in the span's digit buffer
	paren      bool
	sep        sepKind // separator between the previous group and this one
	spaced     bool    // the separator contains a space, so a match may start here
}

// numberScanner holds the buffers reused across candidate numbers of one text.
type numberScanner struct {
	s      string
	groups []numGroup
	digits []byte
	out    strings.Builder
	last   int
	masked bool
}

// maskNumbers replaces card and phone numbers in s.
func maskNumbers(s string) string {
	ns := numberScanner{s: s}
	for i := 0; i < len(s); {
		start, intl, ok := ns.spanStart(i)
		if !ok {
			i++
			continue
		}
		i = ns.scanSpan(start, intl)
	}
	if !ns.masked {
		return s
	}
	ns.out.WriteString(s[ns.last:])
	return ns.out.String()
}

// spanStart reports whether a candidate number starts at byte i: a digit, a "+"
// followed by a digit, or a parenthesised group of digits.
func (ns *numberScanner) spanStart(i int) (start int, intl bool, ok bool) {
	s := ns.s
	switch c := s[i]; {
	case '0' <= c && c <= '9' || c == 0xEF:
		_, n := digitAt(s, i)
		return i, false, n > 0
	case c == '+':
		if i+1 < len(s) {
			if _, n := digitAt(s, i+1); n > 0 {
				return i, true, true
			}
			if _, ok := ns.parenEnd(i + 1); ok {
				return i, true, true
			}
		}
	case c == '(':
		_, ok := ns.parenEnd(i)
		return i, false, ok
	}
	return 0, false, false
}

// parenEnd returns the end of a "(ddd)" group of one to four digits at i.
func (ns *numberScanner) parenEnd(i int) (int, bool) {
	s := ns.s
	if i >= len(s) || s[i] != '(' {
		return 0, false
	}
	j, count := i+1, 0
	for j < len(s) {
		_, n := digitAt(s, j)
		if n == 0 {
			break
		}
		j += n
		count++
	}
	if count == 0 || count > 4 || j >= len(s) || s[j] != ')' {
		return 0, false
	}
	return j + 1, true
}

// scanSpan reads the groups of the candidate number at start, masks what matches
// and returns the byte after the span.
func (ns *numberScanner) scanSpan(start int, intl bool) int {
	s := ns.s
	ns.groups, ns.digits = ns.groups[:0], ns.digits[:0]
	p := start
	if intl {
		p++
	}
	sep, spaced := sepNone, false
	for {
		g := numGroup{start: p, sep: sep, spaced: spaced, from: len(ns.digits)}
		q := p
		if s[q] == '(' {
			end, ok := ns.parenEnd(q)
			if !ok {
				break
			}
			g.paren = true
			ns.appendDigits(q+1, end-1)
			q = end
		} else {
			q = ns.appendDigits(q, len(s))
			if q == p {
				break
			}
		}
		g.end, g.to = q, len(ns.digits)
		ns.groups = append(ns.groups, g)
		next, kind, ok := ns.separator(q, g.paren)
		if !ok {
			break
		}
		p, sep, spaced = next, kind, strings.IndexByte(s[q:next], ' ') >= 0
	}
	end := ns.groups[len(ns.groups)-1].end
	ns.matchGroups(start, intl, end)
	return end
}

// appendDigits appends the digits starting at i (and before limit) to the digit
// buffer and returns the byte after them.
func (ns *numberScanner) appendDigits(i, limit int) int {
	for i < limit && i < len(ns.s) {
		d, n := digitAt(ns.s, i)
		if n == 0 {
			break
		}
		ns.digits = append(ns.digits, d)
		i += n
	}
	return i
}

// separator reads the separator after a group ending at q: one space, one dash
// or dot, or a dash or dot with a space on either side; nothing at all is allowed
// next to a parenthesis. It reports where the next group starts.
func (ns *numberScanner) separator(q int, afterParen bool) (int, sepKind, bool) {
	s := ns.s
	k := q
	kind := sepNone
	if k < len(s) && s[k] == ' ' {
		k++
		kind = sepSpace
	}
	if k < len(s) && (s[k] == '-' || s[k] == '.') {
		if s[k] == '-' {
			kind = sepDash
		} else {
			kind = sepDot
		}
		k++
		if k < len(s) && s[k] == ' ' {
			k++
		}
	}
	if k >= len(s) {
		return 0, 0, false
	}
	if _, n := digitAt(s, k); n > 0 {
		if kind == sepNone && !afterParen {
			return 0, 0, false
		}
		return k, kind, true
	}
	if _, ok := ns.parenEnd(k); ok && (kind == sepNone || kind == sepSpace || kind == sepDash) {
		return k, kind, true
	}
	return 0, 0, false
}

// matchGroups finds cards and phones among the span's groups, left to right.
func (ns *numberScanner) matchGroups(spanStart int, intl bool, spanEnd int) {
	s := ns.s
	glued, hash := glueBefore(s, spanStart)
	endGlued := glueAfter(s, spanEnd)
	gs := ns.groups
	// endOK reports whether a match may end after group k.
	endOK := func(k int) bool {
		if k == len(gs)-1 {
			return !endGlued
		}
		return gs[k+1].spaced
	}
	for i := 0; i < len(gs); i++ {
		if i == 0 && glued || i > 0 && !gs[i].spaced {
			continue
		}
		from := gs[i].start
		if i == 0 {
			from = spanStart
		}
		if k := ns.matchCard(i, endOK); k >= 0 {
			ns.replace(from, gs[k].end, MaskCard)
			i = k
			continue
		}
		if i == 0 && intl {
			if k := ns.matchInternational(endOK); k >= 0 {
				ns.replace(from, gs[k].end, MaskPhone)
				i = k
			}
			continue
		}
		if i == 0 && hash {
			continue
		}
		k := ns.matchChineseMobile(i, endOK)
		if k < 0 {
			k = ns.matchNorthAmerican(i, endOK)
		}
		if k >= 0 && !hasOrderCue(s[:from]) {
			ns.replace(from, gs[k].end, MaskPhone)
			i = k
		}
	}
}

func (ns *numberScanner) replace(start, end int, mask string) {
	if !ns.masked {
		ns.out.Grow(len(ns.s))
		ns.masked = true
	}
	ns.out.WriteString(ns.s[ns.last:start])
	ns.out.WriteString(mask)
	ns.last = end
}

func (ns *numberScanner) groupDigits(g numGroup) []byte { return ns.digits[g.from:g.to] }

func (ns *numberScanner) groupLen(i int) int { return ns.groups[i].to - ns.groups[i].from }

// sameSep reports whether groups i+1..k are all separated by the same one of the
// given kinds and none is parenthesised.
func (ns *numberScanner) sameSep(i, k int, kinds ...sepKind) bool {
	gs := ns.groups
	if k >= len(gs) {
		return false
	}
	for j := i; j <= k; j++ {
		if gs[j].paren {
			return false
		}
	}
	if k == i {
		return true
	}
	want := gs[i+1].sep
	found := false
	for _, kind := range kinds {
		found = found || kind == want
	}
	if !found {
		return false
	}
	for j := i + 2; j <= k; j++ {
		if gs[j].sep != want {
			return false
		}
	}
	return true
}

// matchCard returns the last group of a card number starting at group i, or -1.
func (ns *numberScanner) matchCard(i int, endOK func(int) bool) int {
	gs := ns.groups
	if gs[i].paren {
		return -1
	}
	if n := ns.groupLen(i); n >= 13 && n <= 19 {
		if endOK(i) && isCardNumber(ns.groupDigits(gs[i])) {
			return i
		}
		return -1
	}
	if ns.groupLen(i) != 4 {
		return -1
	}
	// Card groups: 4-6-5 or 4-6-4 (American Express, Diners), or fours ending in a
	// group of one to four digits, 13 to 19 digits in all. Longest first.
	var candidates [6]int
	nc := 0
	total := 4
	for k := i + 1; k < len(gs) && k <= i+4; k++ {
		n := ns.groupLen(k)
		total += n
		if n > 4 || total > 19 {
			break
		}
		if total >= 13 && k-i >= 2 {
			candidates[nc] = k
			nc++
		}
		if n < 4 {
			break
		}
	}
	if i+2 < len(gs) && ns.groupLen(i+1) == 6 && (ns.groupLen(i+2) == 5 || ns.groupLen(i+2) == 4) {
		candidates[nc] = i + 2
		nc++
	}
	for c := nc - 1; c >= 0; c-- {
		k := candidates[c]
		if !endOK(k) || !ns.sameSep(i, k, sepSpace, sepDash) {
			continue
		}
		if isCardNumber(ns.digits[gs[i].from:gs[k].to]) {
			return k
		}
	}
	return -1
}

// matchInternational returns the last group of a "+" number of 8 to 15 digits
// starting at the first group, or -1.
func (ns *numberScanner) matchInternational(endOK func(int) bool) int {
	gs := ns.groups
	best, total := -1, 0
	for k := 0; k < len(gs); k++ {
		total += ns.groupLen(k)
		if total > 15 {
			break
		}
		if total >= 8 && endOK(k) {
			best = k
		}
	}
	return best
}

// matchChineseMobile returns the last group of a Chinese mobile number starting at
// group i (1[3-9] and nine more digits, unbroken or 3-4-4), or -1.
func (ns *numberScanner) matchChineseMobile(i int, endOK func(int) bool) int {
	gs := ns.groups
	d := ns.groupDigits(gs[i])
	if gs[i].paren || len(d) == 0 || d[0] != '1' {
		return -1
	}
	if len(d) == 11 {
		if d[1] >= '3' && endOK(i) {
			return i
		}
		return -1
	}
	k := i + 2
	if len(d) == 3 && d[1] >= '3' && k < len(gs) && ns.groupLen(i+1) == 4 && ns.groupLen(k) == 4 &&
		ns.sameSep(i, k, sepSpace, sepDash) && endOK(k) {
		return k
	}
	return -1
}

// matchNorthAmerican returns the last group of a North American number starting
// at group i ("(555) 123-4567", "555-123-4567", "555.123.4567", "555 123 4567",
// optionally after a "1" trunk prefix), or -1.
func (ns *numberScanner) matchNorthAmerican(i int, endOK func(int) bool) int {
	gs := ns.groups
	a := i
	if ns.groupLen(i) == 1 && ns.groupDigits(gs[i])[0] == '1' && !gs[i].paren {
		a = i + 1
		if a >= len(gs) || gs[a].sep == sepNone && !gs[a].paren {
			return -1
		}
	}
	k := a + 2
	if k >= len(gs) || ns.groupLen(a) != 3 || ns.groupLen(a+1) != 3 || ns.groupLen(k) != 4 {
		return -1
	}
	if area := ns.groupDigits(gs[a])[0]; area < '2' || !endOK(k) || gs[a+1].paren || gs[k].paren {
		return -1
	}
	if gs[a].paren {
		if gs[k].sep != sepNone {
			return k
		}
		return -1
	}
	if gs[a+1].sep != sepNone && gs[a+1].sep == gs[k].sep {
		return k
	}
	return -1
}

// isCardNumber reports whether d (ASCII digits) looks like a payment card number.
func isCardNumber(d []byte) bool {
	if len(d) < 13 || len(d) > 19 || d[0] < '2' || d[0] > '6' {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if double {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		double = !double
	}
	return sum%10 == 0
}

// glueBefore reports whether the number starting at i is glued to the text
// before it (an identifier or a price) and whether "#" precedes it directly.
// Decimals, dates and times need no rule: their short groups match no pattern.
func glueBefore(s string, i int) (glued, hash bool) {
	if i == 0 {
		return false, false
	}
	r, n := utf8.DecodeLastRuneInString(s[:i])
	switch {
	case r < utf8.RuneSelf && (isASCIIAlnum(byte(r)) || r == '_' || r == '@'):
		return true, false
	case r == '$' || r == '\u20ac' || r == '\u00a3' || r == '\u00a5' || r == '\uffe5' || r == '\uffe0' || r == '\uffe1':
		return true, false
	case r == '#':
		return false, true
	case r == '-' || r == '/':
		if i-n == 0 {
			return false, false
		}
		p := s[i-n-1]
		return isASCIIAlnum(p) || p == '_', false
	}
	return false, false
}

// glueAfter reports whether the number ending at i runs on into an identifier,
// a percentage or a unit.
func glueAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	switch {
	case isASCIIAlnum(c) || c == '_' || c == '@' || c == '%':
		return true
	case c == '+':
		// "4567+4111...": the number after the plus is glued to this one.
		if i+1 < len(s) {
			_, n := digitAt(s, i+1)
			return n > 0 || s[i+1] == '('
		}
		return false
	case c == '-' || c == '/':
		// The next number would be glued to this one (see glueBefore), so this
		// one is part of the same identifier.
		if i+1 < len(s) {
			if _, n := digitAt(s, i+1); n > 0 {
				return true
			}
			next := s[i+1]
			return isASCIIAlnum(next) || next == '_' || next == '+'
		}
		return false
	}
	_, n := digitAt(s, i)
	return n > 0
}

// hasOrderCue reports whether before ends with a word that introduces an order
// reference ("order", "order number:", "tracking #", "订单号是"...).
func hasOrderCue(before string) bool {
	if len(before) > 48 {
		before = before[len(before)-48:]
	}
	const punct = " \t:#=.-\uff1a\uff03"
	t := strings.TrimRight(before, punct)
	fillers := [...]string{"number", "num", "nr", "no", "id", "is", "was", "\u53f7\u7801", "\u7f16\u53f7", "\u53f7", "\u662f", "\u4e3a"}
	for range 2 {
		for _, f := range fillers {
			if hasWordSuffixFold(t, f) {
				t = strings.TrimRight(t[:len(t)-len(f)], punct)
				break
			}
		}
	}
	cues := [...]string{
		"order", "orders", "ord", "purchase", "tracking", "track", "shipment", "parcel",
		"package", "waybill", "awb", "invoice", "receipt", "ref", "reference", "sku", "item",
		"ticket", "transaction", "txn", "po", "rma",
		"\u8ba2\u5355", "\u5355", "\u8fd0\u5355", "\u5feb\u9012", "\u53d1\u7968", "\u5de5\u5355", "\u5546\u54c1",
	}
	for _, c := range cues {
		if hasWordSuffixFold(t, c) {
			return true
		}
	}
	return false
}

// hasWordSuffixFold reports whether s ends with suffix (which must be lower
// case), ignoring ASCII case, and an ASCII suffix starts a word (no ASCII letter
// or digit directly before it).
func hasWordSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	tail := s[len(s)-len(suffix):]
	for i := len(suffix) - 1; i >= 0; i-- {
		c := tail[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != suffix[i] {
			return false
		}
	}
	if isASCIIAlnum(suffix[0]) && len(s) > len(suffix) {
		p := s[len(s)-len(suffix)-1]
		return !isASCIIAlnum(p)
	}
	return true
}

// digitAt returns the ASCII value of the ASCII or full-width digit at s[i] and its
// length in bytes, or a length of 0 when there is no digit there.
func digitAt(s string, i int) (byte, int) {
	c := s[i]
	if '0' <= c && c <= '9' {
		return c, 1
	}
	if c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99 {
		return '0' + s[i+2] - 0x90, 3
	}
	return 0, 0
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isASCIIAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
