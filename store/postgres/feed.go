package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hark/store"
	"hark/store/internal/feedwait"
)

// The change feed (store.Feed) is the changes table (schemaV5). Every
// transaction that adds changes notifies the channel feedChannel, which
// PostgreSQL delivers at commit to every session listening, in this
// process or another. While anyone waits, one goroutine (watchFeed)
// listens on a connection of the pool and reads the head whenever a
// notification comes, and every feedPollEvery besides, should one be
// lost with a connection.

// feedChannel is the channel record_changes notifies.
const feedChannel = "hark_changes"

// feedPollEvery is how often the head is read without a notification,
// and how long the watcher listens on after the last waiter left (a
// follower waits again as soon as it read what woke it).
const feedPollEvery = 250 * time.Millisecond

// feedRetry is how long the watcher waits before it asks the pool for a
// connection again after one failed.
const feedRetry = time.Second

// Changes implements store.Feed.
func (s *Store) Changes(ctx context.Context, after store.FeedCursor, limit int) ([]store.Change, store.FeedCursor, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, type, kind, at FROM changes WHERE id > $1 ORDER BY id LIMIT $2`, int64(after), limit)
	cs, err := collect(rows, err, func(row pgx.Row) (store.Change, error) {
		var c store.Change
		err := row.Scan(&c.Cursor, &c.Type, &c.Kind, &c.At)
		c.At = c.At.UTC()
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

// FeedHead implements store.Feed: feed_head's count, which pruning
// leaves alone.
func (s *Store) FeedHead(ctx context.Context) (store.FeedCursor, error) {
	return feedHead(ctx, s.pool)
}

func feedHead(ctx context.Context, q querier) (store.FeedCursor, error) {
	var head int64
	if err := q.QueryRow(ctx, `SELECT head FROM feed_head WHERE id = 1`).Scan(&head); err != nil {
		return 0, fmt.Errorf("read feed head: %w", err)
	}
	return store.FeedCursor(head), nil
}

// PruneChanges implements store.Feed.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM changes WHERE at < $1`, trunc(before))
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return tag.RowsAffected(), nil
}

// WaitChanges implements store.Feed.
func (s *Store) WaitChanges(ctx context.Context, after store.FeedCursor) error {
	return s.feed.Wait(ctx, after)
}

// recordChanges adds a change of type t per kind in kinds to tx, and
// notifies the listeners when tx commits. It takes feed_head's row lock
// until then: call it last in a transaction.
func recordChanges(ctx context.Context, tx pgx.Tx, t store.ChangeType, kinds []string) error {
	if _, err := tx.Exec(ctx, `SELECT record_changes($1, $2)`, string(t), kinds); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// watchFeed listens for commits on a connection of the pool until no one
// waits or the store closes (ctx), taking another connection when one
// fails.
func (s *Store) watchFeed(ctx context.Context, w *feedwait.Watch) {
	for {
		conn, err := s.pool.Acquire(ctx)
		if err == nil {
			err = listen(ctx, conn, w)
			release(conn, err)
		}
		// The waiters' own fallbacks (their contexts, their callers'
		// polling) cover a database that stays out of reach.
		if err == nil || ctx.Err() != nil || w.Idle() {
			return
		}
		t := time.NewTimer(feedRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// listen listens on conn and reads the head on every notification and
// every feedPollEvery, until no one waits (nil) or conn fails. The head
// is read after LISTEN: a commit before is in it, one after notifies.
func listen(ctx context.Context, conn *pgxpool.Conn, w *feedwait.Watch) error {
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return fmt.Errorf("listen for changes: %w", err)
	}
	for {
		head, err := feedHead(ctx, conn)
		if err != nil {
			return err
		}
		w.Saw(head)
		wait, cancel := context.WithTimeout(ctx, feedPollEvery)
		_, err = conn.Conn().WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err):
			if w.Idle() {
				return nil
			}
		case err != nil:
			return fmt.Errorf("wait for changes: %w", err)
		}
	}
}

// release hands conn back to the pool, no longer listening; a connection
// that failed, or whose UNLISTEN did, is closed instead.
func release(conn *pgxpool.Conn, failed error) {
	if failed == nil {
		ctx, cancel := context.WithTimeout(context.Background(), feedPollEvery)
		_, failed = conn.Exec(ctx, "UNLISTEN *")
		cancel()
	}
	if failed != nil {
		ctx, cancel := context.WithTimeout(context.Background(), feedPollEvery)
		conn.Conn().Close(ctx)
		cancel()
	}
	conn.Release()
}
