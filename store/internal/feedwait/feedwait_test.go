package feedwait

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"hark/store"
)

// heads is a watcher that reports the head it is given on each tick
// until Idle, counting its starts.
type heads struct {
	starts atomic.Int32
	next   chan store.FeedCursor
}

func (h *heads) watch(ctx context.Context, w *Watch) {
	h.starts.Add(1)
	for !w.Idle() {
		select {
		case head := <-h.next:
			w.Saw(head)
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after store.FeedCursor
		saw   store.FeedCursor // reported by the watcher once waiting
		stop  bool             // the waiter's context ends instead
		want  error
	}{
		{"woken when the head moves past", 3, 4, false, nil},
		{"until its context ends", 3, 0, true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &heads{next: make(chan store.FeedCursor)}
				w := New(h.watch)
				defer w.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- w.Wait(ctx, tc.after) }()
				synctest.Wait()
				if tc.stop {
					cancel()
				} else {
					h.next <- tc.saw
				}
				if err := <-done; !errors.Is(err, tc.want) {
					t.Fatalf("Wait: %v, want %v", err, tc.want)
				}
				// A head already past returns at once; the watcher
				// stops once no one waits and starts again for the next.
				if !tc.stop {
					if err := w.Wait(ctx, tc.after); err != nil {
						t.Errorf("waiting for a head already past: %v", err)
					}
				}
				time.Sleep(time.Second)
				synctest.Wait()
				go func() { done <- w.Wait(context.Background(), tc.saw+10) }()
				synctest.Wait()
				h.next <- tc.saw + 11
				if err := <-done; err != nil {
					t.Errorf("waiting again: %v", err)
				}
				if got := h.starts.Load(); got != 2 {
					t.Errorf("the watcher started %d times, want 2 (once per stretch of waiting)", got)
				}
			})
		})
	}
}
