package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hark/store"
)

// The leases' part of the contract: one owner at a time, fencing tokens
// that only grow, and queue writes refused to a stale owner.

func testLeasesElectOneOwner(t *testing.T, b Backend) {
	name := b.Fresh(t)
	a, other := b.openAt(t, name), b.openAt(t, name) // two processes
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	names := []string{"delivery:0", "delivery:1"}
	got, err := a.AcquireLeases(ctx, "a", names, now, 10*time.Second)
	if err != nil || len(got) != 2 || got[0].Owner != "a" || got[0].Previous != "" || !got[0].Held(now) {
		t.Fatalf("first acquisition: %+v, %v", got, err)
	}
	first := got[0].Token
	if got, err := other.AcquireLeases(ctx, "b", names, now.Add(time.Second), 10*time.Second); err != nil || len(got) != 0 {
		t.Errorf("b took leases a holds: %+v, %v", got, err)
	}
	renewed, err := a.AcquireLeases(ctx, "a", names[:1], now.Add(5*time.Second), 10*time.Second)
	if err != nil || len(renewed) != 1 || renewed[0].Token != first || !renewed[0].Expires.Equal(now.Add(15*time.Second)) {
		t.Errorf("a renewing its lease: %+v, %v (token was %d)", renewed, err, first)
	}
	// delivery:1 lapsed at now+10s, delivery:0 holds until now+15s.
	taken, err := other.AcquireLeases(ctx, "b", names, now.Add(11*time.Second), 10*time.Second)
	if err != nil || len(taken) != 1 || taken[0].Name != "delivery:1" || taken[0].Previous != "a" || taken[0].Token <= first {
		t.Errorf("b taking the lapsed lease: %+v, %v", taken, err)
	}
	if err := a.ReleaseLeases(ctx, "a", names); err != nil {
		t.Fatal(err)
	}
	taken, err = other.AcquireLeases(ctx, "b", names, now.Add(12*time.Second), 10*time.Second)
	if err != nil || len(taken) != 2 || taken[0].Previous != "a" || taken[1].Previous != "" {
		t.Errorf("b taking what a released: %+v, %v", taken, err)
	}
	listed, err := a.ListLeases(ctx, "delivery:")
	if err != nil || len(listed) != 2 || listed[0].Name != "delivery:0" || listed[0].Owner != "b" || listed[1].Owner != "b" {
		t.Errorf("listing: %+v, %v", listed, err)
	}
	if none, err := a.ListLeases(ctx, "bot:"); err != nil || len(none) != 0 {
		t.Errorf("listing another prefix: %+v, %v", none, err)
	}
}

func testLapsedOwnLeaseGetsANewToken(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	now := time.Now()
	l, err := s.AcquireLeases(ctx, "a", []string{"bot:irc"}, now, time.Second)
	if err != nil || len(l) != 1 {
		t.Fatal(l, err)
	}
	again, err := s.AcquireLeases(ctx, "a", []string{"bot:irc"}, now.Add(2*time.Second), time.Second)
	if err != nil || len(again) != 1 || again[0].Token <= l[0].Token || again[0].Previous != "" {
		t.Errorf("re-acquiring a lapsed lease of one's own: %+v then %+v, %v", l, again, err)
	}
}

func testFencedWritesRefusedAfterTakeover(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	const lease = "delivery:7"
	mine, err := s.AcquireLeases(ctx, "a", []string{lease}, now, 10*time.Second)
	if err != nil || len(mine) != 1 {
		t.Fatal(mine, err)
	}
	fenced := store.WithFence(ctx, store.Fence{Lease: lease, Token: mine[0].Token})
	ns, err := s.Claim(fenced, f.dest.ID, now, time.Minute, 1)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claim under a held fence: %+v, %v", ns, err)
	}
	theirs, err := s.AcquireLeases(ctx, "b", []string{lease}, now.Add(11*time.Second), 10*time.Second)
	if err != nil || len(theirs) != 1 {
		t.Fatal(theirs, err)
	}
	later := now.Add(12 * time.Second)
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"mark sent", func() error { return s.MarkSent(fenced, []int64{ns[0].ID}, later) }},
		{"mark sent noted", func() error { return s.MarkSentNoted(fenced, []int64{ns[0].ID}, "journal", later) }},
		{"mark failed", func() error { return s.MarkFailed(fenced, []int64{ns[0].ID}, "refused", later, later) }},
		{"mark dead", func() error { return s.MarkDead(fenced, []int64{ns[0].ID}, "gave up", later) }},
		{"release", func() error { return s.Release(fenced, []int64{ns[0].ID}, later) }},
		{"claim", func() error { _, err := s.Claim(fenced, f.dest.ID, later, time.Minute, 10); return err }},
	} {
		if err := tc.write(); !errors.Is(err, store.ErrFenced) {
			t.Errorf("%s by the stale owner: %v, want ErrFenced", tc.name, err)
		}
	}
	if n, err := s.NotificationByID(ctx, ns[0].ID); err != nil || n.State != store.StateQueued || n.Attempts != 1 {
		t.Errorf("the stale owner's writes changed the notification: %+v, %v", n, err)
	}
	successor := store.WithFence(ctx, store.Fence{Lease: lease, Token: theirs[0].Token})
	if got, err := s.Claim(successor, f.dest.ID, later, time.Minute, 10); err != nil || len(got) != 1 || got[0].MsgKey != "m2" {
		t.Errorf("the successor's claim: %+v, %v", got, err)
	}
}
