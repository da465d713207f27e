// Package ingestbench measures hark's ingest path — a bus message
// described, matched against every user's filters and committed to the
// durable queue with its history row — next to matching alone, in the
// same run and with the synthetic population of `hark bench match`, so
// the ratio says what durability costs on whatever machine runs it.
package ingestbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/filters/synth"
	"hark/router"
	"hark/rules"
	"hark/store"
	"hark/store/sqlite"
)

// Result is one run.
type Result struct {
	MatchMsgsPerS  float64 // matching alone: the index over messages described beforehand
	IngestMsgsPerS float64 // describe, match and commit to the store
	NotesPerS      float64 // notifications committed per second while ingesting
	Ratio          float64 // IngestMsgsPerS / MatchMsgsPerS
	Messages       int     // messages ingested
	Notifications  uint64  // notifications queued
	SetupTime      time.Duration
}

// Options shape a run.
type Options struct {
	Shape synth.Shape
	Seed  uint64
	// Messages is how many messages are ingested (cycling through the
	// samples, each with a fresh msg_id so every one is stored).
	Messages int
	// Dir holds the benchmark's database.
	Dir string
	// Open, if set, opens the empty store to ingest into instead of a
	// SQLite file in Dir: another backend, e.g. a fresh PostgreSQL
	// database.
	Open func(ctx context.Context) (store.Store, error)
	// Routers is how many routers ingest at once (default 1), as the
	// router processes of one deployment do: each with its own index and
	// its own connection to the store (Open called again), taking every
	// Routers-th message.
	Routers int
	// Measuring, if set, is called when the population is loaded and
	// the measured runs begin: a profile taken from there leaves out the
	// setup.
	Measuring func()
}

// Run builds the population in a fresh store, then measures matching
// alone and the whole ingest path over the same messages.
func Run(ctx context.Context, samples []synth.Sample, describer router.Describer, opts Options) (Result, error) {
	start := time.Now()
	pop, err := synth.NewPopulation(opts.Seed, opts.Shape, samples)
	if err != nil {
		return Result{}, err
	}
	open := opts.Open
	if open == nil {
		open = func(ctx context.Context) (store.Store, error) {
			s, err := sqlite.Open(ctx, filepath.Join(opts.Dir, "ingest.db"))
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	st, err := open(ctx)
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	if err := load(ctx, st, pop); err != nil {
		return Result{}, err
	}
	owners := func() rules.Ownership { return pop.Owners }
	matchIx := filters.New(filters.Options{Owners: owners})
	if err := pop.Load(matchIx); err != nil {
		return Result{}, err
	}
	n := max(opts.Routers, 1)
	var rts []*router.Router
	for i := range n {
		rst := st
		if i > 0 {
			if rst, err = open(ctx); err != nil {
				return Result{}, err
			}
			defer rst.Close()
		}
		rt, err := router.New(router.Options{Store: rst, Describer: describer, Index: filters.New(filters.Options{Owners: owners}),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return Result{}, err
		}
		// Load the filters into the router's index now, so the timed run
		// measures messages, not the first reload.
		if err := rt.Reload(ctx); err != nil {
			return Result{}, err
		}
		rts = append(rts, rt)
	}
	res := Result{SetupTime: time.Since(start), Messages: opts.Messages}
	if opts.Measuring != nil {
		opts.Measuring()
	}

	// Matching alone is measured before and after the ingest run, each
	// time from a collected heap, and averaged: the machine's drift then
	// weighs on both figures alike.
	matchAlone := func() time.Duration {
		runtime.GC()
		begin := time.Now()
		for i := range opts.Messages {
			s := samples[i%len(samples)]
			matchIx.DryRun(s.Env, s.Desc)
		}
		return time.Since(begin)
	}
	matching := matchAlone()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, n)
	var srcs []*memorySource
	for i := range n {
		srcs = append(srcs, &memorySource{samples: samples, from: i, step: n, n: opts.Messages, done: make(chan struct{})})
	}
	runtime.GC()
	begin := time.Now()
	for i, rt := range rts {
		go func() { errc <- rt.Run(runCtx, srcs[i]) }()
	}
	for _, src := range srcs {
		select {
		case <-src.done:
		case err := <-errc:
			return Result{}, fmt.Errorf("run router: %w", err)
		}
	}
	elapsed := time.Since(begin).Seconds()
	cancel()
	for range rts {
		if err := <-errc; err != nil {
			return Result{}, err
		}
	}
	matching += matchAlone()
	res.MatchMsgsPerS = float64(2*opts.Messages) / matching.Seconds()
	res.IngestMsgsPerS = float64(opts.Messages) / elapsed
	for _, rt := range rts {
		res.Notifications += rt.Stats().Notifications
	}
	res.NotesPerS = float64(res.Notifications) / elapsed
	res.Ratio = res.IngestMsgsPerS / res.MatchMsgsPerS
	if res.Notifications == 0 {
		return res, fmt.Errorf("ingest queued no notification: the population must match")
	}
	return res, nil
}

// load stores the population: each user, their destinations confirmed,
// and their filters.
func load(ctx context.Context, st store.Store, pop *synth.Population) error {
	for _, name := range pop.Users {
		u, err := st.CreateUser(ctx, store.User{Name: name})
		if err != nil {
			return err
		}
		ids := map[string]int64{}
		fs := pop.Filter[name]
		var out []store.Filter
		for _, f := range fs {
			sf := store.Filter{Name: f.Name, Active: f.Active, Oneshot: f.OneShot}
			for _, d := range f.Destinations {
				if _, ok := ids[d]; !ok {
					kind, addr, _ := strings.Cut(d, ":")
					sd, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: kind, Address: addr, Confirmed: true, Enabled: true})
					if err != nil {
						return err
					}
					ids[d] = sd.ID
				}
				sf.DestinationIDs = append(sf.DestinationIDs, ids[d])
			}
			for _, r := range f.Rules {
				sf.Rules = append(sf.Rules, store.Rule{Kind: r.Kind, Args: r.Args, Negate: r.Negate})
			}
			out = append(out, sf)
		}
		if _, err := st.ReplaceFilters(ctx, u.ID, out); err != nil {
			return err
		}
	}
	return nil
}

// memorySource hands the router its share of n messages cycling through
// the samples, each with a fresh msg_id — message from, from+step, … —
// and closes done once all of those are committed.
type memorySource struct {
	samples    []synth.Sample
	from, step int
	n          int
	acked      atomic.Int64
	done       chan struct{}
}

func (m *memorySource) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	share := int64((m.n - m.from + m.step - 1) / m.step)
	if share <= 0 {
		close(m.done)
	}
	ack := func(err error) {
		if err == nil && m.acked.Add(1) == share {
			close(m.done)
		}
	}
	for i := m.from; i < m.n; i += m.step {
		env := *m.samples[i%len(m.samples)].Env
		env.MsgID = fmt.Sprintf("ingest-%d", i)
		env.Ack = ack
		handle(ctx, &env)
	}
	<-ctx.Done()
	return nil
}
