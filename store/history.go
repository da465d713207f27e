package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AddMessages implements History.
func (s *SQLite) AddMessages(ctx context.Context, msgs []Message) (int, error) {
	added := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, insertMessage)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, m := range msgs {
			n, err := addMessage(ctx, ins, m)
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add messages: %w", err)
	}
	return added, nil
}

// addMessage inserts m with the prepared insertMessage; 1 if it was new.
func addMessage(ctx context.Context, ins *sql.Stmt, m Message) (int, error) {
	if m.Received.IsZero() {
		m.Received = time.Now()
	}
	desc := string(m.Description)
	if desc == "" {
		desc = "{}"
	}
	res, err := ins.ExecContext(ctx, m.Key, m.Topic, ms(m.Timestamp), ms(m.Received), string(m.Envelope), desc)
	if err != nil {
		return 0, fmt.Errorf("add message %s: %w", m.Key, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// HistoryPage implements History.
func (s *SQLite) HistoryPage(ctx context.Context, before Cursor, limit int) ([]Message, error) {
	var rows *sql.Rows
	var err error
	if before == (Cursor{}) {
		rows, err = s.r.QueryContext(ctx, selectHistoryFirst, limit)
	} else {
		rows, err = s.r.QueryContext(ctx, selectHistoryPage, ms(before.Timestamp), before.ID, limit)
	}
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return msgs, nil
}

// MessagesByKey implements History.
func (s *SQLite) MessagesByKey(ctx context.Context, keys []string) (map[string]Message, error) {
	rows, err := s.r.QueryContext(ctx, selectMessagesByKey, jsonIDs(keys))
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	out := make(map[string]Message, len(msgs))
	for _, m := range msgs {
		out[m.Key] = m
	}
	return out, nil
}

// PruneHistory implements History.
func (s *SQLite) PruneHistory(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, pruneMessages, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune history: %w", err)
	}
	return res.RowsAffected()
}

func scanMessage(row scanner) (Message, error) {
	var m Message
	var ts, received int64
	var env, desc string
	err := row.Scan(&m.ID, &m.Key, &m.Topic, &ts, &received, &env, &desc)
	m.Timestamp, m.Received = fromMS(ts), fromMS(received)
	m.Envelope, m.Description = []byte(env), []byte(desc)
	return m, err
}
