package catchup

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hark/bus"
)

// Fetcher hands over the messages of a window; *Client is the real one.
type Fetcher interface {
	Window(ctx context.Context, start, end time.Time, each func(*bus.Envelope) error) (int, error)
}

// Source is a router source that delivers no live message: at start it
// asks for what was missed since the newest stored message, and later
// for the silences Watch notices on the live sources.
type Source struct {
	opts    Options
	log     *slog.Logger
	gaps    chan window
	last    atomic.Int64 // Unix nanoseconds of the newest arrival on a watched source
	running sync.Mutex   // one catch-up at a time
	// troubles is Troubles when the source was made: only later ones
	// are the live sources' losses.
	troubles uint64

	stats struct{ catchups, handed, skipped, failures atomic.Uint64 }
}

// Options configure a Source.
type Options struct {
	Fetcher Fetcher
	// Newest is the timestamp of the newest message hark stored (zero:
	// none), where the catch-up at start begins.
	Newest func(ctx context.Context) (time.Time, error)
	// MaxWindow bounds how far back a catch-up reaches (default 24h):
	// past it, an empty or long-dead store is not refilled from the
	// beginning of the bus.
	MaxWindow time.Duration
	// Gap is the silence on the live sources after which their next
	// message triggers a catch-up of the silent window (default 10
	// minutes; negative: never). It covers a ZeroMQ publisher gone
	// quiet, a seq_id gap the publisher cannot replay, and an AMQP
	// queue the broker dropped while hark was cut off from it.
	Gap time.Duration
	// Overlap is how far before the last message a catch-up starts
	// (default 1 minute): clocks and datagrepper's ingestion lag.
	Overlap time.Duration
	// Troubles, when set, counts what the live sources know they lost
	// (replays that failed, connections lost and dialed again); it is
	// read every PollEvery (default 10s), and when it grew, the window
	// since the last message before it is caught up.
	Troubles  func() uint64
	PollEvery time.Duration
	// Accept, when set, keeps only the topics the live bus would have
	// delivered (hark's topic prefixes and AMQP bindings).
	Accept func(topic string) bool
	Logger *slog.Logger
	Now    func() time.Time
}

type window struct{ start, end time.Time }

// New fills opts' defaults.
func New(opts Options) *Source {
	if opts.MaxWindow <= 0 {
		opts.MaxWindow = 24 * time.Hour
	}
	if opts.Gap == 0 {
		opts.Gap = 10 * time.Minute
	}
	if opts.Overlap <= 0 {
		opts.Overlap = time.Minute
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Source{opts: opts, log: opts.Logger, gaps: make(chan window, 16)}
	if opts.Troubles != nil {
		s.troubles = opts.Troubles()
	}
	return s
}

// Stats is a snapshot of the catch-up counters, for metrics.
type Stats struct {
	Catchups uint64 // windows asked for
	Handed   uint64 // messages handed to the router
	Skipped  uint64 // messages of topics the bus would not have delivered
	Failures uint64 // windows that failed part way
}

// Stats returns a snapshot of the counters.
func (s *Source) Stats() Stats {
	return Stats{Catchups: s.stats.catchups.Load(), Handed: s.stats.handed.Load(), Skipped: s.stats.skipped.Load(), Failures: s.stats.failures.Load()}
}

// Handled is how many messages catch-ups handed to the router.
func (s *Source) Handled() uint64 { return s.stats.handed.Load() }

// Run catches up from the newest stored message to now, then catches up
// each gap Watch reports, until ctx is done.
func (s *Source) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	now := s.opts.Now()
	start := now.Add(-s.opts.MaxWindow)
	newest, err := s.opts.Newest(ctx)
	if err != nil {
		s.log.Error("catch-up: read the newest stored message", "err", err)
	} else if !newest.IsZero() && newest.Add(-s.opts.Overlap).After(start) {
		start = newest.Add(-s.opts.Overlap)
	}
	if !newest.IsZero() || err != nil {
		s.catchUp(ctx, window{start, now}, handle)
	}
	// A fresh install has nothing to catch up on: `hark history backfill`
	// seeds its history without sending years of notifications.
	troubles := s.troubles
	lastPoll := now
	poll := time.NewTicker(s.opts.PollEvery)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-s.gaps:
			s.catchUp(ctx, w, handle)
		case <-poll.C:
			if s.opts.Troubles == nil {
				continue
			}
			now := s.opts.Now()
			if n := s.opts.Troubles(); n > troubles {
				troubles = n
				// From the last message before the trouble, or the last
				// poll when nothing arrived since.
				start := lastPoll
				if last := s.last.Load(); last != 0 && time.Unix(0, last).Before(start) {
					start = time.Unix(0, last)
				}
				s.log.Info("the bus lost messages, catching up", "since", start)
				s.catchUp(ctx, window{start.Add(-s.opts.Overlap), now}, handle)
			}
			lastPoll = now
		}
	}
}

func (s *Source) catchUp(ctx context.Context, w window, handle func(context.Context, *bus.Envelope)) {
	if earliest := w.end.Add(-s.opts.MaxWindow); w.start.Before(earliest) {
		s.log.Warn("catch-up: window longer than catchup.max_window, the oldest part stays missed",
			"missed_from", w.start, "catching_up_from", earliest)
		w.start = earliest
	}
	s.running.Lock()
	defer s.running.Unlock()
	s.log.Info("catching up from datagrepper", "from", w.start, "to", w.end)
	s.stats.catchups.Add(1)
	n, err := s.opts.Fetcher.Window(ctx, w.start, w.end, func(env *bus.Envelope) error {
		if s.opts.Accept != nil && !s.opts.Accept(env.Topic) {
			s.stats.skipped.Add(1)
			return nil
		}
		handle(ctx, env)
		s.stats.handed.Add(1)
		return ctx.Err()
	})
	if err != nil && ctx.Err() == nil {
		s.stats.failures.Add(1)
		s.log.Error("catch-up failed, messages of the window may be missed", "from", w.start, "to", w.end, "handed", n, "err", err)
		return
	}
	s.log.Info("caught up", "from", w.start, "to", w.end, "messages", n)
}

// Watch wraps a live source so that its messages tell s when the bus
// was silent for longer than Gap: the silent window is then caught up.
func (s *Source) Watch(src interface {
	Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error
}) *Watched {
	return &Watched{src: src, s: s}
}

// Watched is a live source whose silences s catches up.
type Watched struct {
	src interface {
		Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error
	}
	s *Source
}

// Run runs the live source, noting each arrival.
func (w *Watched) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	return w.src.Run(ctx, func(ctx context.Context, env *bus.Envelope) {
		w.s.arrived()
		handle(ctx, env)
	})
}

// arrived notes a live message; after a silence longer than Gap it asks
// for the silent window.
func (s *Source) arrived() {
	now := s.opts.Now()
	prev := s.last.Swap(now.UnixNano())
	if s.opts.Gap < 0 || prev == 0 {
		return // the first message after start: Run's own catch-up covers before it
	}
	if last := time.Unix(0, prev); now.Sub(last) > s.opts.Gap {
		select {
		case s.gaps <- window{last.Add(-s.opts.Overlap), now}:
		default: // catch-ups queued already cover most of it; never block the bus
		}
	}
}
