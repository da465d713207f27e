package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hark/app/hark"
	"hark/bus"
	"hark/config"
	"hark/store"
)

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
		desc, err := hark.NewDescriber(cfg)
		if err != nil {
			return err
		}
		end := time.Now()
		wanted := hark.BusTopics(cfg)
		added, read := 0, 0
		var batch []store.Message
		flush := func() error {
			n, err := s.AddMessages(ctx, batch)
			added += n
			batch = batch[:0]
			return err
		}
		_, err = hark.NewDatagrepper(cfg).Window(ctx, end.Add(-back), end, func(env *bus.Envelope) error {
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
