package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"hark/store"
)

// A message's inbox row counts down as each destination claims its
// entry, goes when the last one is claimed, and only then lets the
// history prune the message; the notification keeps the id it was
// listed with while it waited.
func TestInboxRowLivesUntilEveryEntryIsClaimed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	acc := bothOf(alice, bob)
	acc.Message.Received = time.Now().Add(-48 * time.Hour)
	if res, err := s.Enqueue(ctx, []store.Accepted{acc}); err != nil || res.Notifications != 2 {
		t.Fatalf("enqueue: %+v, %v", res, err)
	}
	listed, err := s.ListNotifications(ctx, store.NotificationQuery{})
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
	if d, err := s.QueueDepth(ctx); err != nil || d[store.StateQueued] != 0 || d[store.StateSent] != 2 {
		t.Errorf("depth %v, %v; want 2 sent, none queued", d, err)
	}
}

// Entries for a destination deleted while they waited leave the inbox at
// the next Pending, so neither they nor their message stay for ever.
func TestPendingDropsEntriesOfDeletedDestinations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{bothOf(alice, bob), bob.accepted("2026-bob")}); err != nil {
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

// bothOf is one message matched by alice's and bob's destinations.
func bothOf(alice, bob fixture) store.Accepted {
	acc := alice.accepted("2026-both")
	acc.Matches = append(acc.Matches, bob.accepted("2026-both").Matches...)
	return acc
}

// both queues bothOf(alice, bob).
func both(t *testing.T, s *SQLite, alice, bob fixture) {
	t.Helper()
	if _, err := s.Enqueue(context.Background(), []store.Accepted{bothOf(alice, bob)}); err != nil {
		t.Fatal(err)
	}
}

// waitingFor is how many notifications Pending has for dest.
func waitingFor(t *testing.T, s *SQLite, dest int64) int {
	t.Helper()
	ps, err := s.Pending(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.DestinationID == dest {
			return p.Due
		}
	}
	return 0
}

// Deleting a destination while its notification is being sent takes the
// row with it: the send's outcome then has nothing to mark, which is no
// error (the sent journal's replay would otherwise fail for ever), and
// the other destination's entry still goes out.
func TestOutcomeForADeletedDestinationsClaimIsNoError(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	both(t, s, alice, bob)
	waitingFor(t, s, alice.dest.ID)
	ns, err := s.Claim(ctx, alice.dest.ID, time.Now(), time.Minute, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claim: %v, %v", ns, err)
	}
	if err := s.DeleteDestination(ctx, alice.dest.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, []int64{ns[0].ID}, time.Now()); err != nil {
		t.Errorf("mark the deleted destination's send: %v", err)
	}
	if n, err := s.NotificationByID(ctx, ns[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted destination's notification is still found: %+v, %v", n, err)
	}
	if n := waitingFor(t, s, bob.dest.ID); n != 1 {
		t.Errorf("bob has %d waiting, want 1", n)
	}
}

// What the inbox settled stays settled across a restart: an entry dropped
// for a deleted destination is not counted out a second time, which
// would take the other destinations' entries with it.
func TestRestartKeepsTheOtherDestinationsEntries(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	both(t, s, alice, bob)
	waitingFor(t, s, bob.dest.ID)
	if err := s.DeleteDestination(ctx, alice.dest.ID); err != nil {
		t.Fatal(err)
	}
	for restart := range 3 {
		s.inbox.reset() // what a new process starts from
		if n := waitingFor(t, s, bob.dest.ID); n != 1 {
			t.Fatalf("after restart %d bob has %d waiting, want 1", restart, n)
		}
		if d, err := s.QueueDepth(ctx); err != nil || d[store.StateQueued] != 1 {
			t.Fatalf("after restart %d depth %v, %v; want 1 queued", restart, d, err)
		}
	}
	ns, err := s.Claim(ctx, bob.dest.ID, time.Now(), time.Minute, 10)
	if err != nil || len(ns) != 1 || ns[0].UserID != bob.user.ID {
		t.Errorf("bob's claim: %+v, %v", ns, err)
	}
}

// A destination id given again after its destination was deleted does
// not inherit the old destination's waiting notifications.
func TestAReusedDestinationIDGetsNoOneElsesNotifications(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	both(t, s, alice, bob)
	if err := s.DeleteDestination(ctx, bob.dest.ID); err != nil {
		t.Fatal(err)
	}
	carol, err := s.CreateUser(ctx, store.User{Name: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SaveDestination(ctx, store.Destination{UserID: carol.ID, Kind: store.KindEmail, Address: "carol@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != bob.dest.ID {
		t.Skipf("SQLite gave id %d, not bob's %d: nothing to test", d.ID, bob.dest.ID)
	}
	ns, err := s.Claim(ctx, d.ID, time.Now(), time.Minute, 10)
	if err != nil || len(ns) != 0 {
		t.Errorf("carol's destination claimed %+v, %v; want nothing", ns, err)
	}
	if n, err := s.ListNotifications(ctx, store.NotificationQuery{User: "carol"}); err != nil || len(n) != 0 {
		t.Errorf("carol's notifications %+v, %v; want none", n, err)
	}
}

// A digest can claim more entries than one statement has parameters for.
func TestClaimOfThousandsOfEntries(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice := seed(t, s, "alice", false)
	const n = 5000
	batch := make([]store.Accepted, n)
	for i := range batch {
		batch[i] = alice.accepted(fmt.Sprintf("m%d", i))
	}
	if _, err := s.Enqueue(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := waitingFor(t, s, alice.dest.ID); got != n {
		t.Fatalf("%d waiting, want %d", got, n)
	}
	ns, err := s.Claim(ctx, alice.dest.ID, time.Now(), time.Minute, n)
	if err != nil || len(ns) != n {
		t.Fatalf("claimed %d, %v; want %d", len(ns), err, n)
	}
	if d, err := s.QueueDepth(ctx); err != nil || d[store.StateQueued] != n {
		t.Errorf("depth %v, %v; want %d queued (claimed, not yet sent)", d, err, n)
	}
}
