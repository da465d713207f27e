package delivery

import (
	"context"
	"time"
)

// A sent batch is marked sent together with the next ones: markEvery
// batches or whatever was sent within markWithin, whichever comes first,
// and in any case at the end of the claim being sent. A mark costs a few
// hundred µs of SQLite (one transaction writing the log rows and the
// notifications), more than an SMTP send on loopback: marking each email
// on its own held delivery to a quarter of go-mail's rate. With a sent
// journal, the group bounds nothing a crash can repeat (the journal
// holds every send not yet marked), only how late the store, the stats
// and flood control learn of a send; without one, a crash sends the
// group again.
const (
	markEvery  = 64
	markWithin = 50 * time.Millisecond
)

// marks is the record stage for successful sends: the group of sent,
// not yet marked batches.
type marks struct {
	d     *Deliverer
	j     *journal
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
// control, the bounce count and the stats, and lets the journal go of
// the group's ids (truncating it once nothing it holds is pending).
func (m *marks) flush(ctx context.Context) error {
	if len(m.group) == 0 {
		return m.j.settled(ctx, nil)
	}
	var ids []int64
	for _, s := range m.group {
		ids = append(ids, s.b.notificationIDs()...)
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
	return m.j.settled(ctx, ids)
}
