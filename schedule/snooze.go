package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Forever is the end of a snooze "until I turn it back" (on).
var Forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// maxSnooze bounds a snooze given as a length of time.
const maxSnooze = 10 * 365 * 24 * time.Hour

// ParseSnooze reads when a snooze ends, as a user says it: a length of
// time from now (2h), a time of day on the user's clock in loc (09:00 is
// the next 09:00; tomorrow 09:00 is 09:00 of the next day; mon 09:00 the
// next Monday's), an RFC 3339 time (2026-03-14T09:00:00+01:00), on (until
// turned off: Forever) or off (the zero time). A time that is not ahead
// of now is an error.
func ParseSnooze(value string, now time.Time, loc *time.Location) (time.Time, error) {
	value = strings.TrimSpace(value)
	switch strings.ToLower(value) {
	case "", "off":
		return time.Time{}, nil
	case "on":
		return Forever, nil
	}
	if d, err := time.ParseDuration(value); err == nil {
		if d <= 0 || d > maxSnooze {
			return time.Time{}, fmt.Errorf("%q is not a length of time ahead like 2h", value)
		}
		return now.Add(d), nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(value), "tomorrow "); ok {
		at, err := Parse(rest)
		if err != nil || at.Weekly {
			return time.Time{}, fmt.Errorf("%q is not like tomorrow 09:00", value)
		}
		l := now.In(loc)
		midnight := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		return at.Next(midnight.Add(-time.Nanosecond), loc), nil
	}
	if at, err := Parse(value); err == nil {
		return at.Next(now, loc), nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a length of time like 2h, a time of day like 09:00 or tomorrow 09:00, a time like 2026-03-14T09:00:00+01:00, on or off", value)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%s is in the past", value)
	}
	return t, nil
}

// SnoozeText is a snooze's end as ParseSnooze reads it back: "" when
// there is none or it is over at now, on, or the RFC 3339 time.
func SnoozeText(until, now time.Time) string {
	switch {
	case until.IsZero() || !until.After(now):
		return ""
	case until.Equal(Forever):
		return "on"
	}
	return until.Format(time.RFC3339)
}
