package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveDestination implements Destinations.
func (s *SQLite) SaveDestination(ctx context.Context, d Destination) (Destination, error) {
	if err := CheckAddress(d.Kind, d.Address); err != nil {
		return d, fmt.Errorf("save destination: %w", err)
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id, owner int64
		err := tx.QueryRowContext(ctx, selectDestinationOwner, d.Kind, d.Address).Scan(&id, &owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != d.UserID:
			return ErrTaken
		case id != d.ID:
			return ErrExists
		}
		args := []any{d.UserID, d.Kind, d.Address, d.Confirmed, d.ConfirmCode, ms(d.ConfirmExpires),
			d.Enabled, d.BatchCount, d.BatchDelta.Milliseconds(), d.Verbose, d.Markup, d.DisabledReason}
		if d.ID != 0 {
			return changed(tx.ExecContext(ctx, updateDestination, append(args, d.ID)...))(ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, insertDestination, append(args, ms(d.Created))...)
		if err != nil {
			return err
		}
		d.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return d, fmt.Errorf("save destination %s:%s: %w", d.Kind, d.Address, err)
	}
	d.Created = fromMS(ms(d.Created))
	return d, nil
}

// DestinationByAddress implements Destinations.
func (s *SQLite) DestinationByAddress(ctx context.Context, kind, address string) (Destination, error) {
	d, err := one(s.r.QueryRowContext(ctx, selectDestinationByAddress, kind, address), scanDestination)
	if err != nil {
		return d, fmt.Errorf("find destination %s:%s: %w", kind, address, err)
	}
	return d, nil
}

// ListDestinations implements Destinations.
func (s *SQLite) ListDestinations(ctx context.Context, userID int64) ([]Destination, error) {
	rows, err := s.r.QueryContext(ctx, selectDestinationsOfUser, userID)
	ds, err := collect(rows, err, scanDestination)
	if err != nil {
		return nil, fmt.Errorf("list destinations of user %d: %w", userID, err)
	}
	return ds, nil
}

// AllDestinations implements Destinations.
func (s *SQLite) AllDestinations(ctx context.Context) ([]Destination, error) {
	rows, err := s.r.QueryContext(ctx, selectAllDestinations)
	ds, err := collect(rows, err, scanDestination)
	if err != nil {
		return nil, fmt.Errorf("list all destinations: %w", err)
	}
	return ds, nil
}

// ConfirmDestination implements Destinations.
func (s *SQLite) ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error {
	if err := changed(s.w.ExecContext(ctx, confirmDestination, id, code, ms(now)))(ErrBadCode); err != nil {
		return fmt.Errorf("confirm destination %d: %w", id, err)
	}
	return nil
}

func scanDestination(row scanner) (Destination, error) {
	var d Destination
	var expires, delta, created int64
	err := row.Scan(&d.ID, &d.UserID, &d.Kind, &d.Address, &d.Confirmed, &d.ConfirmCode, &expires,
		&d.Enabled, &d.BatchCount, &delta, &d.Verbose, &d.Markup, &d.DisabledReason, &created)
	d.ConfirmExpires, d.BatchDelta, d.Created = fromMS(expires), time.Duration(delta)*time.Millisecond, fromMS(created)
	return d, err
}
