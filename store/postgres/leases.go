package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/store"
)

// AcquireLeases implements store.Leases. The names are taken in sorted
// order (the primary key's), so two owners acquiring overlapping sets
// wait for each other rather than deadlock.
func (s *Store) AcquireLeases(ctx context.Context, owner string, names []string, now time.Time, ttl time.Duration) ([]store.Lease, error) {
	var held []store.Lease
	err := s.write(ctx, func(tx pgx.Tx) error {
		// The owners before, locked so that they stay what the upsert
		// finds (a statement cannot lock what it updates itself).
		before := map[string]string{}
		rows, err := tx.Query(ctx, `SELECT name, owner FROM leases WHERE name = ANY($1) ORDER BY name FOR UPDATE`, names)
		if err != nil {
			return err
		}
		var name, was string
		if _, err := pgx.ForEachRow(rows, []any{&name, &was}, func() error { before[name] = was; return nil }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `
INSERT INTO leases AS l (name, owner, token, expires)
SELECT DISTINCT name, $2, 1, $4::timestamptz FROM unnest($1::text[]) AS name ORDER BY name
ON CONFLICT (name) DO UPDATE SET
	token = CASE WHEN l.owner = $2 AND l.expires > $3 THEN l.token ELSE l.token + 1 END,
	owner = $2, expires = $4
WHERE l.owner = $2 OR l.expires <= $3
RETURNING l.name, l.owner, l.token, l.expires`,
			names, owner, trunc(now), trunc(now.Add(ttl)))
		held, err = collect(rows, err, func(row pgx.Row) (store.Lease, error) {
			var l store.Lease
			err := row.Scan(&l.Name, &l.Owner, &l.Token, &l.Expires)
			l.Expires = l.Expires.UTC()
			if was := before[l.Name]; was != owner {
				l.Previous = was
			}
			return l, err
		})
		// RETURNING gives no order; ListLeases' is by name.
		slices.SortFunc(held, func(a, b store.Lease) int { return strings.Compare(a.Name, b.Name) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("acquire %d leases for %s: %w", len(names), owner, err)
	}
	return held, nil
}

// ReleaseLeases implements store.Leases: the lease lapses at once and
// keeps owner as its last owner.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, names []string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE leases SET expires = '-infinity' WHERE name = ANY($1) AND owner = $2`, names, owner); err != nil {
		return fmt.Errorf("release %d leases of %s: %w", len(names), owner, err)
	}
	return nil
}

// ListLeases implements store.Leases.
func (s *Store) ListLeases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, owner, token, expires FROM leases WHERE starts_with(name, $1) ORDER BY name`, prefix)
	ls, err := collect(rows, err, func(row pgx.Row) (store.Lease, error) {
		var l store.Lease
		var expires pgtype.Timestamptz
		err := row.Scan(&l.Name, &l.Owner, &l.Token, &expires)
		l.Expires = timeOf(expires)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list leases %s*: %w", prefix, err)
	}
	return ls, nil
}

// checkFenceOf fails with store.ErrFenced when ctx carries a fence (see
// store.WithFence) whose lease has another token by now. It reads the
// lease FOR SHARE: a takeover, which updates the row, waits until tx
// ends, so none can commit between the check and the write.
func checkFenceOf(ctx context.Context, tx pgx.Tx) error {
	f, ok := store.FenceOf(ctx)
	if !ok {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM leases WHERE name = $1 AND token = $2 FOR SHARE`, f.Lease, f.Token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("lease %s token %d: %w", f.Lease, f.Token, store.ErrFenced)
	}
	return err
}
