package store

import (
	"context"
	"fmt"
	"testing"
	"time"
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
			next := func() []Accepted {
				batch := make([]Accepted, batchSize)
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

// enqueueAutocommit is the baseline: the same rows, each statement its own
// transaction.
func enqueueAutocommit(ctx context.Context, s *SQLite, a Accepted) error {
	m := a.Message
	if _, err := s.w.ExecContext(ctx, insertMessage, m.Key, m.Topic, ms(m.Timestamp), ms(time.Now()), string(m.Envelope), string(m.Description)); err != nil {
		return err
	}
	for _, x := range a.Matches {
		now := ms(time.Now())
		if _, err := s.w.ExecContext(ctx, insertNotification, m.Key, x.UserID, x.DestinationID, x.FilterID, now, string(x.Why), now); err != nil {
			return err
		}
	}
	return nil
}
