package hark

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"hark/bus"
	"hark/catchup"
	"hark/config"
	"hark/metrics"
	"hark/router"
	"hark/store"
)

// NewDatagrepper is the datagrepper client of catchup.url at
// catchup.rate requests a second.
func NewDatagrepper(cfg *config.Config) *catchup.Client {
	return &catchup.Client{
		BaseURL:         cfg.Catchup.URL,
		Limiter:         rate.NewLimiter(rate.Limit(cfg.Catchup.Rate), 1),
		MaxMessageBytes: cfg.Bus.MaxMessageBytes,
	}
}

// withCatchup adds to inputs the catch-up from datagrepper, watching
// each live input for silences and busStats for the losses the bus knows
// of, when catchup.enabled, and returns its metrics. It is all of
// serve's catch-up wiring.
func withCatchup(cfg *config.Config, st store.Store, log *slog.Logger, inputs []router.Source, busStats func() bus.Stats) ([]router.Source, []metrics.Source) {
	if !cfg.Catchup.Enabled {
		return inputs, nil
	}
	gap := cfg.Catchup.Gap
	if gap == 0 {
		gap = -1 // at start only
	}
	cu := catchup.New(catchup.Options{
		Fetcher:   NewDatagrepper(cfg),
		Newest:    func(ctx context.Context) (time.Time, error) { return newestStored(ctx, st) },
		MaxWindow: cfg.Catchup.MaxWindow,
		Gap:       gap,
		Accept:    BusTopics(cfg),
		Troubles: func() uint64 {
			s := busStats()
			return s.ReplayFailures + s.Reconnects
		},
		Logger: log,
	})
	out := make([]router.Source, 0, len(inputs)+1)
	for _, in := range inputs {
		out = append(out, cu.Watch(in))
	}
	stats := func(context.Context) ([]metrics.Sample, error) {
		s := cu.Stats()
		return []metrics.Sample{
			{Name: "catchup_windows_total", Help: "Windows of missed messages asked of datagrepper.", Value: float64(s.Catchups)},
			{Name: "catchup_messages_total", Help: "Messages from datagrepper handed to the router (those already received count once in the store).", Value: float64(s.Handed)},
			{Name: "catchup_skipped_total", Help: "Messages from datagrepper of topics the bus is not read for.", Value: float64(s.Skipped)},
			{Name: "catchup_failures_total", Help: "Catch-ups that failed part way; the rest of their window stays missed.", Value: float64(s.Failures)},
		}, nil
	}
	return append(out, cu), []metrics.Source{stats}
}

// BusTopics is whether the live bus, as configured, would deliver a
// topic: ZeroMQ's topic prefixes (none: all) or AMQP's bindings.
func BusTopics(cfg *config.Config) func(topic string) bool {
	amqp := cfg.Bus.AMQP.URL != ""
	zmq := len(busEndpoints(cfg)) > 0 || !amqp // serve's rule for starting a subscriber
	return func(topic string) bool {
		if zmq && (len(cfg.Bus.TopicPrefixes) == 0 || slices.ContainsFunc(cfg.Bus.TopicPrefixes, func(p string) bool { return strings.HasPrefix(topic, p) })) {
			return true
		}
		return amqp && catchup.Binds(cfg.Bus.AMQP.Bindings, topic)
	}
}

// newestStored is the timestamp of the newest message in the history
// (zero when it is empty).
func newestStored(ctx context.Context, st store.History) (time.Time, error) {
	msgs, err := st.HistoryPage(ctx, store.Cursor{}, 1)
	if err != nil || len(msgs) == 0 {
		return time.Time{}, err
	}
	return msgs[0].Timestamp, nil
}
