package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// openerEnv names the database a re-run of this test binary opens and
// closes, as one of several processes racing for a new database.
const openerEnv = "HARK_TEST_OPEN_STORE"

// Processes that open a new database at once (the README's `hark serve &`
// then `hark user add`) all get it: the loser of the race to create the
// schema waits instead of failing with "database is locked".
func TestConcurrentOpensOfANewDatabaseAllSucceed(t *testing.T) {
	if path := os.Getenv(openerEnv); path != "" {
		s, err := Open(context.Background(), path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		return
	}
	for round := range 5 {
		path := filepath.Join(t.TempDir(), "hark.db")
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentOpensOfANewDatabaseAllSucceed$")
				cmd.Env = append(os.Environ(), openerEnv+"="+path)
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
	}
}
