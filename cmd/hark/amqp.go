package main

import (
	"context"
	"fmt"
	"log/slog"

	"hark/bus"
	"hark/config"
)

// tailAMQP is hark tail --amqp: a server-named queue bound with the
// --binding keys, read without acknowledgements, since tail keeps nothing.
// The TLS files are the config's bus.amqp ones, which Fedora's public
// broker requires.
func tailAMQP(ctx context.Context, o tailOptions, cfg *config.Config, p *tailPrinter, io stdio) int {
	if len(o.endpoints) > 0 || len(o.topics) > 0 || o.validate {
		fmt.Fprintln(io.err, "hark tail: --endpoint, --topic and --validate are for ZeroMQ; with --amqp use --binding")
		return 2
	}
	a := cfg.Bus.AMQP
	src, err := bus.NewAMQPSource(bus.AMQPOptions{URL: o.amqp, Exchange: o.exchange, Bindings: o.bindings, AutoAck: true,
		MaxMessageBytes: cfg.Bus.MaxMessageBytes, CertFile: a.Cert, KeyFile: a.Key, CAFile: a.CA,
		App: "hark tail", Logger: slog.New(slog.NewTextHandler(io.err, nil))})
	if err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 2
	}
	if err := src.Run(ctx, p.print); err != nil {
		fmt.Fprintf(io.err, "hark tail: %v\n", err)
		return 1
	}
	return 0
}
