package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// wakeSamples is how many messages each way of waking delivery is timed
// with.
const wakeSamples = 40

// BenchmarkSplitRolesDeliveryLatency times a message from the bus to the
// mail server with the router in one `hark serve --roles router` process
// and delivery in another (`--roles delivery`) on one SQLite file: once
// with delivery following the store's change feed, once reading the queue
// every 200 ms as it did before the feed. Messages go one at a time, at
// random intervals. It
// reports the medians of publish → mailed (which includes the router's
// commit batching, up to its 100 ms flush) and of queued → mailed (the
// part delivery's waking decides), and the feed's over polling's for
// each. Run it once:
//
//	CI=true go test -run '^$' -bench SplitRolesDeliveryLatency -benchtime 1x ./cmd/hark
func BenchmarkSplitRolesDeliveryLatency(b *testing.B) {
	testpeer.RequireZMQ(b)
	for b.Loop() {
		feed := splitRolesLatency(b, true, time.Second)
		poll := splitRolesLatency(b, false, 200*time.Millisecond)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(feed.published), "feed_published_to_mailed_ms")
		b.ReportMetric(ms(poll.published), "poll_published_to_mailed_ms")
		b.ReportMetric(ms(feed.queued), "feed_queued_to_mailed_ms")
		b.ReportMetric(ms(poll.queued), "poll_queued_to_mailed_ms")
		b.ReportMetric(float64(feed.published)/float64(poll.published), "published_to_mailed_feed/poll")
		b.ReportMetric(float64(feed.queued)/float64(poll.queued), "queued_to_mailed_feed/poll")
	}
}

// latencies are medians of one run of splitRolesLatency.
type latencies struct{ published, queued time.Duration }

// splitRolesLatency runs the router and delivery as two processes, the
// delivery process with delivery.follow_feed and delivery.poll_every as
// given, and times wakeSamples messages through them.
func splitRolesLatency(b *testing.B, followFeed bool, pollEvery time.Duration) latencies {
	b.Helper()
	pub := testpeer.StartPub(b)
	smtp := testpeer.StartSMTP(b)
	// delivery: is the config's last section.
	routing, delivering := splitRoles(b, pub, mailConfig(smtp, "")+fmt.Sprintf("  follow_feed: %t\n  poll_every: %s\n", followFeed, pollEvery),
		"delivery", "bench")
	routing.start(b)
	delivering.start(b)
	defer routing.stop(b)
	defer delivering.stop(b)

	// Until a first mail arrives ZeroMQ's subscription is not set up.
	n := 0
	for ; len(smtp.Mails()) == 0; n++ {
		if n > 500 {
			b.Fatalf("no mail after %d messages.\nrouter:\n%s\ndelivery:\n%s", n, routing.log, delivering.log)
		}
		tick(b, pub, n)
		time.Sleep(20 * time.Millisecond) // the warm-up's pace
	}
	published := map[string]time.Time{}
	for range wakeSamples {
		// A random pause puts each message at a random point of the
		// router's flush timer and of the delivery's poll: one sent
		// right after the last mail would always find them in one phase.
		time.Sleep(rand.N(300 * time.Millisecond))
		id := tickID(n)
		published[id] = time.Now()
		tick(b, pub, n)
		n++
		for !slices.ContainsFunc(smtp.Mails(), func(m testpeer.Mail) bool { return m.Header.Get("X-Fedmsg-Msg-Id") == id }) {
			smtp.Wait(len(smtp.Mails())+1, 30*time.Second)
		}
	}
	var queued []struct {
		MsgID   string    `json:"msg_id"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal([]byte(adminMust(b, "", "notifications", "--json", "--limit", "1000")), &queued); err != nil {
		b.Fatal(err)
	}
	created := map[string]time.Time{}
	for _, q := range queued {
		created[q.MsgID] = q.Created
	}
	var fromPublish, fromQueue []time.Duration
	for _, m := range smtp.Mails() {
		id := m.Header.Get("X-Fedmsg-Msg-Id")
		if at, ok := published[id]; ok {
			fromPublish = append(fromPublish, m.Received.Sub(at))
			fromQueue = append(fromQueue, m.Received.Sub(created[id]))
		}
	}
	if len(fromPublish) != wakeSamples {
		b.Fatalf("%d of %d timed messages mailed", len(fromPublish), wakeSamples)
	}
	return latencies{median(fromPublish), median(fromQueue)}
}

// median is the middle of ds.
func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
