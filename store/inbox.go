package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// The inbox is how the queue holds notifications not yet tried: one row
// per message with all its matches (schemaV6), written by Enqueue in the
// same transaction as the message's history row. Claim turns entries into
// notification rows, which is where they live from their first attempt
// on (sent, failed, dead, requeued: the rest of queue.go).

// inboxShift makes notification ids: an inbox row's id shifted left by
// it, plus the match's position in the row. 2^20 matches per message is
// far more than destinations there are; 2^33 messages keep ids below
// 2^53, which JSON numbers hold exactly.
const inboxShift = 20

// maxInboxMatches is how many matches an inbox row holds.
const maxInboxMatches = 1 << inboxShift

// inboxEntry is one queued, not yet claimed notification.
type inboxEntry struct {
	id       int64 // the notification id it will have
	msgKey   string
	userID   int64
	destID   int64
	filterID int64
	whyID    int64
	created  int64 // ms
}

// inboxFormat is the first byte of an encoded match list.
const inboxFormat = 1

// encodeMatches is an inbox row's matches column: per match its
// destination, user, filter and why ids as uvarints, in order.
func encodeMatches(buf []byte, ms []inboxEntry) []byte {
	buf = append(buf, inboxFormat)
	for _, m := range ms {
		buf = binary.AppendUvarint(buf, uint64(m.destID))
		buf = binary.AppendUvarint(buf, uint64(m.userID))
		buf = binary.AppendUvarint(buf, uint64(m.filterID))
		buf = binary.AppendUvarint(buf, uint64(m.whyID))
	}
	return buf
}

// decodeMatches is the inverse of encodeMatches for inbox row id, with
// each entry's notification id, message key and creation time filled in.
func decodeMatches(id int64, msgKey string, created int64, b []byte) ([]inboxEntry, error) {
	if len(b) == 0 || b[0] != inboxFormat {
		return nil, fmt.Errorf("decode inbox row %d: unknown format", id)
	}
	b = b[1:]
	var out []inboxEntry
	for i := int64(0); len(b) > 0; i++ {
		var v [4]uint64
		for j := range v {
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("decode inbox row %d: match %d truncated", id, i)
			}
			v[j], b = x, b[n:]
		}
		out = append(out, inboxEntry{id: id<<inboxShift | i, msgKey: msgKey, created: created,
			destID: int64(v[0]), userID: int64(v[1]), filterID: int64(v[2]), whyID: int64(v[3])})
	}
	return out, nil
}

// inboxRow is an inbox row's id from a notification id, and whether the id
// is one an inbox row gave (older notifications have small ids).
func inboxRow(notificationID int64) (int64, bool) {
	row := notificationID >> inboxShift
	return row, row > 0
}

// inboxQueue is the delivery side's view of the inbox: the waiting
// entries by destination, read from the database as rows appear. Each
// process that delivers has its own; it is a cache of the table, rebuilt
// from it whenever it may be wrong.
type inboxQueue struct {
	mu      sync.Mutex
	loaded  bool
	after   int64                  // the highest inbox row read
	byDest  map[int64][]inboxEntry // oldest first
	version int64                  // the settings version destinations were last checked at
}

// reset drops the cache: the next use reads the table again.
func (q *inboxQueue) reset() {
	q.loaded, q.after, q.byDest, q.version = false, 0, nil, 0
}

// refresh reads the inbox rows added since the last read (all of them
// the first time, leaving out entries claimed already). q.mu is held.
func (q *inboxQueue) refresh(ctx context.Context, db querier) error {
	first := !q.loaded
	if first {
		q.byDest = map[int64][]inboxEntry{}
	}
	rows, err := db.QueryContext(ctx, selectInboxAfter, q.after)
	type row struct {
		id      int64
		entries []inboxEntry
	}
	read, err := collect(rows, err, func(r scanner) (row, error) {
		var id, created int64
		var key string
		var matches []byte
		if err := r.Scan(&id, &key, &created, &matches); err != nil {
			return row{}, err
		}
		es, err := decodeMatches(id, key, created, matches)
		return row{id, es}, err
	})
	if err != nil {
		return fmt.Errorf("read inbox: %w", err)
	}
	for _, r := range read {
		es := r.entries
		if first {
			if es, err = unclaimed(ctx, db, r.id, es); err != nil {
				return err
			}
		}
		for _, e := range es {
			q.byDest[e.destID] = append(q.byDest[e.destID], e)
		}
		q.after = r.id
	}
	q.loaded = true
	return nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// unclaimed is es without the entries of inbox row id that have a
// notification row already.
func unclaimed(ctx context.Context, db querier, id int64, es []inboxEntry) ([]inboxEntry, error) {
	rows, err := db.QueryContext(ctx, selectClaimedOfRow, id<<inboxShift, (id+1)<<inboxShift)
	claimed, err := collect(rows, err, func(r scanner) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	})
	if err != nil {
		return nil, fmt.Errorf("read claims of inbox row %d: %w", id, err)
	}
	if len(claimed) == 0 {
		return es, nil
	}
	return slices.DeleteFunc(es, func(e inboxEntry) bool { return slices.Contains(claimed, e.id) }), nil
}

// pending adds the waiting entries to ps, the per-destination summary of
// the notification rows that are due.
func (q *inboxQueue) pending(ps []Pending) []Pending {
	at := make(map[int64]int, len(ps))
	for i, p := range ps {
		at[p.DestinationID] = i
	}
	for dest, es := range q.byDest {
		if len(es) == 0 {
			continue
		}
		oldest := fromMS(es[0].created)
		i, ok := at[dest]
		if !ok {
			ps = append(ps, Pending{DestinationID: dest, Due: len(es), Oldest: oldest})
			continue
		}
		ps[i].Due += len(es)
		if oldest.Before(ps[i].Oldest) {
			ps[i].Oldest = oldest
		}
	}
	slices.SortFunc(ps, func(a, b Pending) int { return int(a.DestinationID - b.DestinationID) })
	return ps
}

// forget drops the first n entries of dest, claimed or gone. q.mu is
// held.
func (q *inboxQueue) forget(dest int64, n int) {
	es := q.byDest[dest]
	if n == len(es) {
		delete(q.byDest, dest)
	} else {
		q.byDest[dest] = es[n:]
	}
}

// rowsOf is how many of es each inbox row holds.
func rowsOf(es []inboxEntry) map[int64]int {
	lost := map[int64]int{}
	for _, e := range es {
		row, _ := inboxRow(e.id)
		lost[row]++
	}
	return lost
}

// settle records in tx that the inbox rows lost entries: each row's
// waiting count goes down, and a row with none left goes; two statements
// however many rows, since a claim of a digest spans many messages.
func settle(ctx context.Context, tx *sql.Tx, lost map[int64]int) error {
	if len(lost) == 0 {
		return nil
	}
	pairs := make([][2]int64, 0, len(lost))
	for row, n := range lost {
		pairs = append(pairs, [2]int64{row, int64(n)})
	}
	list := jsonIDs(pairs)
	if _, err := tx.ExecContext(ctx, updateInboxWaiting, list); err != nil {
		return fmt.Errorf("update %d inbox rows: %w", len(lost), err)
	}
	if _, err := tx.ExecContext(ctx, deleteInboxDone, list); err != nil {
		return fmt.Errorf("delete done inbox rows: %w", err)
	}
	return nil
}

// claimInbox claims up to limit waiting entries of dest in tx: their
// notification rows are made, leased until leaseMS. q.mu is held; the
// cache changes only through done, to call once tx committed.
func (q *inboxQueue) claimInbox(ctx context.Context, tx *sql.Tx, dest int64, leaseMS int64, limit int) (ns []Notification, done func(), err error) {
	es := q.byDest[dest]
	if len(es) == 0 || limit <= 0 {
		return nil, func() {}, nil
	}
	take := min(limit, len(es))
	var up bool
	if err := tx.QueryRowContext(ctx, selectDestinationUp, dest).Scan(&up); err != nil {
		return nil, nil, fmt.Errorf("check destination %d: %w", dest, err)
	}
	if !up {
		// Deleted since: its entries can never be sent.
		take = len(es)
		if err := settle(ctx, tx, rowsOf(es)); err != nil {
			return nil, nil, err
		}
		return nil, func() { q.forget(dest, take) }, nil
	}
	if ns, err = materializeEntries(ctx, tx, es[:take], leaseMS); err != nil {
		return nil, nil, fmt.Errorf("claim inbox entries: %w", err)
	}
	// The cache follows only once tx commits.
	return ns, func() { q.forget(dest, take) }, nil
}

// materializeEntries makes the notification rows of es, leased until
// leaseMS, and counts them out of their inbox rows. An entry whose row
// exists already (made by another claim, which counted it) is left out.
func materializeEntries(ctx context.Context, tx *sql.Tx, es []inboxEntry, leaseMS int64) ([]Notification, error) {
	args := make([]any, 0, len(es)*materialize.width)
	for _, e := range es {
		args = append(args, e.id, e.msgKey, e.userID, e.destID, e.filterID, leaseMS, e.whyID, e.created)
	}
	rows, err := tx.QueryContext(ctx, materialize.sql(len(es)), args...)
	ns, err := collect(rows, err, scanNotification)
	if err != nil {
		return nil, err
	}
	made := map[int64]int{}
	for _, n := range ns {
		row, _ := inboxRow(n.ID)
		made[row]++
	}
	return ns, settle(ctx, tx, made)
}

// adopt makes the notification rows of those of ids that are still inbox
// entries, so that an outcome can be recorded for a notification nobody
// claimed (an admin's, or a test's). It says which it made; the caller
// drops them from the cache once tx commits.
func adopt(ctx context.Context, tx *sql.Tx, ids []int64, nowMS int64) ([]int64, error) {
	byRow := map[int64][]int64{}
	for _, id := range ids {
		if row, ok := inboxRow(id); ok {
			byRow[row] = append(byRow[row], id)
		}
	}
	var made []int64
	for row, want := range byRow {
		var id, created int64
		var key string
		var matches []byte
		err := tx.QueryRowContext(ctx, selectInboxByID, row).Scan(&id, &key, &created, &matches)
		if errors.Is(err, sql.ErrNoRows) {
			continue // claimed, all of it
		}
		if err != nil {
			return nil, fmt.Errorf("read inbox row %d: %w", row, err)
		}
		es, err := decodeMatches(id, key, created, matches)
		if err != nil {
			return nil, err
		}
		es = slices.DeleteFunc(es, func(e inboxEntry) bool { return !slices.Contains(want, e.id) })
		if len(es) == 0 {
			continue
		}
		ns, err := materializeEntries(ctx, tx, es, nowMS)
		if err != nil {
			return nil, fmt.Errorf("adopt inbox entries: %w", err)
		}
		for _, n := range ns {
			made = append(made, n.ID)
		}
	}
	return made, nil
}

// drop takes the entries with ids out of the cache.
func (q *inboxQueue) drop(ids []int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for dest, es := range q.byDest {
		es = slices.DeleteFunc(es, func(e inboxEntry) bool { return slices.Contains(ids, e.id) })
		if len(es) == 0 {
			delete(q.byDest, dest)
		} else {
			q.byDest[dest] = es
		}
	}
}

// departed is the destinations with waiting entries that were deleted.
// They are looked for only when the settings changed (a deleted
// destination bumps the version). q.mu is held.
func (q *inboxQueue) departed(ctx context.Context, db querier, version int64) ([]int64, error) {
	if version == q.version || len(q.byDest) == 0 {
		q.version = version
		return nil, nil
	}
	ids := make([]int64, 0, len(q.byDest))
	for id := range q.byDest {
		ids = append(ids, id)
	}
	rows, err := db.QueryContext(ctx, selectLiveOf, jsonIDs(ids))
	live, err := collect(rows, err, func(r scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("find live destinations: %w", err)
	}
	q.version = version
	up := make(map[int64]bool, len(live))
	for _, id := range live {
		up[id] = true
	}
	return slices.DeleteFunc(ids, func(id int64) bool { return up[id] }), nil
}

// listInbox is the inbox's waiting entries as notifications, newest
// first, for q's user (everyone's when q.User is ""), at most limit(q).
func (s *SQLite) listInbox(ctx context.Context, q NotificationQuery) ([]Notification, error) {
	var user int64
	if q.User != "" {
		err := s.r.QueryRowContext(ctx, selectUserID, q.User).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("find user %s: %w", q.User, err)
		}
	}
	rows, err := s.r.QueryContext(ctx, selectInboxNewest)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	defer rows.Close()
	names := inboxNames{s: s}
	var out []Notification
	for len(out) < limit(q) && rows.Next() {
		var id, created int64
		var key string
		var matches []byte
		if err := rows.Scan(&id, &key, &created, &matches); err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		es, err := decodeMatches(id, key, created, matches)
		if err == nil {
			es, err = unclaimed(ctx, s.r, id, es)
		}
		if err != nil {
			return nil, err
		}
		for _, e := range slices.Backward(es) {
			if user != 0 && e.userID != user || len(out) == limit(q) {
				continue
			}
			n, err := names.notification(ctx, e)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return out, nil
}

// inboxByID is the waiting inbox entry with notification id id
// (ErrNotFound if there is none).
func (s *SQLite) inboxByID(ctx context.Context, id int64) (Notification, error) {
	row, ok := inboxRow(id)
	if !ok {
		return Notification{}, ErrNotFound
	}
	var rowID, created int64
	var key string
	var matches []byte
	err := s.r.QueryRowContext(ctx, selectInboxByID, row).Scan(&rowID, &key, &created, &matches)
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, fmt.Errorf("read inbox row %d: %w", row, err)
	}
	es, err := decodeMatches(rowID, key, created, matches)
	if err != nil {
		return Notification{}, err
	}
	at := id - row<<inboxShift
	if at >= int64(len(es)) {
		return Notification{}, ErrNotFound
	}
	names := inboxNames{s: s}
	return names.notification(ctx, es[at])
}

// inboxNames makes inbox entries into the notifications listings show,
// with the names and whys each entry refers to read once per listing.
type inboxNames struct {
	s     *SQLite
	names map[[3]int64][3]string // (user, destination, filter) → names
	whys  map[int64][]byte
}

func (x *inboxNames) notification(ctx context.Context, e inboxEntry) (Notification, error) {
	if x.names == nil {
		x.names, x.whys = map[[3]int64][3]string{}, map[int64][]byte{}
	}
	k := [3]int64{e.userID, e.destID, e.filterID}
	names, ok := x.names[k]
	if !ok {
		err := x.s.r.QueryRowContext(ctx, selectNamesOf, e.userID, e.destID, e.filterID).Scan(&names[0], &names[1], &names[2])
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Notification{}, fmt.Errorf("name notification %d: %w", e.id, err)
		}
		x.names[k] = names
	}
	why, ok := x.whys[e.whyID]
	if !ok && e.whyID != 0 {
		var text string
		err := x.s.r.QueryRowContext(ctx, selectWhyText, e.whyID).Scan(&text)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Notification{}, fmt.Errorf("read why of notification %d: %w", e.id, err)
		}
		why = []byte(text)
		x.whys[e.whyID] = why
	}
	filter := e.filterID
	if names[2] == "" {
		filter = 0 // deleted since
	}
	return Notification{
		ID: e.id, MsgKey: e.msgKey, UserID: e.userID, DestinationID: e.destID, FilterID: filter,
		State: StateQueued, NextAttempt: fromMS(e.created), Why: why, Created: fromMS(e.created),
		UserName: names[0], Destination: names[1], FilterName: names[2],
	}, nil
}
