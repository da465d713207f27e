package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hark/store"
)

// AppendSent implements store.SentJournal: one statement, unfenced.
func (s *SQLite) AppendSent(ctx context.Context, instance, kind string, ids []int64, at time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, appendSent, instance, kind, joinIDs(ids), ms(at))
	if err != nil {
		return 0, fmt.Errorf("append to the sent journal of %s %s: %w", instance, kind, err)
	}
	return res.LastInsertId()
}

// SentRecords implements store.SentJournal.
func (s *SQLite) SentRecords(ctx context.Context, instance, kind string) ([]store.SentRecord, error) {
	rows, err := s.r.QueryContext(ctx, selectSent, instance, kind)
	if err != nil {
		return nil, fmt.Errorf("read the sent journal of %s %s: %w", instance, kind, err)
	}
	defer rows.Close()
	var recs []store.SentRecord
	for rows.Next() {
		var r store.SentRecord
		var ids string
		var at int64
		if err := rows.Scan(&r.ID, &ids, &at); err != nil {
			return nil, fmt.Errorf("read the sent journal of %s %s: %w", instance, kind, err)
		}
		if r.IDs, err = splitIDs(ids); err != nil {
			return nil, fmt.Errorf("read the sent journal of %s %s: record %d: %w", instance, kind, r.ID, err)
		}
		r.At = fromMS(at)
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the sent journal of %s %s: %w", instance, kind, err)
	}
	return recs, nil
}

// SettleSent implements store.SentJournal.
func (s *SQLite) SettleSent(ctx context.Context, instance, kind string, upTo int64) error {
	if _, err := s.w.ExecContext(ctx, settleSent, instance, kind, upTo); err != nil {
		return fmt.Errorf("settle the sent journal of %s %s: %w", instance, kind, err)
	}
	return nil
}

// joinIDs is ids as the sent_journal table keeps them: joined by commas.
func joinIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// splitIDs is the inverse of joinIDs.
func splitIDs(s string) ([]int64, error) {
	var ids []int64
	for f := range strings.SplitSeq(s, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("notification id %q: %w", f, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
