package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"hark/internal/testpeer"
)

// openerEnv names the database a re-run of this test binary opens and
// closes, as one of several processes starting together.
const openerEnv = "HARK_TEST_OPEN_POSTGRES"

// Processes that start together on a new database (routers, delivery
// workers and the web UI of one deployment) all open it: the migrations
// run once, under the advisory lock, and the others wait for them.
func TestConcurrentOpensOfANewDatabaseAllSucceed(t *testing.T) {
	if url := os.Getenv(openerEnv); url != "" {
		s, err := Open(context.Background(), url)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		s.Close()
		return
	}
	for round := range 3 {
		url := testpeer.PostgresDB(t)
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentOpensOfANewDatabaseAllSucceed$")
				cmd.Env = append(os.Environ(), openerEnv+"="+url)
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("%w: %s", err, out)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: a process could not open the new database: %v", round, err)
		}
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := s.pool.QueryRow(context.Background(), `SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
			t.Errorf("round %d: schema version %d, %v; want %d", round, v, err, SchemaVersion())
		}
		s.Close()
	}
}

// A database a newer hark migrated is refused, not written to.
func TestNewerSchemaIsRefused(t *testing.T) {
	url := testpeer.PostgresDB(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(context.Background(), `UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), url); err == nil || !strings.Contains(err.Error(), "newer than this hark's") {
		t.Errorf("open of a newer schema: %v", err)
	}
}

// An unreachable server is an error that names the database, not a hang.
func TestUnreachableServerIsAClearError(t *testing.T) {
	port := testpeer.FreePort(t)
	_, err := Open(context.Background(), fmt.Sprintf("postgres://hark@127.0.0.1:%d/hark?connect_timeout=5", port))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d/hark", port)) {
		t.Errorf("open of an unreachable server: %v", err)
	}
}

// Open's error tells a server that cannot be reached (worth waiting for)
// from one that refuses (a missing database: only a person fixes that),
// and names the server without its password.
func TestOpenTellsUnreachableFromRefused(t *testing.T) {
	server := testpeer.PostgresDB(t) // the server is there, or the test skips
	missing := strings.Replace(server, "hark_scratch_", "hark_missing_", 1)
	closed := fmt.Sprintf("postgres://postgres:secret@127.0.0.1:%d/hark?sslmode=disable", testpeer.FreePort(t))
	for _, tc := range []struct {
		name, url   string
		unreachable bool
	}{
		{"nothing listens", closed, true},
		{"no such database", missing, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.url)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if got := Unreachable(err); got != tc.unreachable {
				t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.unreachable)
			}
			if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error %q: want the server named without its password", err)
			}
		})
	}
}
