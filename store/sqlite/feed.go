package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hark/store"
	"hark/store/internal/feedwait"
)

// The change feed (store.Feed) is the changes table (schemaV11). SQLite
// tells no one of a commit, so while someone waits a process asks every
// feedPollEvery whether anyone committed (PRAGMA data_version on a
// connection of its own: 7 µs, a third of reading the head), and reads
// the head when someone did; its own commits have it ask at once.

// feedPollEvery is how often the head is read while someone waits: the
// most a change committed by another process waits to be seen.
const feedPollEvery = 5 * time.Millisecond

// Changes implements store.Feed.
func (s *SQLite) Changes(ctx context.Context, after store.FeedCursor, limit int) ([]store.Change, store.FeedCursor, error) {
	rows, err := s.r.QueryContext(ctx, selectChanges, int64(after), limit)
	cs, err := collect(rows, err, func(row scanner) (store.Change, error) {
		var c store.Change
		var at int64
		err := row.Scan(&c.Cursor, &c.Type, &c.Kind, &at)
		c.At = fromMS(at)
		return c, err
	})
	if err != nil {
		return nil, after, fmt.Errorf("read changes: %w", err)
	}
	if len(cs) > 0 {
		after = cs[len(cs)-1].Cursor
	}
	return cs, after, nil
}

// FeedHead implements store.Feed.
func (s *SQLite) FeedHead(ctx context.Context) (store.FeedCursor, error) {
	var head int64
	if err := s.r.QueryRowContext(ctx, selectFeedHead).Scan(&head); err != nil {
		return 0, fmt.Errorf("read feed head: %w", err)
	}
	return store.FeedCursor(head), nil
}

// PruneChanges implements store.Feed.
func (s *SQLite) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, pruneChanges, ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return res.RowsAffected()
}

// WaitChanges implements store.Feed.
func (s *SQLite) WaitChanges(ctx context.Context, after store.FeedCursor) error {
	return s.feed.Wait(ctx, after)
}

// recordQueued adds a queued change per kind in kinds to tx.
func recordQueued(ctx context.Context, tx *sql.Tx, kinds []string, now int64) error {
	for _, kind := range kinds {
		if _, err := tx.ExecContext(ctx, insertChange, string(store.ChangeQueued), kind, now); err != nil {
			return fmt.Errorf("record change: %w", err)
		}
	}
	return nil
}

// feedWatch is the feed's head as this process last read it (see
// feedwait): while anyone waits, one goroutine (watch) reads it every
// feedPollEvery, and at once when this process committed.
type feedWatch struct {
	*feedwait.Watch
	poke chan struct{} // a commit of this process: read the head now
}

func newFeedWatch(s *SQLite) *feedWatch {
	w := &feedWatch{poke: make(chan struct{}, 1)}
	w.Watch = feedwait.New(func(ctx context.Context, _ *feedwait.Watch) { w.watch(ctx, s) })
	return w
}

// committed tells the watcher that this process committed a write,
// which may have added changes.
func (w *feedWatch) committed() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// watch reads the head whenever the database changed, until no one
// waits or the store closes (ctx), reporting it to the waiters.
func (w *feedWatch) watch(ctx context.Context, s *SQLite) {
	tick := time.NewTicker(feedPollEvery)
	defer tick.Stop()
	var conn *sql.Conn // asked for data_version; nil: read the head each time
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	version := int64(-1)
	for {
		if conn == nil {
			conn, _ = s.r.Conn(ctx) // without one, the head is read every time
			version = -1
		}
		changed := true
		if conn != nil {
			var v int64
			if err := conn.QueryRowContext(ctx, selectDataVersion).Scan(&v); err != nil {
				conn.Close()
				conn = nil
			} else {
				changed, version = v != version, v
			}
		}
		if changed {
			// A failed read is tried again on the next tick; the
			// waiters' own fallbacks cover a database that stays
			// unreadable.
			if head, err := s.FeedHead(ctx); err != nil {
				version = -1
			} else {
				w.Saw(head)
			}
		}
		if w.Idle() {
			return
		}
		select {
		case <-ctx.Done():
		case <-w.poke:
		case <-tick.C:
		}
	}
}
