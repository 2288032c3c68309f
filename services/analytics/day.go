package analytics

import (
	"fmt"
	"time"
)

// Day is a calendar day counted in days since 1970-01-01. Contacts and
// orders are placed on the Day of their timestamp in the configured time
// zone (see DayOf); units recorded per day carry their Day as given.
type Day int32

// DayOf returns the calendar day that t falls on in loc, the local date:
// in Asia/Shanghai, 2026-11-01T16:30:00Z is 00:30 on 2 November and
// counts on 2026-11-02.
func DayOf(t time.Time, loc *time.Location) Day {
	_, offset := t.In(loc).Zone()
	return dayOfUnix(t.Unix() + int64(offset))
}

// dayOfUnix floors local seconds since the epoch to a day.
func dayOfUnix(local int64) Day {
	d := local / 86400
	if local%86400 < 0 {
		d--
	}
	return Day(d)
}

// ParseDay reads a YYYY-MM-DD date.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("%q is outside the years 1970 to 2200", s)
	}
	return Day(t.Unix() / 86400), nil
}

// String returns the day as YYYY-MM-DD.
func (d Day) String() string {
	y, m, dd := d.date()
	if y < 0 || y > 9999 {
		return d.Time().Format(time.DateOnly)
	}
	b := [10]byte{
		byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + dd/10), byte('0' + dd%10),
	}
	return string(b[:])
}

// date returns the civil date of the day (Howard Hinnant's days-to-civil
// algorithm: proleptic Gregorian calendar, any day).
func (d Day) date() (year, month, day int) {
	z := int(d) + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if mp >= 10 {
		month = mp - 9
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// Time returns midnight UTC of the day's date.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// weekStart returns the Monday of the day's ISO week.
func (d Day) weekStart() Day {
	// 1970-01-01 was a Thursday: (d+3) mod 7 is 0 on Mondays.
	m := (int(d) + 3) % 7
	if m < 0 {
		m += 7
	}
	return d - Day(m)
}

// monthStart returns the first day of the day's month.
func (d Day) monthStart() Day {
	t := d.Time()
	return Day(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// The intervals a CPX series can be reported by.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// periodStart returns the first day of the period of interval that d is in.
func periodStart(d Day, interval string) Day {
	switch interval {
	case IntervalWeek:
		return d.weekStart()
	case IntervalMonth:
		return d.monthStart()
	}
	return d
}

// periods lists the first days of the periods that [from, to] touches and
// returns, for every day of the range (by offset from from), the index of
// its period.
func periods(from, to Day, interval string) (starts []Day, index []int) {
	index = make([]int, 0, int(to-from)+1)
	for d := from; d <= to; d++ {
		ps := periodStart(d, interval)
		if len(starts) == 0 || starts[len(starts)-1] != ps {
			starts = append(starts, ps)
		}
		index = append(index, len(starts)-1)
	}
	return starts, index
}
