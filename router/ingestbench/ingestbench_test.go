package ingestbench_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"hark/bus"
	"hark/filters/synth"
	"hark/internal/testpeer"
	"hark/meta"
	"hark/router/ingestbench"
	"hark/store"
	"hark/store/postgres"
)

// readSamples is the held-in samples, described.
func readSamples(t testing.TB) ([]synth.Sample, *meta.Describer) {
	t.Helper()
	describer, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := synth.ReadSamples(f, func(env *bus.Envelope) meta.Description { return describer.Describe(env) })
	if err != nil {
		t.Fatal(err)
	}
	return samples, describer
}

func TestRunIngestsAndQueuesNotifications(t *testing.T) {
	samples, describer := readSamples(t)
	shape := synth.Issue4
	shape.Users = 200
	for _, routers := range []int{1, 2} {
		t.Run(fmt.Sprintf("routers=%d", routers), func(t *testing.T) {
			res, err := ingestbench.Run(context.Background(), samples, describer, ingestbench.Options{Shape: shape, Seed: 1, Messages: 600, Dir: t.TempDir(), Routers: routers})
			if err != nil {
				t.Fatal(err)
			}
			if res.Notifications == 0 || res.IngestMsgsPerS <= 0 || res.MatchMsgsPerS <= 0 {
				t.Errorf("result %+v: want notifications and both rates", res)
			}
		})
	}
}

// BenchmarkIngestRouters ingests the same messages into SQLite with one
// router (the single process's) and into PostgreSQL with 1 and 2
// routers at once, each on its own connection pool as separate router
// processes would be, in the same run: x_vs_sqlite is each rate against
// SQLite's. Run it with -benchtime=1x.
func BenchmarkIngestRouters(b *testing.B) {
	samples, describer := readSamples(b)
	shape := synth.Issue4
	shape.Users = 2000
	const messages = 6000
	var sqliteRate float64
	for _, tc := range []struct {
		backend string
		routers int
	}{{"sqlite", 1}, {"postgres", 1}, {"postgres", 2}} {
		b.Run(fmt.Sprintf("%s/routers=%d", tc.backend, tc.routers), func(b *testing.B) {
			opts := ingestbench.Options{Shape: shape, Seed: 1, Messages: messages, Routers: tc.routers}
			var res ingestbench.Result
			for range b.N {
				opts.Dir = b.TempDir()
				if tc.backend == "postgres" {
					url := testpeer.PostgresDB(b)
					opts.Open = func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, url) }
				}
				var err error
				if res, err = ingestbench.Run(context.Background(), samples, describer, opts); err != nil {
					b.Fatal(err)
				}
			}
			if tc.backend == "sqlite" {
				sqliteRate = res.IngestMsgsPerS
			}
			b.ReportMetric(res.IngestMsgsPerS, "msgs/s")
			b.ReportMetric(res.NotesPerS, "notifications/s")
			if sqliteRate > 0 {
				b.ReportMetric(res.IngestMsgsPerS/sqliteRate, "x_vs_sqlite")
			}
		})
	}
}
