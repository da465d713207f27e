package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	goio "io"
	"os"
	"time"

	"hark/accounts"
	"hark/config"
	"hark/filters"
	"hark/schedule"
	"hark/store"
)

func init() {
	commands["filters"] = command{summary: "import and export users' filters as JSON", run: runFilters}
}

const filtersUsage = `Usage:
  hark filters import FILE [--merge]   (FILE "-" is stdin; the file names its user)
  hark filters export --user NAME
  hark filters snooze --user NAME FILTER WHEN [--then digest|drop]
      WHEN: 2h, 09:00, "tomorrow 09:00", 2026-03-14T09:00:00+01:00 (on the user's clock), on (until off), off
  hark filters mode --user NAME FILTER DESTINATION MODE
      MODE: now, "after 10", "every 1h", "daily 08:00", "weekly mon 08:00", or default (the destination's own)
  hark filters urgent --user NAME FILTER on|off   (urgent filters send during quiet hours)`

func runFilters(ctx context.Context, args []string, io stdio) int {
	sub := map[string]func(context.Context, []string, stdio) int{"import": runFiltersImport, "export": runFiltersExport,
		"snooze": runFiltersSnooze, "mode": runFiltersMode, "urgent": runFiltersUrgent}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(io.err, filtersUsage)
		return 2
	}
	return sub[args[0]](ctx, args[1:], io)
}

func filtersFlags(verb string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("hark filters "+verb, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(io.err, filtersUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runFiltersImport(ctx context.Context, args []string, io stdio) int {
	fs := filtersFlags("import", io)
	merge := fs.Bool("merge", false, "add and update filters by name instead of replacing them all")
	return adminCommand(ctx, "hark filters import", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if len(args) != 1 {
			return usagef("want one FILE, got %d arguments", len(args))
		}
		name, data, err := readInput(args[0], io)
		if err != nil {
			return err
		}
		e, err := filters.ParseExport(name, data)
		if err != nil {
			return err
		}
		res, err := accounts.Import(ctx, s, e, *merge)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "imported %d filters for %s\n", res.Filters, e.User)
		for _, d := range res.NewDestinations {
			fmt.Fprintf(io.out, "created destination %s (unconfirmed: it receives nothing until confirmed)\n", d)
		}
		return nil
	})
}

func runFiltersExport(ctx context.Context, args []string, io stdio) int {
	fs := filtersFlags("export", io)
	user := fs.String("user", "", "the `NAME` of the user whose filters to print")
	return adminCommand(ctx, "hark filters export", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if *user == "" || len(args) != 0 {
			return usagef("want --user NAME and no arguments")
		}
		e, err := accounts.Export(ctx, s, *user)
		if err != nil {
			return err
		}
		out, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			return fmt.Errorf("encode filters: %w", err)
		}
		fmt.Fprintf(io.out, "%s\n", out)
		return nil
	})
}

func runFiltersSnooze(ctx context.Context, args []string, io stdio) int {
	fs := filtersFlags("snooze", io)
	user := fs.String("user", "", "the `NAME` of the filter's user")
	then := fs.String("then", "digest", "what happens to what the snooze held when it ends: digest or drop")
	return adminCommand(ctx, "hark filters snooze", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if *user == "" || len(args) != 2 {
			return usagef("want --user NAME, FILTER and WHEN")
		}
		until, err := accounts.SnoozeFilter(ctx, s, *user, args[0], args[1], *then, time.Now())
		if err != nil {
			return err
		}
		switch {
		case until.IsZero():
			fmt.Fprintf(io.out, "filter %q of %s: snooze off\n", args[0], *user)
		case until.Equal(schedule.Forever):
			fmt.Fprintf(io.out, "filter %q of %s: snoozed until turned off, then %s\n", args[0], *user, *then)
		default:
			fmt.Fprintf(io.out, "filter %q of %s: snoozed until %s, then %s\n", args[0], *user, until.Format(time.RFC3339), *then)
		}
		return nil
	})
}

func runFiltersMode(ctx context.Context, args []string, io stdio) int {
	fs := filtersFlags("mode", io)
	user := fs.String("user", "", "the `NAME` of the filter's user")
	return adminCommand(ctx, "hark filters mode", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if *user == "" || len(args) != 3 {
			return usagef("want --user NAME, FILTER, DESTINATION and MODE")
		}
		if err := accounts.SetFilterMode(ctx, s, *user, args[0], args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "filter %q of %s to %s: %s\n", args[0], *user, args[1], args[2])
		return nil
	})
}

func runFiltersUrgent(ctx context.Context, args []string, io stdio) int {
	fs := filtersFlags("urgent", io)
	user := fs.String("user", "", "the `NAME` of the filter's user")
	return adminCommand(ctx, "hark filters urgent", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if *user == "" || len(args) != 2 || args[1] != "on" && args[1] != "off" {
			return usagef("want --user NAME, FILTER and on or off")
		}
		if err := accounts.SetFilterUrgent(ctx, s, *user, args[0], args[1] == "on"); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "filter %q of %s: urgent %s\n", args[0], *user, args[1])
		return nil
	})
}

// readInput reads a file argument, "-" meaning stdin, and returns the
// name to use in error messages with its contents.
func readInput(path string, io stdio) (string, []byte, error) {
	if path == "-" {
		data, err := goio.ReadAll(io.in)
		if err != nil {
			return "(stdin)", nil, fmt.Errorf("read stdin: %w", err)
		}
		return "(stdin)", data, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return path, nil, fmt.Errorf("read %w", err)
	}
	return path, data, nil
}
