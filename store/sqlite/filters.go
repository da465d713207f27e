package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"hark/destkind"
	"hark/schedule"
	"hark/store"
)

// SaveFilter implements Filters.
func (s *SQLite) SaveFilter(ctx context.Context, f store.Filter) (store.Filter, error) {
	err := s.write(ctx, func(tx *sql.Tx) error { return saveFilter(ctx, tx, &f, time.Now()) })
	if err != nil {
		return f, fmt.Errorf("save filter %q: %w", f.Name, err)
	}
	return f, nil
}

// ReplaceFilters implements Filters. A filter whose name the user
// already has keeps its ID, so the notifications it made still name it.
func (s *SQLite) ReplaceFilters(ctx context.Context, userID int64, fs []store.Filter) ([]store.Filter, error) {
	fs, _, err := s.ImportFilters(ctx, userID, nil, fs)
	return fs, err
}

// ImportFilters implements Filters.
func (s *SQLite) ImportFilters(ctx context.Context, userID int64, create []store.Destination, fs []store.Filter) ([]store.Filter, []store.Destination, error) {
	now := time.Now()
	create = slices.Clone(create)
	fs = slices.Clone(fs) // Imported copies what it changes
	err := s.write(ctx, func(tx *sql.Tx) (err error) {
		for i := range create {
			d := &create[i]
			d.ID, d.UserID = 0, userID
			if d.Created.IsZero() {
				d.Created = now
			}
			if err := destkind.Check(d.Kind, d.Address); err != nil {
				return fmt.Errorf("destination %s:%s: %w", d.Kind, d.Address, err)
			}
			if err := saveDestination(ctx, tx, d); err != nil {
				return fmt.Errorf("destination %s:%s: %w", d.Kind, d.Address, err)
			}
		}
		for i := range fs {
			if fs[i], err = fs[i].Imported(create); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, selectFilterNamesOfUser, userID)
		type named struct {
			id   int64
			name string
		}
		old, err := collect(rows, err, func(row scanner) (named, error) {
			var n named
			return n, row.Scan(&n.id, &n.name)
		})
		if err != nil {
			return err
		}
		ids := make(map[string]int64, len(old))
		for _, n := range old {
			ids[n.name] = n.id
		}
		for i := range fs {
			fs[i].ID, fs[i].UserID, fs[i].Position = ids[fs[i].Name], userID, i
			delete(ids, fs[i].Name)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, deleteFilter, id); err != nil {
				return err
			}
		}
		for i := range fs {
			if err := saveFilter(ctx, tx, &fs[i], now); err != nil {
				return fmt.Errorf("filter %q: %w", fs[i].Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("replace filters of user %d: %w", userID, err)
	}
	for i := range create {
		create[i].Created = fromMS(ms(create[i].Created))
	}
	return fs, create, nil
}

// saveFilter creates f (ID 0) or replaces it by ID within tx, rules and
// destinations included.
func saveFilter(ctx context.Context, tx *sql.Tx, f *store.Filter, now time.Time) error {
	if f.Created.IsZero() {
		f.Created = now
	}
	f.Updated = now
	if f.ID == 0 {
		res, err := tx.ExecContext(ctx, insertFilter, f.UserID, f.Name, f.Position, f.Active, f.Oneshot, ms(f.Created), ms(f.Updated))
		if err != nil {
			return err
		}
		if f.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	} else {
		err := changed(tx.ExecContext(ctx, updateFilter, f.UserID, f.Name, f.Position, f.Active, f.Oneshot, ms(f.Updated), f.ID))(store.ErrNotFound)
		if err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, deleteRulesOfFilter, f.ID); err != nil {
		return err
	}
	for i, r := range f.Rules {
		if _, err := tx.ExecContext(ctx, insertRule, f.ID, i, r.Kind, string(r.Args), r.Negate); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, deleteFilterDestination, f.ID); err != nil {
		return err
	}
	for _, d := range f.DestinationIDs {
		if _, err := tx.ExecContext(ctx, insertFilterDestination, f.ID, d); err != nil {
			return err
		}
	}
	if err := saveFilterDelivery(ctx, tx, f); err != nil {
		return err
	}
	f.Created, f.Updated = fromMS(ms(f.Created)), fromMS(ms(f.Updated))
	f.SnoozeUntil = fromMS(ms(f.SnoozeUntil))
	return nil
}

// saveFilterDelivery replaces how filter f is delivered (schemaV15): a
// filter with nothing of its own keeps no rows, and a mode for a
// destination it no longer sends to goes.
func saveFilterDelivery(ctx context.Context, tx *sql.Tx, f *store.Filter) error {
	id, fd := f.ID, f.FilterDelivery
	var err error
	if !fd.Urgent && fd.SnoozeUntil.IsZero() {
		_, err = tx.ExecContext(ctx, deleteFilterSchedule, id)
	} else {
		_, err = tx.ExecContext(ctx, putFilterSchedule, id, fd.Urgent, ms(fd.SnoozeUntil), fd.SnoozeDrop)
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, deleteFilterModes, id); err != nil {
		return err
	}
	var kept map[int64]schedule.Mode // the caller's map stays as it was
	for _, dest := range slices.Sorted(maps.Keys(fd.Modes)) {
		if !slices.Contains(f.DestinationIDs, dest) {
			continue
		}
		m := fd.Modes[dest]
		if _, err := tx.ExecContext(ctx, insertFilterMode, id, dest, m.Count, m.Every.Milliseconds(), m.At); err != nil {
			return fmt.Errorf("mode for destination %d: %w", dest, err)
		}
		if kept == nil {
			kept = map[int64]schedule.Mode{}
		}
		kept[dest] = m
	}
	f.Modes = kept
	return nil
}

// SnoozeFilter implements Filters.
func (s *SQLite) SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error {
	err := changed(s.w.ExecContext(ctx, snoozeFilter, ms(until), drop, id, userID))(store.ErrNotFound)
	if err != nil {
		return fmt.Errorf("snooze filter %d: %w", id, err)
	}
	return nil
}

// filterModes is the modes of the filters in ids (of every filter when
// ids is empty), by filter.
func filterModes(ctx context.Context, db querier, ids []int64) (map[int64]map[int64]schedule.Mode, error) {
	rows, err := db.QueryContext(ctx, selectModesOfFilters, jsonIDs(ids))
	modes := map[int64]map[int64]schedule.Mode{}
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var filter, dest, every int64
		var m schedule.Mode
		if err := row.Scan(&filter, &dest, &m.Count, &every, &m.At); err != nil {
			return struct{}{}, err
		}
		m.Every = time.Duration(every) * time.Millisecond
		if modes[filter] == nil {
			modes[filter] = map[int64]schedule.Mode{}
		}
		modes[filter][dest] = m
		return struct{}{}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read filter modes: %w", err)
	}
	return modes, nil
}

// DeleteFilter implements Filters.
func (s *SQLite) DeleteFilter(ctx context.Context, id int64) error {
	if err := changed(s.exec(ctx, deleteFilter, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("delete filter %d: %w", id, err)
	}
	return nil
}

// ListFilters implements Filters.
func (s *SQLite) ListFilters(ctx context.Context, userID int64) ([]store.Filter, error) {
	fs, err := s.filters(ctx, selectFiltersOfUser, userID)
	if err != nil {
		return nil, fmt.Errorf("list filters of user %d: %w", userID, err)
	}
	return fs, nil
}

// ActiveFilters implements Filters.
func (s *SQLite) ActiveFilters(ctx context.Context) ([]store.Filter, error) {
	fs, err := s.filters(ctx, selectActiveFilters)
	if err != nil {
		return nil, fmt.Errorf("list active filters: %w", err)
	}
	return fs, nil
}

// filters runs a filter query and fills in the rules and destinations of
// what it found with one query each, in one read transaction so the three
// agree.
func (s *SQLite) filters(ctx context.Context, query string, args ...any) ([]store.Filter, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	fs, err := collect(rows, err, scanFilter)
	if err != nil || len(fs) == 0 {
		return fs, err
	}
	byID := make(map[int64]*store.Filter, len(fs))
	ids := make([]int64, len(fs))
	for i := range fs {
		byID[fs[i].ID] = &fs[i]
		ids[i] = fs[i].ID
	}
	idJSON := jsonIDs(ids)
	rows, err = tx.QueryContext(ctx, selectRulesOfFilters, idJSON)
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var id int64
		var r store.Rule
		var args string
		if err := row.Scan(&id, &r.Kind, &args, &r.Negate); err != nil {
			return struct{}{}, err
		}
		if args != "" {
			r.Args = json.RawMessage(args)
		}
		byID[id].Rules = append(byID[id].Rules, r)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, selectDestinationsOfFilters, idJSON)
	_, err = collect(rows, err, func(row scanner) (struct{}, error) {
		var id, dest int64
		if err := row.Scan(&id, &dest); err != nil {
			return struct{}{}, err
		}
		byID[id].DestinationIDs = append(byID[id].DestinationIDs, dest)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	modes, err := filterModes(ctx, tx, ids)
	for id, m := range modes {
		byID[id].Modes = m
	}
	return fs, err
}

func scanFilter(row scanner) (store.Filter, error) {
	var f store.Filter
	var created, updated, snooze int64
	err := row.Scan(&f.ID, &f.UserID, &f.Name, &f.Position, &f.Active, &f.Oneshot, &created, &updated,
		&f.Urgent, &snooze, &f.SnoozeDrop)
	f.Created, f.Updated, f.SnoozeUntil = fromMS(created), fromMS(updated), fromMS(snooze)
	return f, err
}

// jsonIDs is ids as a JSON array, the one parameter that json_each turns
// into a set, so lists need no SQL built at run time.
func jsonIDs[T any](ids []T) string {
	b, _ := json.Marshal(ids) // cannot fail for ints and strings
	if ids == nil {
		return "[]"
	}
	return string(b)
}
