package storetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
	"hark/store"
	"hark/store/postgres"
	"hark/store/sqlite"
	"hark/store/storetest"
)

// backends is every store.Store implementation, by name: the one suite
// runs on each, so that none drifts from the contract.
var backends = []struct {
	name    string
	backend storetest.Backend
}{
	{"sqlite", storetest.Backend{
		Fresh: func(t testing.TB) string { return filepath.Join(t.TempDir(), "hark.db") },
		Open: func(ctx context.Context, path string) (store.Store, error) {
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}},
	{"postgres", storetest.Backend{
		// A fresh database on the machine's server per test.
		Fresh: testpeer.PostgresDB,
		Open: func(ctx context.Context, url string) (store.Store, error) {
			s, err := postgres.Open(ctx, url)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}},
}

// TestConformance runs the store contract's suite on every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storetest.Run(t, b.backend) })
	}
}

// openWithUser opens a fresh store of backend, closed when b ends, with
// one user, alice.
func openWithUser(b *testing.B, backend storetest.Backend) (store.Store, store.User) {
	ctx := context.Background()
	s, err := backend.Open(ctx, backend.Fresh(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	u, err := s.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		b.Fatal(err)
	}
	return s, u
}

// BenchmarkEnqueue queues batches of 256 messages, each matching ten
// destinations with a why of a few hundred bytes (the router's commit
// batches at the ingest benchmark's shape), on every backend: compare the
// backends' msgs/s within one run.
func BenchmarkEnqueue(b *testing.B) {
	ctx := context.Background()
	env := json.RawMessage(`{"x":"` + strings.Repeat("y", 2000) + `"}`)
	why := json.RawMessage(`[{"kind":"topic","matched":true,"detail":"` + strings.Repeat("z", 250) + `"}]`)
	desc := json.RawMessage(`{"app":"bodhi","packages":["kernel","glibc"],"usernames":["alice","bob"],"agent":"alice"}`)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, u := openWithUser(b, be.backend)
			var dests []int64
			for i := range 10 {
				d, err := s.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail,
					Address: fmt.Sprintf("a%d@example.org", i), Confirmed: true, Enabled: true})
				if err != nil {
					b.Fatal(err)
				}
				dests = append(dests, d.ID)
			}
			f, err := s.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "f", Active: true, DestinationIDs: dests})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				batch := make([]store.Accepted, 256)
				for i := range batch {
					ms := make([]store.Match, len(dests))
					for j, d := range dests {
						ms[j] = store.Match{UserID: u.ID, DestinationID: d, FilterID: f.ID, Why: why}
					}
					batch[i] = store.Accepted{Message: store.Message{Key: fmt.Sprintf("k%d", n), Topic: "org.fedoraproject.prod.bodhi.update",
						Timestamp: time.Now(), Envelope: env, Description: desc}, Matches: ms}
					n++
				}
				if _, err := s.Enqueue(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkClaimByFilter is what delivering a destination in two lanes
// costs on every backend (a filter with a mode of its own, and the
// rest): Pending and two ClaimOnly calls, against Pending and one Claim
// of the same 200 notifications (100 of each filter), in alternating
// rounds of the same run. lanes/one is the ratio of the two times.
func BenchmarkClaimByFilter(b *testing.B) {
	ctx := context.Background()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, u := openWithUser(b, be.backend)
			d, err := s.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "a@example.org", Confirmed: true, Enabled: true})
			if err != nil {
				b.Fatal(err)
			}
			var filters [2]int64
			for i := range filters {
				f, err := s.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: fmt.Sprintf("f%d", i), Position: i, Active: true, DestinationIDs: []int64{d.ID}})
				if err != nil {
					b.Fatal(err)
				}
				filters[i] = f.ID
			}
			n := 0
			queue := func() {
				batch := make([]store.Accepted, 200)
				for i := range batch {
					batch[i] = store.Accepted{Message: store.Message{Key: fmt.Sprintf("k%d", n), Topic: "t", Timestamp: time.Now(),
						Envelope: json.RawMessage(`{}`), Description: json.RawMessage(`{}`)},
						Matches: []store.Match{{UserID: u.ID, DestinationID: d.ID, FilterID: filters[i%2], Why: json.RawMessage(`[]`)}}}
					n++
				}
				if _, err := s.Enqueue(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			claim := func(only ...store.FilterSet) time.Duration {
				start := time.Now()
				now := start.Add(time.Second)
				if _, err := s.Pending(ctx, now); err != nil {
					b.Fatal(err)
				}
				got := 0
				for _, o := range only {
					ns, err := s.ClaimOnly(ctx, d.ID, o, now, time.Minute, 200)
					if err != nil {
						b.Fatal(err)
					}
					got += len(ns)
				}
				if got != 200 {
					b.Fatalf("claimed %d, want 200", got)
				}
				return time.Since(start)
			}
			var one, lanes time.Duration
			for b.Loop() {
				b.StopTimer()
				queue()
				b.StartTimer()
				one += claim(store.FilterSet{Except: true})
				b.StopTimer()
				queue()
				b.StartTimer()
				lanes += claim(store.FilterSet{IDs: filters[:1]}, store.FilterSet{IDs: filters[:1], Except: true})
			}
			b.ReportMetric(lanes.Seconds()/one.Seconds(), "lanes/one")
		})
	}
}
