package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"hark/app/hark"
	"hark/bus"
	"hark/config"
	"hark/store"
)

func init() {
	commands["history"] = command{summary: "history import FILE | history backfill --since 7d: seed the message history that previews search", run: runHistory}
}

// importBatch is how many messages go into one transaction.
const importBatch = 500

func runHistory(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark history import", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark history import FILE\n\nStores the envelopes in FILE (JSON lines) with their descriptions in the history.")
		fs.PrintDefaults()
	}
	if len(args) > 0 && args[0] == "backfill" {
		return runBackfill(ctx, args[1:], io)
	}
	if len(args) == 0 || args[0] != "import" {
		fs.SetOutput(io.err)
		fs.Usage()
		return 2
	}
	return adminCommand(ctx, "hark history import", fs, args[1:], io, func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error {
		if len(args) != 1 {
			return usagef("want one FILE")
		}
		desc, err := hark.NewDescriber(cfg)
		if err != nil {
			return err
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		var batch []store.Message
		read, added, bad := 0, 0, 0
		flush := func() error {
			n, err := s.AddMessages(ctx, batch)
			added += n
			batch = batch[:0]
			return err
		}
		limit := cfg.Bus.MaxMessageBytes
		err = eachLine(ctx, f, func(line int, text []byte) error {
			if len(text) > limit {
				// The bus would not have taken it; neither does the history.
				fmt.Fprintf(io.err, "hark history import: %s:%d: message of %d bytes exceeds bus.max_message_bytes (%d)\n", args[0], line, len(text), limit)
				bad++
				return nil
			}
			env, err := bus.Decode(text)
			var m store.Message
			if err == nil {
				// Stored as the router stores it: the text the regex rule
				// searches, which previews read without decoding.
				m, err = store.NewMessage(env.Key(), env.Topic, env.Timestamp, bus.CompactUTF8(env.Fields), desc.Describe(env))
			}
			if err != nil {
				fmt.Fprintf(io.err, "hark history import: %s:%d: %v\n", args[0], line, err)
				bad++
				return nil
			}
			read++
			if batch = append(batch, m); len(batch) == importBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import %s: %w", args[0], err)
		}
		if err := flush(); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "imported %d messages (%d already in the history)\n", added, read-added)
		if bad > 0 {
			return fmt.Errorf("%d lines of %s were not envelopes or were too large", bad, args[0])
		}
		return nil
	})
}
