package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	sqlitedriver "modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"hark/store"
)

// SQLite is the Store on one SQLite file, in WAL mode so readers never
// wait for the writer and the admin commands can run beside the service.
type SQLite struct {
	// w is the one writing connection: in-process writers queue in Go
	// rather than spinning on SQLite's busy handler. Other processes are
	// waited for by busy_timeout; every transaction begins IMMEDIATE, since
	// a deferred one that later writes fails with SQLITE_BUSY instead.
	w *sql.DB
	// r is a pool of read-only connections.
	r *sql.DB
	// ck checkpoints the WAL into the database file in the background.
	// The writer never checkpoints itself (wal_autocheckpoint=0): the
	// checkpoint's fsync would stall every commit behind it, which cut
	// ingest throughput to a third.
	ck        *sql.DB
	whys      whyCache
	inbox     inboxQueue
	live      liveCache
	feed      *feedWatch
	stopCk    context.CancelFunc
	ckStopped chan struct{}
}

// checkpointEvery is how often the background checkpointer runs. A
// PASSIVE checkpoint never waits for or blocks the writer and readers.
const checkpointEvery = time.Second

// walSizeLimit is the size the WAL file is brought back to after a
// backlog made it larger: above what a second of steady ingest writes, so
// the file is not shrunk and grown again in normal running.
var walSizeLimit int64 = 64 << 20

var _ store.Store = (*SQLite)(nil)

// dsn is the connection string for path: WAL, synchronous=NORMAL (a commit
// survives a process crash; only an OS crash may lose the last ones),
// busy_timeout for other processes, foreign keys, IMMEDIATE transactions.
func dsn(path string, readOnly bool) string {
	s := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate&_pragma=wal_autocheckpoint(0)"
	if !readOnly {
		// After a backlog the WAL file keeps its largest size: SQLite
		// writes over it from the start once the checkpointer has caught
		// up, but never shrinks it. The journal size limit has the first
		// commit after such a restart truncate it down to walSizeLimit, at
		// no cost to the writer or readers (a TRUNCATE checkpoint would
		// make the writer wait for every reader).
		s += fmt.Sprintf("&_pragma=journal_size_limit(%d)", walSizeLimit)
		// The writer's transaction (a batch of 256 messages and their
		// notifications) must fit its page cache, or SQLite spills pages
		// to the WAL mid-transaction; multi-row inserts keep their
		// statement journal in memory rather than in a temporary file.
		s += "&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"
	}
	if readOnly {
		// Readers map the file rather than copy each page through a read
		// call: a preview scanning the whole history reads it about half
		// again as fast. It is address space, not memory.
		s += "&_pragma=query_only(1)&_pragma=mmap_size(1073741824)"
	}
	return s
}

// Open opens (creating it and its directory if needed) the database at
// path and brings its schema up to date.
func Open(ctx context.Context, path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrateWhenFree(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ck, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s := &SQLite{w: w, r: r, ck: ck, ckStopped: make(chan struct{})}
	s.feed = newFeedWatch(s)
	ckCtx, stop := context.WithCancel(context.Background())
	s.stopCk = stop
	go s.checkpointLoop(ckCtx)
	return s, nil
}

// checkpointLoop copies the WAL into the database file every
// checkpointEvery until ctx is done, then once more so a closed database
// leaves a short WAL behind.
func (s *SQLite) checkpointLoop(ctx context.Context) {
	defer close(s.ckStopped)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.ck.ExecContext(context.Background(), checkpointWAL) // best effort; the WAL is replayed on open anyway
			return
		case <-tick.C:
			// A failed checkpoint is retried on the next tick; the WAL
			// only grows meanwhile, nothing is lost.
			s.ck.ExecContext(ctx, checkpointWAL)
		}
	}
}

// SchemaVersion is the number of migrations this build applies.
func SchemaVersion() int { return len(migrations) - 1 }

// busyRetryFor is how long Open retries a migration that another process
// holds the fresh database for.
const busyRetryFor = 10 * time.Second

// migrateWhenFree is migrate, tried again while the database is busy:
// two processes opening a new database at once (`hark serve &` and then
// `hark user add`) race to turn on WAL and create the schema, and SQLite
// answers the loser SQLITE_BUSY at once, without its busy timeout.
func migrateWhenFree(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyRetryFor)
	for {
		err := migrate(ctx, db)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrate applies the migrations the database lacks, each in its own
// transaction with the version row it moves. Foreign keys are off
// meanwhile, as SQLite's way of changing a table's constraints needs (a
// table is rebuilt under its name, and dropping the old one must not
// cascade); each migration is checked against them before it commits.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, createSchemaVersion); err != nil {
		return fmt.Errorf("create schema version: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for {
		done, err := migrateOne(ctx, conn)
		if err != nil || done {
			if _, fkErr := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); fkErr != nil {
				// The connection must not go back to the pool without them.
				conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("migrate: %w", fkErr))
			}
			return err
		}
	}
}

func migrateOne(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, selectSchemaVersion).Scan(&v); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case v > SchemaVersion():
		return false, fmt.Errorf("database schema version %d is newer than this hark's %d", v, SchemaVersion())
	case v == SchemaVersion():
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v+1]); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	var table string
	switch err := tx.QueryRowContext(ctx, `PRAGMA foreign_key_check`).Scan(&table, new(any), new(any), new(any)); {
	case err == nil:
		return false, fmt.Errorf("migrate to version %d: table %s breaks a foreign key", v+1, table)
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("migrate to version %d: check foreign keys: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, updateSchemaVersion, v+1); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	return false, tx.Commit()
}

// Close closes the database.
func (s *SQLite) Close() error {
	s.feed.Close()
	s.stopCk()
	<-s.ckStopped
	return errors.Join(s.r.Close(), s.w.Close(), s.ck.Close())
}

// inTx runs f in a transaction on db, committing when f returns nil.
func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// write runs f in a write transaction, which a fence on ctx (see
// store.WithFence) guards. A commit may add to the change feed (the
// settings trigger does), so it wakes the feed's watcher.
func (s *SQLite) write(ctx context.Context, f func(*sql.Tx) error) error {
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		if err := checkFenceOf(ctx, tx); err != nil {
			return err
		}
		return f(tx)
	})
	if err == nil {
		s.feed.committed()
	}
	return err
}

// exec runs one write statement outside a transaction, and wakes the
// feed's watcher as write does. It is for writes no fence guards.
func (s *SQLite) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err == nil {
		s.feed.committed()
	}
	return res, err
}

// SettingsVersion implements Store.
func (s *SQLite) SettingsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, selectSettingsVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("read settings version: %w", err)
	}
	return v, nil
}

// ms is t in the schema's unit; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// changed turns the result of an UPDATE or DELETE that touched no row into
// the error none: changed(db.Exec(...))(ErrNotFound).
func changed(res sql.Result, err error) func(none error) error {
	return func(none error) error {
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, none)
		}
		return nil
	}
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row of rows with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// one scans a single row, turning no row into ErrNotFound.
func one[T any](row *sql.Row, scan func(scanner) (T, error)) (T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return v, store.ErrNotFound
	}
	return v, err
}
