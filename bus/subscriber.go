package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// SignatureChecker checks an envelope's signature. *Verifier is the real one;
// the subscriber takes any, so tests and other policies can plug in.
type SignatureChecker interface {
	Verify(*Envelope) error
}

// Endpoint is one fedmsg publisher to subscribe to.
type Endpoint struct {
	// URL is the publisher's ZeroMQ endpoint, e.g. tcp://hub.example:9940.
	URL string
	// Bind makes the subscriber bind URL and wait for active-mode
	// publishers to connect (fedmsg-relay's inbound role, where
	// fedmsg-logger and `hark publish` connect), instead of dialing a
	// publisher. A bound endpoint has no silence watchdog: no one may
	// publish for days.
	Bind bool
	// Replay is the publisher's replay (REP) endpoint, asked for the
	// messages missed when its seq_id skips; empty when it has none.
	Replay string
}

// Overflow says what the subscriber does when its queue is full because
// the handler is slower than the bus.
type Overflow int

const (
	// Block makes the endpoint's receiver wait for room. Nothing is lost
	// inside hark, but a long stall lets the publisher's own high water
	// mark drop messages, which no one can count; each wait is counted in
	// Stats.Overflowed.
	Block Overflow = iota
	// DropNewest drops the message that does not fit, and counts it in
	// Stats.Overflowed, so a stalled handler never stalls the sockets.
	DropNewest
)

// String is the policy's configuration name.
func (o Overflow) String() string {
	if o == DropNewest {
		return "drop-newest"
	}
	return "block"
}

// ParseOverflow reads a policy's configuration name: "block" or
// "drop-newest".
func ParseOverflow(s string) (Overflow, error) {
	switch s {
	case "block":
		return Block, nil
	case "drop-newest":
		return DropNewest, nil
	}
	return 0, fmt.Errorf("parse overflow policy %q: want block or drop-newest", s)
}

// SubscriberOptions configures a Subscriber. Zero values take the
// defaults documented on each field.
type SubscriberOptions struct {
	Endpoints []Endpoint
	// Topics are topic prefixes to subscribe to; none means everything.
	Topics []string
	// QueueSize bounds the messages waiting for the handler (default 1024).
	QueueSize int
	// Overflow is what happens when the queue is full (default Block).
	Overflow Overflow
	// Silence is how long an endpoint may stay silent before its socket is
	// closed and dialed anew, because a TCP connection can die without
	// either side noticing (default 10 minutes; negative disables).
	Silence time.Duration
	// ReplayTimeout bounds one replay query (default 10 seconds).
	ReplayTimeout time.Duration
	// DedupWindow is how many recent message keys are remembered to drop
	// duplicates, e.g. a replayed message that also arrived live
	// (default 4096).
	DedupWindow int
	// MaxMessageBytes bounds a message's JSON envelope (default
	// DefaultMaxMessageBytes). A peer that announces a larger message is
	// disconnected before hark allocates it; the refusal is counted in
	// Stats.TooLarge and logged.
	MaxMessageBytes int
	// HandshakeTimeout bounds how long a peer may take to complete its
	// ZMTP handshake before it is disconnected (default
	// DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// Verifier, when set, drops messages whose signature does not verify.
	Verifier SignatureChecker
	// Discover, when set, names more publishers (DNS SRV records, say),
	// asked at start and every DiscoverEvery after (default 5 minutes):
	// endpoints that appear are subscribed, those that vanish are
	// dropped. With it, Endpoints may be empty.
	Discover Discoverer
	// DiscoverEvery is how often Discover is asked again.
	DiscoverEvery time.Duration
	// Logger receives malformed-message, reconnect and replay reports
	// (default slog.Default()).
	Logger *slog.Logger
}

// A Discoverer names publishers to subscribe to, which may change over
// time. *SRVDiscovery is the real one. Beside an error it still returns
// what it knows, so one failed lookup drops no publisher.
type Discoverer interface {
	Endpoints(context.Context) ([]Endpoint, error)
}

// Stats is a snapshot of a Subscriber's counters, for metrics.
type Stats struct {
	// Received is well-formed messages read from the sockets.
	Received uint64
	// Invalid is malformed messages dropped (frames, UTF-8, JSON, topic).
	Invalid uint64
	// BadSignature is messages dropped because the Verifier refused them.
	BadSignature uint64
	// Duplicates is messages dropped because their key was seen recently.
	Duplicates uint64
	// Overflowed is messages that found the queue full (see Overflow).
	Overflowed uint64
	// Replayed is missed messages recovered from replay endpoints.
	Replayed uint64
	// ReplayFailures is replay queries that failed.
	ReplayFailures uint64
	// Reconnects is connections lost and dialed again, by the peer's
	// restart or by the silence watchdog.
	Reconnects uint64
	// TooLarge is messages refused because they exceeded MaxMessageBytes.
	TooLarge uint64
}

// Subscriber reads fedmsg messages from any number of publishers, one SUB
// socket per endpoint (zmq4 reconnects only the last endpoint of a socket
// that dials several), and hands them one at a time to a handler. It is
// the bus's Source: Run(ctx, handle) is the whole interface a service
// needs, so other sources (AMQP) can take its place.
type Subscriber struct {
	opts  SubscriberOptions
	log   *slog.Logger
	queue chan *Envelope
	seen  *recentKeys
	// guard and replayGuard close connections that announce messages
	// over the limit (a replay answer carries many messages).
	guard, replayGuard *zmtpGuard
	// dialing is the URLs of the endpoints subscribed now, the
	// configured ones and those Discover named.
	dialingMu sync.Mutex
	dialing   []string
	stats     struct {
		received, invalid, badSignature, duplicates, overflowed,
		replayed, replayFailures, reconnects, tooLarge atomic.Uint64
	}
}

const (
	defaultQueueSize     = 1024
	defaultSilence       = 10 * time.Minute
	defaultReplayTimeout = 10 * time.Second
	defaultDedupWindow   = 4096
	defaultDiscoverEvery = 5 * time.Minute
	// redialDelay spaces dial attempts after a failure, as zmq4's own
	// retry interval does.
	redialDelay = 250 * time.Millisecond
	// dialTimeout bounds one TCP connect, so an unreachable host is
	// retried instead of hanging for zmq4's default of 5 minutes.
	dialTimeout = 10 * time.Second
	// replayMessages is how many messages of the largest size one replay
	// answer may carry.
	replayMessages = 64
)

// NewSubscriber checks opts and fills its defaults.
func NewSubscriber(opts SubscriberOptions) (*Subscriber, error) {
	if len(opts.Endpoints) == 0 && opts.Discover == nil {
		return nil, errors.New("new subscriber: no endpoints")
	}
	if opts.DiscoverEvery <= 0 {
		opts.DiscoverEvery = defaultDiscoverEvery
	}
	for i, ep := range opts.Endpoints {
		if err := CheckEndpoint(ep.URL); err != nil {
			return nil, fmt.Errorf("new subscriber: endpoint %d: %w", i+1, err)
		}
		if ep.Replay != "" {
			if err := CheckEndpoint(ep.Replay); err != nil {
				return nil, fmt.Errorf("new subscriber: endpoint %d replay: %w", i+1, err)
			}
		}
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = defaultQueueSize
	}
	if opts.Silence == 0 {
		opts.Silence = defaultSilence
	}
	if opts.ReplayTimeout <= 0 {
		opts.ReplayTimeout = defaultReplayTimeout
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = defaultDedupWindow
	}
	if len(opts.Topics) == 0 {
		opts.Topics = []string{""}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &Subscriber{
		opts:  opts,
		log:   opts.Logger,
		queue: make(chan *Envelope, opts.QueueSize),
		seen:  newRecentKeys(opts.DedupWindow),
	}
	limit := uint64(opts.MaxMessageBytes) + topicAllowance
	var err error
	if s.guard, err = newZMTPGuard(limit, opts.HandshakeTimeout, s.refuse); err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	if s.replayGuard, err = newZMTPGuard(limit*replayMessages, opts.HandshakeTimeout, s.refuse); err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	return s, nil
}

// refuse reports a peer disconnected for announcing an oversized message.
func (s *Subscriber) refuse(err *FrameTooLargeError) {
	s.stats.tooLarge.Add(1)
	s.log.Warn("refused oversized message, peer disconnected", "peer", err.Peer, "bytes", err.Size, "limit", err.Limit)
}

// CheckEndpoint reports whether s is a ZeroMQ endpoint hark can dial or
// bind: tcp://HOST:PORT or ipc://PATH.
func CheckEndpoint(s string) error {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fmt.Errorf("parse endpoint %q: want tcp://HOST:PORT or ipc://PATH", s)
	}
	switch scheme {
	case "tcp":
		_, port, err := net.SplitHostPort(rest)
		if err != nil {
			return fmt.Errorf("parse endpoint %q: want tcp://HOST:PORT: %w", s, err)
		}
		if n, err := strconv.Atoi(port); port != "*" && (err != nil || n < 0 || n > 65535) {
			return fmt.Errorf("parse endpoint %q: port %q is not a number from 0 to 65535", s, port)
		}
	case "ipc":
		if rest == "" {
			return fmt.Errorf("parse endpoint %q: want ipc://PATH", s)
		}
	default:
		return fmt.Errorf("parse endpoint %q: transport %q is not tcp or ipc", s, scheme)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Subscriber) Stats() Stats {
	c := &s.stats
	return Stats{
		Received:       c.received.Load(),
		Invalid:        c.invalid.Load(),
		BadSignature:   c.badSignature.Load(),
		Duplicates:     c.duplicates.Load(),
		Overflowed:     c.overflowed.Load(),
		Replayed:       c.replayed.Load(),
		ReplayFailures: c.replayFailures.Load(),
		Reconnects:     c.reconnects.Load(),
		TooLarge:       c.tooLarge.Load(),
	}
}

// Run subscribes to every endpoint and calls handle for each message, one
// at a time and in arrival order (per endpoint), until ctx is done; then it
// closes the sockets and returns nil. Run is called once.
func (s *Subscriber) Run(ctx context.Context, handle func(context.Context, *Envelope)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, ep := range s.opts.Endpoints {
		wg.Go(func() { s.runEndpoint(ctx, ep) })
	}
	s.setDialing(nil)
	if s.opts.Discover != nil {
		wg.Go(func() { s.discover(ctx, &wg) })
	}
	for {
		select {
		case env := <-s.queue:
			handle(ctx, env)
		case <-ctx.Done():
			return nil
		}
	}
}

// discover asks Discover for publishers now and every DiscoverEvery,
// subscribing to the new ones (in wg, so Run waits for them) and dropping
// those it no longer names, until ctx is done.
func (s *Subscriber) discover(ctx context.Context, wg *sync.WaitGroup) {
	configured := make(map[string]bool, len(s.opts.Endpoints))
	for _, ep := range s.opts.Endpoints {
		configured[ep.URL] = true
	}
	running := make(map[string]context.CancelFunc)
	for {
		eps, err := s.opts.Discover.Endpoints(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("endpoint discovery failed, keeping the endpoints it found before", "err", err)
		}
		named := make(map[string]bool, len(eps))
		for _, ep := range eps {
			named[ep.URL] = true
			if configured[ep.URL] || running[ep.URL] != nil {
				continue
			}
			if err := CheckEndpoint(ep.URL); err != nil {
				s.log.Warn("ignored discovered endpoint", "err", err)
				continue
			}
			epCtx, cancel := context.WithCancel(ctx)
			running[ep.URL] = cancel
			s.log.Info("subscribing to discovered endpoint", "endpoint", ep.URL)
			wg.Go(func() { s.runEndpoint(epCtx, ep) })
		}
		for url, cancel := range running {
			if !named[url] {
				s.log.Info("dropping endpoint no longer discovered", "endpoint", url)
				cancel()
				delete(running, url)
			}
		}
		s.setDialing(running)
		select {
		case <-time.After(s.opts.DiscoverEvery):
		case <-ctx.Done():
			return
		}
	}
}

// setDialing records the configured endpoints plus discovered ones.
func (s *Subscriber) setDialing(discovered map[string]context.CancelFunc) {
	urls := make([]string, 0, len(s.opts.Endpoints)+len(discovered))
	for _, ep := range s.opts.Endpoints {
		urls = append(urls, ep.URL)
	}
	for url := range discovered {
		urls = append(urls, url)
	}
	slices.Sort(urls)
	s.dialingMu.Lock()
	s.dialing = urls
	s.dialingMu.Unlock()
}

// Endpoints returns the URLs of the endpoints Run subscribes to now, the
// configured ones and those discovered, sorted.
func (s *Subscriber) Endpoints() []string {
	s.dialingMu.Lock()
	defer s.dialingMu.Unlock()
	return slices.Clone(s.dialing)
}

// runEndpoint keeps one SUB socket dialed to ep until ctx is done, dialing
// a new one when the watchdog finds the old one silent.
func (s *Subscriber) runEndpoint(ctx context.Context, ep Endpoint) {
	seq := &sequence{}
	zlog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	for ctx.Err() == nil {
		opts := []zmq4.Option{zmq4.WithLogger(zlog)}
		if !ep.Bind {
			// A bound socket must not reconnect: zmq4 would dial its own
			// listening address when an active publisher leaves.
			opts = append(opts,
				zmq4.WithAutomaticReconnect(true),
				zmq4.WithDialerMaxRetries(-1), // the default gives up after 2.5 s
				zmq4.WithDialerTimeout(dialTimeout))
		}
		sock := zmq4.NewSub(ctx, opts...)
		err := s.dial(sock, ep)
		if err == nil {
			s.receive(ctx, sock, ep, seq)
		}
		sock.Close()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("dial failed, retrying", "endpoint", ep.URL, "err", err)
		}
		s.stats.reconnects.Add(1)
		select {
		case <-time.After(redialDelay):
		case <-ctx.Done():
		}
	}
}

func (s *Subscriber) dial(sock zmq4.Socket, ep Endpoint) error {
	for _, topic := range s.opts.Topics {
		if err := sock.SetOption(zmq4.OptionSubscribe, topic); err != nil {
			return fmt.Errorf("subscribe to %q: %w", topic, err)
		}
	}
	if ep.Bind {
		if err := sock.Listen(s.guard.endpoint(ep.URL)); err != nil {
			return fmt.Errorf("bind %s: %w", ep.URL, err)
		}
		return nil
	}
	if err := sock.Dial(s.guard.endpoint(ep.URL)); err != nil {
		return fmt.Errorf("dial %s: %w", ep.URL, err)
	}
	return nil
}

// receive reads sock until ctx is done, the watchdog closes it after
// Silence without a message, or it keeps failing; the caller then dials
// anew.
func (s *Subscriber) receive(ctx context.Context, sock zmq4.Socket, ep Endpoint, seq *sequence) {
	var silent atomic.Bool
	if s.opts.Silence > 0 && !ep.Bind {
		watchdog := time.AfterFunc(s.opts.Silence, func() {
			silent.Store(true)
			sock.Close() // unblocks Recv
		})
		defer watchdog.Stop()
		defer func() {
			if silent.Load() {
				s.log.Warn("endpoint silent, dialing again", "endpoint", ep.URL, "silence", s.opts.Silence)
			}
		}()
		s.receiveLoop(ctx, sock, ep, seq, func() bool { return silent.Load() || !watchdog.Reset(s.opts.Silence) })
		return
	}
	s.receiveLoop(ctx, sock, ep, seq, silent.Load)
}

// receiveLoop is the per-message path of one endpoint. kick is called on
// every message and reports whether the watchdog already closed the socket.
func (s *Subscriber) receiveLoop(ctx context.Context, sock zmq4.Socket, ep Endpoint, seq *sequence, kick func() bool) {
	failures := 0
	for {
		msg, err := sock.Recv()
		if ctx.Err() != nil {
			return
		}
		var tooLarge *FrameTooLargeError
		if err != nil && ep.Bind && (errors.Is(err, io.EOF) || errors.As(err, &tooLarge)) {
			// An active publisher left, or the guard sent it away; the
			// bound socket serves others.
			s.log.Debug("active publisher disconnected", "endpoint", ep.URL, "err", err)
			continue
		}
		if err != nil {
			// zmq4 reports a lost connection once, after it has
			// reconnected; a second error in a row means the socket is
			// unusable and needs a new one.
			failures++
			if failures > 1 || kick() {
				return
			}
			s.stats.reconnects.Add(1)
			s.log.Info("publisher connection lost and re-established", "endpoint", ep.URL, "err", err)
			continue
		}
		failures = 0
		if kick() {
			return
		}
		s.accept(ctx, ep, seq, msg.Frames)
	}
}

// accept decodes, verifies and (after any replayed messages it reveals
// missing) queues one message from ep.
func (s *Subscriber) accept(ctx context.Context, ep Endpoint, seq *sequence, frames [][]byte) {
	env, err := DecodeFrames(frames)
	if err != nil {
		s.stats.invalid.Add(1)
		s.log.Warn("dropped malformed message", "endpoint", ep.URL, "err", err)
		return
	}
	s.stats.received.Add(1)
	if !s.verified(env, ep.URL) {
		return
	}
	if ep.Replay != "" {
		for _, missed := range s.replayGap(ctx, ep, seq, env) {
			if s.deliver(ctx, missed) {
				s.stats.replayed.Add(1)
			}
		}
	}
	s.deliver(ctx, env)
}

func (s *Subscriber) verified(env *Envelope, from string) bool {
	if s.opts.Verifier == nil {
		return true
	}
	if err := s.opts.Verifier.Verify(env); err != nil {
		s.stats.badSignature.Add(1)
		s.log.Warn("dropped message with bad signature", "endpoint", from, "msg_id", env.MsgID, "topic", env.Topic, "err", err)
		return false
	}
	return true
}

// subscribed reports whether topic matches a subscription, for replayed
// messages, which the REP socket returns whatever their topic.
func (s *Subscriber) subscribed(topic string) bool {
	for _, prefix := range s.opts.Topics {
		if strings.HasPrefix(topic, prefix) {
			return true
		}
	}
	return false
}

// deliver queues env unless it is a duplicate or the queue overflows
// under DropNewest, and reports whether it was queued.
func (s *Subscriber) deliver(ctx context.Context, env *Envelope) bool {
	if !s.seen.add(env.Key()) {
		s.stats.duplicates.Add(1)
		return false
	}
	select {
	case s.queue <- env:
		return true
	default:
	}
	s.stats.overflowed.Add(1)
	if s.opts.Overflow == DropNewest {
		s.log.Debug("queue full, dropped message", "msg_id", env.MsgID, "topic", env.Topic)
		return false
	}
	select {
	case s.queue <- env:
		return true
	case <-ctx.Done():
		return false
	}
}

// recentKeys remembers the last n message keys, oldest forgotten first.
type recentKeys struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentKeys(n int) *recentKeys {
	return &recentKeys{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add remembers key and reports whether it was new.
func (r *recentKeys) add(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.set[key]; dup {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = key
	r.next = (r.next + 1) % len(r.ring)
	r.set[key] = struct{}{}
	return true
}
