package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/destkind"
	"hark/store"
)

// selectDestinations reads destinations with their last send problem
// (none: NULLs); a query appends its WHERE on d.
const selectDestinations = `SELECT d.id, d.user_id, d.kind, d.address, d.confirmed, d.confirm_code, d.confirm_expires, d.enabled,
	d.batch_count, d.batch_delta, d."verbose", d.markup, d.disabled_reason, d.digest_at, d.quiet_hours, d.snooze_until,
	d.snooze_drop, d.created, d.settings, p.at, p.what, p.words, p.attempts, p.gave_up
FROM destinations d LEFT JOIN send_problems p ON p.destination_id = d.id `

func scanDestination(row pgx.Row) (store.Destination, error) {
	var d store.Destination
	var expires, snooze, created, problemAt pgtype.Timestamptz
	var delta pgtype.Interval
	var what, words pgtype.Text
	var attempts pgtype.Int4
	var gaveUp pgtype.Bool
	err := row.Scan(&d.ID, &d.UserID, &d.Kind, &d.Address, &d.Confirmed, &d.ConfirmCode, &expires, &d.Enabled,
		&d.BatchCount, &delta, &d.Verbose, &d.Markup, &d.DisabledReason, &d.DigestAt, &d.QuietHours, &snooze, &d.SnoozeDrop, &created,
		&d.Settings, &problemAt, &what, &words, &attempts, &gaveUp)
	if problemAt.Valid {
		d.LastProblem = store.SendProblem{At: problemAt.Time, What: store.SendWhat(what.String), Words: words.String,
			Attempts: int(attempts.Int32), GaveUp: gaveUp.Bool}
	}
	if len(d.Settings) == 0 {
		d.Settings = nil // none is nil, as the SQLite store reads it
	}
	d.ConfirmExpires, d.SnoozeUntil, d.Created = timeOf(expires), timeOf(snooze), timeOf(created)
	d.BatchDelta = durationOf(delta)
	return d, err
}

// interval is d as an interval column keeps it.
func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

// durationOf is an interval column read back (interval writes only
// microseconds; days and months count as PostgreSQL's justify does).
func durationOf(i pgtype.Interval) time.Duration {
	return time.Duration(i.Microseconds)*time.Microsecond + time.Duration(i.Days)*24*time.Hour +
		time.Duration(i.Months)*30*24*time.Hour
}

// SaveDestination implements store.Destinations. Several users may claim
// one address, each with their own unconfirmed destination; a user has
// an address once (ErrExists), and a confirmed address belongs to one
// user (ErrTaken). Saving d confirmed drops the others' claims on it.
func (s *Store) SaveDestination(ctx context.Context, d store.Destination) (store.Destination, error) {
	if err := destkind.Check(d.Kind, d.Address); err != nil {
		return d, fmt.Errorf("save destination: %w", err)
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	d.Created = trunc(d.Created)
	saved := d
	err := s.write(ctx, func(tx pgx.Tx) error {
		saved = d
		return saveDestination(ctx, tx, &saved)
	})
	if err != nil {
		return d, fmt.Errorf("save destination %s:%s: %w", d.Kind, d.Address, err)
	}
	return saved, nil
}

// saveDestination creates d (ID 0) or updates it by ID within tx.
func saveDestination(ctx context.Context, tx pgx.Tx, d *store.Destination) error {
	if k, _ := destkind.Lookup(d.Kind); len(d.Settings) > 0 {
		if err := k.Validate(d.Settings); err != nil {
			return err
		}
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM destinations WHERE user_id = $1 AND kind = $2 AND address = $3`,
		d.UserID, d.Kind, d.Address).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	case id != d.ID:
		return store.ErrExists
	}
	if d.Confirmed {
		if err := claim(ctx, tx, d.ID, d.UserID, d.Kind, d.Address); err != nil {
			return err
		}
	}
	args := []any{d.UserID, d.Kind, d.Address, d.Confirmed, d.ConfirmCode, tz(d.ConfirmExpires), d.Enabled,
		d.BatchCount, interval(d.BatchDelta), d.Verbose, d.Markup, d.DisabledReason, d.DigestAt, d.QuietHours,
		tz(d.SnoozeUntil), d.SnoozeDrop, settings(d.Settings)}
	if d.ID != 0 {
		err = changed(tx.Exec(ctx, `
UPDATE destinations SET user_id = $1, kind = $2, address = $3, confirmed = $4, confirm_code = $5, confirm_expires = $6,
	enabled = $7, batch_count = $8, batch_delta = $9, "verbose" = $10, markup = $11, disabled_reason = $12,
	digest_at = $13, quiet_hours = $14, snooze_until = $15, snooze_drop = $16, settings = $17
WHERE id = $18`, append(args, d.ID)...))(store.ErrNotFound)
	} else {
		err = tx.QueryRow(ctx, `
INSERT INTO destinations (user_id, kind, address, confirmed, confirm_code, confirm_expires, enabled, batch_count,
	batch_delta, "verbose", markup, disabled_reason, digest_at, quiet_hours, snooze_until, snooze_drop, settings, created)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
			append(args, d.Created)...).Scan(&d.ID)
	}
	return uniqueAsClaim(err)
}

// settings is a destination's settings as the jsonb column keeps them:
// an object, empty when there are none.
func settings(s map[string]string) map[string]string {
	if s == nil {
		return map[string]string{}
	}
	return s
}

// uniqueAsClaim turns a unique violation on destinations (a racing
// transaction saved the same address first) into the error the check
// before it would have given.
func uniqueAsClaim(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return err
	}
	if pe.ConstraintName == "destinations_confirmed" {
		return store.ErrTaken
	}
	return store.ErrExists
}

// claim makes the address kind:address userID's as destination id (0:
// one about to be made) is confirmed: ErrTaken if another user confirmed
// it first, else the other users' claims on it go.
func claim(ctx context.Context, tx pgx.Tx, id, userID int64, kind, address string) error {
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM destinations WHERE kind = $1 AND address = $2 AND confirmed AND id != $3)`,
		kind, address, id).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return store.ErrTaken
	}
	_, err := tx.Exec(ctx, `DELETE FROM destinations WHERE kind = $1 AND address = $2 AND NOT confirmed AND user_id != $3`, kind, address, userID)
	return err
}

// DestinationByAddress implements store.Destinations.
func (s *Store) DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error) {
	ds, err := s.DestinationsByAddress(ctx, kind, address)
	return store.FirstDestination(ds, err, kind, address)
}

// DestinationsByAddress implements store.Destinations.
func (s *Store) DestinationsByAddress(ctx context.Context, kind, address string) ([]store.Destination, error) {
	ds, err := s.destinations(ctx, `WHERE kind = $1 AND address = $2 ORDER BY confirmed DESC, created DESC, id DESC`, kind, address)
	if err != nil {
		return nil, fmt.Errorf("find destinations %s:%s: %w", kind, address, err)
	}
	return ds, nil
}

// ListDestinations implements store.Destinations.
func (s *Store) ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error) {
	ds, err := s.destinations(ctx, `WHERE user_id = $1 ORDER BY kind, address`, userID)
	if err != nil {
		return nil, fmt.Errorf("list destinations of user %d: %w", userID, err)
	}
	return ds, nil
}

// AllDestinations implements store.Destinations.
func (s *Store) AllDestinations(ctx context.Context) ([]store.Destination, error) {
	ds, err := s.destinations(ctx, `ORDER BY user_id, kind, address`)
	if err != nil {
		return nil, fmt.Errorf("list all destinations: %w", err)
	}
	return ds, nil
}

// destinations reads the destinations that where (a WHERE and ORDER BY
// clause) selects.
func (s *Store) destinations(ctx context.Context, where string, args ...any) ([]store.Destination, error) {
	rows, err := s.pool.Query(ctx, selectDestinations+where, args...)
	return collect(rows, err, scanDestination)
}

// DestinationByID implements store.Web.
func (s *Store) DestinationByID(ctx context.Context, id int64) (store.Destination, error) {
	d, err := one(s.pool.QueryRow(ctx, selectDestinations+`WHERE d.id = $1`, id), scanDestination)
	if err != nil {
		return d, fmt.Errorf("find destination %d: %w", id, err)
	}
	return d, nil
}

// DeleteDestination implements store.Web. Its notifications go with it.
func (s *Store) DeleteDestination(ctx context.Context, id int64) error {
	if err := changed(s.pool.Exec(ctx, `DELETE FROM destinations WHERE id = $1`, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("delete destination %d: %w", id, err)
	}
	return nil
}

// PruneUnconfirmed implements store.Web.
func (s *Store) PruneUnconfirmed(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM destinations WHERE NOT confirmed AND created < $1`, trunc(before))
	if err != nil {
		return 0, fmt.Errorf("prune unconfirmed destinations: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ConfirmDestination implements store.Destinations. Whoever confirms an
// address owns it: the other users' claims on it go, and if another user
// confirmed it first this one fails with ErrTaken.
func (s *Store) ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var userID int64
		var kind, address, want string
		var confirmed bool
		var expires pgtype.Timestamptz
		err := tx.QueryRow(ctx, `SELECT user_id, kind, address, confirmed, confirm_code, confirm_expires FROM destinations WHERE id = $1 FOR UPDATE`,
			id).Scan(&userID, &kind, &address, &confirmed, &want, &expires)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrBadCode
		case err != nil:
			return err
		case confirmed || want == "" || subtle.ConstantTimeCompare([]byte(code), []byte(want)) != 1 || timeOf(expires).Before(trunc(now)):
			return store.ErrBadCode
		}
		if err := claim(ctx, tx, id, userID, kind, address); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE destinations SET confirmed = true, confirm_code = '' WHERE id = $1`, id)
		return uniqueAsClaim(err)
	})
	if err != nil {
		return fmt.Errorf("confirm destination %d: %w", id, err)
	}
	return nil
}

// DisableDestination implements store.Delivery.
func (s *Store) DisableDestination(ctx context.Context, id int64, reason string) error {
	if err := changed(s.pool.Exec(ctx, `UPDATE destinations SET disabled_reason = $1 WHERE id = $2`, reason, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("disable destination %d: %w", id, err)
	}
	return nil
}

// SetConfirmCode implements store.Delivery.
func (s *Store) SetConfirmCode(ctx context.Context, id int64, code string, expires time.Time) error {
	if err := changed(s.pool.Exec(ctx, `UPDATE destinations SET confirm_code = $1, confirm_expires = $2 WHERE id = $3 AND NOT confirmed`,
		code, tz(expires), id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("set confirmation code of destination %d: %w", id, err)
	}
	return nil
}
