package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unsafe"

	"hark/store"
)

// AddMessages implements History.
func (s *SQLite) AddMessages(ctx context.Context, msgs []store.Message) (int, error) {
	added := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		h, err := newHistoryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer h.close()
		for _, m := range msgs {
			if err := h.add(ctx, m); err != nil {
				return err
			}
		}
		added = h.added
		return h.fileTerms(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("add messages: %w", err)
	}
	return added, nil
}

// historyWriter adds messages to the history in one transaction and
// files the new ones under their terms with a few multi-row inserts at
// the end, rather than a trigger or a statement per term.
type historyWriter struct {
	ins   *sql.Stmt
	terms []any // insertTerms rows
	added int
}

func newHistoryWriter(ctx context.Context, tx *sql.Tx) (*historyWriter, error) {
	ins, err := tx.PrepareContext(ctx, insertMessage)
	if err != nil {
		return nil, err
	}
	return &historyWriter{ins: ins}, nil
}

// add inserts m unless a message with its key is stored already.
func (h *historyWriter) add(ctx context.Context, m store.Message) error {
	if m.Received.IsZero() {
		m.Received = time.Now()
	}
	if len(m.Description) == 0 {
		m.Description = emptyDescription
	}
	res, err := h.ins.ExecContext(ctx, m.Key, m.Topic, ms(m.Timestamp), ms(m.Received), borrowString(m.Envelope), string(m.Description))
	if err != nil {
		return fmt.Errorf("add message %s: %w", m.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // stored before: its terms are filed already
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("add message %s: %w", m.Key, err)
	}
	h.added++
	h.terms = appendTerms(h.terms, id, m)
	return nil
}

// fileTerms files the messages added so far under their terms.
func (h *historyWriter) fileTerms(ctx context.Context, tx *sql.Tx) error {
	if _, err := insertTerms.exec(ctx, tx, h.terms); err != nil {
		return fmt.Errorf("file message terms: %w", err)
	}
	h.terms = h.terms[:0]
	return nil
}

func (h *historyWriter) close() { h.ins.Close() }

// emptyDescription is what a message without a description stores.
var emptyDescription = []byte("{}")

// HistoryPage implements History.
func (s *SQLite) HistoryPage(ctx context.Context, before store.Cursor, limit int) ([]store.Message, error) {
	var rows *sql.Rows
	var err error
	if before == (store.Cursor{}) {
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
func (s *SQLite) MessagesByKey(ctx context.Context, keys []string) (map[string]store.Message, error) {
	rows, err := s.r.QueryContext(ctx, selectMessagesByKey, jsonIDs(keys))
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	out := make(map[string]store.Message, len(msgs))
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

func scanMessage(row scanner) (store.Message, error) {
	var m store.Message
	var ts, received int64
	var env, desc string
	err := row.Scan(&m.ID, &m.Key, &m.Topic, &ts, &received, &env, &desc)
	m.Timestamp, m.Received = fromMS(ts), fromMS(received)
	m.Envelope, m.Description = []byte(env), []byte(desc)
	return m, err
}

// borrowString is b as a string without a copy, for a statement argument:
// the driver copies it into SQLite before the call returns, and nothing
// changes b meanwhile. A message's envelope text is kilobytes; copying it
// was a good part of what the ingest path gave the garbage collector.
func borrowString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
