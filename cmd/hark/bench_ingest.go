package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"hark/bus"
	"hark/filters/synth"
	"hark/internal/pgscratch"
	"hark/meta"
	"hark/router/ingestbench"
	"hark/store"
	"hark/store/postgres"
)

func init() {
	benchmarks["ingest"] = runBenchIngest
}

func runBenchIngest(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark bench ingest", flag.ContinueOnError)
	fs.SetOutput(io.err)
	samplesFile := fs.String("samples", "testdata/fedmsg-samples.jsonl", "sample envelopes, one JSON object per `FILE` line")
	opts := ingestbench.Options{Shape: synth.Issue4, Seed: 1}
	fs.IntVar(&opts.Shape.Users, "users", opts.Shape.Users, "users in the synthetic population")
	fs.IntVar(&opts.Messages, "messages", 20000, "messages to ingest")
	cpus := fs.Int("cpus", 1, "GOMAXPROCS while measuring")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured runs (not the setup) to `FILE`")
	pgServer := fs.String("postgres", "", "also ingest into a scratch database made on the PostgreSQL server at `URL` (and dropped after), next to SQLite")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark bench ingest [--samples FILE] [--users N] [--messages N] [--cpus N] [--postgres URL]")
		fmt.Fprintln(io.err, "\nIngests messages (describe, match, commit to a fresh SQLite store) for the population of")
		fmt.Fprintln(io.err, "`hark bench match`, next to matching alone in the same run. The result line is")
		fmt.Fprintln(io.err, "ingest_msgs_per_s=N notifications_per_s=N match_msgs_per_s=N ratio=N; with --postgres a")
		fmt.Fprintln(io.err, "second run ingests into PostgreSQL, and the last line is postgres_vs_sqlite=N (msgs/s).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	describer, err := meta.New(meta.Options{})
	if err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
		return 1
	}
	f, err := os.Open(*samplesFile)
	if err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
		return 1
	}
	defer f.Close()
	samples, err := synth.ReadSamples(f, func(env *bus.Envelope) meta.Description { return describer.Describe(env) })
	if err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: %s: %v\n", *samplesFile, err)
		return 1
	}
	if opts.Dir, err = os.MkdirTemp("", "hark-bench-ingest-"); err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(opts.Dir)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*cpus))
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
			return 1
		}
		defer pf.Close()
		opts.Measuring = func() {
			runtime.GC() // the setup's garbage is not the run's
			if err := pprof.StartCPUProfile(pf); err != nil {
				fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
			}
		}
		defer pprof.StopCPUProfile()
	}
	res, err := ingestbench.Run(ctx, samples, describer, opts)
	if err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: %v\n", err)
		return 1
	}
	fmt.Fprintf(io.out, "population: %d users × %d filters × %d rules (set up in %s); %d messages, %d notifications; GOMAXPROCS=%d\n",
		opts.Shape.Users, opts.Shape.FiltersPerUser, opts.Shape.RulesPerFilter, res.SetupTime.Round(1e6), res.Messages, res.Notifications, *cpus)
	printIngest(io, "sqlite", res)
	if *pgServer == "" {
		return 0
	}
	pg, err := benchIngestPostgres(ctx, *pgServer, samples, describer, opts)
	if err != nil {
		fmt.Fprintf(io.err, "hark bench ingest: postgres: %v\n", err)
		return 1
	}
	printIngest(io, "postgres", pg)
	fmt.Fprintf(io.out, "postgres_vs_sqlite=%.2f\n", pg.IngestMsgsPerS/res.IngestMsgsPerS)
	return 0
}

// printIngest prints one run's result line.
func printIngest(io stdio, backend string, res ingestbench.Result) {
	fmt.Fprintf(io.out, "%s: ingest_msgs_per_s=%.0f notifications_per_s=%.0f match_msgs_per_s=%.0f ratio=%.2f\n",
		backend, res.IngestMsgsPerS, res.NotesPerS, res.MatchMsgsPerS, res.Ratio)
}

// benchIngestPostgres runs the ingest benchmark on a scratch database of
// the PostgreSQL server at serverURL, dropped afterwards.
func benchIngestPostgres(ctx context.Context, serverURL string, samples []synth.Sample, describer *meta.Describer, opts ingestbench.Options) (ingestbench.Result, error) {
	url, drop, err := pgscratch.Create(ctx, serverURL)
	if err != nil {
		return ingestbench.Result{}, err
	}
	defer drop(context.Background())
	opts.Open = func(ctx context.Context) (store.Store, error) {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	opts.Measuring = nil // the profile is of the SQLite run
	return ingestbench.Run(ctx, samples, describer, opts)
}
