package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/delivery/matrix"
	"hark/internal/testpeer"
)

// matrixService is `hark serve` reading a libzmq publisher and
// delivering to alice's Matrix ID on a real Dendrite, with her tick
// filter; flood control is off and retries come back within two seconds.
// prefs are her destination's preferences (batch_count=4), if any.
func matrixService(t *testing.T, prefs ...string) (*service, *testpeer.Pub, *testpeer.Dendrite, *testpeer.MatrixUser) {
	t.Helper()
	testpeer.RequireZMQ(t)
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	aliceToken, aliceID := hs.Register("alice", "alice-password-1", false)
	alice := hs.User(aliceToken, aliceID)
	pub := testpeer.StartPub(t)
	svc := newService(t, pub.Endpoint, fmt.Sprintf(`matrix:
  homeserver: %q
  user_id: %q
  rate_limit: 50
delivery:
  retry: {max_attempts: 50, backoff_min: 1s, backoff_max: 2s}
  flood: {rate: 0}
`, hs.URL, botID))
	t.Setenv("HARK_MATRIX_ACCESS_TOKEN", botToken)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "", append([]string{"destination", "set", "alice", "matrix:" + aliceID, "confirmed=true"}, prefs...)...)
	path := filepath.Join(svc.dir, "alice.json")
	export := `{"version": 1, "user": "alice", "filters": [{"name": "ticks", "active": true, "destinations": ["matrix:` + aliceID + `"],
	"rules": [{"kind": "topic", "args": {"pattern": "*.tick.*"}}]}]}`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)
	return svc, pub, hs, alice
}

// msgIDCounts counts the messages notices name.
func msgIDCounts(notices []testpeer.Notice) map[string]int {
	seen := map[string]int{}
	for _, n := range notices {
		ids, _ := n.Raw[matrix.MsgIDsKey].([]any)
		for _, id := range ids {
			seen[fmt.Sprint(id)]++
		}
	}
	return seen
}

// TestServeMatrixKilledMidBurst kills hark serve with SIGKILL while it
// sends a burst to Matrix: after its restart every message has arrived
// exactly once.
func TestServeMatrixKilledMidBurst(t *testing.T) {
	svc, pub, _, alice := matrixService(t)
	const burst = 40
	for n := range burst {
		tick(t, pub, n)
	}
	svc.eventually(t, "part of the burst is sent", func() bool {
		return svc.metricLabeled(t, "hark_deliveries_total", `outcome="sent"`) >= 5
	})
	svc.kill(t)
	svc.start(t)
	got := alice.Notices(burst, 2*time.Minute)
	extra := alice.Poll(1, 5*time.Second)
	if len(extra) != 0 {
		t.Errorf("after the %d notices, %d more", burst, len(extra))
	}
	seen := msgIDCounts(append(got, extra...))
	for n := range burst {
		if seen[tickID(n)] != 1 {
			t.Errorf("%s arrived %d times, want once", tickID(n), seen[tickID(n)])
		}
	}
}

// TestServeNotifiesOnMatrixExactlyOnce publishes on the bus through hark
// serve to alice's Matrix ID on a real Dendrite: a notification arrives
// as a notice; with the homeserver stopped, what is queued meanwhile
// arrives once it is back, each message exactly once.
func TestServeNotifiesOnMatrixExactlyOnce(t *testing.T) {
	svc, pub, hs, alice := matrixService(t)

	tick(t, pub, 1)
	first := alice.Notices(1, time.Minute)[0]
	if first.FormattedBody == "" || !strings.Contains(first.Body, "tick") {
		t.Errorf("notice: body %q formatted %q", first.Body, first.FormattedBody)
	}

	hs.Stop()
	const queued = 5
	for n := 2; n < 2+queued; n++ {
		tick(t, pub, n)
	}
	svc.eventually(t, "a failed send while the homeserver is down", func() bool {
		return svc.metricLabeled(t, "hark_deliveries_total", `outcome="failed"`) > 0
	})
	hs.Start()
	got := alice.Notices(queued, 2*time.Minute)
	if extra := alice.Poll(1, 5*time.Second); len(extra) != 0 {
		t.Errorf("after the %d queued notices, %d more: %+v\n%s", queued, len(extra), extra, svc.log)
	}
	seen := msgIDCounts(got)
	for n := 2; n < 2+queued; n++ {
		if seen[tickID(n)] != 1 {
			t.Errorf("%s arrived %d times, want once (all: %v)", tickID(n), seen[tickID(n)], seen)
		}
	}
}

// TestServeSendsAMatrixDigestOfExactlyN: alice's Matrix destination
// batches 4 notifications; 4 messages published on the bus through hark
// serve arrive as one notice listing exactly those 4, and nothing more.
func TestServeSendsAMatrixDigestOfExactlyN(t *testing.T) {
	const n = 4
	_, pub, _, alice := matrixService(t, fmt.Sprintf("batch_count=%d", n), "batch_delta=1h")
	for i := range n {
		tick(t, pub, 100+i)
	}
	got := alice.Notices(1, time.Minute)
	if extra := alice.Poll(1, 5*time.Second); len(extra) != 0 {
		t.Errorf("after the digest, %d more notices: %+v", len(extra), extra)
	}
	digest := got[0]
	if !strings.HasPrefix(digest.Body, fmt.Sprintf("hark: %d notifications", n)) || strings.Count(digest.FormattedBody, "<li>") != n {
		t.Errorf("digest: body %q, formatted %q", digest.Body, digest.FormattedBody)
	}
	seen := msgIDCounts(got)
	for i := range n {
		if seen[tickID(100+i)] != 1 {
			t.Errorf("%s listed %d times in the digest, want once (all: %v)", tickID(100+i), seen[tickID(100+i)], seen)
		}
	}
	if len(seen) != n {
		t.Errorf("digest lists %d messages, want exactly %d: %v", len(seen), n, seen)
	}
}
