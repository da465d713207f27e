package main

import (
	"context"
	"flag"
	"fmt"

	"hark/config"
)

func init() {
	commands["check-config"] = command{summary: "check a configuration file and report every problem at once", run: runCheckConfig}
}

func runCheckConfig(_ context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark check-config", flag.ContinueOnError)
	fs.SetOutput(io.err)
	flagPath := fs.String("config", "", "configuration `FILE` (default $"+config.EnvVar+")")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark check-config [FILE]\n\nChecks FILE (else --config, else $"+config.EnvVar+") and prints every problem with file:line:col.")
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(positional) > 1 {
		fmt.Fprintln(io.err, "hark check-config: give one FILE")
		return 2
	}
	path := configPath(*flagPath)
	if len(positional) == 1 {
		path = positional[0]
	}
	if _, err := config.Load(path); err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	if path == "" {
		path = "no file; the defaults"
	}
	fmt.Fprintf(io.out, "%s: ok\n", path)
	return 0
}
