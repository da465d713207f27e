package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"hark/app/hark"
	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/owners"
	"hark/rules"
)

func init() {
	commands["match"] = command{summary: "dry-run filters (export files) against envelopes (JSON lines on stdin)", run: runMatch}
}

// matchLine is one output line of hark match.
type matchLine struct {
	Line      int                   `json:"line"`
	MsgID     string                `json:"msg_id"`
	Matches   []matchEntry          `json:"matches"`
	Unmatched []filters.Explanation `json:"unmatched,omitempty"`
}

// errorLine is the output line for an input line that is not an envelope.
type errorLine struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

type matchEntry struct {
	filters.Hit
	Rules []filters.Verdict `json:"rules,omitempty"`
}

func runMatch(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark match", flag.ContinueOnError)
	fs.SetOutput(io.err)
	load := configFlag(fs)
	var files stringsFlag
	var ownersFile, groupsFile string
	var explain bool
	fs.Var(&files, "filters", "a user's filters in the export format, `FILE` (repeatable, one user per file)")
	fs.StringVar(&ownersFile, "owners", "", "package owners: a pagure_owner_alias.json `FILE` or URL")
	fs.StringVar(&groupsFile, "groups", "", "group members: a JSON `FILE` or URL mapping group to members (with --owners)")
	fs.BoolVar(&explain, "explain", false, "add each rule's verdict to every match, and list the filters that did not match")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark match [--config FILE] --filters FILE [--filters FILE ...] [--owners FILE [--groups FILE]] [--explain] < envelopes.jsonl")
		fmt.Fprintln(io.err, "\nMatches each envelope against the filters without side effects (one-shot filters stay armed),")
		fmt.Fprintln(io.err, "describing it as hark serve does with the configuration's meta processors and aliases,")
		fmt.Fprintln(io.err, "and prints one JSON line per input line: {\"line\", \"msg_id\", \"matches\": [{\"user\", \"filter\", \"destination\"}]}.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || len(files) == 0 {
		fmt.Fprintln(io.err, "hark match: give at least one --filters FILE and no arguments")
		return 2
	}
	if groupsFile != "" && ownersFile == "" {
		fmt.Fprintln(io.err, "hark match: --groups needs --owners")
		return 2
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(io.err, "hark match: %v\n", err)
		return 2
	}
	var opts filters.Options
	if ownersFile != "" {
		snap, err := owners.Load(ctx, owners.Source{Aliases: ownersFile, Groups: groupsFile})
		if err != nil {
			fmt.Fprintf(io.err, "hark match: %v\n", err)
			return 1
		}
		opts.Owners = func() rules.Ownership { return snap }
	}
	ix := filters.New(opts)
	seen := map[string]string{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(io.err, "hark match: %v\n", err)
			return 1
		}
		e, err := filters.ParseExport(name, data)
		if err == nil && seen[e.User] != "" {
			err = fmt.Errorf("parse filters %s: user %q already comes from %s", name, e.User, seen[e.User])
		}
		if err == nil {
			err = ix.SetUser(e.User, e.Filters)
		}
		if err != nil {
			fmt.Fprintf(io.err, "hark match: %v\n", err)
			return 1
		}
		seen[e.User] = name
	}
	describer, err := hark.NewDescriber(cfg)
	if err != nil {
		fmt.Fprintf(io.err, "hark match: %v\n", err)
		return 1
	}

	out := bufio.NewWriter(io.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err = eachLine(ctx, io.in, func(line int, text []byte) error {
		var res any
		if env, err := bus.Decode(text); err != nil {
			res = errorLine{Line: line, Error: err.Error()}
		} else {
			desc := describer.Describe(env)
			ml := matchLine{Line: line, MsgID: env.Key()}
			ml.Matches, ml.Unmatched = matchOne(ix, env, &desc, explain)
			res = ml
		}
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	if err != nil {
		out.Flush()
		fmt.Fprintf(io.err, "hark match: %v\n", err)
		return 1
	}
	return 0
}

// matchOne dry-runs one message; with explain, every match carries its
// filter's verdicts and the filters that did not match are listed.
func matchOne(ix *filters.Index, env *bus.Envelope, desc *meta.Description, explain bool) ([]matchEntry, []filters.Explanation) {
	entries := []matchEntry{}
	hits := ix.DryRun(env, desc)
	if !explain {
		for _, h := range hits {
			entries = append(entries, matchEntry{Hit: h})
		}
		return entries, nil
	}
	var unmatched []filters.Explanation
	verdicts := map[[2]string][]filters.Verdict{}
	for _, e := range ix.Explain(env, desc) {
		if e.Matched {
			verdicts[[2]string{e.User, e.Filter}] = e.Rules
		} else {
			unmatched = append(unmatched, e)
		}
	}
	for _, h := range hits {
		entries = append(entries, matchEntry{Hit: h, Rules: verdicts[[2]string{h.User, h.Filter}]})
	}
	return entries, unmatched
}
