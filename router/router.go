// Package router is hark's per-message path, from the bus to the durable
// queue: every message is described once, matched once against every
// user's filters through the index, and committed with its history row in
// small batches. It also keeps the index in step with the filters in the
// store while it runs. It sends nothing: delivery reads the queue.
package router

import (
	"context"
	"errors"
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
	// destinations or users changed (default 500ms), so a change takes
	// effect within a second.
	ReloadEvery time.Duration
	// Retention is how long a message stays in the history after it was
	// received (0 keeps it forever); it is pruned every PruneEvery
	// (default 10 minutes).
	Retention  time.Duration
	PruneEvery time.Duration
	Logger     *slog.Logger
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
	Reloads       uint64 // filter reloads into the index
	ReloadErrors  uint64 // reloads that failed (the old filters stay)
}

// Router runs the per-message path. Create it with New, then Run it.
type Router struct {
	opts    Options
	log     *slog.Logger
	dir     atomic.Pointer[directory]
	pending chan pending
	version atomic.Int64 // the settings version the index reflects

	stats struct {
		handled, matches, committed, notifications,
		commitErrors, reloads, reloadErrors atomic.Uint64
	}
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
		opts.ReloadEvery = 500 * time.Millisecond
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = 10 * time.Minute
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
	r.dir.Store(&directory{})
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
		Reloads:       r.stats.reloads.Load(),
		ReloadErrors:  r.stats.reloadErrors.Load(),
	}
}

// Run loads the filters, then feeds every source's messages through the
// per-message path until ctx is done. It then stops the sources, commits
// what they handed over, and returns: a message handed to the router
// before shutdown is committed, not dropped.
func (r *Router) Run(ctx context.Context, sources ...Source) error {
	if err := r.Reload(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing was handed over yet
		}
		return err
	}
	var committer sync.WaitGroup
	committer.Go(r.commitLoop)

	var wg sync.WaitGroup
	wg.Go(func() { r.reloadLoop(ctx) })
	if r.opts.Retention > 0 {
		wg.Go(func() { r.pruneLoop(ctx) })
	}
	errs := make([]error, len(sources))
	for i, src := range sources {
		wg.Go(func() { errs[i] = src.Run(ctx, r.Handle) })
	}
	wg.Wait()
	close(r.pending)
	committer.Wait()
	return errors.Join(errs...)
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
	p.matches = r.matches(env.Key(), hits)
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

// matches turns hits into what the store queues: one match per hit, with
// the store's IDs and the reason the filter matched.
func (r *Router) matches(key string, hits []filters.Hit) []store.Match {
	if len(hits) == 0 {
		return nil
	}
	dir := r.dir.Load()
	out := make([]store.Match, 0, len(hits))
	for _, h := range hits {
		f, ok := dir.filter(h.User, h.Filter)
		dest, okDest := dir.destination(h.User, h.Destination)
		if !ok || !okDest {
			// The index and the directory are swapped one after the
			// other during a reload; the next message sees both new.
			r.log.Warn("match dropped: filter or destination changed under it",
				"msg_id", key, "user", h.User, "filter", h.Filter, "destination", h.Destination)
			continue
		}
		out = append(out, store.Match{
			UserID: f.userID, DestinationID: dest, FilterID: f.id, Oneshot: f.oneshot, Why: f.why,
		})
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
// least every FlushEvery, until pending is closed and drained. Only after
// a batch is committed are its messages acknowledged to their sources.
func (r *Router) commitLoop() {
	batch := make([]store.Accepted, 0, r.opts.BatchSize)
	acks := make([]func(error), 0, r.opts.BatchSize)
	var text []byte // the batch's envelope texts (see accepted)
	timer := time.NewTimer(r.opts.FlushEvery)
	defer timer.Stop()
	flush := func() {
		batch = r.commit(batch)
		text = text[:0]
		for _, ack := range acks {
			if ack != nil {
				ack(nil)
			}
		}
		acks = acks[:0]
	}
	for {
		select {
		case p, ok := <-r.pending:
			if !ok {
				flush()
				return
			}
			batch = append(batch, p.accepted(&text))
			acks = append(acks, p.ack)
			if len(batch) < r.opts.BatchSize {
				continue
			}
		case <-timer.C:
		}
		flush()
		timer.Reset(r.opts.FlushEvery)
	}
}

// commit writes batch to the store, retrying with backoff until it
// succeeds: the messages were accepted from the bus, so they are not
// dropped because the disk was briefly busy or full. It returns batch
// emptied for reuse.
func (r *Router) commit(batch []store.Accepted) []store.Accepted {
	if len(batch) == 0 {
		return batch
	}
	backoff := 50 * time.Millisecond
	for {
		res, err := r.opts.Store.Enqueue(context.Background(), batch)
		if err == nil {
			r.stats.committed.Add(uint64(len(batch)))
			r.stats.notifications.Add(uint64(res.Notifications))
			if len(res.UsedUp) > 0 {
				r.log.Info("one-shot filters used up", "filters", res.UsedUp)
			}
			if res.Dropped > 0 {
				r.log.Info("matches dropped: their destinations were deleted meanwhile", "matches", res.Dropped)
			}
			return batch[:0]
		}
		r.stats.commitErrors.Add(1)
		r.log.Error("commit messages failed, retrying", "messages", len(batch), "first_msg_id", batch[0].Message.Key, "err", err)
		// A failed commit may leave one-shot filters used up in the index
		// but not in the store: reload from the store's truth.
		r.version.Store(-1)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// pruneLoop keeps the history within Retention until ctx is done.
func (r *Router) pruneLoop(ctx context.Context) {
	tick := time.NewTicker(r.opts.PruneEvery)
	defer tick.Stop()
	for {
		n, err := r.opts.Store.PruneHistory(ctx, r.opts.Now().Add(-r.opts.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("prune history failed", "err", err)
		case n > 0:
			r.log.Info("pruned history", "messages", n, "retention", r.opts.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
