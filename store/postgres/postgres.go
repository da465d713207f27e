// Package postgres is the store.Store contract on PostgreSQL, for
// deployments that run several hark processes (routers, delivery workers,
// the web UI) against one database: store.url: postgres://… in the
// configuration. It talks to the server through pgx's connection pool.
//
// Notifications are one row per message and destination, written by
// Enqueue with array inserts; a claim leases rows with FOR UPDATE SKIP
// LOCKED, so claimers never wait for each other; every write is one short
// transaction, retried when PostgreSQL picks it as a deadlock victim.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"hark/store"
	"hark/store/internal/feedwait"
)

// Store is the store.Store on one PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	whys whyCache
	feed *feedwait.Watch
}

var _ store.Store = (*Store)(nil)

// Open connects to the database url names (postgres://user@host/db) and
// brings its schema up to date. Processes opening one database together
// migrate one at a time.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redacted(cfg), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", redacted(cfg), err)
	}
	s := &Store{pool: pool}
	s.feed = feedwait.New(s.watchFeed)
	return s, nil
}

// redacted names the database of cfg without its password, for errors.
// Where is the server and database url names, for logs: user, host,
// port and database, never a password (whether in the user part or a
// password= parameter). An URL pgx cannot read is "postgres".
func Where(url string) string {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return "postgres"
	}
	return redacted(cfg)
}

func redacted(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// SchemaVersion is the number of migrations this build applies.
func SchemaVersion() int { return len(migrations) - 1 }

// migrate applies the migrations the database lacks, all in one
// transaction under an advisory lock: a second process starting at the
// same time waits for the first and then finds the schema current.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, createSchemaVersion); err != nil {
			return fmt.Errorf("create schema version: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&v); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if v > SchemaVersion() {
			return fmt.Errorf("database schema version %d is newer than this hark's %d", v, SchemaVersion())
		}
		for next := v + 1; next <= SchemaVersion(); next++ {
			if _, err := tx.Exec(ctx, migrations[next]); err != nil {
				return fmt.Errorf("migrate to version %d: %w", next, err)
			}
		}
		if v < SchemaVersion() {
			if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1 WHERE id = 1`, SchemaVersion()); err != nil {
				return fmt.Errorf("record schema version: %w", err)
			}
		}
		return nil
	})
}

// Close stops the feed's watcher and closes the pool's connections.
func (s *Store) Close() error {
	s.feed.Close()
	s.pool.Close()
	return nil
}

// SettingsVersion implements store.Store.
func (s *Store) SettingsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM settings WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read settings version: %w", err)
	}
	return v, nil
}

// txRetries is how often write runs a transaction PostgreSQL aborted as a
// deadlock victim or a serialization failure: both say "try again".
const txRetries = 5

// write runs f in a transaction, committing when it returns nil, and runs
// it again when PostgreSQL aborted it for a deadlock or a serialization
// failure. f must be safe to run again: it starts from nothing. A fence on
// ctx (see store.WithFence) guards the transaction: it is checked first.
func (s *Store) write(ctx context.Context, f func(pgx.Tx) error) error {
	for try := 1; ; try++ {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := checkFenceOf(ctx, tx); err != nil {
				return err
			}
			return f(tx)
		})
		if err == nil || try == txRetries || !retryable(err) {
			return err
		}
	}
}

// retryable reports whether err is a deadlock or serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// fenced runs the one statement f makes on the pool, or, when ctx
// carries a fence (see store.WithFence), in a transaction the fence
// guards: an unfenced queue write costs no BEGIN and COMMIT.
func (s *Store) fenced(ctx context.Context, f func(querier) error) error {
	if _, ok := store.FenceOf(ctx); !ok {
		return f(s.pool)
	}
	return s.write(ctx, func(tx pgx.Tx) error { return f(tx) })
}

// isUnique reports whether err is a unique constraint's violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// querier is the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// changed turns a command that touched no row into the error none.
func changed(tag pgconn.CommandTag, err error) func(none error) error {
	return func(none error) error {
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return none
		}
		return nil
	}
}

// one scans the single row of a query with scan, turning no row into
// store.ErrNotFound.
func one[T any](row pgx.Row, scan func(pgx.Row) (T, error)) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, store.ErrNotFound
	}
	return v, err
}

// collect scans every row of a query with scan.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// The store keeps times to the millisecond, as the SQLite store does:
// unsubscribe links and cursors carry them at that precision.
func trunc(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// tz is t for a nullable timestamptz column: NULL when zero.
func tz(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: trunc(t), Valid: true}
}

// timeOf is a nullable timestamptz read back: zero when NULL, else UTC.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid || t.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return t.Time.UTC()
}

// epoch stands for a message without a timestamp in messages.ts, which
// orders the history: it sorts where SQLite's 0 does.
var epoch = time.Unix(0, 0).UTC()

// msgTime is t as messages.ts keeps it.
func msgTime(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return trunc(t)
}

// fromMsgTime is the inverse of msgTime.
func fromMsgTime(t time.Time) time.Time {
	if t.Equal(epoch) {
		return time.Time{}
	}
	return t.UTC()
}

// Unbounded ends of a time range.
var (
	infinity      = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	minusInfinity = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
)

// Unreachable reports whether err says PostgreSQL could not be reached
// or is not taking connections yet (starting up, shutting down, out of
// connection slots): worth trying again later, unlike a refused password
// or a database that does not exist, which only a person can fix.
func Unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"53300": // too_many_connections
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection_exception
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
