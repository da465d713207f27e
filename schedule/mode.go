package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is how notifications go to a destination: at once (the zero
// Mode), as a digest after Count of them or once the oldest waited Every
// (either or both), or as one digest daily or weekly at a time of day.
// It is what a destination's own preferences say, and what a filter can
// say instead for one of its destinations.
type Mode struct {
	Count int
	Every time.Duration
	At    string // "" or At.String(): "08:00", "mon 08:00"
}

// maxEvery bounds "every": longer is a typo, not a digest.
const maxEvery = 366 * 24 * time.Hour

// ParseMode reads a mode as a user writes it:
//
//	now                   at once ("immediately" too)
//	after 10              a digest of every 10
//	every 1h              a digest once the oldest waited an hour
//	after 10 every 1h     whichever comes first
//	daily 08:00           one digest a day at 08:00 in the user's zone
//	weekly mon 08:00      one digest a week
//
// The error says what is wrong in words a user understands; the caller
// names the field.
func ParseMode(s string) (Mode, error) {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) == 0 {
		return Mode{}, fmt.Errorf("empty: say now, after 10, every 1h, daily 08:00 or weekly mon 08:00")
	}
	var m Mode
	switch fields[0] {
	case "now", "immediately":
		if len(fields) != 1 {
			return Mode{}, fmt.Errorf("%q: now takes nothing after it", s)
		}
		return m, nil
	case "daily", "weekly":
		want := map[string]int{"daily": 2, "weekly": 3}[fields[0]]
		if len(fields) != want {
			return Mode{}, fmt.Errorf("%q is not like daily 08:00 or weekly mon 08:00", s)
		}
		at, err := Parse(strings.Join(fields[1:], " "))
		if err != nil {
			return Mode{}, err
		}
		m.At = at.String()
		return m, nil
	}
	for len(fields) > 0 {
		key := fields[0]
		if key != "after" && key != "every" {
			return Mode{}, fmt.Errorf("%q is not a mode: say now, after 10, every 1h, daily 08:00 or weekly mon 08:00", s)
		}
		if len(fields) < 2 {
			return Mode{}, fmt.Errorf("%q: %s needs a value", s, key)
		}
		switch value := fields[1]; key {
		case "after":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || m.Count != 0 {
				return Mode{}, fmt.Errorf("%q: after takes a whole number of notifications of 1 or more, like after 10", s)
			}
			m.Count = n
		case "every":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > maxEvery || m.Every != 0 {
				return Mode{}, fmt.Errorf("%q: every takes a length of time above 0 and up to a year, like every 1h", s)
			}
			m.Every = d
		}
		fields = fields[2:]
	}
	return m, nil
}

// String is m as ParseMode reads it.
func (m Mode) String() string {
	if m.At != "" {
		if strings.Contains(m.At, " ") {
			return "weekly " + m.At
		}
		return "daily " + m.At
	}
	var parts []string
	if m.Count > 0 {
		parts = append(parts, "after "+strconv.Itoa(m.Count))
	}
	if m.Every > 0 {
		parts = append(parts, "every "+m.Every.String())
	}
	if len(parts) == 0 {
		return "now"
	}
	return strings.Join(parts, " ")
}
