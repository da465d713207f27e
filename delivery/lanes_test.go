package delivery_test

import (
	"slices"
	"testing"
	"time"

	"hark/schedule"
	"hark/store"
)

// addFilter gives alice another filter to her one address, delivered as
// fd says.
func (w *world) addFilter(name string, fd func(dest int64) store.FilterDelivery) store.Filter {
	w.t.Helper()
	f, err := w.st.SaveFilter(w.ctx, store.Filter{UserID: w.user.ID, Name: name, Position: 1, Active: true,
		Rules: []store.Rule{{Kind: "topic", Args: []byte(`{"pattern": "*"}`)}}, DestinationIDs: []int64{w.dest.ID},
		FilterDelivery: fd(w.dest.ID)})
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

// mailed is the entries (X-Fedmsg-Msg-Id) of each mail that arrived, in
// order.
func (w *world) mailed() [][]string {
	var out [][]string
	for _, m := range w.smtp.Mails() {
		out = append(out, slices.Sorted(slices.Values(m.Header["X-Fedmsg-Msg-Id"])))
	}
	return out
}

func sameMails(got, want [][]string) bool {
	return slices.EqualFunc(got, want, func(a, b []string) bool { return slices.Equal(a, slices.Sorted(slices.Values(b))) })
}

// TestFilterModeNowSendsAtOnceWhileTheRestWaitsForTheDailyDigest: on one
// address with a daily digest at 08:00 (Europe/Prague), the filter
// "failed builds" says "now" for it: its mail goes out at once, the rest
// waits for 08:00 and goes as one digest.
func TestFilterModeNowSendsAtOnceWhileTheRestWaitsForTheDailyDigest(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.DigestAt = "08:00" }})
	builds := w.addFilter("failed builds", func(dest int64) store.FilterDelivery {
		return store.FilterDelivery{Modes: map[int64]schedule.Mode{dest: {}}}
	})
	rest := w.queueBy(w.filter.ID, 2)
	urgent := w.queueBy(builds.ID, 1)
	w.pass(0)
	if got := w.mailed(); !sameMails(got, [][]string{urgent}) {
		t.Fatalf("mails %v at once, want only the failed build %v", got, urgent)
	}
	loc, _ := time.LoadLocation("Europe/Prague")
	at, _ := schedule.Parse("08:00")
	eight := at.Next(w.now, loc)
	w.pass(eight.Add(-time.Second).Sub(w.now))
	if got := w.mailed(); len(got) != 1 {
		t.Fatalf("mails %v before 08:00, want still the one", got)
	}
	w.pass(time.Second)
	if got := w.mailed(); !sameMails(got, [][]string{urgent, rest}) {
		t.Errorf("mails %v, want the failed build at once, then one digest of %v at 08:00", got, rest)
	}
}

// TestSnoozedFilterKeepsThenDigestsOrDrops: while one filter is snoozed
// the other's mail goes out as usual; at the snooze's end what the
// snoozed one matched goes out as one digest, or is dropped.
func TestSnoozedFilterKeepsThenDigestsOrDrops(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(map[bool]string{false: "digest", true: "drop"}[drop], func(t *testing.T) {
			until := time.Now().Add(2 * time.Hour)
			w := newWorld(t, setup{})
			noisy := w.addFilter("noisy", func(int64) store.FilterDelivery {
				return store.FilterDelivery{SnoozeUntil: until, SnoozeDrop: drop}
			})
			held := w.queueBy(noisy.ID, 3)
			other := w.queueBy(w.filter.ID, 1)
			w.pass(0)
			w.pass(time.Hour)
			if got := w.mailed(); !sameMails(got, [][]string{other}) {
				t.Fatalf("mails %v while noisy is snoozed, want only %v", got, other)
			}
			w.pass(until.Sub(w.now))
			want := [][]string{other, held}
			wantDead := int64(0)
			if drop {
				want, wantDead = want[:1], 3
			}
			if got := w.mailed(); !sameMails(got, want) {
				t.Errorf("mails %v as the snooze ended, want %v", got, want)
			}
			if d := w.depth(); d[store.StateDead] != wantDead || d[store.StateQueued] != 0 {
				t.Errorf("queue depth %v, want %d dropped and nothing left queued", d, wantDead)
			}
		})
	}
}

// TestUrgentFilterBypassesQuietHours: during quiet hours an urgent
// filter's mail goes out at once; a filter that says "now" without being
// urgent waits for their end like the rest.
func TestUrgentFilterBypassesQuietHours(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(loc).Truncate(time.Minute)
	end := start.Add(2 * time.Hour)
	window := start.Add(-time.Minute).Format("15:04") + "-" + end.Format("15:04")
	w := newWorld(t, setup{dest: func(d *store.Destination) {
		if err := d.SetPreference("quiet_hours", window); err != nil {
			t.Fatal(err)
		}
	}})
	urgentF := w.addFilter("outage", func(int64) store.FilterDelivery { return store.FilterDelivery{Urgent: true} })
	nowF := w.addFilter("builds", func(dest int64) store.FilterDelivery {
		return store.FilterDelivery{Modes: map[int64]schedule.Mode{dest: {}}}
	})
	urgent := w.queueBy(urgentF.ID, 1)
	now := w.queueBy(nowF.ID, 1)
	rest := w.queueBy(w.filter.ID, 2)
	w.pass(0)
	w.pass(time.Hour)
	if got := w.mailed(); !sameMails(got, [][]string{urgent}) {
		t.Fatalf("mails %v during quiet hours %s, want only the urgent %v", got, window, urgent)
	}
	w.pass(end.Sub(w.now))
	got := w.mailed()
	if len(got) != 3 || !sameMails(got[:1], [][]string{urgent}) ||
		!(sameMails(got[1:], [][]string{now, rest}) || sameMails(got[1:], [][]string{rest, now})) {
		t.Errorf("mails %v, want %v at once, then %v and %v when quiet hours %s ended", got, urgent, now, rest, window)
	}
}
