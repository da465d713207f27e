package synth

import (
	"os"
	"testing"
	"time"

	"hark/filters"
	"hark/rules"
)

func loadIndex(b *testing.B) ([]Sample, *filters.Index) {
	return loadIndexWith(b, filters.Options{})
}

func loadIndexWith(b *testing.B, opts filters.Options) ([]Sample, *filters.Index) {
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	samples, err := ReadSamples(f, Expected)
	if err != nil {
		b.Fatal(err)
	}
	pop, err := NewPopulation(1, Issue4, samples)
	if err != nil {
		b.Fatal(err)
	}
	opts.Owners = func() rules.Ownership { return pop.Owners }
	ix := filters.New(opts)
	if err := pop.Load(ix); err != nil {
		b.Fatal(err)
	}
	return samples, ix
}

// BenchmarkMatch runs the issue 4 population over the sample messages,
// one message per op, through the index and through the naive baseline.
// Run with -cpu 1 to match `hark bench match`.
func BenchmarkMatch(b *testing.B) {
	samples, ix := loadIndex(b)
	// The same with a budget per user: the cost of accounting for it.
	_, budgeted := loadIndexWith(b, filters.Options{Budget: 50 * time.Millisecond})
	for _, bc := range []struct {
		name  string
		match func(*Sample) []filters.Hit
	}{
		{"index", func(s *Sample) []filters.Hit { return ix.DryRun(s.Env, s.Desc) }},
		{"index budget", func(s *Sample) []filters.Hit { return budgeted.DryRun(s.Env, s.Desc) }},
		{"naive", func(s *Sample) []filters.Hit { return ix.Naive(s.Env, s.Desc) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				bc.match(&samples[i%len(samples)])
				i++
			}
		})
	}
}
