package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/destkind"
	"hark/schedule"
	"hark/store"
)

const filterColumns = `f.id, f.user_id, f.name, f.position, f.active, f.oneshot, f.created, f.updated,
	f.urgent, f.snooze_until, f.snooze_drop`

func scanFilter(row pgx.Row) (store.Filter, error) {
	var f store.Filter
	var created, updated, snooze pgtype.Timestamptz
	err := row.Scan(&f.ID, &f.UserID, &f.Name, &f.Position, &f.Active, &f.Oneshot, &created, &updated,
		&f.Urgent, &snooze, &f.SnoozeDrop)
	f.Created, f.Updated, f.SnoozeUntil = timeOf(created), timeOf(updated), timeOf(snooze)
	return f, err
}

// SaveFilter implements store.Filters.
func (s *Store) SaveFilter(ctx context.Context, f store.Filter) (store.Filter, error) {
	saved := f
	err := s.write(ctx, func(tx pgx.Tx) error {
		saved = f
		return saveFilter(ctx, tx, &saved, time.Now())
	})
	if err != nil {
		return f, fmt.Errorf("save filter %q: %w", f.Name, err)
	}
	return saved, nil
}

// ReplaceFilters implements store.Filters. A filter whose name the user
// already has keeps its ID, so the notifications it made still name it.
func (s *Store) ReplaceFilters(ctx context.Context, userID int64, fs []store.Filter) ([]store.Filter, error) {
	fs, _, err := s.ImportFilters(ctx, userID, nil, fs)
	return fs, err
}

// ImportFilters implements store.Filters.
func (s *Store) ImportFilters(ctx context.Context, userID int64, create []store.Destination, fs []store.Filter) ([]store.Filter, []store.Destination, error) {
	now := time.Now()
	var outF []store.Filter
	var outD []store.Destination
	err := s.write(ctx, func(tx pgx.Tx) (err error) {
		outD = slices.Clone(create)
		outF = slices.Clone(fs) // Imported copies what it changes
		for i := range outD {
			d := &outD[i]
			d.ID, d.UserID = 0, userID
			if d.Created.IsZero() {
				d.Created = now
			}
			d.Created = trunc(d.Created)
			if err := destkind.Check(d.Kind, d.Address); err != nil {
				return fmt.Errorf("destination %s:%s: %w", d.Kind, d.Address, err)
			}
			if err := saveDestination(ctx, tx, d); err != nil {
				return fmt.Errorf("destination %s:%s: %w", d.Kind, d.Address, err)
			}
		}
		for i := range outF {
			if outF[i], err = outF[i].Imported(outD); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT name, id FROM filters WHERE user_id = $1 FOR UPDATE`, userID)
		if err != nil {
			return err
		}
		ids := map[string]int64{}
		var name string
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&name, &id}, func() error { ids[name] = id; return nil }); err != nil {
			return err
		}
		for i := range outF {
			outF[i].ID, outF[i].UserID, outF[i].Position = ids[outF[i].Name], userID, i
			delete(ids, outF[i].Name)
		}
		var gone []int64
		for _, id := range ids {
			gone = append(gone, id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM filters WHERE id = ANY($1)`, gone); err != nil {
			return err
		}
		for i := range outF {
			if err := saveFilter(ctx, tx, &outF[i], now); err != nil {
				return fmt.Errorf("filter %q: %w", outF[i].Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("replace filters of user %d: %w", userID, err)
	}
	return outF, outD, nil
}

// saveFilter creates f (ID 0) or replaces it by ID within tx, rules,
// destinations and the way it is delivered included. A mode for a
// destination f does not send to is not kept.
func saveFilter(ctx context.Context, tx pgx.Tx, f *store.Filter, now time.Time) error {
	if f.Created.IsZero() {
		f.Created = now
	}
	f.Created, f.Updated = trunc(f.Created), trunc(now)
	snooze := tz(f.SnoozeUntil)
	if f.ID == 0 {
		err := tx.QueryRow(ctx, `
INSERT INTO filters (user_id, name, position, active, oneshot, created, updated, urgent, snooze_until, snooze_drop)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			f.UserID, f.Name, f.Position, f.Active, f.Oneshot, f.Created, f.Updated, f.Urgent, snooze, f.SnoozeDrop).Scan(&f.ID)
		if err != nil {
			return err
		}
	} else {
		err := changed(tx.Exec(ctx, `
UPDATE filters SET user_id = $1, name = $2, position = $3, active = $4, oneshot = $5, updated = $6,
	urgent = $7, snooze_until = $8, snooze_drop = $9
WHERE id = $10`,
			f.UserID, f.Name, f.Position, f.Active, f.Oneshot, f.Updated, f.Urgent, snooze, f.SnoozeDrop, f.ID))(store.ErrNotFound)
		if err != nil {
			return err
		}
	}
	f.SnoozeUntil = timeOf(snooze)
	kinds, args, negates := make([]string, len(f.Rules)), make([]string, len(f.Rules)), make([]bool, len(f.Rules))
	for i, r := range f.Rules {
		kinds[i], args[i], negates[i] = r.Kind, string(r.Args), r.Negate
	}
	// The rules, destinations and modes are replaced in one round trip;
	// deleting the destinations deletes their modes (schemaV6).
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM rules WHERE filter_id = $1`, f.ID)
	b.Queue(`INSERT INTO rules (filter_id, position, kind, args, negate)
SELECT $1, r.n - 1, r.kind, r.args, r.negate FROM unnest($2::text[], $3::text[], $4::boolean[]) WITH ORDINALITY AS r(kind, args, negate, n)`,
		f.ID, kinds, args, negates)
	b.Queue(`DELETE FROM filter_destinations WHERE filter_id = $1`, f.ID)
	b.Queue(`INSERT INTO filter_destinations (filter_id, destination_id) SELECT DISTINCT $1::bigint, unnest($2::bigint[])`, f.ID, f.DestinationIDs)
	var dests []int64
	var counts []int
	var everies []pgtype.Interval
	var ats []string
	var kept map[int64]schedule.Mode // the caller's map stays as it was
	for _, dest := range slices.Sorted(maps.Keys(f.Modes)) {
		if !slices.Contains(f.DestinationIDs, dest) {
			continue
		}
		m := f.Modes[dest]
		dests, counts, everies, ats = append(dests, dest), append(counts, m.Count), append(everies, interval(m.Every)), append(ats, m.At)
		if kept == nil {
			kept = map[int64]schedule.Mode{}
		}
		kept[dest] = m
	}
	f.Modes = kept
	if len(dests) > 0 {
		b.Queue(`INSERT INTO filter_modes (filter_id, destination_id, batch_count, batch_delta, digest_at)
SELECT $1, m.* FROM unnest($2::bigint[], $3::integer[], $4::interval[], $5::text[]) AS m`, f.ID, dests, counts, everies, ats)
	}
	return tx.SendBatch(ctx, b).Close()
}

// SnoozeFilter implements store.Filters.
func (s *Store) SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error {
	err := changed(s.pool.Exec(ctx, `UPDATE filters SET snooze_until = $1, snooze_drop = $2 WHERE id = $3 AND user_id = $4`,
		tz(until), drop, id, userID))(store.ErrNotFound)
	if err != nil {
		return fmt.Errorf("snooze filter %d: %w", id, err)
	}
	return nil
}

// filterModes is the modes of filters by filter and destination, as
// read by the query its queue adds to a batch.
type filterModes map[int64]map[int64]schedule.Mode

// queue queues on b the read of the modes of the filters ids (of every
// filter when ids is nil) into ms.
func (ms filterModes) queue(b *pgx.Batch, ids []int64) {
	b.Queue(`SELECT filter_id, destination_id, batch_count, batch_delta, digest_at FROM filter_modes
WHERE $1::bigint[] IS NULL OR filter_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var filter, dest int64
		var m schedule.Mode
		var every pgtype.Interval
		_, err := pgx.ForEachRow(rows, []any{&filter, &dest, &m.Count, &every, &m.At}, func() error {
			if ms[filter] == nil {
				ms[filter] = map[int64]schedule.Mode{}
			}
			m.Every = durationOf(every)
			ms[filter][dest] = m
			return nil
		})
		return err
	})
}

// snapshot runs f in a read-only repeatable-read transaction, so that
// what its queries read agrees.
func (s *Store) snapshot(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, f)
}

// DeleteFilter implements store.Filters. Its notifications stay, no
// longer linked to it.
func (s *Store) DeleteFilter(ctx context.Context, id int64) error {
	if err := changed(s.pool.Exec(ctx, `DELETE FROM filters WHERE id = $1`, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("delete filter %d: %w", id, err)
	}
	return nil
}

// ListFilters implements store.Filters.
func (s *Store) ListFilters(ctx context.Context, userID int64) ([]store.Filter, error) {
	fs, err := s.filters(ctx, `SELECT `+filterColumns+` FROM filters f WHERE f.user_id = $1 ORDER BY f.position, f.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list filters of user %d: %w", userID, err)
	}
	return fs, nil
}

// ActiveFilters implements store.Filters.
func (s *Store) ActiveFilters(ctx context.Context) ([]store.Filter, error) {
	fs, err := s.filters(ctx, `SELECT `+filterColumns+` FROM filters f JOIN users u ON u.id = f.user_id
WHERE f.active AND NOT u.disabled ORDER BY f.user_id, f.position, f.id`)
	if err != nil {
		return nil, fmt.Errorf("list active filters: %w", err)
	}
	return fs, nil
}

// FilterByID implements store.Web.
func (s *Store) FilterByID(ctx context.Context, id int64) (store.Filter, error) {
	fs, err := s.filters(ctx, `SELECT `+filterColumns+` FROM filters f WHERE f.id = $1`, id)
	if err == nil && len(fs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Filter{}, fmt.Errorf("find filter %d: %w", id, err)
	}
	return fs[0], nil
}

// filters runs a filter query and fills in the rules, destinations and
// modes of what it found, in one snapshot so that they agree.
func (s *Store) filters(ctx context.Context, query string, args ...any) ([]store.Filter, error) {
	var fs []store.Filter
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if fs, err = collect(rows, err, scanFilter); err != nil || len(fs) == 0 {
			return err
		}
		byID := make(map[int64]*store.Filter, len(fs))
		ids := make([]int64, len(fs))
		for i := range fs {
			byID[fs[i].ID] = &fs[i]
			ids[i] = fs[i].ID
		}
		b := &pgx.Batch{}
		b.Queue(`SELECT filter_id, kind, args, negate FROM rules WHERE filter_id = ANY($1) ORDER BY filter_id, position`, ids).
			Query(func(rows pgx.Rows) error {
				var id int64
				var r store.Rule
				var args string
				_, err := pgx.ForEachRow(rows, []any{&id, &r.Kind, &args, &r.Negate}, func() error {
					rule := r
					if args != "" {
						rule.Args = json.RawMessage(args)
					}
					byID[id].Rules = append(byID[id].Rules, rule)
					return nil
				})
				return err
			})
		b.Queue(`SELECT filter_id, destination_id FROM filter_destinations WHERE filter_id = ANY($1) ORDER BY filter_id, destination_id`, ids).
			Query(func(rows pgx.Rows) error {
				var id, dest int64
				_, err := pgx.ForEachRow(rows, []any{&id, &dest}, func() error {
					byID[id].DestinationIDs = append(byID[id].DestinationIDs, dest)
					return nil
				})
				return err
			})
		modes := filterModes{}
		modes.queue(b, ids)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for id, m := range modes {
			byID[id].Modes = m
		}
		return nil
	})
	return fs, err
}

// SetFilterActive implements store.Delivery.
func (s *Store) SetFilterActive(ctx context.Context, userID, id int64, created time.Time, active bool) error {
	if err := changed(s.pool.Exec(ctx, `UPDATE filters SET active = $1, updated = $2 WHERE id = $3 AND user_id = $4 AND created = $5`,
		active, trunc(time.Now()), id, userID, trunc(created)))(store.ErrNotFound); err != nil {
		return fmt.Errorf("set filter %d active=%t: %w", id, active, err)
	}
	return nil
}

// FilterNames implements store.Delivery.
func (s *Store) FilterNames(ctx context.Context) ([]store.FilterName, error) {
	var fs []store.FilterName
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT id, user_id, name, active, created, urgent, snooze_until, snooze_drop FROM filters`).Query(func(rows pgx.Rows) (err error) {
			fs, err = collect(rows, nil, func(row pgx.Row) (store.FilterName, error) {
				var f store.FilterName
				var created, snooze pgtype.Timestamptz
				err := row.Scan(&f.ID, &f.UserID, &f.Name, &f.Active, &created, &f.Urgent, &snooze, &f.SnoozeDrop)
				f.Created, f.SnoozeUntil = timeOf(created), timeOf(snooze)
				return f, err
			})
			return err
		})
		modes := filterModes{}
		modes.queue(b, nil)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for i := range fs {
			fs[i].Modes = modes[fs[i].ID]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list filter names: %w", err)
	}
	return fs, nil
}

// FilterMatches implements store.Web.
func (s *Store) FilterMatches(ctx context.Context, userID int64, since time.Time) (map[int64]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT filter_id, count(DISTINCT msg_key) FROM notifications
WHERE user_id = $1 AND filter_id IS NOT NULL AND created > $2 GROUP BY filter_id`, userID, trunc(since))
	if err != nil {
		return nil, fmt.Errorf("count filter matches of user %d: %w", userID, err)
	}
	out := map[int64]int{}
	var id int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil }); err != nil {
		return nil, fmt.Errorf("count filter matches of user %d: %w", userID, err)
	}
	return out, nil
}
