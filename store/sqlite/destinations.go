package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hark/destkind"
	"hark/store"
)

// SaveDestination implements Destinations. Several users may claim one
// address, each with their own unconfirmed destination; a user has an
// address once (ErrExists), and a confirmed address belongs to one user
// (ErrTaken). Saving d confirmed drops the others' claims on its address.
func (s *SQLite) SaveDestination(ctx context.Context, d store.Destination) (store.Destination, error) {
	if err := destkind.Check(d.Kind, d.Address); err != nil {
		return d, fmt.Errorf("save destination: %w", err)
	}

	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error { return saveDestination(ctx, tx, &d) })
	if err != nil {
		return d, fmt.Errorf("save destination %s:%s: %w", d.Kind, d.Address, err)
	}
	d.Created = fromMS(ms(d.Created))
	return d, nil
}

// saveDestination creates d (ID 0) or updates it by ID within tx.
func saveDestination(ctx context.Context, tx *sql.Tx, d *store.Destination) error {
	if k, _ := destkind.Lookup(d.Kind); len(d.Settings) > 0 {
		if err := k.Validate(d.Settings); err != nil {
			return err
		}
	}
	var id int64
	err := tx.QueryRowContext(ctx, selectDestinationOfUser, d.UserID, d.Kind, d.Address).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	settings, err := json.Marshal(d.Settings)
	if err != nil || len(d.Settings) == 0 {
		settings = []byte("{}")
	}
	args := []any{d.UserID, d.Kind, d.Address, d.Confirmed, d.ConfirmCode, ms(d.ConfirmExpires),
		d.Enabled, d.BatchCount, d.BatchDelta.Milliseconds(), d.Verbose, d.Markup, d.DisabledReason, string(settings)}
	if d.ID != 0 {
		if err := changed(tx.ExecContext(ctx, updateDestination, append(args, d.ID)...))(store.ErrNotFound); err != nil {
			return err
		}
	} else {
		res, err := tx.ExecContext(ctx, insertDestination, append(args, ms(d.Created))...)
		if err != nil {
			return err
		}
		if d.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	if d.DigestAt == "" && d.QuietHours == "" && d.SnoozeUntil.IsZero() {
		_, err := tx.ExecContext(ctx, deleteSchedule, d.ID)
		return err
	}
	_, err = tx.ExecContext(ctx, putSchedule, d.ID, d.DigestAt, d.QuietHours, ms(d.SnoozeUntil), d.SnoozeDrop)
	return err
}

// claim makes the address kind:address userID's as destination id (0:
// one about to be made) is confirmed: ErrTaken if another user confirmed
// it first, else the other users' claims on it go.
func claim(ctx context.Context, tx *sql.Tx, id, userID int64, kind, address string) error {
	var owner int64
	err := tx.QueryRowContext(ctx, selectConfirmedOwner, kind, address, id).Scan(&owner)
	switch {
	case err == nil:
		return store.ErrTaken
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, deleteOtherClaims, kind, address, userID)
	return err
}

// DestinationByAddress implements Destinations: the confirmed
// destination of the address, or else the newest claim on it.
func (s *SQLite) DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error) {
	ds, err := s.DestinationsByAddress(ctx, kind, address)
	return store.FirstDestination(ds, err, kind, address)
}

// DestinationsByAddress is every claim on an address, the confirmed one
// first, then the newest.
func (s *SQLite) DestinationsByAddress(ctx context.Context, kind, address string) ([]store.Destination, error) {
	rows, err := s.r.QueryContext(ctx, selectDestinationsByAddress, kind, address)
	ds, err := collect(rows, err, scanDestination)
	if err != nil {
		return nil, fmt.Errorf("find destinations %s:%s: %w", kind, address, err)
	}
	return ds, nil
}

// PruneUnconfirmed deletes the destinations made before before and not
// confirmed since: a claim on an address lapses.
func (s *SQLite) PruneUnconfirmed(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, pruneUnconfirmed, ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune unconfirmed destinations: %w", err)
	}
	return res.RowsAffected()
}

// ListDestinations implements Destinations.
func (s *SQLite) ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error) {
	rows, err := s.r.QueryContext(ctx, selectDestinationsOfUser, userID)
	ds, err := collect(rows, err, scanDestination)
	if err != nil {
		return nil, fmt.Errorf("list destinations of user %d: %w", userID, err)
	}
	return ds, nil
}

// AllDestinations implements Destinations.
func (s *SQLite) AllDestinations(ctx context.Context) ([]store.Destination, error) {
	rows, err := s.r.QueryContext(ctx, selectAllDestinations)
	ds, err := collect(rows, err, scanDestination)
	if err != nil {
		return nil, fmt.Errorf("list all destinations: %w", err)
	}
	return ds, nil
}

// ConfirmDestination implements Destinations. Whoever confirms an
// address owns it: the other users' claims on it go, and if another user
// confirmed it first this one fails with ErrTaken.
func (s *SQLite) ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var userID, expires int64
		var kind, address, want string
		var confirmed bool
		err := tx.QueryRowContext(ctx, selectDestinationClaim, id).Scan(&userID, &kind, &address, &confirmed, &want, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrBadCode
		case err != nil:
			return err
		case confirmed || want == "" || subtle.ConstantTimeCompare([]byte(code), []byte(want)) != 1 || expires < ms(now):
			return store.ErrBadCode
		}
		// The address is checked before the row changes: the unique index
		// of confirmed addresses would refuse the update with an error
		// that says less.
		if err := claim(ctx, tx, id, userID, kind, address); err != nil {
			return err
		}
		return changed(tx.ExecContext(ctx, confirmDestination, id, code, ms(now)))(store.ErrBadCode)
	})
	if err != nil {
		return fmt.Errorf("confirm destination %d: %w", id, err)
	}
	return nil
}

func scanDestination(row scanner) (store.Destination, error) {
	var d store.Destination
	var expires, delta, created, snooze, problemAt int64
	var settings, problemWhat string
	p := &d.LastProblem
	err := row.Scan(&d.ID, &d.UserID, &d.Kind, &d.Address, &d.Confirmed, &d.ConfirmCode, &expires,
		&d.Enabled, &d.BatchCount, &delta, &d.Verbose, &d.Markup, &d.DisabledReason, &created, &settings, &d.DigestAt, &d.QuietHours, &snooze, &d.SnoozeDrop,
		&problemAt, &problemWhat, &p.Words, &p.Attempts, &p.GaveUp)
	p.At, p.What = fromMS(problemAt), store.SendWhat(problemWhat)
	if err == nil && settings != "{}" {
		if jerr := json.Unmarshal([]byte(settings), &d.Settings); jerr != nil {
			return d, fmt.Errorf("read settings of destination %d: %w", d.ID, jerr)
		}
	}
	d.SnoozeUntil = fromMS(snooze)
	d.ConfirmExpires, d.BatchDelta, d.Created = fromMS(expires), time.Duration(delta)*time.Millisecond, fromMS(created)
	return d, err
}
