package delivery

import (
	"context"
	"time"
)

// markAhead bounds how many sent batches may wait to be marked sent, and
// how many share one commit. It is the price of overlapping the store's
// commit with the next sends: a crash loses at most this many batches'
// marks (sent within the last markLinger), plus the one in flight, and
// those are sent again. Measured, overlapping is what keeps delivery
// near go-mail's own rate (see BenchmarkEmailDelivery).
const markAhead = 8

// markLinger is the longest a sent batch waits for others to share its
// commit: also the longest a crash can find it sent and not marked.
const markLinger = 5 * time.Millisecond

// marker is the record stage for successful sends: it marks batches sent
// in the background, all that are waiting in one transaction, while the
// next batch is on the wire. Failures are recorded synchronously: they
// decide what happens next.
type marker struct {
	d    *Deliverer
	ctx  context.Context
	ch   chan sentBatch
	done chan struct{}
	err  error // set before done is closed
}

type sentBatch struct {
	b  *Batch
	at time.Time
}

func (d *Deliverer) newMarker(ctx context.Context) *marker {
	m := &marker{d: d, ctx: ctx, ch: make(chan sentBatch, markAhead), done: make(chan struct{})}
	go m.run()
	return m
}

// sent hands over b, sent at at; it blocks while markAhead batches wait.
func (m *marker) sent(b *Batch, at time.Time) error {
	select {
	case <-m.done:
		return m.err
	default:
	}
	select {
	case m.ch <- sentBatch{b, at}:
		return nil
	case <-m.done:
		return m.err
	}
}

// close waits until everything handed over is marked.
func (m *marker) close() error {
	close(m.ch)
	<-m.done
	return m.err
}

// run marks what arrives in groups: a group is flushed once it holds
// markAhead batches, markLinger after its first arrived, or when the pass
// ends. Waiting a little for company makes one commit serve several sends.
func (m *marker) run() {
	defer close(m.done)
	linger := time.NewTimer(markLinger)
	defer linger.Stop()
	for first := range m.ch {
		group := []sentBatch{first}
		linger.Reset(markLinger)
	more:
		for len(group) < markAhead {
			select {
			case s, ok := <-m.ch:
				if !ok {
					break more
				}
				group = append(group, s)
			case <-linger.C:
				break more
			}
		}
		if m.err = m.flush(group); m.err != nil {
			return
		}
	}
}

// flush marks group sent in one transaction, then tells flood control,
// the bounce count and the stats.
func (m *marker) flush(group []sentBatch) error {
	var ids []int64
	for _, s := range group {
		for _, it := range s.b.Items {
			ids = append(ids, it.NotificationID)
		}
	}
	at := group[len(group)-1].at
	if err := m.d.o.Store.MarkSent(m.ctx, ids, at); err != nil {
		return err
	}
	for _, s := range group {
		dest := s.b.Destination.ID
		if s.b.Digest == NotDigest {
			m.d.flood.count(dest, len(s.b.Items), s.at)
		}
		m.d.bounced(dest, false)
		m.d.stats.sent(s.b, s.at)
	}
	return nil
}
