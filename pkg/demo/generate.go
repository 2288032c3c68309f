package demo

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is one order as POST /v1/orders takes it.
type Order struct {
	OrderID    string    `json:"order_id"`
	PlacedAt   time.Time `json:"placed_at"`
	CustomerID string    `json:"customer_id,omitempty"`
	Products   []string  `json:"products,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	Amount     float64   `json:"amount"`
	Currency   string    `json:"currency,omitempty"`
	Source     string    `json:"source,omitempty"`
}

// Contact is one customer contact as POST /v1/contacts takes it. Truth is
// what the generator meant; it is not part of the JSON.
type Contact struct {
	ExternalID    string            `json:"external_id"`
	Source        string            `json:"source,omitempty"`
	Channel       string            `json:"channel,omitempty"`
	ReceivedAt    time.Time         `json:"received_at"`
	CustomerID    string            `json:"customer_id,omitempty"`
	OrderID       string            `json:"order_id,omitempty"`
	Product       string            `json:"product,omitempty"`
	Locale        string            `json:"locale,omitempty"`
	Subject       string            `json:"subject,omitempty"`
	Text          string            `json:"text"`
	HandleSeconds float64           `json:"handle_seconds,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Truth         ContactTruth      `json:"-"`
}

// ContactTruth is why the generator wrote a contact.
type ContactTruth struct {
	// Reason is the taxonomy code the text was written for.
	Reason string
	// Locale is the language the text is in ("en" or "zh"), also when
	// the contact does not say it.
	Locale string
	// Defect is the key of the planted defect behind the contact, or "".
	Defect string
	// RepeatOf is the external id of the earlier contact this one repeats.
	RepeatOf string
}

// Day is one day of the history: its orders and contacts, each in time
// order.
type Day struct {
	// Index is the day's number, 0 for the first day.
	Index    int
	Date     time.Time
	Orders   []Order
	Contacts []Contact
}

// Truth is the ground truth of a generated history.
type Truth struct {
	Seed     int64  `json:"seed"`
	Start    string `json:"start"`
	Days     int    `json:"days"`
	Source   string `json:"source"`
	Orders   int    `json:"orders"`
	Contacts int    `json:"contacts"`
	// Reasons counts the contacts written for each reason.
	Reasons map[string]int `json:"reasons"`
	// Locales counts the contacts by language.
	Locales map[string]int `json:"locales"`
	// Defects are the planted defects, in first-day order.
	Defects []DefectTruth `json:"defects"`
	// Repeats are the contacts that repeat an earlier one.
	Repeats []RepeatTruth `json:"repeats"`
}

// DefectTruth is one planted defect.
type DefectTruth struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	Reason      string `json:"reason"`
	// Subject are the subject keys that identify the defect: the contact's
	// product field for "product", else its metadata.
	Subject map[string]string `json:"subject"`
	// FirstDay is the first day (0-based) with its contacts; FixDay the
	// first day without them.
	FirstDay  int    `json:"first_day"`
	FixDay    int    `json:"fix_day"`
	FirstDate string `json:"first_date"`
	FixDate   string `json:"fix_date"`
	// ContactIDs are the external ids of every contact the defect caused.
	ContactIDs []string `json:"contact_ids"`
	// IDs are the nocontact ids the server answered for ContactIDs, in
	// the same order; the sender fills them in.
	IDs []string `json:"ids,omitempty"`
}

// RepeatTruth is a contact that repeats an earlier one: the same customer
// about the same order (or both about none) and reason, within RepeatWindow
// of the latest such contact.
type RepeatTruth struct {
	ContactID string `json:"contact_id"`
	RepeatOf  string `json:"repeat_of"`
	Reason    string `json:"reason"`
	// FollowUp marks a repeat the generator wrote as a follow-up ("This is
	// my second message about this ..."); the others are customers who
	// happened to write again about the same order and reason.
	FollowUp bool `json:"follow_up,omitempty"`
}

// RepeatWindow is how far apart two contacts of a customer about the same
// order and reason may be for the later to repeat the earlier: the 7 days
// of the method's repeat-contact definition.
const RepeatWindow = 7 * 24 * time.Hour

// lastContact is a customer's latest contact about an order and reason.
type lastContact struct {
	id string
	at time.Time
}

// customer is one shopper.
type customer struct {
	id       string
	zh       bool
	region   int
	city     int
	platform int
	payment  int
}

// orderInfo is what the generator remembers of an order to write contacts
// about it.
type orderInfo struct {
	id       string
	placed   time.Time
	customer int32
	products []int16
	carrier  string
	region   int8
	payment  int8
	platform int8
	app      int8 // index into appVersions, -1 on the web
	promo    string
	amount   float64
}

// pending is a repeat contact due on a later day.
type pending struct {
	day      int
	of       string // external id of the first contact
	reason   string
	product  string
	metadata map[string]string
	defect   int // index into defects, -1 if none
	ord      orderInfo
	hasOrd   bool
	cust     int
}

// activeDefect is a planted defect scaled to the history.
type activeDefect struct {
	plantedDefect
	firstDay, fixDay int
	truth            *DefectTruth
}

// ringDays is how many days of orders contacts can refer back to.
const ringDays = 45

// Generator yields a history one day at a time. It is not safe for
// concurrent use.
type Generator struct {
	cfg       Config
	shop      *shop
	langs     map[bool]*language // by zh
	reasons   []string
	mix       weighted
	prodW     weighted
	regionW   weighted
	platformW weighted
	paymentW  weighted
	orderHour weighted
	contHour  weighted
	prefix    string

	customers []customer
	ring      [ringDays][]orderInfo
	pending   []pending
	defects   []*activeDefect
	day       int
	nOrders   int
	nContacts int
	truth     Truth
	last      map[string]lastContact // by customer, order and reason
}

// New returns a generator for cfg, after defaults and validation.
func New(cfg Config) (*Generator, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := defaultShop()
	g := &Generator{cfg: cfg, shop: s, langs: map[bool]*language{false: english(), true: chinese()}, last: map[string]lastContact{}}
	g.reasons = slices.Sorted(func(yield func(string) bool) {
		for k := range cfg.ReasonMix {
			if !yield(k) {
				return
			}
		}
	})
	w := make([]float64, len(g.reasons))
	for i, r := range g.reasons {
		w[i] = cfg.ReasonMix[r]
	}
	g.mix = newWeighted(w)
	g.prodW = newWeighted(mapSlice(s.products, func(p product) float64 { return p.Weight }))
	g.regionW = newWeighted(mapSlice(s.regions, func(r region) float64 { return r.Weight }))
	g.platformW = newWeighted(mapSlice(s.platforms, func(p platform) float64 { return p.Weight }))
	g.paymentW = newWeighted(mapSlice(s.paymentMethods, func(p paymentMethod) float64 { return p.Weight }))
	g.orderHour = newWeighted([]float64{2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 4, 4, 4, 5, 5, 4, 4, 4, 5, 6, 7, 8, 8, 6, 4})
	g.contHour = newWeighted([]float64{0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 1, 3, 6, 8, 8, 8, 7, 8, 8, 7, 7, 6, 5, 4, 4, 3, 2, 1})
	g.prefix = "S" + strings.ToUpper(strconv.FormatUint(uint64(cfg.Seed), 36))
	g.truth = Truth{
		Seed: cfg.Seed, Start: cfg.Start.Format(time.DateOnly), Days: cfg.Days, Source: cfg.Source,
		Reasons: map[string]int{}, Locales: map[string]int{}, Defects: []DefectTruth{}, Repeats: []RepeatTruth{},
	}
	if !cfg.NoDefects {
		planted := plantedDefects()
		g.truth.Defects = make([]DefectTruth, 0, len(planted))
		for _, p := range planted {
			first := min(scaleDay(p.first, cfg.Days), cfg.Days-1)
			fix := min(max(first+1, scaleDay(p.fix, cfg.Days)), cfg.Days)
			g.truth.Defects = append(g.truth.Defects, DefectTruth{
				Key: p.key, Description: p.description, Reason: p.reason, Subject: defectSubject(p.key),
				FirstDay: first, FixDay: fix,
				FirstDate:  cfg.Start.AddDate(0, 0, first).Format(time.DateOnly),
				FixDate:    cfg.Start.AddDate(0, 0, fix).Format(time.DateOnly),
				ContactIDs: []string{},
			})
			g.defects = append(g.defects, &activeDefect{plantedDefect: p, firstDay: first, fixDay: fix})
		}
		for i := range g.defects {
			g.defects[i].truth = &g.truth.Defects[i]
		}
	}
	return g, nil
}

func mapSlice[T any](in []T, f func(T) float64) []float64 {
	out := make([]float64, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// defectSubject is the subject of a planted defect, as its contacts carry it.
func defectSubject(key string) map[string]string {
	switch key {
	case defectDamagedSKU:
		return map[string]string{"product": damagedSKU}
	case defectCouponFail:
		return map[string]string{"promo_code": failingCoupon}
	case defectPaymentRelease:
		return map[string]string{"app_version": "5.2.0"}
	case defectCarrierDelay:
		return map[string]string{"carrier": delayedCarrier, "region": delayedRegion}
	case defectReturnPolicy:
		return map[string]string{"reason_detail": "return_policy_page"}
	}
	return nil
}

// Config is the generator's configuration, with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Truth is the ground truth of the days generated so far; after the last
// day it is complete.
func (g *Generator) Truth() Truth { return g.truth }

// Next generates the next day; ok is false after the last one.
func (g *Generator) Next() (d Day, ok bool) {
	if g.day >= g.cfg.Days {
		return Day{}, false
	}
	i := g.day
	g.day++
	date := g.cfg.Start.AddDate(0, 0, i)
	r := newRNG(g.cfg.Seed, uint64(i))
	d = Day{Index: i, Date: date}
	d.Orders = g.orders(r, i, date)
	d.Contacts = g.contacts(r, i, date, len(d.Orders))
	g.truth.Orders += len(d.Orders)
	g.truth.Contacts += len(d.Contacts)
	return d, true
}

// orderFactor is the relative number of orders on a weekday: weekends and
// Mondays are busier.
func orderFactor(wd time.Weekday) float64 {
	return [7]float64{1.2, 1.08, 0.97, 0.93, 0.92, 0.88, 1.02}[wd]
}

// contactFactor is the relative number of contacts on a weekday: Mondays
// bring the weekend's problems.
func contactFactor(wd time.Weekday) float64 {
	return [7]float64{0.85, 1.15, 1.05, 1.0, 0.98, 0.97, 0.9}[wd]
}

func (g *Generator) orders(r *rng, day int, date time.Time) []Order {
	trend := 1 + 0.1*float64(day)/float64(max(1, g.cfg.Days))
	n := int(math.Round(float64(g.cfg.OrdersPerDay) * orderFactor(date.Weekday()) * trend * (1 + 0.05*r.norm())))
	n = max(1, n)
	s := g.shop
	infos := make([]orderInfo, n)
	for k := range infos {
		ci := g.orderCustomer(r)
		c := g.customers[ci]
		o := orderInfo{customer: int32(ci), region: int8(c.region), platform: int8(c.platform), app: -1}
		o.placed = date.Add(time.Duration(g.orderHour.draw(r))*time.Hour + time.Duration(r.intn(3600))*time.Second)
		items := 1 + min(r.poisson(0.6), 4)
		for range items {
			p := int16(g.prodW.draw(r))
			if !slices.Contains(o.products, p) {
				o.products = append(o.products, p)
			}
			o.amount += s.products[p].Price * float64(1+min(r.poisson(0.15), 2))
		}
		reg := s.regions[c.region]
		o.carrier = pick(r, reg.Carriers)
		if reg.Code == delayedRegion && r.chance(0.3) {
			o.carrier = delayedCarrier
		}
		o.payment = int8(c.payment)
		if r.chance(0.15) {
			o.payment = int8(g.paymentW.draw(r))
		}
		if s.platforms[c.platform].Code != "web" {
			o.app = int8(g.appVersion(r, day))
		}
		if r.chance(0.12) {
			o.promo = pick(r, s.promoCodes)
			if d := g.defect(defectCouponFail); d != nil && day >= d.firstDay-3 && day < d.fixDay+2 && r.chance(0.6) {
				o.promo = failingCoupon
			}
			o.amount *= 0.9
		}
		o.amount = math.Round(o.amount*100) / 100
		infos[k] = o
	}
	slices.SortStableFunc(infos, func(a, b orderInfo) int { return a.placed.Compare(b.placed) })
	orders := make([]Order, n)
	for k := range infos {
		g.nOrders++
		infos[k].id = fmt.Sprintf("%s-%07d", g.prefix, g.nOrders)
		o := &infos[k]
		skus := make([]string, len(o.products))
		for j, p := range o.products {
			skus[j] = s.products[p].SKU
		}
		ch := "web"
		if s.platforms[o.platform].Code != "web" {
			ch = "app"
		}
		orders[k] = Order{
			OrderID: o.id, PlacedAt: o.placed, CustomerID: g.customers[o.customer].id, Products: skus,
			Channel: ch, Amount: o.amount, Currency: "GBP", Source: g.cfg.Source,
		}
	}
	g.ring[day%ringDays] = infos
	return orders
}

// orderCustomer returns a returning customer (about 60% of orders once
// there are enough) or a new one.
func (g *Generator) orderCustomer(r *rng) int {
	if len(g.customers) > 50 && r.chance(0.6) {
		return r.intn(len(g.customers))
	}
	return g.newCustomer(r)
}

func (g *Generator) newCustomer(r *rng) int {
	s := g.shop
	c := customer{
		id:       fmt.Sprintf("cus-%s-%d", strings.ToLower(g.prefix[1:]), len(g.customers)+1),
		zh:       r.chance(g.cfg.ZHShare),
		region:   g.regionW.draw(r),
		platform: g.platformW.draw(r),
		payment:  g.paymentW.draw(r),
	}
	c.city = r.intn(len(s.regions[c.region].Cities))
	g.customers = append(g.customers, c)
	return len(g.customers) - 1
}

// appVersion is the app version of an order on day: the planted release
// goes out on the payment defect's first day, its hotfix on the fix day.
func (g *Generator) appVersion(r *rng, day int) int {
	release, fix := g.cfg.Days*52/90, g.cfg.Days*55/90
	if d := g.defect(defectPaymentRelease); d != nil {
		release, fix = d.firstDay, d.fixDay
	}
	switch {
	case day >= fix:
		return pickIndex(r, []float64{0.1, 0.15, 0.75})
	case day >= release:
		return pickIndex(r, []float64{0.3, 0.7, 0})
	}
	return 0
}

func pickIndex(r *rng, w []float64) int {
	x := r.float()
	for i, p := range w {
		if x < p {
			return i
		}
		x -= p
	}
	return len(w) - 1
}

func (g *Generator) defect(key string) *activeDefect {
	for _, d := range g.defects {
		if d.key == key {
			return d
		}
	}
	return nil
}

// draft is a contact before it gets its id and time order.
type draft struct {
	c      Contact
	order  orderInfo
	hasOrd bool
	cust   int
	defect int
	tone   tone
}

func (g *Generator) contacts(r *rng, day int, date time.Time, orders int) []Contact {
	var drafts []draft
	n := r.poisson(float64(orders) * g.cfg.ContactsPerOrder * contactFactor(date.Weekday()))
	for range n {
		reason := g.reasons[g.mix.draw(r)]
		drafts = append(drafts, g.draft(r, day, date, reason, -1))
	}
	for di, d := range g.defects {
		if day < d.firstDay || day >= d.fixDay {
			continue
		}
		k := r.poisson(float64(orders) * d.rate)
		if day == d.firstDay {
			k = max(k, 2)
		}
		for range k {
			drafts = append(drafts, g.draft(r, day, date, d.reason, di))
		}
	}
	var due []pending
	g.pending = slices.DeleteFunc(g.pending, func(p pending) bool {
		if p.day == day {
			due = append(due, p)
			return true
		}
		return false
	})
	for _, p := range due {
		drafts = append(drafts, g.repeatDraft(r, date, p))
	}
	slices.SortStableFunc(drafts, func(a, b draft) int { return a.c.ReceivedAt.Compare(b.c.ReceivedAt) })
	out := make([]Contact, len(drafts))
	for i := range drafts {
		g.nContacts++
		c := &drafts[i].c
		c.ExternalID = fmt.Sprintf("%s-%d-c%d", g.cfg.Source, g.cfg.Seed, g.nContacts)
		g.truth.Reasons[c.Truth.Reason]++
		g.truth.Locales[c.Truth.Locale]++
		if di := drafts[i].defect; di >= 0 {
			g.defects[di].truth.ContactIDs = append(g.defects[di].truth.ContactIDs, c.ExternalID)
		}
		g.noteRepeat(c)
		out[i] = *c
	}
	for i := range drafts {
		d := &drafts[i]
		if d.c.Truth.RepeatOf != "" || d.c.Truth.Reason == "unclassified" || d.c.CustomerID == "" || !r.chance(g.cfg.RepeatRate) {
			continue
		}
		when := day + 1 + r.intn(4)
		if when >= g.cfg.Days || d.defect >= 0 && when >= g.defects[d.defect].fixDay {
			continue
		}
		g.pending = append(g.pending, pending{day: when, of: out[i].ExternalID, reason: out[i].Truth.Reason,
			product: out[i].Product, metadata: out[i].Metadata, ord: d.order, hasOrd: d.hasOrd, cust: d.cust, defect: d.defect})
	}
	return out
}

// noteRepeat records c in the truth when it repeats an earlier contact:
// a follow-up the generator wrote, or the same customer writing again
// about the same order and reason by chance (a repeat all the same).
func (g *Generator) noteRepeat(c *Contact) {
	if c.CustomerID == "" || c.Truth.Reason == "unclassified" {
		return
	}
	key := c.CustomerID + "\x00" + c.OrderID + "\x00" + c.Truth.Reason
	prev, seen := g.last[key]
	g.last[key] = lastContact{id: c.ExternalID, at: c.ReceivedAt}
	switch {
	case c.Truth.RepeatOf != "":
		// A follow-up repeats the latest contact of its kind, as the
		// defects detector links them (the original, unless the customer
		// wrote again in between).
		of := c.Truth.RepeatOf
		if seen {
			of = prev.id
		}
		g.truth.Repeats = append(g.truth.Repeats, RepeatTruth{ContactID: c.ExternalID, RepeatOf: of, Reason: c.Truth.Reason, FollowUp: true})
	case seen && c.ReceivedAt.Sub(prev.at) <= RepeatWindow:
		g.truth.Repeats = append(g.truth.Repeats, RepeatTruth{ContactID: c.ExternalID, RepeatOf: prev.id, Reason: c.Truth.Reason})
	}
}

// orderLag is how many days after the order a contact about it comes, by
// reason: (lo, hi) or nil for reasons without an order.
func orderLag(reason string) (lo, hi int, ok bool) {
	switch reason {
	case "where_is_my_order":
		return 1, 6, true
	case "late_delivery":
		return 5, 12, true
	case "damaged_item", "wrong_or_missing_item":
		return 2, 7, true
	case "product_quality":
		return 7, 40, true
	case "warranty_repair":
		return 20, ringDays - 1, true
	case "return_request":
		return 3, 25, true
	case "refund_status":
		return 12, 35, true
	case "payment_billing", "invoice":
		return 0, 15, true
	case "double_charged":
		return 0, 3, true
	case "cancellation", "order_change", "change_address":
		return 0, 0, true
	}
	return 0, 0, false
}

// findOrder returns an order placed lo to hi days before day that
// satisfies keep (any order when keep is nil).
func (g *Generator) findOrder(r *rng, day, lo, hi int, keep func(*orderInfo) bool) (orderInfo, bool) {
	lo, hi = min(lo, day), min(hi, day)
	for try := 0; try < 4; try++ {
		back := lo
		if hi > lo {
			back = r.between(lo, hi)
		}
		if try == 3 {
			back = lo
		}
		list := g.ring[(day-back)%ringDays]
		if len(list) == 0 {
			continue
		}
		start := r.intn(len(list))
		for k := range len(list) {
			o := &list[(start+k)%len(list)]
			if keep == nil || keep(o) {
				return *o, true
			}
		}
	}
	return orderInfo{}, false
}

func (g *Generator) draft(r *rng, day int, date time.Time, reason string, defect int) draft {
	s := g.shop
	d := draft{defect: defect, cust: -1}
	key := ""
	if defect >= 0 {
		key = g.defects[defect].key
	}
	var keep func(*orderInfo) bool
	lo, hi, wantOrder := orderLag(reason)
	switch key {
	case defectDamagedSKU:
		mug := int16(slices.IndexFunc(s.products, func(p product) bool { return p.SKU == damagedSKU }))
		keep = func(o *orderInfo) bool { return slices.Contains(o.products, mug) }
	case defectCarrierDelay:
		keep = func(o *orderInfo) bool {
			return o.carrier == delayedCarrier && s.regions[o.region].Code == delayedRegion
		}
	case defectCouponFail, defectPaymentRelease:
		wantOrder = false
	}
	if reason == "promotion_coupon" && key == "" && r.chance(0.5) {
		wantOrder, lo, hi = true, 0, 2
	}
	if wantOrder {
		d.order, d.hasOrd = g.findOrder(r, day, lo, hi, keep)
	}
	switch {
	case d.hasOrd:
		d.cust = int(d.order.customer)
	case len(g.customers) > 0 && !(anonymousOK(reason) && r.chance(0.3)):
		d.cust = r.intn(len(g.customers))
	}
	if key == defectPaymentRelease && d.cust >= 0 && s.platforms[g.customers[d.cust].platform].Code == "web" {
		// Only app users meet the broken release.
		for try := 0; try < 20; try++ {
			c := r.intn(len(g.customers))
			if s.platforms[g.customers[c].platform].Code != "web" {
				d.cust = c
				break
			}
		}
	}
	d.tone = g.tone(r, reason)
	g.fill(r, &d, date, reason, key, "")
	return d
}

func anonymousOK(reason string) bool {
	switch reason {
	case "pre_sale_question", "shipping_info", "shipping_cost", "contact_request", "payment_methods", "unclassified":
		return true
	}
	return false
}

func (g *Generator) tone(r *rng, reason string) tone {
	switch reason {
	case "late_delivery", "damaged_item", "double_charged", "staff_attitude", "refund_status", "wrong_or_missing_item":
		return tone(pickIndex(r, []float64{0.3, 0.4, 0.3}))
	}
	return tone(pickIndex(r, []float64{0.45, 0.43, 0.12}))
}

func (g *Generator) repeatDraft(r *rng, date time.Time, p pending) draft {
	d := draft{order: p.ord, hasOrd: p.hasOrd, cust: p.cust, defect: p.defect, tone: angry}
	if r.chance(0.5) {
		d.tone = neutral
	}
	key := ""
	if p.defect >= 0 {
		key = g.defects[p.defect].key
	}
	g.fill(r, &d, date, p.reason, key, p.of)
	d.c.Product = p.product
	if p.metadata != nil {
		d.c.Metadata = maps.Clone(p.metadata)
	}
	return d
}

// fill writes the contact of a draft: who, when, where, and its text.
func (g *Generator) fill(r *rng, d *draft, date time.Time, reason, defect, repeatOf string) {
	s := g.shop
	var cust customer
	if d.cust >= 0 {
		cust = g.customers[d.cust]
	} else {
		cust = customer{zh: r.chance(g.cfg.ZHShare), region: g.regionW.draw(r), platform: g.platformW.draw(r), payment: g.paymentW.draw(r)}
	}
	lang := g.langs[cust.zh]
	c := &d.c
	c.Source = g.cfg.Source
	c.CustomerID = cust.id
	c.Channel = g.channel(r, cust.zh)
	c.Truth = ContactTruth{Reason: reason, Locale: lang.code, Defect: defect, RepeatOf: repeatOf}
	if r.chance(0.75) {
		c.Locale = map[bool]string{false: "en", true: "zh-CN"}[cust.zh]
	}
	c.ReceivedAt = date.Add(time.Duration(g.contHour.draw(r))*time.Hour + time.Duration(r.intn(3600))*time.Second)
	if d.hasOrd && !d.order.placed.Before(date) && c.ReceivedAt.Before(d.order.placed.Add(10*time.Minute)) {
		c.ReceivedAt = d.order.placed.Add(time.Duration(10+r.intn(120)) * time.Minute)
		if end := date.Add(24*time.Hour - time.Second); c.ReceivedAt.After(end) {
			c.ReceivedAt = end
		}
	}
	c.HandleSeconds = handleSeconds(r, c.Channel)

	// The things the contact is about.
	regionIdx, platformIdx, paymentIdx := cust.region, cust.platform, cust.payment
	prod := g.prodW.draw(r)
	carrier := pick(r, s.regions[regionIdx].Carriers)
	app := -1
	if s.platforms[platformIdx].Code != "web" {
		app = g.appVersion(r, int(date.Sub(g.cfg.Start).Hours()/24))
	}
	promo := pick(r, s.promoCodes)
	if d.hasOrd {
		o := d.order
		c.OrderID = o.id
		prod = int(pick(r, o.products))
		regionIdx, platformIdx, paymentIdx = int(o.region), int(o.platform), int(o.payment)
		carrier = o.carrier
		app = int(o.app)
		if o.promo != "" {
			promo = o.promo
		}
	}
	switch defect {
	case defectDamagedSKU:
		prod = slices.IndexFunc(s.products, func(p product) bool { return p.SKU == damagedSKU })
	case defectCarrierDelay:
		carrier = delayedCarrier
		regionIdx = slices.IndexFunc(s.regions, func(rg region) bool { return rg.Code == delayedRegion })
	case defectCouponFail:
		promo = failingCoupon
	case defectPaymentRelease:
		app = 1
		if s.platforms[platformIdx].Code == "web" {
			platformIdx = 1
		}
	}
	p := s.products[prod]
	reg := s.regions[regionIdx]
	other := s.products[(prod+1+r.intn(len(s.products)-1))%len(s.products)]
	sl := slots{
		order: c.OrderID, carrier: carrier, code: promo, days: strconv.Itoa(3 + r.intn(12)),
		page: pick(r, s.pages), feature: pick(r, s.features), agent: pick(r, s.staff),
	}
	pay := s.paymentMethods[paymentIdx]
	if cust.zh {
		sl.product, sl.other, sl.city, sl.pay = p.NameZH, other.NameZH, reg.CitiesZH[cust.city%len(reg.CitiesZH)], pay.NameZH
		sl.weekday = [7]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[date.AddDate(0, 0, -1-r.intn(5)).Weekday()]
		sl.amount = fmt.Sprintf("%.2f元", 20+float64(r.intn(30000))/100)
		sl.feature = map[string]string{"wishlist": "心愿单", "dark-mode": "深色模式", "gift-wrap": "礼品包装",
			"order-history-export": "订单导出", "size-filter": "按尺码筛选"}[sl.feature]
	} else {
		sl.product, sl.other, sl.city, sl.pay = p.Name, other.Name, reg.Cities[cust.city%len(reg.Cities)], pay.Name
		sl.weekday = date.AddDate(0, 0, -1-r.intn(5)).Weekday().String()
		sl.amount = fmt.Sprintf("£%.2f", 5+float64(r.intn(20000))/100)
		sl.feature = strings.ReplaceAll(sl.feature, "-", " ")
	}
	if app >= 0 {
		sl.app = s.appVersions[app]
	} else {
		sl.app = s.appVersions[0]
	}
	if d.hasOrd {
		sl.amount = fmt.Sprintf("£%.2f", d.order.amount)
		if cust.zh {
			sl.amount = fmt.Sprintf("%.2f元", d.order.amount*9)
		}
	}
	msg := lang.compose(r, composeArgs{reason: reason, defect: defect, tone: d.tone, channel: c.Channel,
		repeat: repeatOf != "", hasOrd: d.hasOrd, slots: sl})
	c.Subject, c.Text = msg.subject, msg.text

	// The subject keys of the reason, as the taxonomy lists them.
	md := map[string]string{}
	switch reason {
	case "where_is_my_order", "late_delivery":
		md["carrier"], md["region"], md["warehouse"] = carrier, reg.Code, s.warehouses[reg.Code]
	case "damaged_item":
		md["carrier"], md["warehouse"] = carrier, s.warehouses[reg.Code]
	case "wrong_or_missing_item", "cancellation", "order_change", "change_address":
		md["warehouse"] = s.warehouses[reg.Code]
	case "product_quality":
		md["supplier"] = p.Supplier
	case "return_request":
		md["reason_detail"] = pick(r, s.returnDetails)
		if defect == defectReturnPolicy {
			md["reason_detail"] = "return_policy_page"
		}
	case "refund_status", "double_charged", "payment_methods":
		md["payment_method"] = pay.Code
	case "payment_billing", "payment_failed":
		md["payment_method"] = pay.Code
		if app >= 0 {
			md["app_version"] = s.appVersions[app]
		}
	case "account_login", "account_management", "website_app_issue":
		md["platform"] = s.platforms[platformIdx].Code
		if app >= 0 {
			md["app_version"] = s.appVersions[app]
		}
		if reason == "website_app_issue" {
			md["page"] = sl.page
		}
	case "promotion_coupon":
		md["promo_code"] = promo
		md["campaign"] = "spring-sale"
		if promo != failingCoupon {
			md["campaign"] = pick(r, s.campaigns)
		}
	case "marketing_messages":
		md["campaign"] = pick(r, s.campaigns)
	case "staff_attitude":
		md["agent"] = sl.agent
	case "suggestion":
		md["feature"] = pick(r, s.features)
	case "shipping_info":
		md["region"], md["carrier"] = reg.Code, carrier
	case "shipping_cost":
		md["region"] = reg.Code
	}
	if len(md) > 0 {
		c.Metadata = md
	}
	switch reason {
	case "pre_sale_question", "damaged_item", "wrong_or_missing_item", "product_quality", "warranty_repair",
		"return_request", "cancellation", "suggestion":
		c.Product = p.SKU
	}
}

func (g *Generator) channel(r *rng, zh bool) string {
	chans := []string{"email", "chat", "phone", "web", "social"}
	if zh {
		return chans[pickIndex(r, []float64{0.1, 0.5, 0.15, 0.1, 0.15})]
	}
	return chans[pickIndex(r, []float64{0.32, 0.28, 0.22, 0.12, 0.06})]
}

func handleSeconds(r *rng, channel string) float64 {
	switch channel {
	case "phone":
		return float64(r.between(180, 900))
	case "chat":
		return float64(r.between(240, 1200))
	case "email":
		return float64(r.between(120, 600))
	case "social":
		return float64(r.between(60, 300))
	}
	return float64(r.between(90, 400))
}
