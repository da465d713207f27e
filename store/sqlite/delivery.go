package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hark/store"
)

// This file holds what delivery needs beyond the Queue: targeted updates
// that change one column, so they never overwrite what the web UI or an
// admin command saved meanwhile.

// DisableDestination records why delivery turned destination id off (its
// address bounced, say); the destination receives nothing until its
// owner clears DisabledReason.
func (s *SQLite) DisableDestination(ctx context.Context, id int64, reason string) error {
	if err := changed(s.exec(ctx, disableDestination, reason, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("disable destination %d: %w", id, err)
	}
	return nil
}

// SetConfirmCode gives unconfirmed destination id a new confirmation code
// valid until expires. A confirmed destination is left alone (ErrNotFound).
func (s *SQLite) SetConfirmCode(ctx context.Context, id int64, code string, expires time.Time) error {
	if err := changed(s.exec(ctx, setConfirmCode, code, ms(expires), id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("set confirmation code of destination %d: %w", id, err)
	}
	return nil
}

// SetFilterActive turns filter id of user userID, created at created, on
// or off: what a one-click unsubscribe link does. A filter of that id
// created at another time is another filter (ErrNotFound): ids are given
// again after a deletion.
func (s *SQLite) SetFilterActive(ctx context.Context, userID, id int64, created time.Time, active bool) error {
	if err := changed(s.exec(ctx, setFilterActive, active, ms(time.Now()), id, userID, ms(created)))(store.ErrNotFound); err != nil {
		return fmt.Errorf("set filter %d active=%t: %w", id, active, err)
	}
	return nil
}

// Release gives back claimed notifications that were not tried after
// all (the server failed on an earlier one of the claim): due again at
// next, and the attempt Claim counted is taken back.
func (s *SQLite) Release(ctx context.Context, ids []int64, next time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, releaseNotifications, ms(next), jsonIDs(ids))
		return err
	})
	if err != nil {
		return fmt.Errorf("release %d notifications: %w", len(ids), err)
	}
	return nil
}

// FilterNames is every filter's name in one read, active or not: what
// delivery names the filter that triggered a notification with.
func (s *SQLite) FilterNames(ctx context.Context) ([]store.FilterName, error) {
	rows, err := s.r.QueryContext(ctx, selectFilterNames)
	fs, err := collect(rows, err, func(row scanner) (store.FilterName, error) {
		var f store.FilterName
		var created, snooze int64
		err := row.Scan(&f.ID, &f.UserID, &f.Name, &f.Active, &created, &f.Urgent, &snooze, &f.SnoozeDrop)
		f.Created, f.SnoozeUntil = fromMS(created), fromMS(snooze)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("list filter names: %w", err)
	}
	modes, err := filterModes(ctx, s.r, nil)
	if err != nil {
		return nil, fmt.Errorf("list filter names: %w", err)
	}
	for i := range fs {
		fs[i].Modes = modes[fs[i].ID]
	}
	return fs, nil
}
