package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hark/store"
)

// BenchmarkClaimByFilter is what delivering a destination in two lanes
// costs (a filter with a mode of its own, and the rest): Pending and two
// ClaimOnly calls, against Pending and one Claim of the same 200
// notifications (100 of each filter), in alternating rounds of the same
// run. lanes/one is the ratio of the two times per notification.
func BenchmarkClaimByFilter(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	f := seed(b, s, "alice", false)
	other, err := s.SaveFilter(ctx, store.Filter{UserID: f.user.ID, Name: "builds", Position: 1, Active: true,
		Rules: f.filter.Rules, DestinationIDs: []int64{f.dest.ID}})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	queue := func() {
		batch := make([]store.Accepted, 200)
		for i := range batch {
			batch[i] = f.accepted(fmt.Sprintf("m%d", n))
			if i%2 == 1 {
				batch[i].Matches[0].FilterID = other.ID
			}
			n++
		}
		if _, err := s.Enqueue(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	claim := func(only ...store.FilterSet) {
		now := time.Now().Add(time.Second)
		if _, err := s.Pending(ctx, now); err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, o := range only {
			ns, err := s.ClaimOnly(ctx, f.dest.ID, o, now, time.Minute, 200)
			if err != nil {
				b.Fatal(err)
			}
			got += len(ns)
		}
		if got != 200 {
			b.Fatalf("claimed %d, want 200", got)
		}
	}
	var one, lanes time.Duration
	for b.Loop() {
		b.StopTimer()
		queue()
		b.StartTimer()
		start := time.Now()
		claim(store.FilterSet{Except: true})
		one += time.Since(start)
		b.StopTimer()
		queue()
		b.StartTimer()
		start = time.Now()
		claim(store.FilterSet{IDs: []int64{other.ID}}, store.FilterSet{IDs: []int64{other.ID}, Except: true})
		lanes += time.Since(start)
	}
	b.ReportMetric(float64(200*b.N)/one.Seconds(), "one-lane-claimed/s")
	b.ReportMetric(float64(200*b.N)/lanes.Seconds(), "two-lanes-claimed/s")
	b.ReportMetric(lanes.Seconds()/one.Seconds(), "lanes/one")
}

// BenchmarkPendingWithHeldDigest is the poll delivery makes every 200ms
// while 100,000 notifications wait for one destination's daily digest:
// Pending now splits them by filter, which reads each waiting entry.
func BenchmarkPendingWithHeldDigest(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	f := seed(b, s, "alice", false)
	for round := range 100 {
		batch := make([]store.Accepted, 1000)
		for i := range batch {
			batch[i] = f.accepted(fmt.Sprintf("m%d-%d", round, i))
		}
		if _, err := s.Enqueue(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Pending(ctx, time.Now()); err != nil { // reads the inbox in
		b.Fatal(err)
	}
	for b.Loop() {
		ps, err := s.Pending(ctx, time.Now().Add(time.Second))
		if err != nil || len(ps) != 1 || ps[0].Due != 100000 {
			b.Fatalf("pending %+v, %v", ps, err)
		}
	}
}
