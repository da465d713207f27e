package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"hark/app"
	"hark/app/hark"
)

func init() {
	commands["serve"] = command{summary: "run the service: read the bus, match every user's filters, queue notifications", run: runServe}
}

func runServe(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	load := configFlag(fs)
	roles := fs.String("roles", app.All, "the `ROLES` this process runs, comma-separated: "+strings.Join(hark.RoleNames(), ", ")+" (with what they need), or all")
	instance := fs.String("instance", "", "a `NAME` for this process, unique and stable among the processes delivering from one database: it names its sent journal and holds its delivery leases")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark serve [--config FILE] [--roles ROLES] [--instance NAME]\n\nRuns hark on the configuration's settings (built-in defaults without a file):")
		fmt.Fprintln(io.err, "reads the bus, matches filters, queues notifications, delivers them, serves the web UI, /metrics and /healthz.")
		fmt.Fprintln(io.err, "With --roles, this process runs only some of that: e.g. --roles router in one process and")
		fmt.Fprintln(io.err, "--roles delivery,web in another, on one database.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if strings.ContainsAny(*instance, `/\`) {
		fmt.Fprintf(io.err, "hark serve: --instance %q: a name, without slashes\n", *instance)
		return 2
	}
	log := slog.New(slog.NewTextHandler(io.err, nil))
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(io.err, "hark serve: %v\n", err)
		return 2
	}
	s := hark.New(cfg, hark.Options{Instance: *instance, Logger: log})
	chosen, err := s.Roles().Resolve(*roles)
	if err != nil {
		fmt.Fprintf(io.err, "hark serve: --roles: %v\n", err)
		return 2
	}
	if err := s.Run(ctx, chosen); err != nil {
		if errors.Is(err, hark.ErrStoppedWaiting) {
			// Told to stop while waiting for the database: nothing ran.
			log.Info("hark stopped while waiting for the store", "store", hark.StoreName(cfg))
			return 0
		}
		log.Error("hark serve stopped", "err", err)
		return 1
	}
	return 0
}
