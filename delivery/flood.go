package delivery

import (
	"math"
	"sync"
	"time"
)

// flood is flood control's memory: per destination, when recent single
// notifications were sent and whether a storm is on. It lives in memory:
// after a restart a storm starts counting afresh, which can let through
// at most one more Rate of single messages.
type flood struct {
	cfg Flood

	mu    sync.Mutex
	sent  map[int64][]time.Time // single notifications within Window
	until map[int64]time.Time   // storm on: next digest at this time
}

func newFlood(cfg Flood) *flood {
	return &flood{cfg: cfg, sent: map[int64][]time.Time{}, until: map[int64]time.Time{}}
}

// allowed is how many single notifications dest may still get at now.
func (f *flood) allowed(dest int64, now time.Time) int {
	if f.cfg.Rate <= 0 {
		return math.MaxInt
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.sent[dest]
	i := 0
	for i < len(recent) && now.Sub(recent[i]) >= f.cfg.Window {
		i++
	}
	f.sent[dest] = recent[i:]
	return max(0, f.cfg.Rate-len(recent[i:]))
}

// count records n single notifications sent to dest at now.
func (f *flood) count(dest int64, n int, now time.Time) {
	if f.cfg.Rate <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.sent[dest] = append(f.sent[dest], now)
	}
}

// start turns the storm on for dest: its next digest goes at now+DigestFor.
func (f *flood) start(dest int64, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.until[dest] = now.Add(f.cfg.DigestFor)
}

// storm says whether dest is in a storm and when its digest is due.
func (f *flood) storm(dest int64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	until, ok := f.until[dest]
	return until, ok
}

// calm is called as a storm's digest of n goes out at now: the storm goes
// on (next digest at the returned time) while more arrived in the period
// than Rate per Window allows over DigestFor, and ends otherwise (zero
// time).
func (f *flood) calm(dest int64, n int, now time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if float64(n) > float64(f.cfg.Rate)*f.cfg.DigestFor.Seconds()/f.cfg.Window.Seconds() {
		f.until[dest] = now.Add(f.cfg.DigestFor)
		return f.until[dest]
	}
	delete(f.until, dest)
	f.sent[dest] = nil
	return time.Time{}
}
