package delivery

import (
	"sync"
	"time"
)

// Stats is a snapshot of what delivery did since start, for metrics.
type Stats struct {
	// Notifications counts notifications by kind and outcome (sent,
	// failed, dead).
	Notifications map[string]map[string]int64
	// Batches counts what went on the wire by kind: single messages and
	// digests.
	Batches map[string]map[string]int64
	// LagSeconds and LagCount sum, over sent notifications, the time from
	// the message's own timestamp to its send.
	LagSeconds float64
	LagCount   int64
}

// stats keeps Stats.
type stats struct {
	mu sync.Mutex
	s  Stats
}

// Stats is what delivery did since start.
func (d *Deliverer) Stats() Stats {
	d.stats.mu.Lock()
	defer d.stats.mu.Unlock()
	out := d.stats.s
	out.Notifications = copyCounts(out.Notifications)
	out.Batches = copyCounts(out.Batches)
	return out
}

func copyCounts(m map[string]map[string]int64) map[string]map[string]int64 {
	out := make(map[string]map[string]int64, len(m))
	for k, inner := range m {
		out[k] = make(map[string]int64, len(inner))
		for o, n := range inner {
			out[k][o] = n
		}
	}
	return out
}

func bump(m *map[string]map[string]int64, kind, key string, n int64) {
	if *m == nil {
		*m = map[string]map[string]int64{}
	}
	if (*m)[kind] == nil {
		(*m)[kind] = map[string]int64{}
	}
	(*m)[kind][key] += n
}

// add counts n notifications of kind with outcome.
func (s *stats) add(kind, outcome string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bump(&s.s.Notifications, kind, outcome, int64(n))
}

// sent counts b as sent at and adds its items' lag.
func (s *stats) sent(b *Batch, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := b.Destination.Kind
	bump(&s.s.Notifications, kind, "sent", int64(len(b.Items)))
	shape := "single"
	if b.Digest != NotDigest {
		shape = "digest"
	}
	bump(&s.s.Batches, kind, shape, 1)
	for _, it := range b.Items {
		if !it.Time.IsZero() {
			s.s.LagSeconds += at.Sub(it.Time).Seconds()
			s.s.LagCount++
		}
	}
}
