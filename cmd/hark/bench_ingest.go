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
	"hark/meta"
	"hark/router/ingestbench"
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
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark bench ingest [--samples FILE] [--users N] [--messages N] [--cpus N]")
		fmt.Fprintln(io.err, "\nIngests messages (describe, match, commit to a fresh SQLite store) for the population of")
		fmt.Fprintln(io.err, "`hark bench match`, next to matching alone in the same run. The last line is")
		fmt.Fprintln(io.err, "ingest_msgs_per_s=N notifications_per_s=N match_msgs_per_s=N ratio=N")
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
	fmt.Fprintf(io.out, "ingest_msgs_per_s=%.0f notifications_per_s=%.0f match_msgs_per_s=%.0f ratio=%.2f\n",
		res.IngestMsgsPerS, res.NotesPerS, res.MatchMsgsPerS, res.Ratio)
	return 0
}
