package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Enqueue implements Queue. The batch's notifications through ordinary
// filters go in with a few multi-row inserts at the end; those through
// one-shot filters one by one, message by message, since only the first
// message to use such a filter keeps them.
func (s *SQLite) Enqueue(ctx context.Context, batch []Accepted) (EnqueueResult, error) {
	var res EnqueueResult
	now := ms(time.Now())
	var whys whyIDs
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = EnqueueResult{}
		whys = whyIDs{cache: &s.whys}
		h, err := newHistoryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer h.close()
		insNote, err := tx.PrepareContext(ctx, insertNotification)
		if err != nil {
			return err
		}
		defer insNote.Close()
		var plain []any // insertNotifications rows
		// seen keeps the first match per (message, destination) in the
		// batch, as one statement per match in order did: the rows then
		// conflict only with earlier transactions', whatever their order.
		seen := make(map[noteKey]struct{})
		live, err := liveDestinations(ctx, tx, batch)
		if err != nil {
			return err
		}
		for _, a := range batch {
			if err := h.add(ctx, a.Message); err != nil {
				return err
			}
			var oneshot []Match
			for _, m := range a.Matches {
				if !live[m.DestinationID] {
					// Deleted since the caller's filter snapshot: a
					// notification for it could never be sent, and its
					// foreign key would fail the whole batch, forever.
					res.Dropped++
					continue
				}
				k := noteKey{a.Message.Key, m.DestinationID}
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				if m.Oneshot {
					oneshot = append(oneshot, m)
					continue
				}
				why, err := whys.id(ctx, tx, m.Why)
				if err != nil {
					return fmt.Errorf("enqueue %s: store why: %w", a.Message.Key, err)
				}
				plain = append(plain, a.Message.Key, m.UserID, m.DestinationID, nullID(m.FilterID), now, why, now)
			}
			if err := enqueueOneshot(ctx, tx, insNote, a.Message.Key, oneshot, now, &res); err != nil {
				return fmt.Errorf("enqueue %s: %w", a.Message.Key, err)
			}
		}
		res.Messages = h.added
		if err := h.fileTerms(ctx, tx); err != nil {
			return err
		}
		n, err := insertNotifications.exec(ctx, tx, plain)
		if err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
		res.Notifications += int(n)
		return nil
	})
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue: %w", err)
	}
	s.whys.keep(whys.added)
	return res, nil
}

// liveDestinations is which of the destinations batch's matches name
// still exist.
func liveDestinations(ctx context.Context, tx *sql.Tx, batch []Accepted) (map[int64]bool, error) {
	var ids []int64
	for _, a := range batch {
		for _, m := range a.Matches {
			ids = append(ids, m.DestinationID)
		}
	}
	live := make(map[int64]bool, len(ids))
	if len(ids) == 0 {
		return live, nil
	}
	rows, err := tx.QueryContext(ctx, selectLiveDestinations, jsonIDs(ids))
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var id int64
		err := row.Scan(&id)
		live[id] = true
		return struct{}{}, err
	})
	if err != nil {
		return nil, fmt.Errorf("find live destinations: %w", err)
	}
	return live, nil
}

// noteKey is what a notification is unique by.
type noteKey struct {
	msgKey      string
	destination int64
}

// enqueueOneshot queues one message's notifications through one-shot
// filters. A filter's notifications are kept only if this message is the
// one that deactivates it; otherwise they are deleted again inside the
// transaction.
func enqueueOneshot(ctx context.Context, tx *sql.Tx, ins *sql.Stmt, key string, matches []Match, now int64, res *EnqueueResult) error {
	if len(matches) == 0 {
		return nil
	}
	made := map[int64][]int64{} // filter → notifications it made here
	for _, m := range matches {
		r, err := ins.ExecContext(ctx, key, m.UserID, m.DestinationID, nullID(m.FilterID), now, string(m.Why), now)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			continue // queued before: a re-processed message
		}
		id, err := r.LastInsertId()
		if err != nil {
			return err
		}
		made[m.FilterID] = append(made[m.FilterID], id)
		res.Notifications++
	}
	for filter, ids := range made {
		r, err := tx.ExecContext(ctx, useOneshot, now, filter)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 1 {
			res.UsedUp = append(res.UsedUp, filter)
			continue
		}
		// Another message used the filter up first.
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, deleteNotification, id); err != nil {
				return err
			}
		}
		res.Notifications -= len(ids)
	}
	return nil
}

// nullID stores a missing filter as NULL, which its foreign key allows.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Claim implements Queue.
func (s *SQLite) Claim(ctx context.Context, destinationID int64, now time.Time, lease time.Duration, limit int) ([]Notification, error) {
	var ns []Notification
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, claimNotifications, ms(now.Add(lease)), destinationID, ms(now), limit)
		ns, err = collect(rows, err, scanNotification)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications of destination %d: %w", destinationID, err)
	}
	return ns, nil
}

// Pending implements Queue.
func (s *SQLite) Pending(ctx context.Context, now time.Time) ([]Pending, error) {
	rows, err := s.r.QueryContext(ctx, selectPending, ms(now))
	ps, err := collect(rows, err, func(row scanner) (Pending, error) {
		var p Pending
		var oldest int64
		err := row.Scan(&p.DestinationID, &p.Due, &oldest)
		p.Oldest = fromMS(oldest)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read pending notifications: %w", err)
	}
	return ps, nil
}

// MarkSent implements Queue.
func (s *SQLite) MarkSent(ctx context.Context, ids []int64, now time.Time) error {
	return s.outcome(ctx, ids, StateSent, "", now, markSent, ms(now))
}

// MarkFailed implements Queue.
func (s *SQLite) MarkFailed(ctx context.Context, ids []int64, reason string, retryAt, now time.Time) error {
	return s.outcome(ctx, ids, StateFailed, reason, now, markFailed, ms(retryAt), reason)
}

// MarkDead implements Queue.
func (s *SQLite) MarkDead(ctx context.Context, ids []int64, reason string, now time.Time) error {
	return s.outcome(ctx, ids, StateDead, reason, now, markDead, reason)
}

// outcome logs state for ids and runs update (whose last parameter is the
// id list) in one transaction.
func (s *SQLite) outcome(ctx context.Context, ids []int64, state State, detail string, now time.Time, update string, args ...any) error {
	list := jsonIDs(ids)
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, logOutcome, string(state), detail, ms(now), list); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, update, append(args, list)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark %d notifications %s: %w", len(ids), state, err)
	}
	return nil
}

// RequeueDead implements Queue.
func (s *SQLite) RequeueDead(ctx context.Context, ids []int64, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var dead string
		if err := tx.QueryRowContext(ctx, selectDead, jsonIDs(ids)).Scan(&dead); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, logOutcome, string(StateQueued), "requeued", ms(now), dead); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, requeue, ms(now), dead)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("requeue dead notifications: %w", err)
	}
	return n, nil
}

// QueueDepth implements Queue.
func (s *SQLite) QueueDepth(ctx context.Context) (map[State]int64, error) {
	rows, err := s.r.QueryContext(ctx, selectQueueDepth)
	type count struct {
		state State
		n     int64
	}
	counts, err := collect(rows, err, func(row scanner) (count, error) {
		var c count
		err := row.Scan(&c.state, &c.n)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	depth := map[State]int64{StateQueued: 0, StateSent: 0, StateFailed: 0, StateDead: 0}
	var all int64
	for _, c := range counts {
		if c.state == "all" {
			all = c.n
			continue
		}
		depth[c.state] = c.n
	}
	depth[StateSent] = all - depth[StateQueued] - depth[StateFailed] - depth[StateDead]
	return depth, nil
}

// ListNotifications implements Queue.
func (s *SQLite) ListNotifications(ctx context.Context, q NotificationQuery) ([]Notification, error) {
	rows, err := s.r.QueryContext(ctx, listNotifications, q.User, limit(q))
	ns, err := collect(rows, err, scanListedNotification)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return ns, nil
}

// DeliveryLog implements Queue.
func (s *SQLite) DeliveryLog(ctx context.Context, q NotificationQuery) ([]LogEntry, error) {
	rows, err := s.r.QueryContext(ctx, listDeliveryLog, q.User, limit(q))
	entries, err := collect(rows, err, func(row scanner) (LogEntry, error) {
		var e LogEntry
		var at int64
		err := row.Scan(&e.ID, &e.NotificationID, &e.MsgKey, &e.UserID, &e.DestinationID, &e.FilterID, &e.Outcome, &e.Detail, &at)
		e.At = fromMS(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read delivery log: %w", err)
	}
	return entries, nil
}

func limit(q NotificationQuery) int {
	if q.Limit <= 0 {
		return 100
	}
	return q.Limit
}

func scanNotification(row scanner) (Notification, error) {
	return scanNotificationRow(row, false)
}

func scanListedNotification(row scanner) (Notification, error) {
	return scanNotificationRow(row, true)
}

// scanNotificationRow scans notificationColumns, and with listed the
// names listNotifications adds.
func scanNotificationRow(row scanner, listed bool) (Notification, error) {
	var n Notification
	var next, created, sent int64
	var why string
	dest := []any{&n.ID, &n.MsgKey, &n.UserID, &n.DestinationID, &n.FilterID, &n.State, &n.Attempts,
		&next, &n.LastError, &why, &created, &sent}
	if listed {
		dest = append(dest, &n.UserName, &n.Destination, &n.FilterName)
	}
	err := row.Scan(dest...)
	n.NextAttempt, n.Created, n.Sent = fromMS(next), fromMS(created), fromMS(sent)
	if why != "" {
		n.Why = []byte(why)
	}
	return n, err
}
