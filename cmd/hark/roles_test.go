package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// TestServeRolesSplitAcrossProcesses runs the router in one `hark serve`
// process and delivery with the web UI in another, on one database: the
// messages published on the bus are mailed by the other process, each
// exactly once although either process is killed mid-stream, and the
// delivering process keeps its sent journal under its instance name.
func TestServeRolesSplitAcrossProcesses(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	routing := newService(t, pub.Endpoint, mailConfig(smtp, "{max_attempts: 50, backoff_min: 1s, backoff_max: 2s}"))
	routing.args = []string{"--roles", "router"}
	delivering := routing.sibling(t, "delivery", "--roles", "delivery,web", "--instance", "mailer-1")
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	path := filepath.Join(routing.dir, "alice.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "user": "alice", "filters": [`+tickFilter+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	routing.start(t)
	delivering.start(t)

	// publish ticks until want mails more arrived: the first ones also
	// wait out ZeroMQ's slow joiner.
	n := 0
	publish := func(want int) {
		t.Helper()
		for before := len(smtp.Mails()); len(smtp.Mails()) < before+want; n++ {
			if n > 5000 {
				t.Fatalf("%d published, %d mails; the stream does not get through.\nrouter:\n%s\ndelivery:\n%s", n, len(smtp.Mails()), routing.log, delivering.log)
			}
			tick(t, pub, n)
			time.Sleep(3 * time.Millisecond) // the stream's pace
		}
	}
	publish(1)
	for _, kill := range []*service{delivering, routing, delivering} {
		publish(10)
		kill.kill(t)
		kill.start(t)
	}
	publish(5)

	var committed []notification
	deadline := time.Now().Add(60 * time.Second) // a lease of 15 s, and the sends
	for sent := false; !sent; {
		if time.Now().After(deadline) {
			t.Fatalf("not every notification sent after 60 s:\n%s", delivering.log)
		}
		committed, sent = listNotifications(t), true
		for _, c := range committed {
			sent = sent && c.State == "sent"
		}
		time.Sleep(100 * time.Millisecond) // between two polls
	}
	routing.stop(t)
	delivering.stop(t)
	ids := msgIDs(smtp.Mails())
	for _, c := range committed {
		if ids[c.MsgID] != 1 {
			t.Errorf("%s mailed %d times, want once", c.MsgID, ids[c.MsgID])
		}
	}
	if len(ids) != len(committed) {
		t.Errorf("%d messages mailed, %d notifications committed", len(ids), len(committed))
	}
	if _, err := os.Stat(routing.db + "-sent-mailer-1.email"); err != nil {
		t.Errorf("the delivering instance's sent journal: %v", err)
	}
	if _, err := os.Stat(routing.db + "-sent.email"); !os.IsNotExist(err) {
		t.Errorf("a sent journal without the instance's name: %v", err)
	}
	t.Logf("%d published, %d committed and mailed once each", n, len(committed))
}

// sibling is another `hark serve` process beside s: the same
// configuration and database, its own web port (in a config file named
// name), run with args.
func (s *service) sibling(t *testing.T, name string, args ...string) *service {
	t.Helper()
	other := &service{dir: s.dir, config: filepath.Join(s.dir, name+".yaml"), db: s.db,
		web: fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t)), args: args}
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other.config, []byte(strings.Replace(string(cfg), s.web, other.web, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return other
}
