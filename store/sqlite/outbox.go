package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
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

// SetSendProblem implements store.Outbox.
func (s *SQLite) SetSendProblem(ctx context.Context, id int64, p store.SendProblem) error {
	var err error
	if p.IsZero() {
		// Clearing writes only when there is a problem to clear: most
		// sends succeed, and a read is cheaper than a write.
		err = s.clearSendProblem(ctx, id)
	} else {
		err = changed(s.w.ExecContext(ctx, putSendProblem, ms(p.At), string(p.What), p.Words, p.Attempts, p.GaveUp, id))(store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record the send problem of destination %d: %w", id, err)
	}
	return nil
}

// clearSendProblem deletes destination id's send problem if it has one.
func (s *SQLite) clearSendProblem(ctx context.Context, id int64) error {
	var has bool
	err := s.r.QueryRowContext(ctx, selectHasSendProblem, id).Scan(&has)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil || !has:
		return err
	}
	_, err = s.w.ExecContext(ctx, deleteSendProblem, id)
	return err
}
