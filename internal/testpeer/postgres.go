package testpeer

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hark/internal/pgscratch"
)

// PostgresServer is the machine's PostgreSQL server the tests use: on
// loopback, user postgres, trust authentication (.ci/run starts it).
// HARK_TEST_POSTGRES overrides it.
func PostgresServer() string {
	if url := os.Getenv("HARK_TEST_POSTGRES"); url != "" {
		return url
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// PostgresDB creates a fresh, empty database on PostgresServer and
// returns its URL; it is dropped when the test ends (after the cleanups
// registered later, such as closing the stores that use it). Without the
// server the test skips, or fails when CI=true.
func PostgresDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresServer())
	if err != nil {
		Unavailable(t, "PostgreSQL at "+PostgresServer(), "postgresql (then: pg_ctlcluster --skip-systemctl-redirect 15 main start)", err)
	}
	conn.Close(ctx)
	url, drop, err := pgscratch.Create(ctx, PostgresServer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Error(err)
		}
	})
	return url
}
