package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"hark/app/hark"
	"hark/config"
	"hark/store"
)

func init() {
	commands["config"] = command{summary: "config example: print a complete, commented configuration file", run: runConfig}
}

// configFlag registers --config on fs and returns the function that loads
// the configuration once fs is parsed. Every subcommand that needs
// settings uses it, so all of them find the file the same way:
//
//	load := configFlag(fs)
//	if err := fs.Parse(args); err != nil { return 2 }
//	cfg, err := load()
//
// The file is --config, else $HARK_CONFIG, else none: the defaults alone.
func configFlag(fs *flag.FlagSet) func() (*config.Config, error) {
	path := fs.String("config", "", "configuration `FILE` (default $"+config.EnvVar+", else built-in defaults)")
	return func() (*config.Config, error) { return config.Load(configPath(*path)) }
}

// configPath is flagValue, or $HARK_CONFIG when it is empty.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(config.EnvVar)
}

// usageError is a mistake in a command line; it exits 2, not 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// adminCommand is the shape of the admin subcommands: parse fs (flags may
// come before or after the positional arguments), load the configuration,
// open the store, run f with the positional arguments, and report an error
// as "name: error" with exit status 1 (2 for a usage error).
func adminCommand(ctx context.Context, name string, fs *flag.FlagSet, args []string, io stdio,
	f func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error) int {
	fs.SetOutput(io.err)
	load := configFlag(fs)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	err = func() error {
		cfg, err := load()
		if err != nil {
			return err
		}
		s, err := hark.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer s.Close()
		return f(ctx, s, cfg, positional)
	}()
	if err == nil {
		return 0
	}
	fmt.Fprintf(io.err, "%s: %v\n", name, err)
	if errors.As(err, new(usageError)) {
		fs.Usage()
		return 2
	}
	return 1
}

// parseInterspersed parses flags anywhere among the arguments (hark user
// add alice --admin), which the flag package alone stops at, and returns
// the positional ones. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func runConfig(_ context.Context, args []string, io stdio) int {
	if len(args) != 1 || args[0] != "example" {
		fmt.Fprintln(io.err, "Usage: hark config example\n\nPrints a complete, commented configuration file; every key in it is documented.")
		return 2
	}
	fmt.Fprint(io.out, config.Example)
	return 0
}
