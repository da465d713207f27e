package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"hark/store"
)

// QueueSend implements store.Outbox.
func (s *SQLite) QueueSend(ctx context.Context, send store.Send) (store.Send, error) {
	send.Created = cmp.Or(send.Created, time.Now()).Truncate(time.Millisecond)
	err := s.w.QueryRowContext(ctx, insertSend, send.DestinationID, string(send.What), ms(send.Created), ms(send.Created)).Scan(&send.ID)
	if err != nil {
		return send, fmt.Errorf("queue %s for destination %d: %w", send.What, send.DestinationID, err)
	}
	return send, nil
}

// ClaimSends implements store.Outbox.
func (s *SQLite) ClaimSends(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]store.Send, error) {
	rows, err := s.w.QueryContext(ctx, claimSends, jsonIDs(kinds), ms(now), ms(now.Add(lease)), limit)
	sends, err := collect(rows, err, func(row scanner) (store.Send, error) {
		var send store.Send
		var what string
		var created int64
		err := row.Scan(&send.ID, &send.DestinationID, &what, &send.Attempts, &created)
		send.What, send.Created = store.SendWhat(what), fromMS(created)
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
func (s *SQLite) FinishSend(ctx context.Context, id int64) error {
	if err := changed(s.w.ExecContext(ctx, deleteSend, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("finish outbox send %d: %w", id, err)
	}
	return nil
}
