package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"hark/store"
)

// Enqueue implements Queue. Each message goes into the history, and its
// matches into one inbox row (see schemaV6): a statement per message
// however many it matched, which Claim turns into notification rows.
func (s *SQLite) Enqueue(ctx context.Context, batch []store.Accepted) (store.EnqueueResult, error) {
	var res store.EnqueueResult
	now := ms(time.Now())
	var whys whyIDs
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = store.EnqueueResult{}
		whys = whyIDs{cache: &s.whys}
		h, err := newHistoryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer h.close()
		before, err := queuedBefore(ctx, tx, batch)
		if err != nil {
			return err
		}
		live, err := s.liveDestinations(ctx, tx)
		if err != nil {
			return err
		}
		var rows []any // insertInbox rows
		var buf []byte
		kinds := map[string]bool{} // the destination kinds given notifications
		for _, a := range batch {
			if err := h.add(ctx, a.Message); err != nil {
				return err
			}
			if before[a.Message.Key] || len(a.Matches) == 0 {
				continue
			}
			before[a.Message.Key] = true // a message twice in one batch
			es, err := s.entries(ctx, tx, &whys, a, live, now, &res)
			if err != nil {
				return fmt.Errorf("enqueue %s: %w", a.Message.Key, err)
			}
			if len(es) == 0 {
				continue
			}
			for _, e := range es {
				kinds[live[e.destID]] = true
			}
			start := len(buf)
			buf = encodeMatches(buf, es)
			rows = append(rows, a.Message.Key, now, buf[start:len(buf):len(buf)], len(es))
			res.Notifications += len(es)
		}
		res.Messages = h.added
		if err := h.fileTerms(ctx, tx); err != nil {
			return err
		}
		if _, err := insertInbox.exec(ctx, tx, rows); err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
		return recordQueued(ctx, tx, slices.Sorted(maps.Keys(kinds)), now)
	})
	if err != nil {
		return store.EnqueueResult{}, fmt.Errorf("enqueue: %w", err)
	}
	s.whys.keep(whys.added)
	return res, nil
}

// entries is a's matches as inbox entries: one per destination (the
// first filter's), none for a destination deleted since the caller's
// filter snapshot, and those of a one-shot filter only if this message
// is the one that uses it up.
func (s *SQLite) entries(ctx context.Context, tx *sql.Tx, whys *whyIDs, a store.Accepted, live map[int64]string, now int64, res *store.EnqueueResult) ([]inboxEntry, error) {
	es := make([]inboxEntry, 0, len(a.Matches))
	seen := make(map[int64]bool, len(a.Matches))
	oneshot := map[int64]bool{} // one-shot filter → this message uses it up
	for _, m := range a.Matches {
		if _, ok := live[m.DestinationID]; !ok {
			// Its notification could never be sent.
			res.Dropped++
			continue
		}
		if seen[m.DestinationID] {
			continue
		}
		seen[m.DestinationID] = true
		if m.Oneshot {
			use, asked := oneshot[m.FilterID]
			if !asked {
				r, err := tx.ExecContext(ctx, useOneshot, now, m.FilterID)
				if err != nil {
					return nil, fmt.Errorf("use one-shot filter %d: %w", m.FilterID, err)
				}
				n, _ := r.RowsAffected()
				use = n == 1 // another message used it up first otherwise
				oneshot[m.FilterID] = use
				if use {
					res.UsedUp = append(res.UsedUp, m.FilterID)
				}
			}
			if !use {
				continue
			}
		}
		why, err := whys.id(ctx, tx, m.Why)
		if err != nil {
			return nil, fmt.Errorf("store why: %w", err)
		}
		es = append(es, inboxEntry{userID: m.UserID, destID: m.DestinationID, filterID: m.FilterID, whyID: why})
	}
	if len(es) > maxInboxMatches {
		// No message has a million destinations; if one did, the rest
		// are dropped rather than the message refused for ever.
		res.Dropped += len(es) - maxInboxMatches
		es = es[:maxInboxMatches]
	}
	return es, nil
}

// queuedBefore is which of batch's messages with matches were queued
// before: re-processed after a crash, or come twice.
func queuedBefore(ctx context.Context, tx *sql.Tx, batch []store.Accepted) (map[string]bool, error) {
	var keys []string
	for _, a := range batch {
		if len(a.Matches) > 0 {
			keys = append(keys, a.Message.Key)
		}
	}
	before := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return before, nil
	}
	rows, err := tx.QueryContext(ctx, selectQueuedBefore, jsonIDs(keys))
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var key string
		err := row.Scan(&key)
		before[key] = true
		return struct{}{}, err
	})
	if err != nil {
		return nil, fmt.Errorf("find messages queued before: %w", err)
	}
	return before, nil
}

// liveDestinations is the kind of each destination that exists, read
// again only when the settings version moved (deleting a destination
// moves it): one query per batch instead of a lookup per match.
func (s *SQLite) liveDestinations(ctx context.Context, tx *sql.Tx) (map[int64]string, error) {
	var version int64
	if err := tx.QueryRowContext(ctx, selectSettingsVersion).Scan(&version); err != nil {
		return nil, fmt.Errorf("read settings version: %w", err)
	}
	c := &s.live
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kinds != nil && c.version == version {
		return c.kinds, nil
	}
	rows, err := tx.QueryContext(ctx, selectDestinationKinds)
	kinds := map[int64]string{}
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var id int64
		var kind string
		err := row.Scan(&id, &kind)
		kinds[id] = kind
		return struct{}{}, err
	})
	if err != nil {
		return nil, fmt.Errorf("find live destinations: %w", err)
	}
	c.kinds, c.version = kinds, version
	return kinds, nil
}

// liveCache is the destinations' kinds at one settings version.
type liveCache struct {
	mu      sync.Mutex
	version int64
	kinds   map[int64]string
}

// Claim implements Queue: notification rows that are due first (retries,
// requeued ones), then entries of the inbox, which become rows here.
func (s *SQLite) Claim(ctx context.Context, destinationID int64, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	return s.ClaimOnly(ctx, destinationID, store.FilterSet{Except: true}, now, lease, limit)
}

// ClaimOnly implements Queue.
func (s *SQLite) ClaimOnly(ctx context.Context, destinationID int64, only store.FilterSet, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	q := &s.inbox
	q.mu.Lock()
	defer q.mu.Unlock()
	var ns []store.Notification
	var done func()
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, claimNotifications, ms(now.Add(lease)), destinationID, ms(now), jsonIDs(only.IDs), only.Except, limit)
		if ns, err = collect(rows, err, scanNotification); err != nil {
			return err
		}
		if err := q.refresh(ctx, tx); err != nil {
			return err
		}
		more, d, err := q.claimInbox(ctx, tx, destinationID, only, ms(now.Add(lease)), limit-len(ns))
		ns, done = append(ns, more...), d
		return err
	})
	if err != nil {
		q.reset() // it may have read rows the rollback took back
		return nil, fmt.Errorf("claim notifications of destination %d: %w", destinationID, err)
	}
	done()
	return ns, nil
}

// Pending implements Queue.
func (s *SQLite) Pending(ctx context.Context, now time.Time) ([]store.Pending, error) {
	rows, err := s.r.QueryContext(ctx, selectPending, ms(now))
	type filterRow struct {
		dest int64
		store.FilterPending
	}
	byFilter, err := collect(rows, err, func(row scanner) (filterRow, error) {
		var r filterRow
		var oldest int64
		err := row.Scan(&r.dest, &r.FilterID, &r.Due, &oldest)
		r.Oldest = fromMS(oldest)
		return r, err
	})
	var ps []store.Pending
	for _, r := range byFilter {
		if len(ps) == 0 || ps[len(ps)-1].DestinationID != r.dest {
			ps = append(ps, store.Pending{DestinationID: r.dest})
		}
		ps[len(ps)-1].ByFilter = addPending(ps[len(ps)-1].ByFilter, r.FilterPending)
	}
	if err != nil {
		return nil, fmt.Errorf("read pending notifications: %w", err)
	}
	version, err := s.SettingsVersion(ctx)
	if err != nil {
		return nil, err
	}
	q := &s.inbox
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.refresh(ctx, s.r); err != nil {
		return nil, err
	}
	if err := s.dropDeparted(ctx, version); err != nil {
		return nil, err
	}
	return q.pending(ps), nil
}

// dropDeparted takes the inbox entries of deleted destinations out of the
// inbox, which would otherwise keep them, and their messages, for ever.
// s.inbox.mu is held.
func (s *SQLite) dropDeparted(ctx context.Context, version int64) error {
	q := &s.inbox
	gone, err := q.departed(ctx, s.r, version)
	if err != nil || len(gone) == 0 {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, dest := range gone {
			if err := settle(ctx, tx, entryIDs(q.byDest[dest])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		q.reset()
		return fmt.Errorf("drop notifications of deleted destinations: %w", err)
	}
	for _, dest := range gone {
		q.forget(dest, len(q.byDest[dest]))
	}
	return nil
}

// MarkSent implements Queue.
func (s *SQLite) MarkSent(ctx context.Context, ids []int64, now time.Time) error {
	return s.outcome(ctx, ids, store.StateSent, "", now, markSent, ms(now))
}

// MarkSentNoted is MarkSent with a detail for the delivery log: why
// they are marked sent (delivery's sent journal, replayed after a crash).
func (s *SQLite) MarkSentNoted(ctx context.Context, ids []int64, detail string, now time.Time) error {
	return s.outcome(ctx, ids, store.StateSent, detail, now, markSent, ms(now))
}

// MarkFailed implements Queue.
func (s *SQLite) MarkFailed(ctx context.Context, ids []int64, reason string, retryAt, now time.Time) error {
	return s.outcome(ctx, ids, store.StateFailed, reason, now, markFailed, ms(retryAt), reason)
}

// MarkDead implements Queue.
func (s *SQLite) MarkDead(ctx context.Context, ids []int64, reason string, now time.Time) error {
	return s.outcome(ctx, ids, store.StateDead, reason, now, markDead, reason)
}

// outcome logs state for ids and runs update (whose last parameter is the
// id list) in one transaction.
func (s *SQLite) outcome(ctx context.Context, ids []int64, state store.State, detail string, now time.Time, update string, args ...any) error {
	list := jsonIDs(ids)
	var adopted []int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, logOutcome, string(state), detail, ms(now), list)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n < int64(len(ids)) {
			// Some were never claimed: they get their rows now.
			if adopted, err = adopt(ctx, tx, ids, ms(now)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, logOutcome, string(state), detail, ms(now), jsonIDs(adopted)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, update, append(args, list)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark %d notifications %s: %w", len(ids), state, err)
	}
	if len(adopted) > 0 {
		s.inbox.drop(adopted)
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
		if _, err := tx.ExecContext(ctx, logOutcome, string(store.StateQueued), "requeued", ms(now), dead); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, requeue, ms(now), dead)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return recordQueued(ctx, tx, []string{""}, ms(now))
	})
	if err != nil {
		return 0, fmt.Errorf("requeue dead notifications: %w", err)
	}
	return n, nil
}

// QueueDepth implements Queue.
func (s *SQLite) QueueDepth(ctx context.Context) (map[store.State]int64, error) {
	rows, err := s.r.QueryContext(ctx, selectQueueDepth)
	type count struct {
		state store.State
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
	depth := map[store.State]int64{store.StateQueued: 0, store.StateSent: 0, store.StateFailed: 0, store.StateDead: 0}
	var all int64
	for _, c := range counts {
		if c.state == "all" {
			all = c.n
			continue
		}
		depth[c.state] = c.n
	}
	depth[store.StateSent] = all - depth[store.StateQueued] - depth[store.StateFailed] - depth[store.StateDead]
	var waiting int64
	if err := s.r.QueryRowContext(ctx, selectInboxWaiting).Scan(&waiting); err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	depth[store.StateQueued] += waiting
	return depth, nil
}

// ListNotifications implements Queue: the notification rows and the
// inbox's entries, newest (highest id) first.
func (s *SQLite) ListNotifications(ctx context.Context, q store.NotificationQuery) ([]store.Notification, error) {
	rows, err := s.r.QueryContext(ctx, listNotifications, q.User, q.Max())
	ns, err := collect(rows, err, scanListedNotification)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	waiting, err := s.listInbox(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	ns = append(ns, waiting...)
	slices.SortFunc(ns, func(a, b store.Notification) int { return cmp.Compare(b.ID, a.ID) })
	return ns[:min(len(ns), q.Max())], nil
}

// DeliveryLog implements Queue.
func (s *SQLite) DeliveryLog(ctx context.Context, q store.NotificationQuery) ([]store.LogEntry, error) {
	rows, err := s.r.QueryContext(ctx, listDeliveryLog, q.User, q.Max())
	entries, err := collect(rows, err, func(row scanner) (store.LogEntry, error) {
		var e store.LogEntry
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

func scanNotification(row scanner) (store.Notification, error) {
	return scanNotificationRow(row, false)
}

func scanListedNotification(row scanner) (store.Notification, error) {
	return scanNotificationRow(row, true)
}

// scanNotificationRow scans notificationColumns, and with listed the
// names listNotifications adds.
func scanNotificationRow(row scanner, listed bool) (store.Notification, error) {
	var n store.Notification
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
