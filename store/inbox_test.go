package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// A message's inbox row counts down as each destination claims its
// entry, goes when the last one is claimed, and only then lets the
// history prune the message; the notification keeps the id it was
// listed with while it waited.
func TestInboxRowLivesUntilEveryEntryIsClaimed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	acc := alice.accepted("2026-both")
	acc.Matches = append(acc.Matches, bob.accepted("2026-both").Matches...)
	acc.Message.Received = time.Now().Add(-48 * time.Hour)
	if res, err := s.Enqueue(ctx, []Accepted{acc}); err != nil || res.Notifications != 2 {
		t.Fatalf("enqueue: %+v, %v", res, err)
	}
	listed, err := s.ListNotifications(ctx, NotificationQuery{})
	if err != nil || len(listed) != 2 {
		t.Fatalf("listed %d, %v", len(listed), err)
	}
	waiting := func() (rows, entries int64) {
		t.Helper()
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(waiting), 0) FROM inbox`).Scan(&rows, &entries); err != nil {
			t.Fatal(err)
		}
		return rows, entries
	}
	prune := func() int64 {
		t.Helper()
		n, err := s.PruneHistory(ctx, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	var claimed []int64
	for i, f := range []fixture{alice, bob} {
		if _, err := s.Pending(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		ns, err := s.Claim(ctx, f.dest.ID, time.Now(), time.Minute, 10)
		if err != nil || len(ns) != 1 || ns[0].DestinationID != f.dest.ID || ns[0].Attempts != 1 {
			t.Fatalf("claim of %s: %+v, %v", f.user.Name, ns, err)
		}
		claimed = append(claimed, ns[0].ID)
		rows, entries := waiting()
		if want := int64(1 - i); rows != want || entries != want {
			t.Errorf("after %s's claim: %d inbox rows waiting for %d entries, want %d and %d", f.user.Name, rows, entries, want, want)
		}
		if n := prune(); n != 0 {
			t.Errorf("after %s's claim the prune took %d messages: a notification waits for it", f.user.Name, n)
		}
		if err := s.MarkSent(ctx, []int64{ns[0].ID}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := prune(); n != int64(i) {
			t.Errorf("after %s's notification was sent the prune took %d messages, want %d", f.user.Name, n, i)
		}
	}
	var ids []int64
	for _, n := range listed {
		ids = append(ids, n.ID)
	}
	slices.Sort(ids)
	slices.Sort(claimed)
	if !slices.Equal(ids, claimed) {
		t.Errorf("claimed ids %v, listed while waiting as %v", claimed, ids)
	}
	if d, err := s.QueueDepth(ctx); err != nil || d[StateQueued] != 0 || d[StateSent] != 2 {
		t.Errorf("depth %v, %v; want 2 sent, none queued", d, err)
	}
}

// Entries for a destination deleted while they waited leave the inbox at
// the next Pending, so neither they nor their message stay for ever.
func TestPendingDropsEntriesOfDeletedDestinations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	acc := alice.accepted("2026-both")
	acc.Matches = append(acc.Matches, bob.accepted("2026-both").Matches...)
	if _, err := s.Enqueue(ctx, []Accepted{acc, bob.accepted("2026-bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pending(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDestination(ctx, bob.dest.ID); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Pending(ctx, time.Now())
	if err != nil || len(ps) != 1 || ps[0].DestinationID != alice.dest.ID || ps[0].Due != 1 {
		t.Fatalf("pending %+v, %v; want alice's one", ps, err)
	}
	var rows, entries int64
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(waiting), 0) FROM inbox`).Scan(&rows, &entries); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || entries != 1 {
		t.Errorf("%d inbox rows waiting for %d entries, want alice's message's row only", rows, entries)
	}
}
