package owners

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Refresher holds the current snapshot and replaces it on a schedule.
// A new snapshot is built aside and swapped in atomically, so matching
// never waits for a download; when a refresh fails the old snapshot stays,
// the failure is logged and counted.
type Refresher struct {
	src    Source
	logger *slog.Logger

	current   atomic.Pointer[Snapshot]
	refreshes atomic.Uint64
	failures  atomic.Uint64
}

// NewRefresher loads the ownership data once, so that a service never
// starts matching owned-by rules against nothing, and returns a
// Refresher holding it.
func NewRefresher(ctx context.Context, src Source, logger *slog.Logger) (*Refresher, error) {
	s, err := Load(ctx, src)
	if err != nil {
		return nil, err
	}
	r := &Refresher{src: src, logger: logger}
	r.current.Store(s)
	return r, nil
}

// Current returns the snapshot to match with now.
func (r *Refresher) Current() *Snapshot { return r.current.Load() }

// Stats counts refreshes since the Refresher was made.
type Stats struct {
	Refreshes uint64 // successful refreshes
	Failures  uint64 // failed refreshes; the previous snapshot stayed
}

// Stats returns the refresh counters, for the service's metrics.
func (r *Refresher) Stats() Stats {
	return Stats{Refreshes: r.refreshes.Load(), Failures: r.failures.Load()}
}

// Refresh loads the data again and swaps it in, or keeps the current
// snapshot and returns the error.
func (r *Refresher) Refresh(ctx context.Context) error {
	s, err := Load(ctx, r.src)
	if err != nil {
		r.failures.Add(1)
		r.logger.Error("refresh package owners; keeping the previous data", "source", r.src.Aliases, "err", err)
		return err
	}
	r.current.Store(s)
	r.refreshes.Add(1)
	r.logger.Info("refreshed package owners", "source", r.src.Aliases, "packages", s.Packages())
	return nil
}

// Run refreshes every interval until ctx is done.
func (r *Refresher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Refresh(ctx) // logged and counted; the old snapshot stays
		}
	}
}
