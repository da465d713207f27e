package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hark/store"
)

// The sent journals (store.SentJournal, schemaV8): one statement each,
// on the pool, unfenced. The writes commit with synchronous_commit off
// (set for their own transaction only): a record is visible to every
// process the moment the INSERT returns, so a killed worker's records
// are there for its successor, and only a crash of the server itself
// can lose the last few hundred milliseconds of them (a send repeated,
// never lost) — as the SQLite backend's journal file, written without
// fsync, is lost only to a power loss. Waiting for the WAL flush
// instead would double a send's cost on a fast relay.
const asyncCommit = `(SELECT set_config('synchronous_commit', 'off', true)) AS async`

// AppendSent implements store.SentJournal.
func (s *Store) AppendSent(ctx context.Context, instance, kind string, ids []int64, at time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO sent_journal (instance, kind, ids, at) SELECT $1, $2, $3, $4 FROM `+asyncCommit+` RETURNING id`,
		instance, kind, ids, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("append to the sent journal of %s %s: %w", instance, kind, err)
	}
	return id, nil
}

// SentRecords implements store.SentJournal.
func (s *Store) SentRecords(ctx context.Context, instance, kind string) ([]store.SentRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, ids, at FROM sent_journal WHERE instance = $1 AND kind = $2 ORDER BY id`, instance, kind)
	if err != nil {
		return nil, fmt.Errorf("read the sent journal of %s %s: %w", instance, kind, err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SentRecord, error) {
		var r store.SentRecord
		err := row.Scan(&r.ID, &r.IDs, &r.At)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the sent journal of %s %s: %w", instance, kind, err)
	}
	return recs, nil
}

// SettleSent implements store.SentJournal.
func (s *Store) SettleSent(ctx context.Context, instance, kind string, upTo int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sent_journal USING `+asyncCommit+` WHERE instance = $1 AND kind = $2 AND id <= $3`, instance, kind, upTo); err != nil {
		return fmt.Errorf("settle the sent journal of %s %s: %w", instance, kind, err)
	}
	return nil
}
