package synth

import (
	"hark/bus"
	"hark/meta"
	"runtime"
	"time"

	"hark/filters"
	"hark/rules"
)

// Result is one benchmark run: both evaluators measured in the same run,
// so the ratio stays meaningful on a busy machine.
type Result struct {
	IndexMsgsPerS float64
	NaiveMsgsPerS float64
	Ratio         float64
	// HeapMB is the heap the population takes once loaded into an index.
	HeapMB float64
	Stats  filters.Stats
}

// Measure loads a population drawn with seed and shape into an index and
// runs the samples through the index and through the naive evaluator,
// each in whole passes for at least minRun.
func Measure(samples []Sample, seed uint64, shape Shape, minRun time.Duration) (Result, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pop, err := NewPopulation(seed, shape, samples)
	if err != nil {
		return Result{}, err
	}
	ix := filters.New(filters.Options{Owners: func() rules.Ownership { return pop.Owners }})
	if err := pop.Load(ix); err != nil {
		return Result{}, err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	res := Result{HeapMB: float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / (1 << 20), Stats: ix.Stats()}
	res.IndexMsgsPerS = rate(samples, minRun, ix.DryRun)
	res.NaiveMsgsPerS = rate(samples, minRun, ix.Naive)
	res.Ratio = res.IndexMsgsPerS / res.NaiveMsgsPerS
	runtime.KeepAlive(pop)
	return res, nil
}

func rate(samples []Sample, minRun time.Duration, match func(*bus.Envelope, *meta.Description) []filters.Hit) float64 {
	start := time.Now()
	n := 0
	for time.Since(start) < minRun {
		for i := range samples {
			match(samples[i].Env, samples[i].Desc)
		}
		n += len(samples)
	}
	return float64(n) / time.Since(start).Seconds()
}
