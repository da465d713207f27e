// Command hark is the notification router's one binary: the service and
// the tools around it, one subcommand each. This package parses flags;
// package app/hark wires the service's parts from the configuration, and
// the logic lives in the packages it wires.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns the process exit status it wants (0 on success).
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdio stdio) int
}

// stdio is the process's streams, injected so tests can run a subcommand
// in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// commands is every subcommand, by name.
var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr}))
}

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(io.out)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "hark: unknown command %q\n\n", args[0])
		usage(io.err)
		return 2
	}
	return cmd.run(ctx, args[1:], io)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hark routes fedmsg bus messages to the people who asked for them.")
	fmt.Fprintln(w, "\nUsage: hark COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-14s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'hark COMMAND -h' for a command's flags.")
}
