// Package schedule is when a digest goes out: daily or weekly at a time
// of day on the user's own clock. A time is kept as the user wrote it
// ("08:00", "mon 08:00") and read against their time zone at each use, so
// a change of the zone or of daylight saving time moves the wall-clock
// instant, never the hour the user sees.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// At is a daily or weekly time of day.
type At struct {
	Weekly  bool
	Weekday time.Weekday // when Weekly
	Hour    int
	Minute  int
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse reads "HH:MM" (every day) or "DAY HH:MM" (every week; DAY is
// mon, tue, ... or the full English name). The error says what is wrong
// in words a user understands.
func Parse(s string) (At, error) {
	var at At
	fields := strings.Fields(strings.ToLower(s))
	switch len(fields) {
	case 1:
	case 2:
		day := fields[0]
		if len(day) > 3 {
			day = day[:3]
		}
		wd, ok := weekdays[day]
		if !ok || (len(fields[0]) > 3 && !strings.EqualFold(fields[0], wd.String())) {
			return At{}, fmt.Errorf("%q is not a day of the week like mon or monday", fields[0])
		}
		at.Weekly, at.Weekday = true, wd
	default:
		return At{}, fmt.Errorf("%q is not a time of day like 08:00, or a day and time like mon 08:00", s)
	}
	clock := fields[len(fields)-1]
	hh, mm, ok := strings.Cut(clock, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || len(hh) < 1 || len(hh) > 2 {
		return At{}, fmt.Errorf("%q is not a time of day like 08:00", clock)
	}
	if h < 0 || h > 23 || m < 0 || m > 59 {
		return At{}, fmt.Errorf("%q is not a time of day: hours go from 00 to 23, minutes from 00 to 59", clock)
	}
	at.Hour, at.Minute = h, m
	return at, nil
}

// String is at as Parse reads it: "08:00" or "mon 08:00".
func (at At) String() string {
	s := fmt.Sprintf("%02d:%02d", at.Hour, at.Minute)
	if at.Weekly {
		s = strings.ToLower(at.Weekday.String()[:3]) + " " + s
	}
	return s
}

// Last is the latest instant at or before now when at's time of day came
// in loc. A time of day that a daylight saving change skips (02:30 on the
// night clocks go forward) comes at the instant the clock jumps to; one
// it repeats comes at its first occurrence.
func (at At) Last(now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	y, mo, d := local.Date()
	for back := 0; back <= 8; back++ {
		day := time.Date(y, mo, d-back, 12, 0, 0, 0, loc) // noon exists every day
		if at.Weekly && day.Weekday() != at.Weekday {
			continue
		}
		if t := at.on(day, loc); !t.After(now) {
			return t
		}
	}
	panic("schedule: no occurrence in the last 8 days") // unreachable: every week has one
}

// Next is the first instant after now when at's time of day comes in loc.
func (at At) Next(now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	y, mo, d := local.Date()
	for ahead := 0; ahead <= 8; ahead++ {
		day := time.Date(y, mo, d+ahead, 12, 0, 0, 0, loc)
		if at.Weekly && day.Weekday() != at.Weekday {
			continue
		}
		if t := at.on(day, loc); t.After(now) {
			return t
		}
	}
	panic("schedule: no occurrence in the next 8 days") // unreachable
}

// on is at's time of day on day's date in loc. A wall time a daylight
// saving change skips is taken as the instant the clock jumped, the start
// of the zone period time.Date lands in; one it repeats, its first
// occurrence.
func (at At) on(day time.Time, loc *time.Location) time.Time {
	y, mo, d := day.Date()
	t := time.Date(y, mo, d, at.Hour, at.Minute, 0, 0, loc)
	if t.Hour() != at.Hour || t.Minute() != at.Minute {
		start, _ := t.ZoneBounds()
		return start
	}
	// A wall time the clock goes through twice: time.Date may give the
	// second; the first is one zone change earlier.
	start, _ := t.ZoneBounds()
	_, before := start.Add(-time.Second).Zone()
	_, after := t.Zone()
	if first := t.Add(time.Duration(after-before) * time.Second); first.Before(t) && first.In(loc).Hour() == at.Hour && first.In(loc).Minute() == at.Minute {
		return first
	}
	return t
}

// Window is a span of each day, such as quiet hours: from one time of
// day to another, across midnight when To is earlier than From.
type Window struct {
	From, To At
}

// ParseWindow reads "HH:MM-HH:MM" (22:00-07:00).
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not a span of the day like 22:00-07:00", s)
	}
	var w Window
	var err error
	if w.From, err = Parse(from); err != nil || w.From.Weekly {
		return Window{}, fmt.Errorf("%q is not a span of the day like 22:00-07:00: %s", s, cmpErr(err, "the start is not a time of day"))
	}
	if w.To, err = Parse(to); err != nil || w.To.Weekly {
		return Window{}, fmt.Errorf("%q is not a span of the day like 22:00-07:00: %s", s, cmpErr(err, "the end is not a time of day"))
	}
	if w.From == w.To {
		return Window{}, fmt.Errorf("%q is an empty span: the start and the end are the same", s)
	}
	return w, nil
}

func cmpErr(err error, otherwise string) string {
	if err != nil {
		return err.Error()
	}
	return otherwise
}

// String is w as ParseWindow reads it.
func (w Window) String() string { return w.From.String() + "-" + w.To.String() }

// Contains says whether now is inside the window in loc, and when the
// last window ended (the current one's start when inside).
func (w Window) Contains(now time.Time, loc *time.Location) (inside bool, lastEnd time.Time) {
	from, to := w.From.Last(now, loc), w.To.Last(now, loc)
	return from.After(to), to
}
