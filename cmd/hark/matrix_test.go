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

// TestServeNotifiesOnMatrixExactlyOnce publishes on the bus through hark
// serve to alice's Matrix ID on a real Dendrite: a notification arrives
// as a notice; with the homeserver stopped, what is queued meanwhile
// arrives once it is back, each message exactly once.
func TestServeNotifiesOnMatrixExactlyOnce(t *testing.T) {
	testpeer.RequireZMQ(t)
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	aliceToken, aliceID := hs.Register("alice", "alice-password-1", false)
	alice := hs.User(aliceToken, aliceID)
	pub := testpeer.StartPub(t)
	svc := newService(t, pub.Endpoint, fmt.Sprintf(`matrix:
  homeserver: %q
  user_id: %q
delivery:
  retry: {max_attempts: 50, backoff_min: 1s, backoff_max: 2s}
  flood: {rate: 0}
`, hs.URL, botID))
	t.Setenv("HARK_MATRIX_ACCESS_TOKEN", botToken)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "", "destination", "set", "alice", "matrix:"+aliceID, "confirmed=true")
	path := filepath.Join(svc.dir, "alice.json")
	export := `{"version": 1, "user": "alice", "filters": [{"name": "ticks", "active": true, "destinations": ["matrix:` + aliceID + `"],
	"rules": [{"kind": "topic", "args": {"pattern": "*.tick.*"}}]}]}`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)

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
		t.Errorf("after the %d queued notices, %d more: %+v", queued, len(extra), extra)
	}
	seen := map[string]int{}
	for _, n := range got {
		ids, _ := n.Raw[matrix.MsgIDsKey].([]any)
		for _, id := range ids {
			seen[fmt.Sprint(id)]++
		}
	}
	for n := 2; n < 2+queued; n++ {
		if seen[tickID(n)] != 1 {
			t.Errorf("%s arrived %d times, want once (all: %v)", tickID(n), seen[tickID(n)], seen)
		}
	}
}
