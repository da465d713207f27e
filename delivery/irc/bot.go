// Package irc delivers notifications to IRC nicks and channel feeds
// (channel.go) through one bot connection: it registers (SASL PLAIN or
// NickServ), falls back to another nick when its own is taken,
// reconnects with backoff and rejoins its channels, sends lines no
// longer than the protocol allows through a token bucket, and answers
// people's private commands (help, stop, start, list filters, confirm
// CODE). Sender is its face to the delivery pipeline.
//
// gopkg.in/irc.v4 parses and writes the protocol's messages; the
// connection's life is this package's own, because irc.v4's Client ends
// the capability negotiation (CAP END) before SASL can run and waits on
// its rate limiter without a context.
package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"hark/delivery/chatcmd"
	"hark/store"
)

// Options configure a Bot. Server and Nick are required.
type Options struct {
	// Server is host:port of the IRC network.
	Server string
	// TLS connects with TLS; TLSConfig (optional) is used for it, with
	// ServerName defaulting to Server's host.
	TLS       bool
	TLSConfig *tls.Config
	Nick      string
	// SASLUser and SASLPassword log in with SASL PLAIN during
	// registration; SASLUser defaults to Nick.
	SASLUser     string
	SASLPassword string
	// NickServPassword identifies to NickServ after registration, for
	// networks without SASL.
	NickServPassword string
	// Channels are joined after every (re)connect.
	Channels []string
	// Interval and Burst are the token bucket of outgoing lines: one line
	// per Interval on average, Burst at once (default 600ms and 3, what
	// common networks tolerate without flood penalties).
	Interval time.Duration
	Burst    int
	// MaxLines caps the lines of one notification (default
	// DefaultMaxLines); the last says how many more there were and links
	// to the notification in the web UI.
	MaxLines int
	// BackoffMin and BackoffMax bound the wait between reconnects, which
	// doubles with jitter after every failure (default 1s and 2m).
	BackoffMin, BackoffMax time.Duration
	// ConnectWait is how long a send waits for a connection before it
	// fails as retryable (default 10s).
	ConnectWait time.Duration
	// PingEvery is how often an idle connection is probed; a connection
	// silent for three times as long is dropped (default 1m).
	PingEvery time.Duration
	// Settings answers people's commands; nil makes the bot answer that
	// commands are not available.
	Settings Settings
	// RequireIdentified answers commands and sends confirmation codes
	// only to nicks the network's services say are identified (WHOIS
	// replies 307 or 330).
	RequireIdentified bool
	Logger            *slog.Logger
}

// Bot is hark's one connection to an IRC network. Run keeps it connected;
// Say sends lines through it. It is safe for concurrent use.
type Bot struct {
	opts    Options
	log     *slog.Logger
	limiter *rate.Limiter
	render  *Renderer
	// cmds answers private messages.
	cmds *chatcmd.Commands

	mu      sync.Mutex
	sess    *session      // nil while disconnected
	changed chan struct{} // closed and replaced whenever sess changes
}

// ErrNotConnected is returned by sends while the bot has no connection;
// the delivery pipeline retries them later.
var ErrNotConnected = errors.New("not connected to irc")

// New checks opts and fills in defaults; the bot connects when Run runs.
func New(opts Options) (*Bot, error) {
	if _, _, err := net.SplitHostPort(opts.Server); err != nil {
		return nil, fmt.Errorf("new irc bot: server %q: %w", opts.Server, err)
	}
	if opts.Nick == "" {
		return nil, errors.New("new irc bot: nick is empty")
	}
	if opts.SASLUser == "" {
		opts.SASLUser = opts.Nick
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Interval, 600*time.Millisecond)
	def(&opts.BackoffMin, time.Second)
	def(&opts.BackoffMax, 2*time.Minute)
	def(&opts.ConnectWait, 10*time.Second)
	def(&opts.PingEvery, time.Minute)
	if opts.Burst <= 0 {
		opts.Burst = 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := NewRenderer(nil)
	if err != nil {
		return nil, err
	}
	if opts.MaxLines > 0 {
		r.SetMaxLines(opts.MaxLines)
	}
	b := &Bot{
		opts:    opts,
		log:     opts.Logger.With("irc", opts.Server),
		limiter: rate.NewLimiter(rate.Every(opts.Interval), opts.Burst),
		render:  r,
		changed: make(chan struct{}),
	}
	b.cmds = &chatcmd.Commands{Settings: opts.Settings, Kind: store.KindIRC, Noun: "nick", Log: b.log,
		Help: func(nick string) ([]string, error) { return b.render.Text("help", nil, nil, b.Width(nick)) }}
	return b, nil
}

// Run connects, and reconnects with backoff whenever the connection ends,
// until ctx is done. It returns only then, with nil.
func (b *Bot) Run(ctx context.Context) error {
	wait := b.opts.BackoffMin
	for ctx.Err() == nil {
		start := time.Now()
		err := b.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > b.opts.BackoffMax {
			wait = b.opts.BackoffMin // it was up for a while: a fresh outage
		}
		jittered := wait/2 + rand.N(wait/2+1)
		b.log.Warn("irc connection ended; reconnecting", "err", err, "in", jittered)
		select {
		case <-ctx.Done():
		case <-time.After(jittered):
		}
		wait = min(2*wait, b.opts.BackoffMax)
	}
	return nil
}

// connect runs one connection from dial to its end.
func (b *Bot) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", b.opts.Server)
	if err != nil {
		return fmt.Errorf("dial %s: %w", b.opts.Server, err)
	}
	if b.opts.TLS {
		cfg := b.opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(b.opts.Server)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls handshake with %s: %w", b.opts.Server, err)
		}
		conn = tc
	}
	s := newSession(b, conn)
	defer s.close()
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	if err := s.register(); err != nil {
		return err
	}
	b.log.Info("irc connected", "nick", s.nick())
	s.afterWelcome()
	b.setSession(s)
	defer b.setSession(nil)
	return s.serve()
}

func (b *Bot) setSession(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s == nil && b.sess != nil {
		b.log.Info("irc disconnected")
	}
	b.sess = s
	close(b.changed)
	b.changed = make(chan struct{})
}

// session waits up to ConnectWait for a connection.
func (b *Bot) session(ctx context.Context) (*session, error) {
	timeout := time.NewTimer(b.opts.ConnectWait)
	defer timeout.Stop()
	for {
		b.mu.Lock()
		s, changed := b.sess, b.changed
		b.mu.Unlock()
		if s != nil {
			return s, nil
		}
		select {
		case <-changed:
		case <-timeout.C:
			return nil, ErrNotConnected
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Connected says whether the bot is registered on the network now.
func (b *Bot) Connected() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sess != nil
}

// Nick is the bot's nick on the network now ("" while disconnected): the
// configured one, or its fallback when that was taken.
func (b *Bot) Nick() string {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s == nil {
		return ""
	}
	return s.nick()
}

// Width is how many bytes of text one PRIVMSG to target may carry now,
// counting the bot's prefix as the receiving client sees it.
func (b *Bot) Width(target string) int {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s == nil {
		return budget(assumedPrefix(b.opts.Nick), target)
	}
	return budget(s.prefix(), target)
}

// Say sends lines to target as PRIVMSGs, each split again if it does not
// fit the connection's limit, paced by the token bucket. An error means
// some lines may not have been sent; errors.Is(err, ErrNotConnected) or a
// write error are worth retrying.
func (b *Bot) Say(ctx context.Context, target string, lines []string) error {
	s, err := b.session(ctx)
	if err != nil {
		return fmt.Errorf("say to %s: %w", target, err)
	}
	for _, line := range lines {
		for _, part := range split(line, budget(s.prefix(), target)) {
			if err := b.limiter.Wait(ctx); err != nil {
				return fmt.Errorf("say to %s: %w", target, err)
			}
			if err := s.write("PRIVMSG " + target + " :" + part); err != nil {
				return fmt.Errorf("say to %s: %w", target, err)
			}
		}
	}
	return nil
}

// assumedPrefix is the longest prefix the server could show for nick
// before it told us the real one.
func assumedPrefix(nick string) string {
	return fmt.Sprintf("%s!%*s@%*s", nick, assumedUser, "", assumedHost, "")
}
