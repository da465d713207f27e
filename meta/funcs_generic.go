package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Template functions every fedora-messaging processor may need: the
// schema classes' common idioms, written once.
func init() {
	templateFuncs["casualDelta"] = fn2e(casualDelta)
	templateFuncs["joinAnd"] = fn1(joinAnd)
	templateFuncs["pyjson"] = fn1(func(v any) string { return string(appendPyJSON(nil, v, 0)) })
}

// casualDelta says when a date and time (naive ones are UTC) is, seen
// from now (the message's own time: {{ casualDelta $when .timestamp }}),
// as fedocal's reminders do: the largest non-zero unit of the calendar
// difference, "in 2 days", "in 1 hour", "in 7 minutes", else "right now".
// Measured from the message's sent-at, not the clock, the same message
// always says the same. A time in the past gives "in -1 days", as there.
func casualDelta(when string, now any) (string, error) {
	at, err := parseWhen(when)
	if err != nil {
		return "", err
	}
	from, err := unixTime(now)
	if err != nil {
		return "", err
	}
	rd := relativeDelta(at, from)
	for _, u := range []struct {
		n    int
		name string
	}{{rd.years, "years"}, {rd.months, "months"}, {rd.days, "days"}, {rd.hours, "hours"}, {rd.minutes, "minutes"}} {
		if u.n == 0 {
			continue
		}
		name := u.name
		if u.n == 1 {
			name = strings.TrimSuffix(name, "s")
		}
		return fmt.Sprintf("in %d %s", u.n, name), nil
	}
	return "right now", nil
}

// whenLayouts are the date-time forms publishers send.
var whenLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

func parseWhen(s string) (time.Time, error) {
	for _, l := range whenLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q: not a date and time", s)
}

// unixTime reads a time as the envelope's timestamp (Unix seconds) or an
// ISO 8601 text (the sent-at header).
func unixTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse timestamp %q: %w", v, err)
		}
		return time.UnixMicro(int64(f * 1e6)).UTC(), nil
	case float64:
		return time.UnixMicro(int64(v * 1e6)).UTC(), nil
	case string:
		return parseWhen(v)
	}
	return time.Time{}, errors.New("want a timestamp or a date and time")
}

// A calendarDelta is a difference of two times in calendar units, as
// Python's dateutil relativedelta(a, b) computes it: whole months first
// (a month later is the same day, clamped to the month's end), the rest
// in days, hours, minutes and seconds, every unit with the sign of the
// difference.
type calendarDelta struct {
	years, months, days, hours, minutes, seconds int
}

func relativeDelta(a, b time.Time) calendarDelta {
	a, b = a.UTC(), b.UTC()
	months := (a.Year()-b.Year())*12 + int(a.Month()-b.Month())
	dtm := addMonths(b, months)
	switch {
	case a.Before(b):
		for a.After(dtm) {
			months++
			dtm = addMonths(b, months)
		}
	default:
		for a.Before(dtm) {
			months--
			dtm = addMonths(b, months)
		}
	}
	secs := int(a.Sub(dtm) / time.Second)
	if a.Sub(dtm)%time.Second < 0 {
		secs-- // Python's timedelta floors to whole seconds
	}
	var rd calendarDelta
	rd.seconds = secs
	carry := func(v *int, limit, per int, into *int) {
		if *v > limit || *v < -limit {
			s := 1
			if *v < 0 {
				s = -1
			}
			div, mod := (*v*s)/per, (*v*s)%per
			*v = mod * s
			*into += div * s
		}
	}
	carry(&rd.seconds, 59, 60, &rd.minutes)
	carry(&rd.minutes, 59, 60, &rd.hours)
	carry(&rd.hours, 23, 24, &rd.days)
	rd.months = months
	carry(&rd.months, 11, 12, &rd.years)
	return rd
}

// addMonths is t plus n calendar months, the day clamped to the last of
// the month reached (January 31 plus one month is February 28 or 29).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	y += total / 12
	if total %= 12; total < 0 {
		total += 12
		y--
	}
	month := time.Month(total + 1)
	if last := time.Date(y, month+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	hh, mm, ss := t.Clock()
	return time.Date(y, month, d, hh, mm, ss, t.Nanosecond(), time.UTC)
}

// joinAnd joins a list as the schemas write one: "a", "a and b",
// "a, b and c" (no comma before "and"). Empty strings are skipped.
func joinAnd(list any) string {
	var items []string
	switch l := list.(type) {
	case []any:
		for _, e := range l {
			if s, ok := scalar(e); ok && s != "" {
				items = append(items, s)
			}
		}
	case []string:
		items = l
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
