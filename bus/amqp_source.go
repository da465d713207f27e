package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQPOptions configure an AMQPSource. Zero values take the defaults
// documented on each field.
type AMQPOptions struct {
	// URL is the broker, amqp:// or amqps://.
	URL string
	// Exchange is the topic exchange to bind to (default amq.topic, where
	// fedora-messaging publishes). Exchanges outside amq.* are declared.
	Exchange string
	// Queue names a durable queue that outlives hark, so what is published
	// while hark is down waits for it; "" asks for a server-named
	// exclusive queue that lives as long as the connection.
	Queue string
	// Bindings are routing keys (topic patterns) bound to the queue
	// (default "#": everything).
	Bindings []string
	// Prefetch is how many unacknowledged messages the broker sends ahead
	// (default 1024). It must exceed the consumer's commit batch, or every
	// batch waits for its flush timer.
	Prefetch int
	// CertFile and KeyFile are a TLS client certificate; with them the
	// source logs in with SASL EXTERNAL, as Fedora's broker requires.
	// CAFile verifies the broker (default: the system's roots).
	CertFile, KeyFile, CAFile string
	// App, AppURL and Contact are sent as the connection's client
	// properties app, app_url and app_contacts_email, which Fedora's
	// broker administrators use to reach a consumer's owner.
	App, AppURL, Contact string
	// AutoAck has the broker forget a message once it is sent, for
	// readers such as hark tail that keep nothing; Envelope.Ack is then
	// nil.
	AutoAck bool
	// MaxMessageBytes bounds a message's body (default
	// DefaultMaxMessageBytes). A larger one is rejected without requeue,
	// counted in Stats.TooLarge and logged.
	MaxMessageBytes int
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (defaults 500ms and 15s).
	ReconnectMin, ReconnectMax time.Duration
	Logger                     *slog.Logger
}

// AMQPSource reads fedora-messaging messages from an AMQP 0-9-1 broker and
// hands them, as Envelopes, one at a time to a handler. It is a Source
// like Subscriber. Unless AutoAck is set, each Envelope's Ack must be
// called: nil acknowledges the message, an error has it requeued. A body
// that is not a JSON object is rejected without requeue, so it cannot
// block the queue. A lost connection is dialed again with backoff, and the
// queue and bindings declared again.
type AMQPSource struct {
	opts  AMQPOptions
	log   *slog.Logger
	dial  amqp.Config
	stats struct {
		received, invalid, reconnects, tooLarge atomic.Uint64
	}
	downSince atomic.Int64 // unix nanoseconds since no session consumes; 0 while one does
	lastErr   atomic.Pointer[string]
}

// NewAMQPSource checks opts, loads the TLS files and fills the defaults.
func NewAMQPSource(opts AMQPOptions) (*AMQPSource, error) {
	u, err := parseAMQPURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("new amqp source: %w", err)
	}
	if opts.Exchange == "" {
		opts.Exchange = "amq.topic"
	}
	if len(opts.Bindings) == 0 {
		opts.Bindings = []string{"#"}
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = 1024
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 500 * time.Millisecond
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = max(15*time.Second, opts.ReconnectMin)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	dial, err := amqpConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("new amqp source: %w", err)
	}
	return &AMQPSource{opts: opts, log: opts.Logger.With("broker", u.Redacted()), dial: dial}, nil
}

// parseAMQPURL checks that raw is a broker URL.
func parseAMQPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an amqp:// or amqps:// URL", raw)
	}
	return u, nil
}

// amqpConfig is the connection's TLS, SASL and client properties.
func amqpConfig(opts AMQPOptions) (amqp.Config, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("hark")
	for k, v := range map[string]string{"app": opts.App, "app_url": opts.AppURL, "app_contacts_email": opts.Contact} {
		if v != "" {
			props[k] = v
		}
	}
	cfg := amqp.Config{Properties: props, Heartbeat: 10 * time.Second, Locale: "en_US"}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return cfg, errors.New("load client certificate: a certificate file needs its key file and the other way round")
	}
	if opts.CertFile == "" && opts.CAFile == "" {
		return cfg, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return cfg, fmt.Errorf("load client certificate %s: %w", opts.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
		cfg.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return cfg, fmt.Errorf("load CA %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("load CA %s: no PEM certificate in it", opts.CAFile)
		}
	}
	cfg.TLSClientConfig = tc
	return cfg, nil
}

// Stats returns a snapshot of the counters. Only Received, Invalid,
// Reconnects and TooLarge apply to AMQP.
func (s *AMQPSource) Stats() Stats {
	return Stats{
		Received:   s.stats.received.Load(),
		Invalid:    s.stats.invalid.Load(),
		Reconnects: s.stats.reconnects.Load(),
		TooLarge:   s.stats.tooLarge.Load(),
	}
}

// Plus is the sum of two snapshots, for a service reading several
// sources.
func (s Stats) Plus(o Stats) Stats {
	return Stats{
		Received:       s.Received + o.Received,
		Invalid:        s.Invalid + o.Invalid,
		BadSignature:   s.BadSignature + o.BadSignature,
		Duplicates:     s.Duplicates + o.Duplicates,
		Overflowed:     s.Overflowed + o.Overflowed,
		Replayed:       s.Replayed + o.Replayed,
		ReplayFailures: s.ReplayFailures + o.ReplayFailures,
		Reconnects:     s.Reconnects + o.Reconnects,
		TooLarge:       s.TooLarge + o.TooLarge,
	}
}

// Run consumes until ctx is done. Whatever ends a session (the
// connection lost or closed by the broker, the channel closed alone, as
// RabbitMQ's consumer timeout does, the consumer cancelled because its
// queue was deleted, or the delivery channel closed) is logged with its
// cause, and a new session is opened with backoff, declaring the queue
// and bindings again. Messages handed over but not yet acknowledged when
// a session ends are requeued by the broker.
func (s *AMQPSource) Run(ctx context.Context, handle func(context.Context, *Envelope)) error {
	backoff := s.opts.ReconnectMin
	s.sessionDown(errors.New("not connected yet"))
	for {
		consumed, err := s.session(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		s.sessionDown(err)
		if consumed {
			backoff = s.opts.ReconnectMin
		}
		s.stats.reconnects.Add(1)
		s.log.Warn("amqp session ended, opening a new one", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.opts.ReconnectMax)
	}
}

// sessionDown records that no session consumes since now (unless that
// was already so) and why.
func (s *AMQPSource) sessionDown(cause error) {
	msg := cause.Error()
	s.lastErr.Store(&msg)
	s.downSince.CompareAndSwap(0, time.Now().UnixNano())
}

// Down reports since when the source has had no consuming session, and
// the last reason why; zero time while it consumes. A service's health
// check reads it to tell a broker it cannot reach from a quiet bus.
func (s *AMQPSource) Down() (since time.Time, cause string) {
	ns := s.downSince.Load()
	if ns == 0 {
		return time.Time{}, ""
	}
	if p := s.lastErr.Load(); p != nil {
		cause = *p
	}
	return time.Unix(0, ns), cause
}

// session is one connection: declare, bind, consume until the session
// ends or ctx is done. consumed reports whether it got as far as
// consuming, which resets the backoff; err is why the session ended.
func (s *AMQPSource) session(ctx context.Context, handle func(context.Context, *Envelope)) (consumed bool, err error) {
	// Every network wait of the session watches ctx: dialing and the
	// handshake through the dialer's context, and the declarations until
	// consuming starts because ctx's end closes the connection under them.
	cfg := s.dial
	unwatch := func() bool { return false }
	cfg.Dial = func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: amqpDialTimeout}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// The handshake must not stall forever on a silent broker; the
		// client clears the deadline once the connection is open.
		c.SetDeadline(time.Now().Add(amqpDialTimeout))
		unwatch = context.AfterFunc(ctx, func() { c.Close() })
		return c, nil
	}
	defer func() { unwatch() }()
	conn, err := amqp.DialConfig(s.opts.URL, cfg)
	if err != nil {
		return false, fmt.Errorf("dial amqp broker: %w", err)
	}
	// A broker that does not answer the close must not hold up the end.
	defer func() { conn.CloseDeadline(time.Now().Add(time.Second)) }()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open amqp channel: %w", err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := ch.NotifyCancel(make(chan string, 1))
	queue, err := s.declare(ch)
	if err != nil {
		return false, err
	}
	deliveries, err := ch.Consume(queue, "", s.opts.AutoAck, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume amqp queue %q: %w", queue, err)
	}
	// From here the loop below watches ctx itself, and the connection is
	// closed in order at the end, after the last settlements are sent.
	unwatch()
	s.downSince.Store(0)
	s.log.Info("amqp consuming", "queue", queue, "exchange", s.opts.Exchange, "bindings", s.opts.Bindings)
	st := newSettler(ch, s.opts.Prefetch, s.log)
	defer st.stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-connClosed:
			return true, connectionClosed(err)
		case err := <-chClosed:
			if err != nil {
				return true, channelClosed(err)
			}
			return true, sessionEnd(ctx, queue, connClosed, cancelled, errors.New("amqp channel closed"))
		case <-cancelled:
			return true, consumerCancelled(queue)
		case d, ok := <-deliveries:
			if !ok {
				return true, sessionEnd(ctx, queue, connClosed, cancelled, channelClosedOr(chClosed))
			}
			s.deliver(ctx, &d, st, handle)
		}
	}
}

// The causes of a session's end, as logged.
func connectionClosed(err *amqp.Error) error {
	if err != nil {
		return fmt.Errorf("amqp connection closed by the broker: %w", err)
	}
	return errors.New("amqp connection closed")
}

func channelClosed(err *amqp.Error) error {
	return fmt.Errorf("amqp channel closed by the broker: %w", err)
}

func consumerCancelled(queue string) error {
	return fmt.Errorf("amqp broker cancelled the consumer of queue %q (the queue was deleted?)", queue)
}

// channelClosedOr is the channel's error if it has sent one already.
func channelClosedOr(chClosed <-chan *amqp.Error) error {
	select {
	case err := <-chClosed:
		if err != nil {
			return channelClosed(err)
		}
		return errors.New("amqp channel closed")
	default:
		return errors.New("amqp delivery channel closed")
	}
}

// amqpDialTimeout bounds connecting to the broker and the AMQP handshake.
const amqpDialTimeout = 30 * time.Second

// sessionEnd names why a session ended once its channel closed without
// an error of its own or its deliveries stopped (cause so far). The
// client closes the deliveries and sends the notifications in an order of
// its own, so it waits a moment for a more telling cause: the broker's
// error on the connection, or the consumer's cancellation.
func sessionEnd(ctx context.Context, queue string, connClosed <-chan *amqp.Error, cancelled <-chan string, cause error) error {
	wait := time.NewTimer(time.Second)
	defer wait.Stop()
	select {
	case err := <-connClosed:
		return connectionClosed(err)
	case <-cancelled:
		return consumerCancelled(queue)
	case <-wait.C:
	case <-ctx.Done():
	}
	return cause
}

// declare sets the prefetch, declares the exchange (outside amq.*) and
// queue, binds the queue, and returns its name.
func (s *AMQPSource) declare(ch *amqp.Channel) (string, error) {
	if !s.opts.AutoAck {
		if err := ch.Qos(s.opts.Prefetch, 0, false); err != nil {
			return "", fmt.Errorf("set amqp prefetch %d: %w", s.opts.Prefetch, err)
		}
	}
	if !strings.HasPrefix(s.opts.Exchange, "amq.") {
		if err := ch.ExchangeDeclare(s.opts.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return "", fmt.Errorf("declare amqp exchange %q: %w", s.opts.Exchange, err)
		}
	}
	named := s.opts.Queue != ""
	q, err := ch.QueueDeclare(s.opts.Queue, named, false, !named, false, nil)
	if err != nil {
		return "", fmt.Errorf("declare amqp queue %q: %w", s.opts.Queue, err)
	}
	for _, key := range s.opts.Bindings {
		if err := ch.QueueBind(q.Name, key, s.opts.Exchange, false, nil); err != nil {
			return "", fmt.Errorf("bind amqp queue %q to %q with %q: %w", q.Name, s.opts.Exchange, key, err)
		}
	}
	return q.Name, nil
}

// deliver maps one delivery and hands it over with its acknowledgement,
// or rejects it for good when it cannot be read: requeued, it would come
// back forever.
func (s *AMQPSource) deliver(ctx context.Context, d *amqp.Delivery, st *settler, handle func(context.Context, *Envelope)) {
	if len(d.Body) > s.opts.MaxMessageBytes {
		// Rejected, not requeued: it would come back forever. A queue
		// with a dead-letter exchange keeps it there.
		s.stats.tooLarge.Add(1)
		s.log.Warn("amqp message rejected: too large", "msg_id", d.MessageId, "routing_key", d.RoutingKey,
			"bytes", len(d.Body), "limit", s.opts.MaxMessageBytes)
		if !s.opts.AutoAck {
			st.settle(d.DeliveryTag, settleReject)
		}
		return
	}
	env, err := FromAMQP(d)
	if err != nil {
		s.stats.invalid.Add(1)
		s.log.Warn("amqp message rejected", "msg_id", d.MessageId, "routing_key", d.RoutingKey, "err", err)
		if !s.opts.AutoAck {
			st.settle(d.DeliveryTag, settleReject)
		}
		return
	}
	s.stats.received.Add(1)
	if !s.opts.AutoAck {
		env.Ack = st.acker(d.DeliveryTag)
	}
	handle(ctx, env)
}

// How a delivery is settled.
const (
	settleAck     = iota // processed: forget it
	settleRequeue        // not processed: deliver it again
	settleReject         // unreadable: drop it
)

// A settler acknowledges one channel's deliveries with as few frames as
// it can, on a goroutine of its own so the caller (the router's committer)
// never waits on the network. Deliveries are settled in any order, but
// acknowledged with one "multiple" ack up to the highest tag below which
// everything is settled; requeues and rejections go out at once, alone.
type settler struct {
	ch     *amqp.Channel
	in     chan settlement
	done   chan struct{}
	exited chan struct{}
	log    *slog.Logger
}

type settlement struct {
	tag uint64
	how int
}

func newSettler(ch *amqp.Channel, prefetch int, log *slog.Logger) *settler {
	st := &settler{ch: ch, in: make(chan settlement, prefetch), done: make(chan struct{}), exited: make(chan struct{}), log: log}
	go st.run()
	return st
}

// stop sends what is already settled and ends the goroutine, waiting for
// it a moment at most (a wedged connection may block the sending); later
// settlements are dropped, and the broker requeues what they were about
// when the channel closes.
func (st *settler) stop() {
	close(st.done)
	wait := time.NewTimer(time.Second)
	defer wait.Stop()
	select {
	case <-st.exited:
	case <-wait.C:
	}
}

// settle queues one settlement; it never blocks once the session is over.
func (st *settler) settle(tag uint64, how int) {
	select {
	case st.in <- settlement{tag, how}:
	case <-st.done:
	}
}

// acker is the Ack of one delivery. A second call is ignored: settling a
// delivery tag twice is a protocol error that closes the channel.
func (st *settler) acker(tag uint64) func(error) {
	var called atomic.Bool
	return func(cause error) {
		if called.Swap(true) {
			return
		}
		how := settleAck
		if cause != nil {
			how = settleRequeue
		}
		st.settle(tag, how)
	}
}

func (st *settler) run() {
	next := uint64(1) // delivery tags count from 1 on each channel
	settled := map[uint64]int{}
	defer close(st.exited)
	for stopping := false; !stopping; {
		select {
		case x := <-st.in:
			settled[x.tag] = x.how
		case <-st.done:
			stopping = true // send what is settled, then end
		}
		for drained := false; !drained; { // take what else is ready: one frame for all
			select {
			case x := <-st.in:
				settled[x.tag] = x.how
			default:
				drained = true
			}
		}
		var ackUpTo uint64
		for how, ok := settled[next]; ok; how, ok = settled[next] {
			delete(settled, next)
			if err := st.send(next, how); err != nil {
				// The channel is gone; the broker requeues the message,
				// and the store's de-duplication absorbs the redelivery.
				st.log.Debug("settle amqp delivery failed", "tag", next, "err", err)
			}
			if how == settleAck {
				ackUpTo = next
			}
			next++
		}
		if ackUpTo > 0 {
			if err := st.ch.Ack(ackUpTo, true); err != nil {
				st.log.Debug("acknowledge amqp deliveries failed", "up_to", ackUpTo, "err", err)
			}
		}
	}
}

// send settles a requeue or a rejection at once; acknowledgements wait
// for the one multiple ack that covers them.
func (st *settler) send(tag uint64, how int) error {
	switch how {
	case settleRequeue:
		return st.ch.Nack(tag, false, true)
	case settleReject:
		return st.ch.Reject(tag, false)
	}
	return nil
}
