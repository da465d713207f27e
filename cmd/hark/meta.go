package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"hark/bus"
	"hark/meta"
)

func init() {
	commands["meta"] = command{summary: "describe envelopes (JSON lines on stdin): app, title, usernames, packages…", run: runMeta}
}

// stringsFlag is a repeatable string flag: --processors A --processors B.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func runMeta(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark meta", flag.ContinueOnError)
	fs.SetOutput(io.err)
	var files stringsFlag
	fs.Var(&files, "processors", "an extra processor `FILE` that extends or overrides the embedded ones (repeatable)")
	explain := fs.Bool("explain", false, "add \"explain\": the processor file, line and rule that described each message, and whether its schema or topic chose it")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark meta [--processors FILE ...] [--explain] < envelopes.jsonl")
		fmt.Fprintln(io.err, "\nReads one JSON envelope per line and writes what each is about, one JSON object per line.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "hark meta: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	d, err := meta.New(meta.Options{Files: files})
	if err != nil {
		fmt.Fprintf(io.err, "hark meta: %v\n", err)
		return 1
	}
	status := 0
	out := bufio.NewWriter(io.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err = eachLine(ctx, io.in, func(line int, text []byte) error {
		env, err := bus.Decode(text)
		if err != nil {
			out.Flush()
			fmt.Fprintf(io.err, "hark meta: stdin line %d: %v\n", line, err)
			status = 1
			return nil
		}
		// Sets print as arrays, never null, so consumers need no special case.
		var out describedAs
		if *explain {
			var o meta.Origin
			out.Description, o = d.Explain(env)
			out.Explain = &o
		} else {
			out.Description = d.Describe(env)
		}
		desc := &out.Description
		desc.Body = meta.LongText(env, desc)
		desc.Usernames, desc.Packages, desc.Objects = nonNil(desc.Usernames), nonNil(desc.Packages), nonNil(desc.Objects)
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	if err != nil {
		out.Flush()
		fmt.Fprintf(io.err, "hark meta: %v\n", err)
		return 1
	}
	return status
}

// describedAs is one line of hark meta's output: the description, and
// with --explain which processor rule made it.
type describedAs struct {
	meta.Description
	Explain *meta.Origin `json:"explain,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
