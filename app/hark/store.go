package hark

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hark/config"
	"hark/store"
	"hark/store/postgres"
	"hark/store/sqlite"
)

// OpenStore opens the store cfg names: the one place that knows the
// backends, so every command works on the store.Store contract. A
// store.url is a PostgreSQL database; otherwise the SQLite file at
// store.path.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if cfg.Store.Postgres() {
		s, err := postgres.Open(ctx, cfg.Store.URL)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Waiting for PostgreSQL at start: the first retry after
// storeRetryFirst, each later one after twice the wait before, at most
// storeRetryMax apart.
const (
	storeRetryFirst = time.Second
	storeRetryMax   = 30 * time.Second
)

// openStoreWaiting opens the store as OpenStore does, but while
// PostgreSQL cannot be reached it logs why and tries again with backoff
// until it can, or until ctx is done: hark serve may start before its
// database, as services on one machine or in one cluster do. Errors only
// a person can fix (a refused password, a missing database, a bad URL)
// end it at once.
func openStoreWaiting(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	wait := storeRetryFirst
	for attempt := 1; ; attempt++ {
		st, err := OpenStore(ctx, cfg)
		if unreachable := storeUnreachable(cfg); err == nil || unreachable == nil || !unreachable(err) {
			return st, err
		}
		log.Warn("PostgreSQL unreachable at store.url; retrying", "store", StoreName(cfg), "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("open store %s: %w", StoreName(cfg), ErrStoppedWaiting)
		case <-t.C:
		}
		wait = min(2*wait, storeRetryMax)
	}
}

// storeUnreachable reports whether an error of cfg's store says it
// cannot be reached for now, worth waiting for: a PostgreSQL server
// restarting. Nil for SQLite, a file, whose errors are not worth waiting for.
func storeUnreachable(cfg *config.Config) func(error) bool {
	if cfg.Store.Postgres() {
		return postgres.Unreachable
	}
	return nil
}

// ErrStoppedWaiting is Run's error when hark was told to
// stop before PostgreSQL could be reached.
var ErrStoppedWaiting = errors.New("stopped while waiting for PostgreSQL")

// StoreName is where the store is, for logs: the SQLite file, or the
// PostgreSQL server and database without the password (which may be in
// the URL's user part or a password= parameter).
func StoreName(cfg *config.Config) string {
	if !cfg.Store.Postgres() {
		return cfg.Store.Path
	}
	return postgres.Where(cfg.Store.URL)
}
