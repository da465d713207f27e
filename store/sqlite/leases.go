package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"hark/store"
)

// AcquireLeases implements store.Leases.
func (s *SQLite) AcquireLeases(ctx context.Context, owner string, names []string, now time.Time, ttl time.Duration) ([]store.Lease, error) {
	var held []store.Lease
	err := s.write(ctx, func(tx *sql.Tx) error {
		held = held[:0]
		for _, name := range names {
			var before string
			err := tx.QueryRowContext(ctx, selectLeaseOwner, name).Scan(&before)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			l, err := scanLease(tx.QueryRowContext(ctx, acquireLease, name, owner, ms(now), ms(now.Add(ttl))))
			if errors.Is(err, sql.ErrNoRows) {
				continue // another owner holds it
			}
			if err != nil {
				return err
			}
			if before != owner {
				l.Previous = before
			}
			held = append(held, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acquire %d leases for %s: %w", len(names), owner, err)
	}
	return held, nil
}

// ReleaseLeases implements store.Leases.
func (s *SQLite) ReleaseLeases(ctx context.Context, owner string, names []string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, name := range names {
			if _, err := tx.ExecContext(ctx, releaseLease, name, owner); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %d leases of %s: %w", len(names), owner, err)
	}
	return nil
}

// ListLeases implements store.Leases.
func (s *SQLite) ListLeases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.r.QueryContext(ctx, listLeases, prefix)
	ls, err := collect(rows, err, scanLease)
	if err != nil {
		return nil, fmt.Errorf("list leases %s*: %w", prefix, err)
	}
	return ls, nil
}

func scanLease(row scanner) (store.Lease, error) {
	var l store.Lease
	var expires int64
	err := row.Scan(&l.Name, &l.Owner, &l.Token, &expires)
	l.Expires = fromMS(expires)
	return l, err
}

// checkFenceOf fails with store.ErrFenced when ctx carries a fence (see
// store.WithFence) whose lease has another token by now; it runs first
// in the write transaction, which holds SQLite's one write lock, so no
// takeover can commit between the check and the write.
func checkFenceOf(ctx context.Context, tx *sql.Tx) error {
	f, ok := store.FenceOf(ctx)
	if !ok {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, checkFence, f.Lease, f.Token).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lease %s token %d: %w", f.Lease, f.Token, store.ErrFenced)
	}
	return err
}
