package delivery

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"hark/store"
)

// TestDailyDigestAtEightPragueAroundDSTChanges runs the planner minute by
// minute through the days around both of 2026's daylight saving changes
// in Prague, with something queued every hour: exactly one digest a day,
// each at 08:00 on the user's clock, whatever the UTC offset that day.
func TestDailyDigestAtEightPragueAroundDSTChanges(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	dest := store.Destination{ID: 1, DigestAt: "08:00"}
	for _, span := range []struct{ from, to time.Time }{
		{time.Date(2026, 3, 27, 0, 0, 0, 0, loc), time.Date(2026, 3, 31, 0, 0, 0, 0, loc)},
		{time.Date(2026, 10, 23, 0, 0, 0, 0, loc), time.Date(2026, 10, 27, 0, 0, 0, 0, loc)},
	} {
		var p store.Pending
		var sent []time.Time
		for now := span.from; now.Before(span.to); now = now.Add(time.Minute) {
			if now.Minute() == 30 { // a match every hour, on the half hour
				if p.Due == 0 {
					p.Oldest = now
				}
				p.Due++
			}
			if p.Due == 0 {
				continue
			}
			takes := scheduled(dest, loc, p, now)
			if len(takes) == 0 {
				continue
			}
			if len(takes) != 1 || takes[0].n != p.Due || takes[0].digest != DigestBatched {
				t.Fatalf("at %v: plan %+v, want one digest of all %d", now, takes, p.Due)
			}
			sent = append(sent, now)
			p = store.Pending{}
		}
		if len(sent) != 4 {
			t.Errorf("%d digests from %v to %v, want one a day: %v", len(sent), span.from, span.to, sent)
		}
		for _, at := range sent {
			if l := at.In(loc); l.Hour() != 8 || l.Minute() != 0 {
				t.Errorf("a digest went out at %v, want 08:00 local", l)
			}
		}
	}
}

func TestUnreadableDigestTimeSendsRatherThanHolds(t *testing.T) {
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	p := store.Pending{Due: 2, Oldest: now.Add(-time.Minute)}
	if takes := scheduled(store.Destination{DigestAt: "25:00"}, time.UTC, p, now); len(takes) != 1 || takes[0].n != 2 {
		t.Errorf("plan %+v, want the 2 queued sent", takes)
	}
}

func TestDigestGroupsItemsByAppAndObject(t *testing.T) {
	items := []Item{
		{NotificationID: 1, App: "bodhi", Thread: "u1"},
		{NotificationID: 2, App: "koji", Thread: "b1"},
		{NotificationID: 3, App: "bodhi", Thread: "u2"},
		{NotificationID: 4, App: "bodhi", Thread: "u1"},
		{NotificationID: 5, App: "koji", Thread: "b1"},
		{NotificationID: 6, App: "bodhi", Thread: "u2"},
	}
	groupByObject(items)
	var got []int64
	for _, it := range items {
		got = append(got, it.NotificationID)
	}
	if want := []int64{1, 4, 2, 5, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v: each object's items together, objects in the order they came", got, want)
	}
}

func TestSnoozeEndsForWhatCameAfter(t *testing.T) {
	until := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		drop    bool
		oldest  time.Time
		now     time.Time
		decided bool
		takes   []take
	}{
		{"during", false, until.Add(-time.Hour), until.Add(-time.Second), true, nil},
		{"at the end, digest", false, until.Add(-time.Hour), until, true, []take{{n: 3, digest: DigestBatched}}},
		{"at the end, drop", true, until.Add(-time.Hour), until, true, []take{{n: 3, digest: DigestBatched, drop: true}}},
		{"after, new matches", true, until.Add(time.Minute), until.Add(2 * time.Minute), false, nil},
	} {
		takes, decided := snoozed(store.Destination{SnoozeUntil: until, SnoozeDrop: tc.drop}, store.Pending{Due: 3, Oldest: tc.oldest}, tc.now)
		if decided != tc.decided || !reflect.DeepEqual(takes, tc.takes) {
			t.Errorf("%s: plan %+v (decided %v), want %+v (decided %v)", tc.name, takes, decided, tc.takes, tc.decided)
		}
	}
}

func TestQuietHoursEndForWhatCameAfter(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	dest := store.Destination{QuietHours: "22:00-07:00"}
	end := time.Date(2026, 3, 29, 7, 0, 0, 0, loc) // the short night
	for _, tc := range []struct {
		name    string
		oldest  time.Time
		now     time.Time
		decided bool
		takes   []take
	}{
		{"inside", end.Add(-5 * time.Hour), end.Add(-time.Minute), true, nil},
		{"at the end", end.Add(-5 * time.Hour), end, true, []take{{n: 2, digest: DigestBatched}}},
		{"after, new matches", end.Add(time.Hour), end.Add(time.Hour + time.Second), false, nil},
	} {
		takes, decided := quiet(dest, loc, store.Pending{Due: 2, Oldest: tc.oldest}, tc.now)
		if decided != tc.decided || !reflect.DeepEqual(takes, tc.takes) {
			t.Errorf("%s: plan %+v (decided %v), want %+v (decided %v)", tc.name, takes, decided, tc.takes, tc.decided)
		}
	}
}
