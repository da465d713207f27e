// Package feedwait is the part of store.Feed's WaitChanges every backend
// shares: what a process knows of its change feed's head, and who waits
// for it to move. The backend supplies the watcher, which learns of
// commits however its database tells (or does not tell) of them, reports
// the head with Saw, and returns once Idle says no one waits any more;
// Wait starts it again when someone does.
package feedwait

import (
	"context"
	"sync"

	"hark/store"
)

// Watch is the head of one store's feed as its watcher last read it.
type Watch struct {
	mu      sync.Mutex
	head    store.FeedCursor // the newest head read
	moved   chan struct{}    // closed when head moves, then replaced
	waiting int
	running bool
	watcher func(ctx context.Context, w *Watch)
	// ctx ends with the store: the watcher stops.
	ctx     context.Context
	cancel  context.CancelFunc
	stopped sync.WaitGroup
}

// New is a Watch whose watcher is watcher: run in a goroutine of its
// own while anyone waits, with a context that ends at Close.
func New(watcher func(ctx context.Context, w *Watch)) *Watch {
	ctx, cancel := context.WithCancel(context.Background())
	return &Watch{moved: make(chan struct{}), watcher: watcher, ctx: ctx, cancel: cancel}
}

// Wait returns once the watcher saw a head past after (at once when it
// had), or ctx is done (its error).
func (w *Watch) Wait(ctx context.Context, after store.FeedCursor) error {
	moved, done := w.register(after)
	if moved == nil {
		return nil
	}
	defer done()
	select {
	case <-moved:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// register adds a waiter for a head past after: nil when it is past
// already, else the channel closed when the head moves and the done the
// waiter calls when it stops waiting.
func (w *Watch) register(after store.FeedCursor) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.head > after {
		return nil, nil
	}
	w.waiting++
	if !w.running && w.ctx.Err() == nil {
		w.running = true
		w.stopped.Add(1)
		go func() {
			defer w.stopped.Done()
			w.watcher(w.ctx, w)
		}()
	}
	return w.moved, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.waiting--
	}
}

// Saw records the head the watcher read, waking the waiters when it
// moved.
func (w *Watch) Saw(head store.FeedCursor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if head > w.head {
		w.head = head
		close(w.moved)
		w.moved = make(chan struct{})
	}
}

// Idle says whether no one waits or the store closed; then the watcher
// counts as stopped and must return (a new waiter starts another).
func (w *Watch) Idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting > 0 && w.ctx.Err() == nil {
		return false
	}
	w.running = false
	return true
}

// Close stops the watcher, for the store's Close.
func (w *Watch) Close() {
	w.cancel()
	w.stopped.Wait()
}
