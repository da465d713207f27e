package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hark/store"
)

// BenchmarkEnqueue compares queuing 100 messages (each with one
// notification) in one transaction against the autocommit baseline of one
// implicit transaction per statement. Compare the two in the same run: the
// ratio, not the absolute figure, is the result.
func BenchmarkEnqueue(b *testing.B) {
	const batchSize = 100
	ctx := context.Background()
	for _, mode := range []string{"autocommit", "batched"} {
		b.Run(mode, func(b *testing.B) {
			s := openTest(b)
			f := seed(b, s, "alice", false)
			n := 0
			next := func() []store.Accepted {
				batch := make([]store.Accepted, batchSize)
				for i := range batch {
					batch[i] = f.accepted(fmt.Sprintf("m%d", n))
					n++
				}
				return batch
			}
			for b.Loop() {
				batch := next()
				if mode == "batched" {
					if _, err := s.Enqueue(ctx, batch); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, a := range batch {
					if err := enqueueAutocommit(ctx, s, a); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// baselineNotification is a notification row as queuing made them before
// the inbox (schemaV6): the baseline writes one per match.
const baselineNotification = `
INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, next_attempt, why, created)
VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
ON CONFLICT (msg_key, destination_id) DO NOTHING`

// enqueueAutocommit is the baseline: a row per message and per match, each
// statement its own transaction.
func enqueueAutocommit(ctx context.Context, s *SQLite, a store.Accepted) error {
	m := a.Message
	if _, err := s.w.ExecContext(ctx, insertMessage, m.Key, m.Topic, ms(m.Timestamp), ms(time.Now()), string(m.Envelope), string(m.Description)); err != nil {
		return err
	}
	for _, x := range a.Matches {
		now := ms(time.Now())
		if _, err := s.w.ExecContext(ctx, baselineNotification, m.Key, x.UserID, x.DestinationID, x.FilterID, now, string(x.Why), now); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkHistoryPage pages 100 messages at a time through a history of
// 100,000, from a cursor halfway down; the baseline is the first page.
func BenchmarkHistoryPage(b *testing.B) {
	const total = 100_000
	ctx := context.Background()
	s := openTest(b)
	base := time.Unix(1700000000, 0)
	batch := make([]store.Message, 0, 1000)
	for i := range total {
		batch = append(batch, message(fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second)))
		if len(batch) == cap(batch) {
			if _, err := s.AddMessages(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	middle := store.Cursor{Timestamp: base.Add(total / 2 * time.Second), ID: total / 2}
	for _, tc := range []struct {
		name   string
		cursor store.Cursor
	}{{"first", store.Cursor{}}, {"middle", middle}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.HistoryPage(ctx, tc.cursor, 100)
				if err != nil || len(page) != 100 {
					b.Fatalf("page of %d, %v", len(page), err)
				}
			}
		})
	}
}
