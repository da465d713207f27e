package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/router"
	"hark/store"
	"hark/store/sqlite"
)

// brokenStore is the real store whose commits fail as a full disk makes
// them fail, or hang as a stuck file system does.
type brokenStore struct {
	*sqlite.SQLite
	hang bool
}

var errDiskFull = errors.New("database or disk is full (SQLITE_FULL)")

func (s brokenStore) Enqueue(ctx context.Context, _ []store.Accepted) (store.EnqueueResult, error) {
	if s.hang {
		<-ctx.Done()
		return store.EnqueueResult{}, ctx.Err()
	}
	return store.EnqueueResult{}, errDiskFull
}

// A store that cannot commit holds up neither shutdown nor the sources:
// the router stops retrying once told to stop (within StopGrace for a
// commit that hangs), and tells each source the message was not
// committed, so AMQP has it delivered again at the next start.
func TestRouterStopsWhileTheStoreCannotCommit(t *testing.T) {
	for _, tc := range []struct {
		name string
		hang bool
	}{{"disk full", false}, {"commit hangs", true}} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hark.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			const grace = time.Second
			rt, err := router.New(router.Options{Store: brokenStore{st, tc.hang}, Describer: meta.Default(), Index: filters.New(filters.Options{}),
				FlushEvery: 10 * time.Millisecond, StopGrace: grace, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			envs := samples(t)[:10]
			acks := make(chan error, len(envs))
			for _, env := range envs {
				env.Ack = func(err error) { acks <- err }
			}
			ctx, cancel := context.WithCancel(context.Background())
			src := make(chanSource)
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := rt.Run(ctx, src); err != nil {
					t.Errorf("run router: %v", err)
				}
			})
			for _, env := range envs {
				src <- env
			}
			// Every message handed over (matched: one still matching when
			// the router stops is never queued) and the commit stuck.
			for {
				if since, _ := rt.CommitStuck(); !since.IsZero() && (tc.hang || rt.Stats().CommitErrors > 0) &&
					rt.Stats().Handled == uint64(len(envs)) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if since, cause := rt.CommitStuck(); !tc.hang && cause != errDiskFull.Error() {
				t.Errorf("stuck since %v with cause %q, want %q", since, cause, errDiskFull)
			}
			stopped := time.Now()
			cancel()
			wg.Wait()
			// Without a hang the router stops at once; a hanging commit
			// is cut at StopGrace (5s of slack for a loaded machine).
			if took := time.Since(stopped); took > grace+5*time.Second {
				t.Errorf("router took %v to stop, want about %v at most", took, grace)
			}
			close(acks)
			n := 0
			for err := range acks {
				n++
				if !errors.Is(err, router.ErrShuttingDown) {
					t.Errorf("ack %v, want ErrShuttingDown", err)
				}
			}
			if n != len(envs) || rt.Stats().Uncommitted != uint64(len(envs)) {
				t.Errorf("%d acks, %d counted uncommitted; want %d each", n, rt.Stats().Uncommitted, len(envs))
			}
		})
	}
}

// slowDescriber stands for a rule that takes long on a message: it holds
// the message until released.
type slowDescriber struct {
	entered chan struct{}
	release chan struct{}
}

func (d slowDescriber) Describe(env *bus.Envelope) meta.Description {
	d.entered <- struct{}{}
	<-d.release
	return meta.Default().Describe(env)
}

// A message still being matched does not hold up shutdown past
// StopGrace; what was handed over before it is committed.
func TestRouterStopsWhileAMessageIsStillBeingMatched(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const grace = time.Second
	slow := slowDescriber{entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(slow.release) })
	rt, err := router.New(router.Options{Store: st, Describer: slow, Index: filters.New(filters.Options{}),
		FlushEvery: 10 * time.Millisecond, StopGrace: grace, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src := make(chanSource)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := rt.Run(ctx, src); err != nil {
			t.Errorf("run router: %v", err)
		}
	})
	src <- samples(t)[0]
	<-slow.entered
	stopped := time.Now()
	cancel()
	wg.Wait()
	if took := time.Since(stopped); took < grace || took > grace+5*time.Second {
		t.Errorf("router took %v to stop, want about StopGrace (%v)", took, grace)
	}
}
