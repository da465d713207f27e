package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"hark/bus"
	"hark/catchup"
	"hark/config"
	"hark/meta"
	"hark/metrics"
	"hark/router"
	"hark/store"
)

// newDatagrepper is the datagrepper client of catchup.url at
// catchup.rate requests a second.
func newDatagrepper(cfg *config.Config) *catchup.Client {
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
		Fetcher:   newDatagrepper(cfg),
		Newest:    func(ctx context.Context) (time.Time, error) { return newestStored(ctx, st) },
		MaxWindow: cfg.Catchup.MaxWindow,
		Gap:       gap,
		Accept:    busTopics(cfg),
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

// busTopics is whether the live bus, as configured, would deliver a
// topic: ZeroMQ's topic prefixes (none: all) or AMQP's bindings.
func busTopics(cfg *config.Config) func(topic string) bool {
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

// runBackfill is `hark history backfill`: the messages of the last
// --since from datagrepper into the history, without notifying anyone.
func runBackfill(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark history backfill", flag.ContinueOnError)
	since := fs.String("since", "7d", "how far back: a duration such as 7d, 36h or 90m")
	url := fs.String("url", "", "datagrepper's root URL (default: the configuration's catchup.url)")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark history backfill [--since 7d] [--url URL]\n\nStores the messages datagrepper archived in that time in the history that previews search.")
		fs.PrintDefaults()
	}
	return adminCommand(ctx, "hark history backfill", fs, args, io, func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected argument %q", args[0])
		}
		back, err := parseSince(*since)
		if err != nil {
			return usagef("--since: %v", err)
		}
		if *url != "" {
			cfg.Catchup.URL = *url
		}
		if cfg.Catchup.URL == "" {
			return usagef("no datagrepper: set catchup.url or pass --url")
		}
		desc, err := meta.New(meta.Options{Files: cfg.Meta.Processors, Aliases: cfg.Meta.Aliases})
		if err != nil {
			return err
		}
		end := time.Now()
		wanted := busTopics(cfg)
		added, read := 0, 0
		var batch []store.Message
		flush := func() error {
			n, err := s.AddMessages(ctx, batch)
			added += n
			batch = batch[:0]
			return err
		}
		_, err = newDatagrepper(cfg).Window(ctx, end.Add(-back), end, func(env *bus.Envelope) error {
			if !wanted(env.Topic) {
				return nil // previews search what the bus is read for
			}
			m, err := store.NewMessage(env.Key(), env.Topic, env.Timestamp, bus.CompactUTF8(env.Fields), desc.Describe(env))
			if err != nil {
				return fmt.Errorf("store message %s: %w", env.Key(), err)
			}
			read++
			if batch = append(batch, m); len(batch) == importBatch {
				return flush()
			}
			return nil
		})
		// What was read before a failure is kept.
		err = errors.Join(err, flush())
		fmt.Fprintf(io.out, "backfilled %d messages (%d already in the history)\n", added, read-added)
		return err
	})
}

// parseSince reads a look-back such as 7d, 36h or 1d12h.
func parseSince(s string) (time.Duration, error) {
	var days time.Duration
	if d, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration like 7d, 36h or 90m", s)
		}
		days, s = time.Duration(n)*24*time.Hour, rest
	}
	if s == "" {
		return days, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 7d, 36h or 90m", s)
	}
	return days + d, nil
}
