package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"hark/internal/testpeer"
	"hark/meta"
	"hark/store"
	"hark/store/sqlite"
)

// benchDestinations is how many destinations the delivery benchmark
// mails, each in a partition of its own; benchPerDestination how many
// notifications each gets.
const (
	benchDestinations   = 64
	benchPerDestination = 10
	benchRelayDelay     = 20 * time.Millisecond
)

// BenchmarkDeliveryProcesses measures mails per second from one queue to
// an SMTP relay that takes 20 ms per mail, with 1, 2 and 4 `hark serve
// --roles delivery` processes sharing the destinations by leased
// partitions, in the same run: x_vs_1 is each rate against the single
// process's. Each process sends one mail at a time, so the relay's
// latency, not the CPU, bounds it: more processes, more mails in flight.
// Run it with -benchtime=1x; each case mails 640 notifications.
func BenchmarkDeliveryProcesses(b *testing.B) {
	smtp := testpeer.StartSMTP(b)
	smtp.SetDelay(benchRelayDelay)
	var single float64
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) {
			var rate float64
			for range b.N {
				rate = deliveryRate(b, smtp, n)
			}
			if n == 1 {
				single = rate
			}
			b.ReportMetric(rate, "mails/s")
			if single > 0 {
				b.ReportMetric(rate/single, "x_vs_1")
			}
		})
	}
}

// deliveryRate queues benchDestinations*benchPerDestination
// notifications once n delivery processes share the partitions, and
// says how many mails per second reached smtp.
func deliveryRate(b *testing.B, smtp *testpeer.SMTP, n int) float64 {
	b.Helper()
	b.StopTimer()
	c := newCluster(b, clusterStores[0], mailConfig(smtp, "")+"  lease: 3s\n")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(c.dir, "hark.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	matches := benchUsers(b, st)
	var procs []*service
	for i := range n {
		p := c.add(b, fmt.Sprintf("worker-%d", i+1), "delivery")
		p.start(b)
		procs = append(procs, p)
	}
	defer func() {
		for _, p := range procs {
			p.stop(b)
		}
	}()
	procs[0].eventually(b, "the processes share the partitions evenly", func() bool { return balanced(b, st, n) })

	var batch []store.Accepted
	for i := range benchPerDestination {
		key := fmt.Sprintf("bench-%d-%d", n, i)
		m, err := store.NewMessage(key, "org.fedoraproject.prod.bodhi.update.comment", float64(time.Now().Unix()), []byte(`{}`),
			meta.Description{App: "bodhi", Subtitle: "update " + key, Usernames: []string{"ralph"}, Packages: []string{"fedmsg"}})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, store.Accepted{Message: m, Matches: matches})
	}
	want := len(smtp.Mails()) + benchDestinations*benchPerDestination
	b.StartTimer()
	start := time.Now()
	if _, err := st.Enqueue(ctx, batch); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(2 * time.Minute)
	for len(smtp.Mails()) < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d mails after 2 minutes", len(smtp.Mails())-want+benchDestinations*benchPerDestination, benchDestinations*benchPerDestination)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	return float64(benchDestinations*benchPerDestination) / took.Seconds()
}

// benchUsers makes benchDestinations users, each with a confirmed
// address and a filter, and returns one match for each.
func benchUsers(b *testing.B, st store.Store) []store.Match {
	b.Helper()
	ctx := context.Background()
	var matches []store.Match
	for i := range benchDestinations {
		name := fmt.Sprintf("user%d", i)
		u, err := st.CreateUser(ctx, store.User{Name: name})
		if err != nil {
			b.Fatal(err)
		}
		d, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: name + "@example.org", Confirmed: true, Enabled: true})
		if err != nil {
			b.Fatal(err)
		}
		f, err := st.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "bodhi", Active: true,
			Rules: []store.Rule{{Kind: "topic", Args: json.RawMessage(`{"pattern":"*"}`)}}, DestinationIDs: []int64{d.ID}})
		if err != nil {
			b.Fatal(err)
		}
		matches = append(matches, store.Match{UserID: u.ID, DestinationID: d.ID, FilterID: f.ID})
	}
	return matches
}

// balanced says whether n processes hold the delivery partitions, each
// as many.
func balanced(b *testing.B, st store.Store, n int) bool {
	ls, err := st.ListLeases(context.Background(), "delivery:")
	if err != nil {
		b.Fatal(err)
	}
	held := map[string]int{}
	now := time.Now()
	for _, l := range ls {
		if l.Held(now) {
			held[l.Owner]++
		}
	}
	if len(held) != n {
		return false
	}
	for _, c := range held {
		if c != 64/n {
			return false
		}
	}
	return true
}
