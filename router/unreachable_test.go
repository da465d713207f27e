package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/router"
	"hark/store"
)

// unreachableStore fails the first reads of the settings version with
// err, then answers as an empty store.
type unreachableStore struct {
	router.Store // nil: what the first load does not call is not needed
	err          error
	fails        int
}

func (s *unreachableStore) SettingsVersion(context.Context) (int64, error) {
	if s.fails > 0 {
		s.fails--
		return 0, s.err
	}
	return 1, nil
}
func (s *unreachableStore) ListUsers(context.Context) ([]store.User, error) { return nil, nil }
func (s *unreachableStore) AllDestinations(context.Context) ([]store.Destination, error) {
	return nil, nil
}
func (s *unreachableStore) ActiveFilters(context.Context) ([]store.Filter, error) { return nil, nil }
func (s *unreachableStore) FeedHead(context.Context) (store.FeedCursor, error)    { return 0, nil }
func (s *unreachableStore) WaitChanges(ctx context.Context, _ store.FeedCursor) error {
	<-ctx.Done()
	return ctx.Err()
}
func (s *unreachableStore) Changes(_ context.Context, after store.FeedCursor, _ int) ([]store.Change, store.FeedCursor, error) {
	return nil, after, nil
}
func (s *unreachableStore) PruneHistory(context.Context, time.Time) (int64, error) { return 0, nil }
func (s *unreachableStore) PruneChanges(context.Context, time.Time) (int64, error) { return 0, nil }

// startedSource says when the router started reading it, which it does
// once the filters are loaded.
type startedSource chan struct{}

func (s startedSource) Run(ctx context.Context, _ func(context.Context, *bus.Envelope)) error {
	close(s)
	<-ctx.Done()
	return nil
}

var errDown = errors.New("connection refused")

// The first load of the filters waits through a store that cannot be
// reached, with backoff (1s, 2s, 4s), when Options.Unreachable says so;
// any other error, or without Unreachable, ends Run at once.
func TestRouterWaitsForAnUnreachableStoreAtStart(t *testing.T) {
	isDown := func(err error) bool { return errors.Is(err, errDown) }
	for _, tc := range []struct {
		name        string
		err         error
		unreachable func(error) bool
		wantWait    time.Duration // -1: Run fails
	}{
		{"unreachable, waited for", errDown, isDown, 7 * time.Second},
		{"another error", errors.New("no such table"), isDown, -1},
		{"no Unreachable", errDown, nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &unreachableStore{err: tc.err, fails: 3}
				rt, err := router.New(router.Options{Store: st, Describer: meta.Default(), Index: filters.New(filters.Options{}),
					Unreachable: tc.unreachable, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				started := make(startedSource)
				ran := make(chan error, 1)
				begin := time.Now()
				go func() { ran <- rt.Run(ctx, started) }()
				select {
				case <-started:
					if tc.wantWait < 0 {
						t.Fatal("Run started its sources; want it to fail")
					}
					if waited := time.Since(begin); waited != tc.wantWait {
						t.Errorf("sources started after %v, want %v", waited, tc.wantWait)
					}
					cancel()
					if err := <-ran; err != nil {
						t.Errorf("Run: %v", err)
					}
				case err := <-ran:
					if tc.wantWait >= 0 || !errors.Is(err, tc.err) {
						t.Errorf("Run = %v, want it to wait %v", err, tc.wantWait)
					}
				}
			})
		})
	}
}
