package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseSnoozeReadsWhatPeopleSay(t *testing.T) {
	prague, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 28, 10, 30, 0, 0, prague) // the day before clocks go forward
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"off", time.Time{}},
		{"on", Forever},
		{"1h", now.Add(time.Hour)},
		{"09:00", time.Date(2026, 3, 29, 9, 0, 0, 0, prague)},
		{"11:00", time.Date(2026, 3, 28, 11, 0, 0, 0, prague)},
		{"tomorrow 09:00", time.Date(2026, 3, 29, 9, 0, 0, 0, prague)},
		{"Tomorrow 00:00", time.Date(2026, 3, 29, 0, 0, 0, 0, prague)},
		{"mon 09:00", time.Date(2026, 3, 30, 9, 0, 0, 0, prague)},
		{"2026-04-01T09:00:00+02:00", time.Date(2026, 4, 1, 9, 0, 0, 0, prague)},
	} {
		got, err := ParseSnooze(tc.in, now, prague)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseSnooze(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSnoozeRefusesWithTheReason(t *testing.T) {
	now := time.Date(2026, 3, 28, 10, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"-1h":                  "ahead",
		"2026-03-01T09:00:00Z": "in the past",
		"25:00":                "is not a length of time like 2h",
		"tomorrow 25:00":       "tomorrow 09:00",
		"whenever":             "on or off",
	} {
		if _, err := ParseSnooze(in, now, time.UTC); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSnooze(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}
