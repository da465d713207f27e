// Package router is hark's per-message path, from the bus to the durable
// queue: every message is described once, matched once against every
// user's filters through the index, and committed with its history row in
// small batches. It also keeps the index in step with the filters in the
// store while it runs. It sends nothing: delivery reads the queue.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/store"
)

// Store is what the router needs of hark's store.
type Store interface {
	SettingsVersion(ctx context.Context) (int64, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	AllDestinations(ctx context.Context) ([]store.Destination, error)
	ActiveFilters(ctx context.Context) ([]store.Filter, error)
	Enqueue(ctx context.Context, batch []store.Accepted) (store.EnqueueResult, error)
	PruneHistory(ctx context.Context, cutoff time.Time) (int64, error)
	// The change feed says when settings changed; the router, which
	// writes most of it, prunes it.
	store.Following
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
}

// Describer works out what a message is about; *meta.Describer is the real
// one.
type Describer interface {
	Describe(env *bus.Envelope) meta.Description
}

// Source delivers bus messages to a handler until ctx is done;
// *bus.Subscriber is one.
type Source interface {
	Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error
}

// Options configure a Router. Zero durations and sizes take the defaults
// documented on each field.
type Options struct {
	Store     Store
	Describer Describer
	Index     *filters.Index
	// BatchSize is the most messages committed in one transaction
	// (default 256).
	BatchSize int
	// FlushEvery bounds how long a received message waits to be committed
	// (default 100ms): the window a crash can lose.
	FlushEvery time.Duration
	// ReloadEvery is how often the store is asked whether filters,
	// destinations or users changed when its change feed did not say so
	// (default 5s): a change takes effect as soon as the feed tells of
	// it, within milliseconds, or else within ReloadEvery.
	ReloadEvery time.Duration
	// Retention is how long a message stays in the history after it was
	// received (0 keeps it forever); it is pruned every PruneEvery
	// (default 10 minutes), and so is the store's change feed, which
	// keeps changesKept.
	Retention  time.Duration
	PruneEvery time.Duration
	// StopGrace is how long, once Run's ctx is done, the router still
	// waits for its sources to return and tries to commit what they
	// handed over (default 5s). Past it, what is left is not committed:
	// its sources are told (an AMQP message is requeued), so a full disk,
	// a stuck store or a rule that runs long cannot hold up shutdown.
	StopGrace time.Duration
	// Unreachable reports whether a store error says the store cannot be
	// reached for now (a database server restarting): Run's first load
	// of the filters waits through those, retrying with backoff, instead
	// of failing. Nil: every error fails it.
	Unreachable func(error) bool
	Logger      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Stats is a snapshot of the router's counters, for metrics.
type Stats struct {
	Handled       uint64 // messages described and matched
	Matches       uint64 // (user, destination) matches found
	Committed     uint64 // messages committed to the store
	Notifications uint64 // notifications newly queued
	CommitErrors  uint64 // failed commits (retried)
	Uncommitted   uint64 // messages given up at shutdown because their commit kept failing
	Reloads       uint64 // filter reloads into the index
	ReloadErrors  uint64 // reloads that failed (the old filters stay)
}

// Router runs the per-message path. Create it with New, then Run it.
type Router struct {
	opts    Options
	log     *slog.Logger
	pending chan pending
	version atomic.Int64 // the settings version the index reflects

	stats struct {
		handled, matches, committed, notifications,
		commitErrors, reloads, reloadErrors, uncommitted atomic.Uint64
	}
	// committing is when the batch being committed was first tried (unix
	// nanoseconds; 0 while nothing waits), and commitErr its last error:
	// the health check's view of a store that fails or hangs.
	committing atomic.Int64
	commitErr  atomic.Pointer[string]
}

// New checks opts and fills its defaults.
func New(opts Options) (*Router, error) {
	if opts.Store == nil || opts.Describer == nil || opts.Index == nil {
		return nil, errors.New("new router: Store, Describer and Index are required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 100 * time.Millisecond
	}
	if opts.ReloadEvery <= 0 {
		opts.ReloadEvery = 5 * time.Second
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = 10 * time.Minute
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Room for a few batches: matching goes on while the committer is in
	// a transaction, instead of the two halves taking turns.
	r := &Router{opts: opts, log: opts.Logger, pending: make(chan pending, 4*opts.BatchSize)}
	r.version.Store(-1)
	return r, nil
}

// Stats returns a snapshot of the counters.
func (r *Router) Stats() Stats {
	return Stats{
		Handled:       r.stats.handled.Load(),
		Matches:       r.stats.matches.Load(),
		Committed:     r.stats.committed.Load(),
		Notifications: r.stats.notifications.Load(),
		CommitErrors:  r.stats.commitErrors.Load(),
		Uncommitted:   r.stats.uncommitted.Load(),
		Reloads:       r.stats.reloads.Load(),
		ReloadErrors:  r.stats.reloadErrors.Load(),
	}
}

// Waiting for an unreachable store at the first reload: the first retry
// after firstReloadRetry, each later one after twice the wait before, at
// most firstReloadRetryMax apart.
const (
	firstReloadRetry    = time.Second
	firstReloadRetryMax = 30 * time.Second
)

// firstReload loads the filters Run starts with, retrying while the
// store is unreachable (see Options.Unreachable) until ctx is done.
func (r *Router) firstReload(ctx context.Context) error {
	wait := firstReloadRetry
	for {
		err := r.Reload(ctx)
		if err == nil || ctx.Err() != nil || r.opts.Unreachable == nil || !r.opts.Unreachable(err) {
			return err
		}
		r.log.Warn("store unreachable at the first load of the filters; retrying", "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, firstReloadRetryMax)
	}
}

// Run loads the filters, then feeds every source's messages through the
// per-message path until ctx is done. It then stops the sources, commits
// what they handed over, and returns: a message handed to the router
// before shutdown is committed, not dropped.
func (r *Router) Run(ctx context.Context, sources ...Source) error {
	from := store.FollowFrom(ctx, r.opts.Store) // before the first reload
	if err := r.firstReload(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing was handed over yet
		}
		return err
	}
	// Commits outlive ctx by StopGrace, so what was handed over before
	// shutdown is still committed, but no longer.
	commitCtx, stopCommits := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCommits()
	graceTimer := context.AfterFunc(ctx, func() { time.AfterFunc(r.opts.StopGrace, stopCommits) })
	defer graceTimer()
	drain := make(chan struct{}) // closed once the sources are done
	var committer sync.WaitGroup
	committer.Go(func() { r.commitLoop(commitCtx, drain) })

	var wg sync.WaitGroup
	wg.Go(func() { r.reloadLoop(ctx, from) })
	wg.Go(func() { r.pruneLoop(ctx) })
	var mu sync.Mutex
	var errs []error
	for _, src := range sources {
		wg.Go(func() {
			err := src.Run(ctx, r.Handle)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		})
	}
	r.waitSources(ctx, &wg)
	close(drain)
	committer.Wait()
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// waitSources waits until the sources have returned, but no longer than
// StopGrace past ctx's end: a source stuck in Handle (a rule that takes
// long on a message) must not hold up shutdown. What it hands over later
// is not committed; an AMQP message is delivered again at the next start.
func (r *Router) waitSources(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	grace := time.NewTimer(r.opts.StopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		r.log.Error("stopping without the bus sources: a message is still being matched", "waited", r.opts.StopGrace)
	}
}

// Handle is the whole per-message path: describe once, match once, queue
// once. Nothing per user happens before Match; nothing blocks on the
// network after it. It blocks while the committer is behind, which holds
// the source back instead of dropping the message. env.Ack, if any, is
// called once the message is committed, or with ErrShuttingDown when it
// never will be.
func (r *Router) Handle(ctx context.Context, env *bus.Envelope) {
	p := pending{env: env, received: r.opts.Now(), ack: env.Ack}
	p.desc = r.opts.Describer.Describe(env)
	hits := r.opts.Index.MatchContext(ctx, env, &p.desc)
	if ctx.Err() != nil {
		// Shutdown stopped the rules running, so the hits may be
		// incomplete: the message is not committed, for its source to
		// deliver it again.
		r.log.Warn("message not committed: shutting down", "msg_id", env.Key(), "topic", env.Topic)
		if env.Ack != nil {
			env.Ack(ErrShuttingDown)
		}
		return
	}
	p.matches = r.matches(hits)
	r.stats.handled.Add(1)
	r.stats.matches.Add(uint64(len(p.matches)))
	select {
	case r.pending <- p:
	case <-ctx.Done():
		r.log.Warn("message not committed: shutting down", "msg_id", env.Key(), "topic", env.Topic)
		if env.Ack != nil {
			env.Ack(ErrShuttingDown)
		}
	}
}

// ErrShuttingDown is what a message's Ack gets when the router stops
// before committing it: its source should have it delivered again.
var ErrShuttingDown = errors.New("router shutting down before commit")

// pending is a matched message waiting for its commit, and how to tell
// its source that it is committed (nil: the source does not care). Its
// history record is made by the committer (see accepted), which keeps
// that work off the matching goroutine.
type pending struct {
	env      *bus.Envelope
	desc     meta.Description
	received time.Time
	matches  []store.Match
	ack      func(error)
}

// matches turns hits into what the store queues: one match per hit,
// with the store's ids the index holds the filters with (filters.Ref)
// and the reason the filter matched. A destination deleted since the
// index last reloaded is the store's to drop, at commit.
func (r *Router) matches(hits []filters.Hit) []store.Match {
	if len(hits) == 0 {
		return nil
	}
	out := make([]store.Match, len(hits))
	for i, h := range hits {
		out[i] = store.Match{UserID: h.UserID, DestinationID: h.DestinationID, FilterID: h.FilterID, Oneshot: h.OneShot, Why: h.Why()}
	}
	return out
}

// accepted is what the store commits for p: the history record and the
// matches. The record's text is appended to text, the batch's buffer,
// which the committer reuses once the batch is committed: a message's
// text (kilobytes) was most of what the ingest path allocated, and so
// most of the garbage collector's work.
func (p *pending) accepted(text *[]byte) store.Accepted {
	env := p.env
	// The history keeps the text the regex rule searches, which previews
	// read without decoding. A description is plain strings and slices:
	// encoding it cannot fail.
	start := len(*text)
	*text = bus.AppendCompactUTF8(*text, env.Fields)
	msg, _ := store.NewMessage(env.Key(), env.Topic, env.Timestamp, (*text)[start:len(*text):len(*text)], &p.desc)
	msg.Received = p.received
	if msg.Timestamp.IsZero() {
		msg.Timestamp = p.received // old messages carry no timestamp: they sort as received
	}
	return store.Accepted{Message: msg, Matches: p.matches}
}

// commitLoop commits pending messages in batches of up to BatchSize, at
// least every FlushEvery, until drain is closed and pending drained. Only after
// a batch is committed are its messages acknowledged to their sources.
// Each commit runs under commitCtx, which outlives Run's ctx by
// StopGrace.
func (r *Router) commitLoop(commitCtx context.Context, drain <-chan struct{}) {
	batch := make([]store.Accepted, 0, r.opts.BatchSize)
	acks := make([]func(error), 0, r.opts.BatchSize)
	var text []byte // the batch's envelope texts (see accepted)
	timer := time.NewTimer(r.opts.FlushEvery)
	defer timer.Stop()
	flush := func() {
		err := r.commit(commitCtx, batch)
		if err != nil {
			r.stats.uncommitted.Add(uint64(len(batch)))
			r.log.Error("messages not committed: shutting down while the store fails; AMQP ones are delivered again at the next start",
				"messages", len(batch), "first_msg_id", batch[0].Message.Key, "err", err)
			err = fmt.Errorf("%w: %w", ErrShuttingDown, err)
		}
		batch = batch[:0]
		text = text[:0]
		for _, ack := range acks {
			if ack != nil {
				ack(err)
			}
		}
		acks = acks[:0]
	}
	take := func(p pending) (full bool) {
		batch = append(batch, p.accepted(&text))
		acks = append(acks, p.ack)
		return len(batch) >= r.opts.BatchSize
	}
	for {
		select {
		case p := <-r.pending:
			if !take(p) {
				continue
			}
		case <-timer.C:
		case <-drain:
			// The sources are done: commit what they handed over.
			for {
				select {
				case p := <-r.pending:
					if take(p) {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
		flush()
		timer.Reset(r.opts.FlushEvery)
	}
}

// commit writes batch to the store, retrying with backoff until it
// succeeds: the messages were accepted from the bus, so they are not
// dropped because the disk was briefly busy or full. commitCtx ends
// StopGrace after shutdown: then it gives up and returns the error, so
// shutdown never waits on a store that keeps failing or hangs.
func (r *Router) commit(commitCtx context.Context, batch []store.Accepted) error {
	if len(batch) == 0 {
		return nil
	}
	r.commitErr.Store(nil)
	r.committing.Store(r.opts.Now().UnixNano())
	backoff := 50 * time.Millisecond
	for {
		res, err := r.opts.Store.Enqueue(commitCtx, batch)
		if err == nil {
			r.committing.Store(0)
			r.stats.committed.Add(uint64(len(batch)))
			r.stats.notifications.Add(uint64(res.Notifications))
			if len(res.UsedUp) > 0 {
				r.log.Info("one-shot filters used up", "filters", res.UsedUp)
			}
			if res.Dropped > 0 {
				r.log.Info("matches dropped: their destinations were deleted meanwhile", "matches", res.Dropped)
			}
			return nil
		}
		r.stats.commitErrors.Add(1)
		msg := err.Error()
		r.commitErr.Store(&msg)
		// A failed commit may leave one-shot filters used up in the index
		// but not in the store: reload from the store's truth.
		r.version.Store(-1)
		if commitCtx.Err() != nil {
			return err
		}
		r.log.Error("commit messages failed, retrying", "messages", len(batch), "first_msg_id", batch[0].Message.Key, "err", err)
		wait := time.NewTimer(backoff)
		select {
		case <-wait.C:
		case <-commitCtx.Done():
			wait.Stop()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// CommitStuck reports since when the router has been trying to commit a
// batch without success, and the last error; zero time when nothing
// waits. A commit normally takes milliseconds: a health check compares
// the time with its threshold.
func (r *Router) CommitStuck() (since time.Time, cause string) {
	ns := r.committing.Load()
	if ns == 0 {
		return time.Time{}, ""
	}
	if p := r.commitErr.Load(); p != nil {
		cause = *p
	}
	return time.Unix(0, ns), cause
}

// changesKept is how long the store's change feed keeps a change: far
// longer than any reader of it lags.
const changesKept = time.Hour

// pruneLoop keeps the history within Retention (when there is one) and
// the change feed within changesKept, until ctx is done.
func (r *Router) pruneLoop(ctx context.Context) {
	tick := time.NewTicker(r.opts.PruneEvery)
	defer tick.Stop()
	for {
		if r.opts.Retention > 0 {
			n, err := r.opts.Store.PruneHistory(ctx, r.opts.Now().Add(-r.opts.Retention))
			switch {
			case err != nil && ctx.Err() == nil:
				r.log.Error("prune history failed", "err", err)
			case n > 0:
				r.log.Info("pruned history", "messages", n, "retention", r.opts.Retention)
			}
		}
		if _, err := r.opts.Store.PruneChanges(ctx, r.opts.Now().Add(-changesKept)); err != nil && ctx.Err() == nil {
			r.log.Error("prune the change feed failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
