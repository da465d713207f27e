package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseModeReadsWhatStringWrites(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		out  string
	}{
		{"now", Mode{}, "now"},
		{"Immediately", Mode{}, "now"},
		{"after 10", Mode{Count: 10}, "after 10"},
		{"every 90m", Mode{Every: 90 * time.Minute}, "every 1h30m0s"},
		{"after 5 every 1h", Mode{Count: 5, Every: time.Hour}, "after 5 every 1h0m0s"},
		{"daily 8:00", Mode{At: "08:00"}, "daily 08:00"},
		{"weekly Monday 08:00", Mode{At: "mon 08:00"}, "weekly mon 08:00"},
	} {
		got, err := ParseMode(tc.in)
		if err != nil || got != tc.want || got.String() != tc.out {
			t.Errorf("ParseMode(%q) = %+v (%q), %v; want %+v (%q)", tc.in, got, got.String(), err, tc.want, tc.out)
		}
		if again, err := ParseMode(got.String()); err != nil || again != got {
			t.Errorf("ParseMode(%q) = %+v, %v; want %+v back", got.String(), again, err, got)
		}
	}
}

func TestParseModeRefusesWithTheReason(t *testing.T) {
	for in, want := range map[string]string{
		"":                "empty",
		"after 0":         "1 or more",
		"after -3":        "1 or more",
		"every 0s":        "above 0",
		"daily 25:00":     "hours go from 00 to 23",
		"weekly 08:00":    "weekly mon 08:00",
		"sometimes":       "is not a mode",
		"after":           "needs a value",
		"now please":      "nothing after it",
		"after 2 after 3": "1 or more",
	} {
		if _, err := ParseMode(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMode(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}
