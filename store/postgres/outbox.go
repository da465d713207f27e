package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"hark/store"
)

// QueueSend implements store.Outbox.
func (s *Store) QueueSend(ctx context.Context, send store.Send) (store.Send, error) {
	send.Created = trunc(cmp.Or(send.Created, time.Now()))
	err := s.pool.QueryRow(ctx, `INSERT INTO outbox (destination_id, what, next_attempt, created) VALUES ($1, $2, $3, $3) RETURNING id`,
		send.DestinationID, string(send.What), send.Created).Scan(&send.ID)
	if err != nil {
		return send, fmt.Errorf("queue %s for destination %d: %w", send.What, send.DestinationID, err)
	}
	return send, nil
}

// ClaimSends implements store.Outbox: the due sends, locked with SKIP
// LOCKED so that concurrent claimers each take others, and leased in the
// same statement.
func (s *Store) ClaimSends(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]store.Send, error) {
	rows, err := s.pool.Query(ctx, `
UPDATE outbox o SET attempts = o.attempts + 1, next_attempt = $3
FROM (SELECT o.id FROM outbox o JOIN destinations d ON d.id = o.destination_id
	WHERE o.next_attempt <= $2 AND d.kind = ANY($1)
	ORDER BY o.id LIMIT $4 FOR UPDATE OF o SKIP LOCKED) due
WHERE o.id = due.id
RETURNING o.id, o.destination_id, o.what, o.attempts, o.created`, kinds, trunc(now), trunc(now.Add(lease)), limit)
	sends, err := collect(rows, err, func(row pgx.Row) (store.Send, error) {
		var send store.Send
		var what string
		err := row.Scan(&send.ID, &send.DestinationID, &what, &send.Attempts, &send.Created)
		send.What, send.Created = store.SendWhat(what), send.Created.UTC()
		return send, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox sends: %w", err)
	}
	// RETURNING gives no order; the contract says oldest first.
	slices.SortFunc(sends, func(a, b store.Send) int { return cmp.Compare(a.ID, b.ID) })
	return sends, nil
}

// FinishSend implements store.Outbox.
func (s *Store) FinishSend(ctx context.Context, id int64) error {
	if err := changed(s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("finish outbox send %d: %w", id, err)
	}
	return nil
}

// SetSendProblem implements store.Outbox.
func (s *Store) SetSendProblem(ctx context.Context, id int64, p store.SendProblem) error {
	var err error
	if p.IsZero() {
		err = s.clearSendProblem(ctx, id)
	} else {
		err = changed(s.pool.Exec(ctx, `
INSERT INTO send_problems (destination_id, at, what, words, attempts, gave_up)
SELECT id, $2, $3, $4, $5, $6 FROM destinations WHERE id = $1
ON CONFLICT (destination_id) DO UPDATE SET at = excluded.at, what = excluded.what,
	words = excluded.words, attempts = excluded.attempts, gave_up = excluded.gave_up`,
			id, p.At, string(p.What), p.Words, p.Attempts, p.GaveUp))(store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record the send problem of destination %d: %w", id, err)
	}
	return nil
}

// clearSendProblem deletes destination id's send problem if it has one:
// clearing one that is not there writes nothing, as most sends succeed.
func (s *Store) clearSendProblem(ctx context.Context, id int64) error {
	var exists, has bool
	err := s.pool.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM destinations WHERE id = $1), EXISTS (SELECT 1 FROM send_problems WHERE destination_id = $1)`,
		id).Scan(&exists, &has)
	switch {
	case err != nil:
		return err
	case !exists:
		return store.ErrNotFound
	case !has:
		return nil
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM send_problems WHERE destination_id = $1`, id)
	return err
}
