package schedule

import (
	"testing"
	"time"
)

func prague(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"08:00", "08:00", ""},
		{"8:05", "08:05", ""},
		{"mon 08:00", "mon 08:00", ""},
		{"Sunday 23:59", "sun 23:59", ""},
		{"25:00", "", `"25:00" is not a time of day: hours go from 00 to 23, minutes from 00 to 59`},
		{"08:60", "", `"08:60" is not a time of day: hours go from 00 to 23, minutes from 00 to 59`},
		{"8", "", `"8" is not a time of day like 08:00`},
		{"8:5", "", `"8:5" is not a time of day like 08:00`},
		{"moon 08:00", "", `"moon" is not a day of the week like mon or monday`},
		{"mon tue 08:00", "", `"mon tue 08:00" is not a time of day like 08:00, or a day and time like mon 08:00`},
		{"", "", `"" is not a time of day like 08:00, or a day and time like mon 08:00`},
	} {
		at, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Parse(%q) error = %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || at.String() != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", tc.in, at, err, tc.want)
		}
	}
}

// TestDailyAtEightPragueAcrossDST: 08:00 in Prague is 07:00 UTC in winter
// and 06:00 UTC in summer; the days around both changes of 2026 (29 March,
// 25 October) each get theirs at 08:00 local.
func TestDailyAtEightPragueAcrossDST(t *testing.T) {
	loc := prague(t)
	at, err := Parse("08:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time // UTC
		last time.Time // UTC
		next time.Time
	}{
		{ // Saturday before spring forward, just after 08:00 CET
			time.Date(2026, 3, 28, 7, 0, 1, 0, time.UTC),
			time.Date(2026, 3, 28, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC)},
		{ // Sunday of the change, 07:30 CEST: not yet
			time.Date(2026, 3, 29, 5, 30, 0, 0, time.UTC),
			time.Date(2026, 3, 28, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC)},
		{ // Sunday of the change, 08:00 CEST exactly
			time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)},
		{ // Saturday before fall back, 09:00 CEST
			time.Date(2026, 10, 24, 7, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 24, 6, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC)},
		{ // Sunday of the change, 07:59 CET
			time.Date(2026, 10, 25, 6, 59, 0, 0, time.UTC),
			time.Date(2026, 10, 24, 6, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC)},
		{ // Monday after, 08:00 CET
			time.Date(2026, 10, 26, 7, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 26, 7, 0, 0, 0, time.UTC), time.Date(2026, 10, 27, 7, 0, 0, 0, time.UTC)},
	} {
		if got := at.Last(tc.now, loc); !got.Equal(tc.last) {
			t.Errorf("Last(%v) = %v, want %v", tc.now, got.UTC(), tc.last)
		}
		if got := at.Next(tc.now, loc); !got.Equal(tc.next) {
			t.Errorf("Next(%v) = %v, want %v", tc.now, got.UTC(), tc.next)
		}
		if got := at.Last(tc.now, loc).In(loc); got.Hour() != 8 || got.Minute() != 0 {
			t.Errorf("Last(%v) is %v local, want 08:00", tc.now, got)
		}
	}
}

func TestSkippedAndRepeatedTimes(t *testing.T) {
	loc := prague(t)
	skipped, _ := Parse("02:30") // 29 March 2026: 02:00 CET jumps to 03:00 CEST
	if got, want := skipped.Next(time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), loc), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("02:30 on the spring-forward night comes at %v, want the jump at %v", got.UTC(), want)
	}
	repeated, _ := Parse("02:30") // 25 October 2026: 03:00 CEST goes back to 02:00 CET
	if got, want := repeated.Next(time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC), loc), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("02:30 on the fall-back night comes at %v, want its first occurrence %v", got.UTC(), want)
	}
}

func TestWeekly(t *testing.T) {
	loc := prague(t)
	at, err := Parse("mon 08:00")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC) // Tuesday
	if got, want := at.Last(now, loc), time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Last = %v, want Monday 08:00 CEST %v", got.UTC(), want)
	}
	if got, want := at.Next(now, loc), time.Date(2026, 4, 6, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got.UTC(), want)
	}
}

func TestQuietWindowAcrossMidnightAndDST(t *testing.T) {
	loc := prague(t)
	w, err := ParseWindow("22:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		local  time.Time
		inside bool
	}{
		{time.Date(2026, 3, 28, 21, 59, 0, 0, loc), false},
		{time.Date(2026, 3, 28, 22, 0, 0, 0, loc), true},
		{time.Date(2026, 3, 29, 3, 30, 0, 0, loc), true}, // the short night
		{time.Date(2026, 3, 29, 6, 59, 0, 0, loc), true},
		{time.Date(2026, 3, 29, 7, 0, 0, 0, loc), false},
		{time.Date(2026, 3, 29, 12, 0, 0, 0, loc), false},
	} {
		inside, end := w.Contains(tc.local, loc)
		if inside != tc.inside {
			t.Errorf("at %v inside = %v, want %v", tc.local, inside, tc.inside)
		}
		if !inside && end.In(loc).Hour() != 7 {
			t.Errorf("at %v the last window ended %v, want at 07:00 local", tc.local, end.In(loc))
		}
	}
	for _, bad := range []string{"22:00", "22:00-25:00", "mon 22:00-07:00", "07:00-07:00"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted it", bad)
		}
	}
}
