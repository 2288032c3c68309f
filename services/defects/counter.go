package defects

import "sort"

// hourCount is a count in one hour (hours since the Unix epoch).
type hourCount struct {
	H, N int32
}

// counter counts contacts by hour and day: a reason, a reason with a set of
// subject keys, subject keys and values across every reason, or all
// contacts. Hours are kept as a sorted slice of the hours that have counts
// (contacts arrive nearly in time order, so adding is appending), which
// makes a window's sum a search and a short walk.
type counter struct {
	hours []hourCount
	daily map[int32]int32
	// first is when the counter first counted (event time).
	first int64
	// sums caches the latest baseline sums (sumDays), which every test
	// of a contact asks for again.
	sums [4]daySum
	next int
}

type daySum struct {
	anchor, covered, n int32
	ok                 bool
}

func newCounter() *counter { return &counter{daily: map[int32]int32{}} }

func hourOfDay(h int32) int { return int(((h % 24) + 24) % 24) }

// add counts delta contacts at an event time.
func (c *counter) add(at int64, delta int32) {
	if delta > 0 && (c.first == 0 || at < c.first) {
		c.first = at
	}
	h, dd := hourOf(at), dayOf(at)
	for i := range c.sums {
		if dd < c.sums[i].anchor {
			c.sums[i].ok = false
		}
	}
	c.daily[dd] += delta
	if c.daily[dd] <= 0 {
		delete(c.daily, dd)
	}
	i := len(c.hours)
	for i > 0 && c.hours[i-1].H > h {
		i--
	}
	switch {
	case i > 0 && c.hours[i-1].H == h:
		c.hours[i-1].N += delta
		if c.hours[i-1].N <= 0 {
			c.hours = append(c.hours[:i-1], c.hours[i:]...)
		}
	case delta > 0:
		c.hours = append(c.hours, hourCount{})
		copy(c.hours[i+1:], c.hours[i:])
		c.hours[i] = hourCount{h, delta}
	}
}

// hour returns the count of one hour.
func (c *counter) hour(h int32) int32 {
	i := sort.Search(len(c.hours), func(i int) bool { return c.hours[i].H >= h })
	if i < len(c.hours) && c.hours[i].H == h {
		return c.hours[i].N
	}
	return 0
}

// eachHour calls f for every hour with counts from the hour of from to the
// hour of to.
func (c *counter) eachHour(from, to int64, f func(h, n int32)) {
	first, last := hourOf(from), hourOf(to)
	i := sort.Search(len(c.hours), func(i int) bool { return c.hours[i].H >= first })
	for ; i < len(c.hours) && c.hours[i].H <= last; i++ {
		f(c.hours[i].H, c.hours[i].N)
	}
}

// window counts (from, to], the first hour pro rata.
func (c *counter) window(from, to int64) float64 {
	first, last := hourOf(from), hourOf(to)
	var n float64
	i := sort.Search(len(c.hours), func(i int) bool { return c.hours[i].H >= first })
	for ; i < len(c.hours) && c.hours[i].H <= last; i++ {
		hc := c.hours[i]
		if hc.H == first && first < last {
			n += float64(hc.N) * float64(int64(first+1)*3600-from) / 3600
			continue
		}
		n += float64(hc.N)
	}
	return n
}

// sumDays counts the covered days before anchor.
func (c *counter) sumDays(anchor, covered int32) int32 {
	for i := range c.sums {
		if s := c.sums[i]; s.ok && s.anchor == anchor && s.covered == covered {
			return s.n
		}
	}
	n := sumDays(c.daily, anchor, covered)
	c.sums[c.next%len(c.sums)] = daySum{anchor: anchor, covered: covered, n: n, ok: true}
	c.next++
	return n
}

// pruneHours forgets the hours before h.
func (c *counter) pruneHours(h int32) {
	i := sort.Search(len(c.hours), func(i int) bool { return c.hours[i].H >= h })
	if i > 0 {
		c.hours = append(c.hours[:0], c.hours[i:]...)
	}
}
