package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"hark/bus"
)

func init() {
	commands["publish"] = command{summary: "publish messages on the bus, like fedmsg-logger", run: runPublish}
}

// defaultInbound is where `hark serve` binds its inbound SUB socket for
// active-mode publishers, as fedmsg-relay does.
const defaultInbound = "tcp://127.0.0.1:9941"

func runPublish(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark publish", flag.ContinueOnError)
	fs.SetOutput(io.err)
	var (
		opts      bus.PublisherOptions
		topic     string
		message   string
		jsonInput bool
		keyFile   string
		gpgKey    string
		certFile  string
		amqpURL   string
		exchange  string
		severity  string
	)
	fs.StringVar(&opts.Endpoint, "endpoint", defaultInbound, "`URL` to connect to (a bound SUB, such as hark serve's inbound), or to bind with --bind")
	fs.BoolVar(&opts.Bind, "bind", false, "bind a PUB socket at --endpoint instead of connecting")
	fs.StringVar(&opts.Prefix, "prefix", "org.fedoraproject", "topic `PREFIX`")
	fs.StringVar(&opts.Env, "env", "dev", "topic environment `ENV`")
	fs.StringVar(&opts.Modname, "modname", "", "topic module `NAME` (required)")
	fs.StringVar(&topic, "topic", "", "topic `SUFFIX`: the full topic is PREFIX.ENV.MODNAME.SUFFIX (required)")
	fs.StringVar(&message, "message", "", "publish {\"log\": `TEXT`} once, instead of one message per stdin line")
	fs.BoolVar(&jsonInput, "json-input", false, "read one JSON document from stdin and publish it as the message")
	fs.DurationVar(&opts.Settle, "settle", 5*time.Second, "how long to wait for a subscriber before the first message")
	fs.StringVar(&keyFile, "key", "", "sign with this RSA private key `FILE` (PEM; needs --cert)")
	fs.StringVar(&gpgKey, "gpg-key", "", "sign with GnuPG as Debian's fedmsg does, with this secret key `FILE` (gpg --export-secret-keys, armored or binary, no passphrase)")
	fs.StringVar(&certFile, "cert", "", "the signing certificate `FILE` (PEM; needs --key)")
	fs.StringVar(&amqpURL, "amqp", "", "publish to a fedora-messaging broker at `URL` as fedora-messaging does; --topic is then the full topic")
	fs.StringVar(&exchange, "exchange", "amq.topic", "with --amqp, the exchange `NAME` to publish to")
	fs.StringVar(&severity, "severity", "info", "with --amqp, the message's `LEVEL`: debug, info, warning or error")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark publish [--endpoint URL] [--bind] [--prefix P] [--env E] --modname M --topic T [--message TEXT | --json-input]")
		fmt.Fprintln(io.err, "       hark publish --amqp URL [--exchange NAME] --topic FULL.TOPIC [--severity LEVEL] [--message TEXT | --json-input]")
		fmt.Fprintln(io.err, "\nWithout --message or --json-input, each stdin line is published as {\"log\": LINE}.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var usage error
	switch {
	case fs.NArg() > 0:
		usage = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case opts.Modname == "" && amqpURL == "":
		usage = errors.New("--modname is required")
	case topic == "":
		usage = errors.New("--topic is required")
	case message != "" && jsonInput:
		usage = errors.New("give --message or --json-input, not both")
	case amqpURL != "" && (keyFile != "" || gpgKey != "" || opts.Bind):
		usage = errors.New("--key, --cert, --gpg-key and --bind are for ZeroMQ; fedora-messaging messages are not signed")
	case keyFile != "" && gpgKey != "":
		usage = errors.New("sign with --key and --cert (X.509) or with --gpg-key, not both")
	case (keyFile == "") != (certFile == ""):
		usage = errors.New("--key and --cert go together")
	}
	if usage != nil {
		fmt.Fprintf(io.err, "hark publish: %v\n", usage)
		return 2
	}
	if keyFile != "" {
		signer, err := bus.LoadSigner(keyFile, certFile)
		if err != nil {
			fmt.Fprintf(io.err, "hark publish: %v\n", err)
			return 1
		}
		opts.Signer = signer
	}
	if gpgKey != "" {
		signer, err := bus.LoadGPGSigner(gpgKey)
		if err != nil {
			fmt.Fprintf(io.err, "hark publish: %v\n", err)
			return 1
		}
		opts.Signer = signer
	}
	var payload any
	if jsonInput { // read before connecting, so bad input costs no wait
		var err error
		if payload, err = readJSON(io.in); err != nil {
			fmt.Fprintf(io.err, "hark publish: %v\n", err)
			return 1
		}
	}
	var send func(msg any) error
	if amqpURL != "" {
		level, err := bus.ParseSeverity(severity)
		if err != nil {
			fmt.Fprintf(io.err, "hark publish: --severity: %v\n", err)
			return 2
		}
		pub, err := bus.NewAMQPPublisher(bus.AMQPOptions{URL: amqpURL, Exchange: exchange, App: "hark publish"})
		if err != nil {
			fmt.Fprintf(io.err, "hark publish: %v\n", err)
			return 1
		}
		defer pub.Close()
		send = func(msg any) error {
			_, err := pub.Publish(ctx, topic, msg, level, nil)
			return err
		}
	} else {
		opts.Logger = slog.New(slog.NewTextHandler(io.err, nil))
		pub, err := bus.NewPublisher(ctx, opts)
		if err != nil {
			fmt.Fprintf(io.err, "hark publish: %v\n", err)
			return 1
		}
		defer pub.Close()
		send = func(msg any) error {
			_, err := pub.Publish(ctx, topic, msg)
			return err
		}
	}
	var err error
	switch {
	case message != "":
		err = send(map[string]any{"log": message})
	case jsonInput:
		err = send(payload)
	default:
		err = publishLines(ctx, io.in, send)
	}
	if err != nil {
		fmt.Fprintf(io.err, "hark publish: %v\n", err)
		return 1
	}
	return 0
}

// readJSON reads the one JSON document on in, numbers kept as written.
func readJSON(in io.Reader) (any, error) {
	dec := json.NewDecoder(in)
	dec.UseNumber()
	var msg any
	if err := dec.Decode(&msg); err != nil {
		return nil, fmt.Errorf("read stdin: invalid JSON near byte %d: %w", dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("read stdin: more than one JSON document (the second starts near byte %d)", dec.InputOffset())
	}
	return msg, nil
}

// publishLines publishes each line of in as {"log": LINE}, as
// fedmsg-logger does.
func publishLines(ctx context.Context, in io.Reader, send func(any) error) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := send(map[string]any{"log": sc.Text()}); err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}
