package delivery

import (
	"context"
	"time"
)

// A sent batch is marked sent together with the next few: markEvery
// batches or whatever was sent within markWithin, whichever comes first.
// A mark costs about 300 µs of SQLite (one transaction writing the log row
// and the notification), more than an SMTP send on loopback: marking each
// email on its own held delivery to a quarter of go-mail's rate. This
// group is the in-flight batch a crash can find sent and not yet marked,
// and send again: at most markEvery emails, all sent within markWithin
// of the crash.
const (
	markEvery  = 4
	markWithin = 5 * time.Millisecond
)

// marks is the record stage for successful sends: the group of sent,
// not yet marked batches.
type marks struct {
	d     *Deliverer
	group []sentBatch
	first time.Time // when the group's first batch was sent, by the wall clock
}

type sentBatch struct {
	b  *Batch
	at time.Time
}

// sent adds b, sent at at, and marks the group once it is full or old.
func (m *marks) sent(ctx context.Context, b *Batch, at time.Time) error {
	if len(m.group) == 0 {
		m.first = time.Now()
	}
	m.group = append(m.group, sentBatch{b, at})
	if len(m.group) >= markEvery || time.Since(m.first) >= markWithin {
		return m.flush(ctx)
	}
	return nil
}

// flush marks the group sent in one transaction, then tells flood
// control, the bounce count and the stats.
func (m *marks) flush(ctx context.Context) error {
	if len(m.group) == 0 {
		return nil
	}
	var ids []int64
	for _, s := range m.group {
		for _, it := range s.b.Items {
			ids = append(ids, it.NotificationID)
		}
	}
	if err := m.d.o.Store.MarkSent(ctx, ids, m.group[len(m.group)-1].at); err != nil {
		return err
	}
	for _, s := range m.group {
		dest := s.b.Destination.ID
		if s.b.Digest == NotDigest {
			m.d.flood.count(dest, len(s.b.Items), s.at)
		}
		m.d.bounced(dest, false)
		m.d.stats.sent(s.b, s.at)
	}
	m.group = m.group[:0]
	return nil
}
