package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// TestServeWaitsForPostgresAndRidesOutItsRestart runs `hark serve` on a
// PostgreSQL server of the test's own and takes that server away: at
// start, hark serve logs that it cannot reach it (naming the server, not
// the password) and comes up once it can; stopped mid-stream, hark keeps
// running, holds what it received, and once the server is back every
// message is mailed exactly once; told to stop while it waits for the
// server at start, it exits cleanly.
func TestServeWaitsForPostgresAndRidesOutItsRestart(t *testing.T) {
	pg := testpeer.StartPrivatePostgres(t)
	// Trust authentication takes any password: this one must stay out
	// of the log.
	t.Setenv("HARK_STORE_URL", strings.Replace(pg.URL, "postgres@", "postgres:hunter2@", 1))
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	svc := newService(t, pub.Endpoint, mailConfig(smtp, "{max_attempts: 50, backoff_min: 1s, backoff_max: 2s}"))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "alice.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "user": "alice", "filters": [`+tickFilter+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)

	// Unreachable at start: the admin commands fail at once, hark serve waits.
	pg.Stop()
	if code, _, stderr := adminRun(t, "", "user", "list"); code == 0 || !strings.Contains(stderr, "127.0.0.1") {
		t.Errorf("hark user list without PostgreSQL: exit %d, %q; want a failure naming the server", code, stderr)
	}
	svc.launch(t)
	svc.eventually(t, "hark serve says twice that PostgreSQL is unreachable", func() bool {
		return strings.Count(svc.log.String(), "PostgreSQL unreachable at store.url") >= 2
	})
	if code, _ := svc.healthz(); code != 0 {
		t.Errorf("/healthz answered %d while the store was not open", code)
	}
	pg.Start()
	svc.eventually(t, "hark serve answers /healthz", func() bool { code, _ := svc.healthz(); return code == 200 })
	log := svc.log.String()
	if strings.Contains(log, "hunter2") || !strings.Contains(log, "127.0.0.1:"+pgPort(t, pg)) {
		t.Errorf("the log should name the server without its password:\n%s", log)
	}
	svc.settle(t, pub)

	// Lost mid-stream: no crash, nothing lost, nothing twice.
	const n = 15
	for i := range 5 {
		tick(t, pub, i)
	}
	smtp.Wait(5, 30*time.Second)
	pg.Stop()
	for i := 5; i < 10; i++ {
		tick(t, pub, i)
	}
	pg.Start()
	for i := 10; i < n; i++ {
		tick(t, pub, i)
	}
	ids := msgIDs(smtp.Wait(n, 60*time.Second))
	for i := range n {
		if ids[tickID(i)] != 1 {
			t.Errorf("%s mailed %d times, want once", tickID(i), ids[tickID(i)])
		}
	}
	if svc.cmd.ProcessState != nil {
		t.Fatalf("hark serve exited over the restart:\n%s", svc.log)
	}
	svc.stop(t)

	// SIGTERM while waiting at start: a clean exit.
	pg.Stop()
	svc.launch(t)
	svc.eventually(t, "hark serve says PostgreSQL is unreachable", func() bool {
		return strings.Contains(svc.log.String(), "PostgreSQL unreachable at store.url")
	})
	svc.stop(t)
	if !strings.Contains(svc.log.String(), "stopped while waiting for the store") {
		t.Errorf("log after SIGTERM while waiting:\n%s", svc.log)
	}
}

// pgPort is the port of the private server.
func pgPort(t *testing.T, pg *testpeer.PrivatePostgres) string {
	t.Helper()
	_, rest, _ := strings.Cut(pg.URL, "127.0.0.1:")
	port, _, _ := strings.Cut(rest, "/")
	return port
}
