package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/store"
)

// notificationColumns are a notification's columns (of alias n); a
// notification not tried yet is due at its creation.
const notificationColumns = `n.id, n.msg_key, n.user_id, n.destination_id, COALESCE(n.filter_id, 0), n.state, n.attempts,
	COALESCE(n.next_attempt, n.created), n.last_error,
	COALESCE((SELECT w.text FROM whys w WHERE w.hash = n.why_hash), ''), n.created, n.sent`

// notificationListing is notifications with the names people read.
const notificationListing = `SELECT ` + notificationColumns + `, u.name, d.kind || ':' || d.address, COALESCE(f.name, '')
FROM notifications n
JOIN users u ON u.id = n.user_id
JOIN destinations d ON d.id = n.destination_id
LEFT JOIN filters f ON f.id = n.filter_id `

func scanNotification(row pgx.Row) (store.Notification, error) {
	return scanNotificationRow(row, false)
}

func scanListedNotification(row pgx.Row) (store.Notification, error) {
	return scanNotificationRow(row, true)
}

// scanNotificationRow scans notificationColumns, and with listed the
// names notificationListing adds.
func scanNotificationRow(row pgx.Row, listed bool) (store.Notification, error) {
	var n store.Notification
	var next, created, sent pgtype.Timestamptz
	var why string
	dest := []any{&n.ID, &n.MsgKey, &n.UserID, &n.DestinationID, &n.FilterID, &n.State, &n.Attempts,
		&next, &n.LastError, &why, &created, &sent}
	if listed {
		dest = append(dest, &n.UserName, &n.Destination, &n.FilterName)
	}
	err := row.Scan(dest...)
	n.NextAttempt, n.Created, n.Sent = timeOf(next), timeOf(created), timeOf(sent)
	if why != "" {
		n.Why = []byte(why)
	}
	return n, err
}

// notificationRows is notifications to queue, as the columns of an
// unnest insert.
type notificationRows struct {
	keys         []string
	users, dests []int64
	filts        []pgtype.Int8
	whys         [][]byte // hashes
}

// Enqueue implements store.Queue: the messages with one array insert,
// their notifications with another, one row per message and destination.
// The unique (msg_key, destination_id) makes a notification once however
// many processes race; a message queued before (by key) queues nothing
// again.
func (s *Store) Enqueue(ctx context.Context, batch []store.Accepted) (store.EnqueueResult, error) {
	var res store.EnqueueResult
	now := trunc(time.Now())
	var whys whyRows
	err := s.write(ctx, func(tx pgx.Tx) error {
		res, whys = store.EnqueueResult{}, whyRows{}
		msgs := make([]store.Message, len(batch))
		for i, a := range batch {
			msgs[i] = a.Message
		}
		var err error
		if res.Messages, err = addMessages(ctx, tx, msgs); err != nil {
			return err
		}
		before, live, filters, err := lockReferences(ctx, tx, batch)
		if err != nil {
			return err
		}
		var rows notificationRows
		for _, a := range batch {
			if before[a.Message.Key] || len(a.Matches) == 0 {
				continue
			}
			before[a.Message.Key] = true // a message twice in one batch
			seen := make(map[int64]bool, len(a.Matches))
			used := map[int64]bool{} // one-shot filter → this message uses it up
			for _, m := range a.Matches {
				if !live[m.DestinationID] {
					res.Dropped++ // its notification could never be sent
					continue
				}
				if seen[m.DestinationID] {
					continue
				}
				seen[m.DestinationID] = true
				if m.Oneshot {
					use, asked := used[m.FilterID]
					if !asked {
						// Racing transactions wait for the first one's row
						// lock, then see active false: one wins.
						tag, err := tx.Exec(ctx, `UPDATE filters SET active = false, updated = $1 WHERE id = $2 AND oneshot AND active`, now, m.FilterID)
						if err != nil {
							return fmt.Errorf("use one-shot filter %d: %w", m.FilterID, err)
						}
						use = tag.RowsAffected() == 1
						used[m.FilterID] = use
						if use {
							res.UsedUp = append(res.UsedUp, m.FilterID)
						}
					}
					if !use {
						continue
					}
				}
				rows.keys = append(rows.keys, a.Message.Key)
				rows.users = append(rows.users, m.UserID)
				rows.dests = append(rows.dests, m.DestinationID)
				filter := pgtype.Int8{Int64: m.FilterID, Valid: filters[m.FilterID]} // NULL once deleted
				rows.filts = append(rows.filts, filter)
				hash := whyHash(m.Why)
				rows.whys = append(rows.whys, hash)
				whys.add(hash, m.Why, &s.whys)
			}
		}
		if len(rows.keys) == 0 {
			return nil
		}
		// The new whys and the notifications naming them: one round trip.
		b := &pgx.Batch{}
		if len(whys.hashes) > 0 {
			whys.sorted()
			b.Queue(`INSERT INTO whys (hash, text) SELECT * FROM unnest($1::bytea[], $2::text[]) ON CONFLICT DO NOTHING`, whys.hashes, whys.texts)
		}
		// The change feed's queued changes, one per kind of what was
		// added, come last: record_changes holds feed_head's lock until
		// the commit.
		b.Queue(`
WITH added AS (
	INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, why_hash, created)
	SELECT r.msg_key, r.user_id, r.destination_id, r.filter_id, 'queued', r.why_hash, $6
	FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[]) AS r(msg_key, user_id, destination_id, filter_id, why_hash)
	ON CONFLICT (msg_key, destination_id) DO NOTHING
	RETURNING destination_id),
kinds AS (SELECT count(*) AS n, array_agg(DISTINCT d.kind ORDER BY d.kind) AS kinds
	FROM added JOIN destinations d ON d.id = added.destination_id)
SELECT n, CASE WHEN n > 0 THEN record_changes('queued', kinds) END FROM kinds`, rows.keys, rows.users, rows.dests, rows.filts, rows.whys, now).
			QueryRow(func(row pgx.Row) error { return row.Scan(&res.Notifications, nil) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.EnqueueResult{}, fmt.Errorf("enqueue: %w", err)
	}
	s.whys.keep(whys.hashes)
	return res, nil
}

// lockReferences is which of batch's messages with matches were queued
// before (re-processed after a crash, or come twice), and which of the
// destinations and filters they match exist, locked FOR KEY SHARE until
// the transaction ends (the lock a foreign key check takes): a deletion
// of one waits, then its trigger deletes or unlinks what this batch
// queued. One round trip; the locks are taken in id order.
func lockReferences(ctx context.Context, tx pgx.Tx, batch []store.Accepted) (before map[string]bool, dests, filters map[int64]bool, err error) {
	var keys []string
	var destIDs, filterIDs []int64
	for _, a := range batch {
		if len(a.Matches) == 0 {
			continue
		}
		keys = append(keys, a.Message.Key)
		for _, m := range a.Matches {
			destIDs = append(destIDs, m.DestinationID)
			filterIDs = append(filterIDs, m.FilterID)
		}
	}
	before, dests, filters = map[string]bool{}, map[int64]bool{}, map[int64]bool{}
	if len(keys) == 0 {
		return before, dests, filters, nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT DISTINCT msg_key FROM notifications WHERE msg_key = ANY($1)`, keys).Query(func(rows pgx.Rows) error {
		var key string
		_, err := pgx.ForEachRow(rows, []any{&key}, func() error { before[key] = true; return nil })
		return err
	})
	for _, lock := range []struct {
		table string
		ids   []int64
		found map[int64]bool
	}{{"destinations", destIDs, dests}, {"filters", filterIDs, filters}} {
		b.Queue(`SELECT id FROM `+lock.table+` WHERE id = ANY($1) ORDER BY id FOR KEY SHARE`, lock.ids).Query(func(rows pgx.Rows) error {
			var id int64
			_, err := pgx.ForEachRow(rows, []any{&id}, func() error { lock.found[id] = true; return nil })
			return err
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("find messages queued before: %w", err)
	}
	return before, dests, filters, nil
}

// Claim implements store.Queue: ClaimOnly of every filter.
func (s *Store) Claim(ctx context.Context, destinationID int64, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	return s.ClaimOnly(ctx, destinationID, store.FilterSet{Except: true}, now, lease, limit)
}

// ClaimOnly implements store.Queue: the due rows of the destination that
// only's filters made, oldest first, locked with SKIP LOCKED so that
// concurrent claimers each take others, and leased in the same
// statement.
func (s *Store) ClaimOnly(ctx context.Context, destinationID int64, only store.FilterSet, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	ids := only.IDs
	if ids == nil {
		ids = []int64{} // = ANY of NULL is NULL, which would pick nothing
	}
	var ns []store.Notification
	err := s.fenced(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `
UPDATE notifications n SET next_attempt = $3, attempts = n.attempts + 1
FROM (SELECT id FROM notifications
	WHERE destination_id = $1 AND state IN ('queued', 'failed') AND (next_attempt IS NULL OR next_attempt <= $2)
	AND (COALESCE(filter_id, 0) = ANY($5)) <> $6
	ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) due
WHERE n.id = due.id
RETURNING `+notificationColumns, destinationID, trunc(now), trunc(now.Add(lease)), limit, ids, only.Except)
		ns, err = collect(rows, err, scanNotification)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications of destination %d: %w", destinationID, err)
	}
	slices.SortFunc(ns, func(a, b store.Notification) int { return cmp.Compare(a.ID, b.ID) })
	return ns, nil
}

// Pending implements store.Queue: one row per destination and filter,
// summed up per destination here.
func (s *Store) Pending(ctx context.Context, now time.Time) ([]store.Pending, error) {
	rows, err := s.pool.Query(ctx, `SELECT destination_id, COALESCE(filter_id, 0), count(*), min(created) FROM notifications
WHERE state IN ('queued', 'failed') AND (next_attempt IS NULL OR next_attempt <= $1)
GROUP BY 1, 2 ORDER BY 1, 2`, trunc(now))
	if err != nil {
		return nil, fmt.Errorf("read pending notifications: %w", err)
	}
	var ps []store.Pending
	var dest int64
	var fp store.FilterPending
	var oldest time.Time
	_, err = pgx.ForEachRow(rows, []any{&dest, &fp.FilterID, &fp.Due, &oldest}, func() error {
		if len(ps) == 0 || ps[len(ps)-1].DestinationID != dest {
			ps = append(ps, store.Pending{DestinationID: dest})
		}
		p := &ps[len(ps)-1]
		fp.Oldest = oldest.UTC()
		p.ByFilter = append(p.ByFilter, fp)
		p.Due += fp.Due
		if p.Oldest.IsZero() || fp.Oldest.Before(p.Oldest) {
			p.Oldest = fp.Oldest
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pending notifications: %w", err)
	}
	return ps, nil
}

// MarkSent implements store.Queue.
func (s *Store) MarkSent(ctx context.Context, ids []int64, now time.Time) error {
	return s.outcome(ctx, ids, store.StateSent, "", now, `state = 'sent', sent = $5, last_error = ''`, trunc(now))
}

// MarkSentNoted implements store.Queue.
func (s *Store) MarkSentNoted(ctx context.Context, ids []int64, detail string, now time.Time) error {
	return s.outcome(ctx, ids, store.StateSent, detail, now, `state = 'sent', sent = $5, last_error = ''`, trunc(now))
}

// MarkFailed implements store.Queue.
func (s *Store) MarkFailed(ctx context.Context, ids []int64, reason string, retryAt, now time.Time) error {
	return s.outcome(ctx, ids, store.StateFailed, reason, now, `state = 'failed', next_attempt = $5, last_error = $2`, trunc(retryAt))
}

// MarkDead implements store.Queue.
func (s *Store) MarkDead(ctx context.Context, ids []int64, reason string, now time.Time) error {
	return s.outcome(ctx, ids, store.StateDead, reason, now, `state = 'dead', last_error = $2`)
}

// outcome sets set (the SET list of an UPDATE of ids $1, with the detail
// $2, the time $3, the state $4 and args from $5 on) and logs state for each
// notification it changed: one statement, so both or neither happen.
func (s *Store) outcome(ctx context.Context, ids []int64, state store.State, detail string, now time.Time, set string, args ...any) error {
	err := s.fenced(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `
WITH changed AS (UPDATE notifications n SET `+set+` WHERE n.id = ANY($1)
	RETURNING n.id, n.msg_key, n.user_id, n.destination_id, COALESCE(n.filter_id, 0) AS filter_id)
INSERT INTO delivery_log (notification_id, msg_key, user_id, destination_id, filter_id, outcome, detail, at)
SELECT id, msg_key, user_id, destination_id, filter_id, $4, $2, $3 FROM changed ORDER BY id`,
			append([]any{ids, detail, trunc(now), string(state)}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark %d notifications %s: %w", len(ids), state, err)
	}
	return nil
}

// RequeueDead implements store.Queue.
func (s *Store) RequeueDead(ctx context.Context, ids []int64, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
WITH changed AS (UPDATE notifications n SET state = 'queued', attempts = 0, next_attempt = $2
	WHERE n.state = 'dead' AND (coalesce(cardinality($1::bigint[]), 0) = 0 OR n.id = ANY($1))
	RETURNING n.id, n.msg_key, n.user_id, n.destination_id, COALESCE(n.filter_id, 0) AS filter_id)
INSERT INTO delivery_log (notification_id, msg_key, user_id, destination_id, filter_id, outcome, detail, at)
SELECT id, msg_key, user_id, destination_id, filter_id, 'queued', 'requeued', $2 FROM changed ORDER BY id`,
			ids, trunc(now))
		if n = tag.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return recordChanges(ctx, tx, store.ChangeQueued, []string{""})
	})
	if err != nil {
		return 0, fmt.Errorf("requeue dead notifications: %w", err)
	}
	return n, nil
}

// Release implements store.Delivery. Only notifications still in their
// lease are released: one marked meanwhile keeps its outcome.
func (s *Store) Release(ctx context.Context, ids []int64, next time.Time) error {
	err := s.fenced(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE notifications SET next_attempt = $1, attempts = greatest(attempts - 1, 0)
WHERE id = ANY($2) AND state IN ('queued', 'failed')`, trunc(next), ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("release %d notifications: %w", len(ids), err)
	}
	return nil
}

// QueueDepth implements store.Queue.
func (s *Store) QueueDepth(ctx context.Context) (map[store.State]int64, error) {
	depth := map[store.State]int64{store.StateQueued: 0, store.StateSent: 0, store.StateFailed: 0, store.StateDead: 0}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM notifications GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	var state string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error { depth[store.State(state)] = n; return nil }); err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	return depth, nil
}

// ListNotifications implements store.Queue.
func (s *Store) ListNotifications(ctx context.Context, q store.NotificationQuery) ([]store.Notification, error) {
	rows, err := s.pool.Query(ctx, notificationListing+`WHERE $1 = '' OR u.name = $1 ORDER BY n.id DESC LIMIT $2`, q.User, q.Max())
	ns, err := collect(rows, err, scanListedNotification)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return ns, nil
}

// NotificationByID implements store.Queue.
func (s *Store) NotificationByID(ctx context.Context, id int64) (store.Notification, error) {
	n, err := one(s.pool.QueryRow(ctx, notificationListing+`WHERE n.id = $1`, id), scanListedNotification)
	if err != nil {
		return n, fmt.Errorf("find notification %d: %w", id, err)
	}
	return n, nil
}

// DeadLetters implements store.Queue.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]store.Notification, error) {
	rows, err := s.pool.Query(ctx, notificationListing+`WHERE n.state = 'dead' ORDER BY n.id DESC LIMIT $1`, limit)
	ns, err := collect(rows, err, scanListedNotification)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return ns, nil
}

// DeliveryLog implements store.Queue.
func (s *Store) DeliveryLog(ctx context.Context, q store.NotificationQuery) ([]store.LogEntry, error) {
	rows, err := s.pool.Query(ctx, `
SELECT l.id, l.notification_id, l.msg_key, l.user_id, l.destination_id, l.filter_id, l.outcome, l.detail, l.at
FROM delivery_log l JOIN users u ON u.id = l.user_id
WHERE $1 = '' OR u.name = $1
ORDER BY l.id DESC LIMIT $2`, q.User, q.Max())
	entries, err := collect(rows, err, func(row pgx.Row) (store.LogEntry, error) {
		var e store.LogEntry
		var at time.Time
		err := row.Scan(&e.ID, &e.NotificationID, &e.MsgKey, &e.UserID, &e.DestinationID, &e.FilterID, &e.Outcome, &e.Detail, &at)
		e.At = at.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read delivery log: %w", err)
	}
	return entries, nil
}
