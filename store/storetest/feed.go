package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hark/store"
)

// The change feed's part of the contract (store.Feed).

// changesAfter is every change after cursor, and the cursor after them.
func changesAfter(t *testing.T, s store.Store, cursor store.FeedCursor) ([]store.Change, store.FeedCursor) {
	t.Helper()
	cs, next, err := s.Changes(context.Background(), cursor, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return cs, next
}

// kinds is what cs say changed: "settings", or "queued:KIND".
func kinds(cs []store.Change) map[string]bool {
	out := map[string]bool{}
	for _, c := range cs {
		if c.Type == store.ChangeQueued {
			out[string(c.Type)+":"+c.Kind] = true
		} else {
			out[string(c.Type)] = true
		}
	}
	return out
}

func testFeedSaysWhatChangedInOrder(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	start, err := s.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := seed(t, s, "alice", false)
	cs, afterSeed := changesAfter(t, s, start)
	if got := kinds(cs); !got["settings"] || len(got) != 1 {
		t.Errorf("after saving a user, destination and filter the feed says %v, want settings", got)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Cursor <= cs[i-1].Cursor {
			t.Errorf("changes out of order: %+v", cs)
		}
	}
	if head, _ := s.FeedHead(ctx); head != afterSeed {
		t.Errorf("head %d, want the last change's cursor %d", head, afterSeed)
	}
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	cs, afterQueue := changesAfter(t, s, afterSeed)
	if got := kinds(cs); fmt.Sprint(got) != "map[queued:email:true]" {
		t.Errorf("after queueing an email notification the feed says %v", got)
	}
	if len(cs) > 0 && (cs[0].At.IsZero() || cs[0].Cursor <= afterSeed) {
		t.Errorf("change %+v: no time, or not after %d", cs[0], afterSeed)
	}
	if cs, next := changesAfter(t, s, afterQueue); len(cs) != 0 || next != afterQueue {
		t.Errorf("nothing changed, yet the feed says %+v and moves the cursor %d → %d", cs, afterQueue, next)
	}
	// A message queued before, or matching nothing, queues nothing.
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), {Message: message("m2", time.Unix(1700000000, 0))}}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := changesAfter(t, s, afterQueue); len(cs) != 0 {
		t.Errorf("an enqueue that queued nothing says %+v", cs)
	}
	cs, _, err = s.Changes(ctx, start, 1)
	if err != nil || len(cs) != 1 {
		t.Errorf("limit 1 gave %d changes, %v", len(cs), err)
	}
}

func testFeedSaysRequeuedDeadAreQueued(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	ns, err := s.Claim(ctx, f.dest.ID, now, time.Minute, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claimed %d, %v", len(ns), err)
	}
	if err := s.MarkDead(ctx, []int64{ns[0].ID}, "gave up", now); err != nil {
		t.Fatal(err)
	}
	head, _ := s.FeedHead(ctx)
	if _, err := s.RequeueDead(ctx, nil, now); err != nil {
		t.Fatal(err)
	}
	cs, _ := changesAfter(t, s, head)
	if len(cs) != 1 || cs[0].Type != store.ChangeQueued {
		t.Errorf("after requeueing the feed says %+v, want one queued change", cs)
	}
}

// testFeedWakesWaitersInOtherProcesses waits in one "process" (a
// store) for what another commits on the same database.
func testFeedWakesWaitersInOtherProcesses(t *testing.T, b Backend) {
	path := b.Fresh(t)
	writer, reader := b.openAt(t, path), b.openAt(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := seed(t, writer, "alice", false)
	head, err := reader.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		waiter store.Store
	}{
		{"another process", reader},
		{"the same process", writer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			woken := make(chan error, 1)
			waiting := make(chan struct{})
			go func() {
				close(waiting)
				woken <- tc.waiter.WaitChanges(ctx, head)
			}()
			<-waiting
			if _, err := writer.Enqueue(ctx, []store.Accepted{f.accepted("m-" + tc.name)}); err != nil {
				t.Fatal(err)
			}
			if err := <-woken; err != nil {
				t.Fatalf("waiting for a change: %v", err)
			}
			cs, next := changesAfter(t, tc.waiter, head)
			if len(cs) == 0 {
				t.Fatalf("woken, yet no change after %d", head)
			}
			head = next
			// A waiter for a cursor the feed is past returns at once.
			if err := tc.waiter.WaitChanges(ctx, head-1); err != nil {
				t.Errorf("waiting for what is there: %v", err)
			}
		})
	}
	t.Run("until its context ends", func(t *testing.T) {
		done, stop := context.WithCancel(ctx)
		stop()
		if err := reader.WaitChanges(done, head); err == nil {
			t.Error("a wait whose context ended returned no error")
		}
	})
}

func testPruneChangesKeepsTheCursorGoingForward(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	head, _ := s.FeedHead(ctx)
	if n, err := s.PruneChanges(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("pruning what is older than an hour deleted %d, %v", n, err)
	}
	if n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil || n == 0 {
		t.Errorf("pruning everything deleted %d, %v", n, err)
	}
	if cs, _ := changesAfter(t, s, 0); len(cs) != 0 {
		t.Errorf("pruned, the feed still holds %+v", cs)
	}
	if h, _ := s.FeedHead(ctx); h != head {
		t.Errorf("head %d after pruning, was %d", h, head)
	}
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m2")}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := changesAfter(t, s, head); len(cs) != 1 || cs[0].Cursor <= head {
		t.Errorf("after a prune, a new change %+v comes after %d", cs, head)
	}
}
