package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"hark/bus"
	"hark/filters/synth"
	"hark/meta"
)

func init() {
	commands["bench"] = command{summary: "measure hark's hot paths: hark bench NAME (match)", run: runBench}
}

// benchmarks are the subcommands of hark bench, by name; a new benchmark
// is one more entry.
var benchmarks = map[string]func(ctx context.Context, args []string, io stdio) int{
	"match": runBenchMatch,
}

func runBench(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || benchmarks[args[0]] == nil {
		names := make([]string, 0, len(benchmarks))
		for n := range benchmarks {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(io.err, "Usage: hark bench NAME [flags]\n\nBenchmarks: %v\n", names)
		return 2
	}
	return benchmarks[args[0]](ctx, args[1:], io)
}

func runBenchMatch(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark bench match", flag.ContinueOnError)
	fs.SetOutput(io.err)
	samplesFile := fs.String("samples", "testdata/fedmsg-samples.jsonl", "sample envelopes, one JSON object per `FILE` line")
	shape := synth.Issue4
	fs.IntVar(&shape.Users, "users", shape.Users, "users in the synthetic population")
	fs.IntVar(&shape.FiltersPerUser, "filters", shape.FiltersPerUser, "filters per user")
	fs.IntVar(&shape.RulesPerFilter, "rules", shape.RulesPerFilter, "rules per filter")
	seed := fs.Uint64("seed", 1, "seed of the population")
	minRun := fs.Duration("duration", 5*time.Second, "how long to run each evaluator, at least")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark bench match [--samples FILE] [--users N] [--filters N] [--rules N] [--seed N] [--duration D]")
		fmt.Fprintln(io.err, "\nMatches the samples against a synthetic population on one core (GOMAXPROCS=1), through the index")
		fmt.Fprintln(io.err, "and through the naive evaluate-everything baseline, in the same run. The last line is")
		fmt.Fprintln(io.err, "index_msgs_per_s=N naive_msgs_per_s=N ratio=N heap_mb=N")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "hark bench match: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	describer, err := meta.New(meta.Options{})
	if err != nil {
		fmt.Fprintf(io.err, "hark bench match: %v\n", err)
		return 1
	}
	f, err := os.Open(*samplesFile)
	if err != nil {
		fmt.Fprintf(io.err, "hark bench match: %v\n", err)
		return 1
	}
	defer f.Close()
	samples, err := synth.ReadSamples(f, func(env *bus.Envelope) meta.Description { return describer.Describe(env) })
	if err != nil {
		fmt.Fprintf(io.err, "hark bench match: %s: %v\n", *samplesFile, err)
		return 1
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	res, err := synth.Measure(samples, *seed, shape, *minRun)
	if err != nil {
		fmt.Fprintf(io.err, "hark bench match: %v\n", err)
		return 1
	}
	st := res.Stats
	fmt.Fprintf(io.out, "population: %d users, %d filters, %d distinct rules, %d filters evaluated for every message; %d samples\n",
		st.Users, st.Filters, st.Rules, st.Always, len(samples))
	fmt.Fprintf(io.out, "index_msgs_per_s=%.0f naive_msgs_per_s=%.0f ratio=%.1f heap_mb=%.1f\n",
		res.IndexMsgsPerS, res.NaiveMsgsPerS, res.Ratio, res.HeapMB)
	return 0
}
