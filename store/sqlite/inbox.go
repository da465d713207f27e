package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"hark/store"
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
// inboxRow is an inbox row's id from a notification id, and whether the id
// is one an inbox row gave (older notifications have small ids).
func inboxRow(notificationID int64) (int64, bool) {
	row := notificationID >> inboxShift
	return row, row > 0
}

// position is a notification id's place among its inbox row's matches.
func position(notificationID int64) int64 {
	return notificationID & (maxInboxMatches - 1)
}

// scanInboxRow reads inboxColumns: the row's id and its waiting entries,
// those whose positions are not settled.
func scanInboxRow(r scanner) (int64, []inboxEntry, error) {
	var id, created int64
	var key, settled string
	var matches []byte
	if err := r.Scan(&id, &key, &created, &matches, &settled); err != nil {
		return 0, nil, err
	}
	es, err := decodeMatches(id, key, created, matches)
	if err != nil {
		return 0, nil, err
	}
	var done []int64
	if err := json.Unmarshal([]byte(settled), &done); err != nil {
		return 0, nil, fmt.Errorf("decode inbox row %d: settled: %w", id, err)
	}
	if len(done) > 0 {
		es = slices.DeleteFunc(es, func(e inboxEntry) bool { return slices.Contains(done, position(e.id)) })
	}
	return id, es, nil
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
	// split is, per destination, byDest's entries summed up by filter
	// (see waitingByFilter), kept while entries are only added, so a
	// poll reads only those added since.
	split map[int64]*filterSplit
}

// filterSplit is the first n waiting entries of a destination, summed up
// by filter.
type filterSplit struct {
	n      int
	counts []filterCount
}

type filterCount struct{ filter, n, oldest int64 }

// reset drops the cache: the next use reads the table again.
func (q *inboxQueue) reset() {
	q.loaded, q.after, q.byDest, q.version, q.split = false, 0, nil, 0, nil
}

// refresh reads the inbox rows added since the last read (all of them
// the first time). On an error the cache is dropped, so that no row read
// halfway is skipped. q.mu is held.
func (q *inboxQueue) refresh(ctx context.Context, db querier) (err error) {
	defer func() {
		if err != nil {
			q.reset()
		}
	}()
	if !q.loaded {
		q.byDest = map[int64][]inboxEntry{}
	}
	rows, err := db.QueryContext(ctx, selectInboxAfter, q.after)
	type row struct {
		id      int64
		entries []inboxEntry
	}
	read, err := collect(rows, err, func(r scanner) (row, error) {
		id, es, err := scanInboxRow(r)
		return row{id, es}, err
	})
	if err != nil {
		return fmt.Errorf("read inbox: %w", err)
	}
	for _, r := range read {
		for _, e := range r.entries {
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

// pending adds the waiting entries to ps, the per-destination summary of
// the notification rows that are due (by filter only), and sums each
// destination's filters up.
func (q *inboxQueue) pending(ps []store.Pending) []store.Pending {
	at := make(map[int64]int, len(ps))
	for i, p := range ps {
		at[p.DestinationID] = i
	}
	for dest, es := range q.byDest {
		if len(es) == 0 {
			continue
		}
		i, ok := at[dest]
		if !ok {
			i = len(ps)
			ps = append(ps, store.Pending{DestinationID: dest})
		}
		for _, f := range q.waitingByFilter(dest, es) {
			ps[i].ByFilter = addPending(ps[i].ByFilter, f)
		}
	}
	for i := range ps {
		p := &ps[i]
		slices.SortFunc(p.ByFilter, func(a, b store.FilterPending) int { return cmp.Compare(a.FilterID, b.FilterID) })
		p.Due, p.Oldest = 0, time.Time{}
		for _, f := range p.ByFilter {
			p.Due += f.Due
			if p.Oldest.IsZero() || f.Oldest.Before(p.Oldest) {
				p.Oldest = f.Oldest
			}
		}
	}
	slices.SortFunc(ps, func(a, b store.Pending) int { return cmp.Compare(a.DestinationID, b.DestinationID) })
	return ps
}

// waitingByFilter sums dest's waiting entries es, oldest first, up by
// filter: a destination holding a daily digest can have a great many
// waiting, and delivery asks every poll, so the sums are kept and only
// entries added since are read (anything that takes entries away drops
// them). The first entry of a filter is its oldest. q.mu is held.
func (q *inboxQueue) waitingByFilter(dest int64, es []inboxEntry) []store.FilterPending {
	if q.split == nil {
		q.split = map[int64]*filterSplit{}
	}
	sp := q.split[dest]
	if sp == nil || sp.n > len(es) {
		sp = &filterSplit{}
		q.split[dest] = sp
	}
	last := -1
	for _, e := range es[sp.n:] {
		if last < 0 || sp.counts[last].filter != e.filterID {
			last = slices.IndexFunc(sp.counts, func(c filterCount) bool { return c.filter == e.filterID })
			if last < 0 {
				sp.counts = append(sp.counts, filterCount{filter: e.filterID, oldest: e.created})
				last = len(sp.counts) - 1
			}
		}
		sp.counts[last].n++
	}
	sp.n = len(es)
	out := make([]store.FilterPending, len(sp.counts))
	for i, c := range sp.counts {
		out[i] = store.FilterPending{FilterID: c.filter, Due: int(c.n), Oldest: fromMS(c.oldest)}
	}
	return out
}

// addPending adds f to the filter summary fs, to its filter's entry if
// it has one.
func addPending(fs []store.FilterPending, f store.FilterPending) []store.FilterPending {
	for i := range fs {
		if fs[i].FilterID == f.FilterID {
			fs[i].Due += f.Due
			if f.Oldest.Before(fs[i].Oldest) {
				fs[i].Oldest = f.Oldest
			}
			return fs
		}
	}
	return append(fs, f)
}

// forget drops the first n entries of dest, claimed or gone. q.mu is
// held.
func (q *inboxQueue) forget(dest int64, n int) {
	delete(q.split, dest)
	es := q.byDest[dest]
	if n == len(es) {
		delete(q.byDest, dest)
	} else {
		q.byDest[dest] = es[n:]
	}
}

// forgetIDs drops the entries of dest with ids, claimed. q.mu is held.
func (q *inboxQueue) forgetIDs(dest int64, ids map[int64]bool) {
	delete(q.split, dest)
	es := slices.DeleteFunc(slices.Clone(q.byDest[dest]), func(e inboxEntry) bool { return ids[e.id] })
	if len(es) == 0 {
		delete(q.byDest, dest)
	} else {
		q.byDest[dest] = es
	}
}

// settle records in tx that the entries with ids are done with (claimed,
// or their destination is gone): each inbox row's settled positions grow
// and its waiting count shrinks by as many, and a row with none waiting
// goes. Two statements however many rows, since a digest's claim spans
// many messages.
func settle(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	byRow := map[int64][]int64{}
	for _, id := range ids {
		row, _ := inboxRow(id)
		byRow[row] = append(byRow[row], position(id))
	}
	lost := make([][2]any, 0, len(byRow))
	for row, ps := range byRow {
		lost = append(lost, [2]any{row, ps})
	}
	list := jsonIDs(lost)
	if _, err := tx.ExecContext(ctx, settleInbox, list); err != nil {
		return fmt.Errorf("settle %d inbox rows: %w", len(byRow), err)
	}
	if _, err := tx.ExecContext(ctx, deleteInboxDone, list); err != nil {
		return fmt.Errorf("delete done inbox rows: %w", err)
	}
	return nil
}

// entryIDs is the notification ids of es.
func entryIDs(es []inboxEntry) []int64 {
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.id
	}
	return ids
}

// claimInbox claims up to limit waiting entries of dest in tx: their
// notification rows are made, leased until leaseMS. An entry queued for
// a destination since deleted, whose id was given to a newer one, is
// settled without a row. q.mu is held; the cache changes only through
// done, to call once tx committed.
func (q *inboxQueue) claimInbox(ctx context.Context, tx *sql.Tx, dest int64, only store.FilterSet, leaseMS int64, limit int) (ns []store.Notification, done func(), err error) {
	es := q.byDest[dest]
	if len(es) == 0 || limit <= 0 {
		return nil, func() {}, nil
	}
	all := only.Except && len(only.IDs) == 0
	var picked []inboxEntry // of only's filters, when not all
	if !all {
		for _, e := range es {
			if only.Has(e.filterID) {
				picked = append(picked, e)
				if len(picked) == limit {
					break
				}
			}
		}
		if len(picked) == 0 {
			return nil, func() {}, nil
		}
	}
	take := min(limit, len(es))
	var owner, since int64
	err = tx.QueryRowContext(ctx, selectDestinationOf, dest).Scan(&owner, &since)
	if errors.Is(err, sql.ErrNoRows) {
		// Deleted since: its entries can never be sent.
		if err := settle(ctx, tx, entryIDs(es)); err != nil {
			return nil, nil, err
		}
		return nil, func() { q.forget(dest, len(es)) }, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read destination %d: %w", dest, err)
	}
	claimed := es[:take]
	if !all {
		claimed = picked
	}
	var send, stale []inboxEntry
	for _, e := range claimed {
		if e.userID != owner || e.created < since {
			stale = append(stale, e)
		} else {
			send = append(send, e)
		}
	}
	if err := settle(ctx, tx, entryIDs(stale)); err != nil {
		return nil, nil, err
	}
	if ns, err = materializeEntries(ctx, tx, send, leaseMS); err != nil {
		return nil, nil, fmt.Errorf("claim inbox entries: %w", err)
	}
	if !all {
		ids := make(map[int64]bool, len(claimed))
		for _, e := range claimed {
			ids[e.id] = true
		}
		return ns, func() { q.forgetIDs(dest, ids) }, nil
	}
	return ns, func() { q.forget(dest, take) }, nil
}

// materializeChunk is how many rows one statement of materializeEntries
// makes: SQLite takes at most 32766 parameters.
const materializeChunk = 256

// materializeEntries makes the notification rows of es, leased until
// leaseMS, and settles them in their inbox rows. An entry whose row
// exists already (made by another claim, which settled it) is left out.
func materializeEntries(ctx context.Context, tx *sql.Tx, es []inboxEntry, leaseMS int64) ([]store.Notification, error) {
	var ns []store.Notification
	for chunk := range slices.Chunk(es, materializeChunk) {
		args := make([]any, 0, len(chunk)*materialize.width)
		for _, e := range chunk {
			args = append(args, e.id, e.msgKey, e.userID, e.destID, e.filterID, e.userID, e.created, leaseMS, e.whyID, e.created)
		}
		rows, err := tx.QueryContext(ctx, materialize.sql(len(chunk)), args...)
		made, err := collect(rows, err, scanNotification)
		if err != nil {
			return nil, err
		}
		ns = append(ns, made...)
	}
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ns, settle(ctx, tx, ids)
}

// adopt makes the notification rows of those of ids that are still
// waiting inbox entries with their destination, so that an outcome can
// be recorded for a notification nobody claimed (an admin's, or a
// test's). It says which it made; the caller drops them from the cache
// once tx commits.
func adopt(ctx context.Context, tx *sql.Tx, ids []int64, nowMS int64) ([]int64, error) {
	byRow := map[int64][]int64{}
	for _, id := range ids {
		if row, ok := inboxRow(id); ok {
			byRow[row] = append(byRow[row], id)
		}
	}
	var made []int64
	for row, want := range byRow {
		_, es, err := scanInboxRow(tx.QueryRowContext(ctx, selectInboxByID, row))
		if errors.Is(err, sql.ErrNoRows) {
			continue // settled, all of it
		}
		if err != nil {
			return nil, fmt.Errorf("read inbox row %d: %w", row, err)
		}
		var keep []inboxEntry
		for _, e := range es {
			if !slices.Contains(want, e.id) {
				continue
			}
			var owner, since int64
			err := tx.QueryRowContext(ctx, selectDestinationOf, e.destID).Scan(&owner, &since)
			if errors.Is(err, sql.ErrNoRows) || err == nil && (owner != e.userID || e.created < since) {
				continue // its destination is gone: Pending settles it
			}
			if err != nil {
				return nil, fmt.Errorf("read destination %d: %w", e.destID, err)
			}
			keep = append(keep, e)
		}
		ns, err := materializeEntries(ctx, tx, keep, nowMS)
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
	q.split = nil
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
// first, for q's user (everyone's when q.User is ""), at most q.Max().
func (s *SQLite) listInbox(ctx context.Context, q store.NotificationQuery) ([]store.Notification, error) {
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
	var out []store.Notification
	for len(out) < q.Max() && rows.Next() {
		_, es, err := scanInboxRow(rows)
		if err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		for _, e := range slices.Backward(es) {
			if user != 0 && e.userID != user || len(out) == q.Max() {
				continue
			}
			n, ok, err := names.notification(ctx, e)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, n)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return out, nil
}

// inboxByID is the waiting inbox entry with notification id id
// (ErrNotFound if there is none).
func (s *SQLite) inboxByID(ctx context.Context, id int64) (store.Notification, error) {
	row, ok := inboxRow(id)
	if !ok {
		return store.Notification{}, store.ErrNotFound
	}
	_, es, err := scanInboxRow(s.r.QueryRowContext(ctx, selectInboxByID, row))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Notification{}, store.ErrNotFound
	}
	if err != nil {
		return store.Notification{}, fmt.Errorf("read inbox row %d: %w", row, err)
	}
	at := slices.IndexFunc(es, func(e inboxEntry) bool { return e.id == id })
	if at < 0 {
		return store.Notification{}, store.ErrNotFound
	}
	names := inboxNames{s: s}
	n, ok, err := names.notification(ctx, es[at])
	if err == nil && !ok {
		err = store.ErrNotFound
	}
	return n, err
}

// inboxNames makes inbox entries into the notifications listings show,
// with the names and whys each entry refers to read once per listing.
type inboxNames struct {
	s     *SQLite
	names map[[3]int64]*[3]string // (user, destination, filter) → names; nil: the destination is gone
	whys  map[int64][]byte
}

// notification is e as listings show it; false if its destination is
// gone (its entry waits only to be settled).
func (x *inboxNames) notification(ctx context.Context, e inboxEntry) (store.Notification, bool, error) {
	if x.names == nil {
		x.names, x.whys = map[[3]int64]*[3]string{}, map[int64][]byte{}
	}
	k := [3]int64{e.userID, e.destID, e.filterID}
	names, ok := x.names[k]
	if !ok {
		names = new([3]string)
		err := x.s.r.QueryRowContext(ctx, selectNamesOf, e.userID, e.destID, e.filterID, e.created).Scan(&names[0], &names[1], &names[2])
		if errors.Is(err, sql.ErrNoRows) {
			names = nil
		} else if err != nil {
			return store.Notification{}, false, fmt.Errorf("name notification %d: %w", e.id, err)
		}
		x.names[k] = names
	}
	if names == nil {
		return store.Notification{}, false, nil
	}
	why, ok := x.whys[e.whyID]
	if !ok && e.whyID != 0 {
		var text string
		err := x.s.r.QueryRowContext(ctx, selectWhyText, e.whyID).Scan(&text)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return store.Notification{}, false, fmt.Errorf("read why of notification %d: %w", e.id, err)
		}
		why = []byte(text)
		x.whys[e.whyID] = why
	}
	filter := e.filterID
	if names[2] == "" {
		filter = 0 // deleted since
	}
	return store.Notification{
		ID: e.id, MsgKey: e.msgKey, UserID: e.userID, DestinationID: e.destID, FilterID: filter,
		State: store.StateQueued, NextAttempt: fromMS(e.created), Why: why, Created: fromMS(e.created),
		UserName: names[0], Destination: names[1], FilterName: names[2],
	}, true, nil
}
