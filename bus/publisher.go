package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// EnvelopeSigner signs an envelope in place, setting crypto, signature and
// certificate in its Fields. *Signer is the real one.
type EnvelopeSigner interface {
	Sign(*Envelope) error
}

// PublisherOptions configures a Publisher. Zero values take the defaults
// documented on each field.
type PublisherOptions struct {
	// Endpoint is where to bind (Bind) or connect.
	Endpoint string
	// Bind makes the publisher bind a PUB socket for subscribers to dial,
	// as a fedmsg service does; otherwise it connects to a bound SUB, as
	// fedmsg-logger does to a relay's inbound socket ("active" mode).
	Bind bool
	// Prefix, Env and Modname make the topic PREFIX.ENV.MODNAME.TOPIC
	// (defaults "org.fedoraproject" and "dev"; Modname is required).
	Prefix, Env, Modname string
	// Username is the envelope's username (default: the OS user).
	Username string
	// Signer, when set, signs every envelope.
	Signer EnvelopeSigner
	// Settle bounds the wait, before the first message, for a subscriber
	// whose subscription covers it: ZeroMQ drops what a PUB sends before
	// then (default 5 seconds).
	Settle time.Duration
	// Linger is how long Close waits before closing: zmq4 sends from a
	// background queue and its Close drops what is still queued (default
	// 250 milliseconds).
	Linger time.Duration
	// Now is the clock for timestamps and msg_id years (default time.Now).
	Now func() time.Time
	// Logger receives the settle report (default slog.Default()).
	Logger *slog.Logger
}

// Publisher sends fedmsg envelopes on a PUB socket, framed exactly as
// fedmsg does: [topic, JSON envelope].
type Publisher struct {
	opts PublisherOptions
	sock zmq4.Socket

	mu      sync.Mutex
	i       int64
	settled bool
}

const (
	defaultPrefix = "org.fedoraproject"
	defaultEnv    = "dev"
	defaultSettle = 5 * time.Second
	defaultLinger = 250 * time.Millisecond
	// settlePoll is how often the subscriptions of connected peers are
	// looked at while settling.
	settlePoll = 5 * time.Millisecond
)

// NewPublisher binds or connects a PUB socket; ctx bounds the socket's
// life.
func NewPublisher(ctx context.Context, opts PublisherOptions) (*Publisher, error) {
	if opts.Modname == "" {
		return nil, errors.New("new publisher: modname is required")
	}
	if err := CheckEndpoint(opts.Endpoint); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = defaultPrefix
	}
	if opts.Env == "" {
		opts.Env = defaultEnv
	}
	if opts.Username == "" {
		if u, err := user.Current(); err == nil {
			opts.Username = u.Username
		}
	}
	if opts.Settle <= 0 {
		opts.Settle = defaultSettle
	}
	if opts.Linger <= 0 {
		opts.Linger = defaultLinger
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sock := zmq4.NewPub(ctx,
		zmq4.WithAutomaticReconnect(!opts.Bind),
		zmq4.WithLogger(slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)))
	// Subscribers send a PUB socket only their subscriptions; the guard
	// disconnects one that announces more than a message's worth.
	guard, err := newZMTPGuard(DefaultMaxMessageBytes, DefaultHandshakeTimeout, nil)
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	connect, verb := sock.Dial, "connect"
	if opts.Bind {
		connect, verb = sock.Listen, "bind"
	}
	if err := connect(guard.endpoint(opts.Endpoint)); err != nil {
		sock.Close()
		return nil, fmt.Errorf("new publisher: %s %s: %w", verb, opts.Endpoint, err)
	}
	return &Publisher{opts: opts, sock: sock}, nil
}

// Addr is the bound address (with the port chosen for port 0), or nil
// when the publisher connects.
func (p *Publisher) Addr() string {
	if a := p.sock.Addr(); a != nil {
		return a.String()
	}
	return ""
}

// Topic is the full topic a Publish of topic sends on.
func (p *Publisher) Topic(topic string) string {
	return strings.Join([]string{p.opts.Prefix, p.opts.Env, p.opts.Modname, topic}, ".")
}

// Publish sends msg (any value encoding/json can encode; usually a map)
// on PREFIX.ENV.MODNAME.topic, filling the envelope as fedmsg's publish
// does: msg_id "<year>-<uuid4>", i (this publisher's counter), timestamp
// (whole seconds), username, and a signature when a Signer is set. It
// returns the envelope exactly as subscribers decode it. Publish is safe
// for concurrent use.
func (p *Publisher) Publish(ctx context.Context, topic string, msg any) (*Envelope, error) {
	full := p.Topic(topic)
	payload, err := normalize(msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", full, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.settled {
		p.settle(ctx, full)
		p.settled = true
	}
	now := p.opts.Now()
	p.i++
	env, err := FromFields(map[string]any{
		"topic":     full,
		"msg":       payload,
		"timestamp": json.Number(strconv.FormatInt(now.Unix(), 10)),
		"msg_id":    strconv.Itoa(now.Year()) + "-" + uuid.NewString(),
		"i":         json.Number(strconv.FormatInt(p.i, 10)),
		"username":  p.opts.Username,
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", full, err)
	}
	if p.opts.Signer != nil {
		if err := p.opts.Signer.Sign(env); err != nil {
			return nil, fmt.Errorf("publish %s: %w", full, err)
		}
	}
	body := Canonical(env.Fields)
	// What goes out is what subscribers will see: decode our own bytes.
	if env, err = Decode(body); err != nil {
		return nil, fmt.Errorf("publish %s: %w", full, err)
	}
	if err := p.sock.SendMulti(zmq4.NewMsgFrom([]byte(full), body)); err != nil {
		return nil, fmt.Errorf("publish %s: %w", full, err)
	}
	return env, nil
}

// settle waits until a connected peer subscribes to a prefix of topic, or
// Settle passes, because a PUB drops what no subscription covers yet.
func (p *Publisher) settle(ctx context.Context, topic string) {
	topics, ok := p.sock.(zmq4.Topics)
	if !ok {
		return
	}
	deadline := time.NewTimer(p.opts.Settle)
	defer deadline.Stop()
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	for {
		for _, prefix := range topics.Topics() {
			if strings.HasPrefix(topic, prefix) {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			p.opts.Logger.Warn("no subscriber yet, publishing anyway", "endpoint", p.opts.Endpoint, "topic", topic, "waited", p.opts.Settle)
			return
		case <-ctx.Done():
			return
		}
	}
}

// Close waits Linger for queued messages to leave, then closes the socket.
func (p *Publisher) Close() error {
	time.Sleep(p.opts.Linger)
	return p.sock.Close()
}

// normalize turns a Go value into the JSON tree Decode would produce
// (maps, slices, json.Number), so the envelope can be signed and
// serialised canonically.
func normalize(msg any) (any, error) {
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return decodeValue(raw)
}
