package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"hark/app/hark"
	"hark/bus"
	"hark/config"
	"hark/meta"
)

func init() {
	commands["tail"] = command{summary: "print messages from the bus as they arrive, like fedmsg-tail", run: runTail}
}

// tailOptions is what runTail's flags say.
type tailOptions struct {
	endpoints, topics stringsFlag
	include, exclude  string
	json, pretty      bool
	terse             bool
	validate          bool
	configFile        string
	amqp              string
	bindings          stringsFlag
	exchange          string
}

func runTail(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark tail", flag.ContinueOnError)
	fs.SetOutput(io.err)
	var o tailOptions
	fs.Var(&o.endpoints, "endpoint", "a publisher's ZeroMQ `URL` to subscribe to (repeatable; default: the config's bus.endpoints)")
	fs.Var(&o.topics, "topic", "subscribe only to topics starting with `PREFIX` (repeatable; default: all)")
	fs.StringVar(&o.include, "include", "", "print only topics matching `RE`")
	fs.StringVar(&o.exclude, "exclude", "_heartbeat", "do not print topics matching `RE`")
	fs.BoolVar(&o.json, "json", false, "print each envelope as one JSON object per line")
	fs.BoolVar(&o.pretty, "pretty", false, "print each envelope as indented JSON")
	fs.BoolVar(&o.terse, "terse", false, "print one line per message: topic, subtitle, link (the default)")
	fs.BoolVar(&o.validate, "validate", false, "drop messages whose X.509 signature does not verify (CA, CRL and routing policy from the config)")
	fs.StringVar(&o.configFile, "config", os.Getenv(config.EnvVar), "configuration `FILE` (default $"+config.EnvVar+")")
	fs.StringVar(&o.amqp, "amqp", "", "read a fedora-messaging broker at `URL` (amqp:// or amqps://) instead of ZeroMQ endpoints")
	fs.Var(&o.bindings, "binding", "with --amqp, bind the queue with routing `KEY` (repeatable; default: #, every topic)")
	fs.StringVar(&o.exchange, "exchange", "amq.topic", "with --amqp, the topic exchange `NAME` to bind to")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark tail [--endpoint URL ...] [--topic PREFIX] [--include RE] [--exclude RE] [--json | --pretty | --terse] [--validate]")
		fmt.Fprintln(io.err, "       hark tail --amqp URL [--binding KEY ...] [--exchange NAME] [--include RE] [--exclude RE] [--json | --pretty | --terse]")
		fmt.Fprintln(io.err, "\nSubscribes to fedmsg publishers, or a fedora-messaging broker, and prints every message until interrupted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "hark tail: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if count(o.json, o.pretty, o.terse) > 1 {
		fmt.Fprintln(io.err, "hark tail: give at most one of --json, --pretty, --terse")
		return 2
	}
	include, err := compileFlag("include", o.include)
	if err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 2
	}
	exclude, err := compileFlag("exclude", o.exclude)
	if err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 2
	}
	cfg, err := config.Load(o.configFile)
	if err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 2
	}
	p := &tailPrinter{out: io.out, include: include, exclude: exclude, pretty: o.pretty, json: o.json}
	if !o.json && !o.pretty {
		if p.describer, err = hark.NewDescriber(cfg); err != nil {
			fmt.Fprintf(io.err, "hark tail: %v\n", err)
			return 1
		}
	}
	if o.amqp != "" {
		return tailAMQP(ctx, o, cfg, p, io)
	}
	endpoints := make([]bus.Endpoint, 0, len(o.endpoints))
	for _, url := range o.endpoints {
		endpoints = append(endpoints, bus.Endpoint{URL: url})
	}
	if len(endpoints) == 0 {
		for _, ep := range cfg.Bus.Endpoints {
			endpoints = append(endpoints, bus.Endpoint{URL: ep.URL, Replay: ep.Replay})
		}
	}
	var discover bus.Discoverer
	if len(o.endpoints) == 0 {
		discover = hark.BusDiscovery(cfg)
	}
	if len(endpoints) == 0 && discover == nil {
		fmt.Fprintln(io.err, "hark tail: no endpoint: give --endpoint or set bus.endpoints or bus.srv_domains in the config")
		return 2
	}
	opts := bus.SubscriberOptions{
		Endpoints:       endpoints,
		Discover:        discover,
		DiscoverEvery:   cfg.Bus.SRVRefresh,
		Topics:          o.topics,
		MaxMessageBytes: cfg.Bus.MaxMessageBytes,
		Logger:          slog.New(slog.NewTextHandler(io.err, nil)),
	}
	if o.validate {
		v, err := hark.NewVerifier(cfg)
		if err != nil {
			fmt.Fprintf(io.err, "hark tail: %v\n", err)
			return 1
		}
		opts.Verifier = v
	}
	sub, err := bus.NewSubscriber(opts)
	if err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 2
	}
	if err := sub.Run(ctx, p.print); err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 1
	}
	return 0
}

func count(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// compileFlag compiles a regular expression flag; "" matches nothing.
func compileFlag(name, re string) (*regexp.Regexp, error) {
	if re == "" {
		return nil, nil
	}
	c, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	return c, nil
}

// tailPrinter writes each message in the chosen format, after the
// --include and --exclude filters (searched in the topic, as fedmsg-tail
// does).
type tailPrinter struct {
	out              io.Writer
	include, exclude *regexp.Regexp
	json, pretty     bool
	describer        *meta.Describer
}

func (p *tailPrinter) print(_ context.Context, env *bus.Envelope) {
	if p.include != nil && !p.include.MatchString(env.Topic) {
		return
	}
	if p.exclude != nil && p.exclude.MatchString(env.Topic) {
		return
	}
	switch {
	case p.json:
		fmt.Fprintf(p.out, "%s\n", bus.CompactUTF8(env.Fields))
	case p.pretty:
		var b bytes.Buffer
		_ = json.Indent(&b, bus.CompactUTF8(env.Fields), "", "  ") // valid: we wrote it
		b.WriteByte('\n')
		p.out.Write(b.Bytes())
	default:
		d := p.describer.Describe(env)
		subtitle := d.Subtitle
		if subtitle == "" {
			subtitle = env.MsgID
		}
		fmt.Fprintf(p.out, "%s %s %s\n", env.Topic, subtitle, d.Link)
	}
}
