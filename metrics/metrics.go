// Package metrics exports hark's counters to Prometheus. The packages that
// count keep plain snapshots (bus.Stats, router.Stats, ...), free of any
// metrics library; this package reads them when Prometheus scrapes.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Kind says whether a Sample only grows or goes up and down.
type Kind int

// Sample kinds.
const (
	Counter Kind = iota
	Gauge
)

// Sample is one value read at scrape time.
type Sample struct {
	Name   string // without the hark_ prefix
	Help   string
	Kind   Kind
	Value  float64
	Labels map[string]string
}

// Source returns its current samples. It is called on every scrape and
// must be cheap; ctx bounds a source that reads the store.
type Source func(ctx context.Context) ([]Sample, error)

// Handler serves the samples of every source, plus the Go runtime's and
// the process's own, in Prometheus' text format.
func Handler(logger *slog.Logger, sources ...Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&collector{sources: sources, log: logger})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)})
}

// collector is an unchecked collector: the samples are known only when
// the sources are read.
type collector struct {
	sources []Source
	log     *slog.Logger
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, src := range c.sources {
		samples, err := src(ctx)
		if err != nil {
			c.log.Error("read metrics", "err", err)
			continue
		}
		for _, s := range samples {
			names := make([]string, 0, len(s.Labels))
			values := make([]string, 0, len(s.Labels))
			for k, v := range s.Labels {
				names = append(names, k)
				values = append(values, v)
			}
			vt := prometheus.CounterValue
			if s.Kind == Gauge {
				vt = prometheus.GaugeValue
			}
			desc := prometheus.NewDesc("hark_"+s.Name, s.Help, names, nil)
			m, err := prometheus.NewConstMetric(desc, vt, s.Value, values...)
			if err != nil {
				c.log.Error("export metric", "name", s.Name, "err", err)
				continue
			}
			ch <- m
		}
	}
}
