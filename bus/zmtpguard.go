package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// zmq4 allocates the body of every ZMTP frame at the size its header
// claims, before reading a byte of it: a peer that claims 2^62 bytes
// panics the process, one that claims 2^40 exhausts its memory. The
// guard below reads the ZMTP framing of every connection as it passes
// through net.Conn.Read, before zmq4 sees a header, and closes the
// connection whose message would exceed its limit. zmq4 takes the
// connection through a transport registered under a scheme of hark's
// own, so nothing of zmq4 is patched.

// DefaultMaxMessageBytes bounds one bus message when no limit is
// configured.
const DefaultMaxMessageBytes = 1 << 20

const (
	// zmtpGreetingLen is ZMTP 3's fixed greeting: signature, version,
	// mechanism, as-server and filler.
	zmtpGreetingLen = 64
	// topicAllowance is what a ZeroMQ message may carry beyond its JSON
	// envelope: the topic frame, which repeats the envelope's topic.
	topicAllowance = 4 << 10
	// DefaultHandshakeTimeout bounds how long a peer may take to send its
	// greeting and READY command. zmq4 accepts connections one at a time
	// and handshakes each before accepting the next, so a peer that
	// connects and stays silent would otherwise shut every other
	// publisher out of the inbound socket.
	DefaultHandshakeTimeout = 10 * time.Second
	// frameOverhead is what zmq4 keeps per frame besides its body (a slice
	// header and more), counted so that a flood of empty frames in one
	// message is bounded too.
	frameOverhead = 32
)

// FrameTooLargeError is why the guard closed a ZeroMQ connection: its peer
// announced a message larger than the limit.
type FrameTooLargeError struct {
	Peer  string
	Size  uint64 // bytes of the message so far with the announced frame, at least
	Limit uint64
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("read zmtp frame from %s: message of %d bytes exceeds the limit of %d bytes", e.Peer, e.Size, e.Limit)
}

// Timeout and Temporary make the error a net.Error that is neither, which
// is what makes zmq4 drop the connection rather than read it again.
func (e *FrameTooLargeError) Timeout() bool   { return false }
func (e *FrameTooLargeError) Temporary() bool { return false }

// zmtpGuard is one limit with its report, registered with zmq4 as one
// transport per network ("tcp", "ipc") under a scheme unique to it.
type zmtpGuard struct {
	limit     uint64
	handshake time.Duration
	reject    func(*FrameTooLargeError)
	scheme    string // prefix of the registered schemes, e.g. "hark3+"
}

var guardSeq atomic.Uint64

// newZMTPGuard registers transports that close any connection whose
// message (all its frames together) exceeds limit bytes, calling reject
// (which may be nil) for each, and any whose peer has not completed its
// handshake within handshake.
func newZMTPGuard(limit uint64, handshake time.Duration, reject func(*FrameTooLargeError)) (*zmtpGuard, error) {
	g := &zmtpGuard{limit: limit, handshake: handshake, reject: reject, scheme: fmt.Sprintf("hark%d+", guardSeq.Add(1))}
	for scheme, network := range map[string]string{"tcp": "tcp", "ipc": "unix"} {
		t := guardTransport{Transport: transport.New(network), guard: g}
		if err := zmq4.RegisterTransport(g.scheme+scheme, t); err != nil {
			return nil, fmt.Errorf("register guarded %s transport: %w", scheme, err)
		}
	}
	return g, nil
}

// endpoint rewrites a tcp:// or ipc:// endpoint to go through the guard.
func (g *zmtpGuard) endpoint(ep string) string {
	if strings.HasPrefix(ep, "tcp://") || strings.HasPrefix(ep, "ipc://") {
		return g.scheme + ep
	}
	return ep
}

// wrap guards one connection from its first byte.
func (g *zmtpGuard) wrap(c net.Conn) net.Conn {
	_ = c.SetReadDeadline(time.Now().Add(g.handshake))
	return &guardedConn{Conn: c, guard: g, greeting: zmtpGreetingLen, handshaking: true}
}

type guardTransport struct {
	transport.Transport
	guard *zmtpGuard
}

func (t guardTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	return t.guard.wrap(c), nil
}

func (t guardTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return guardedListener{Listener: l, guard: t.guard}, nil
}

type guardedListener struct {
	net.Listener
	guard *zmtpGuard
}

func (l guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.guard.wrap(c), nil
}

// guardedConn follows the ZMTP stream a peer sends: the greeting, then
// frames of a flags byte, a 1- or 8-byte big-endian size and the body.
type guardedConn struct {
	net.Conn
	guard       *zmtpGuard
	greeting    int     // greeting bytes still to come
	header      [9]byte // the frame header being read
	headerLen   int     // bytes of header read so far
	body        uint64  // bytes of the current frame's body still to come
	message     uint64  // bytes of the current message, all frames so far
	more        bool    // the current frame has a successor in its message
	handshaking bool    // the handshake deadline is still set
	failed      error
}

const (
	zmtpMore    = 1 << 0
	zmtpLong    = 1 << 1
	zmtpCommand = 1 << 2
)

// Read passes on what the peer sent, unless it completes the header of a
// frame that would take its message past the limit: then no byte of that
// read reaches zmq4 and the connection is closed.
func (c *guardedConn) Read(p []byte) (int, error) {
	if c.failed != nil {
		return 0, c.failed
	}
	n, err := c.Conn.Read(p)
	if gerr := c.badGreeting(p[:n]); gerr != nil {
		c.failed = gerr
		c.Conn.Close()
		return 0, gerr
	}
	if ferr := c.scan(p[:n]); ferr != nil {
		c.failed = ferr
		if c.guard.reject != nil {
			c.guard.reject(ferr) // counted before the peer sees the close
		}
		c.Conn.Close()
		return 0, ferr
	}
	var nerr net.Error
	if err != nil && c.handshaking && errors.As(err, &nerr) && nerr.Timeout() {
		// zmq4 gives up on the handshake but leaves the connection open;
		// closing it here frees the descriptor and tells the peer.
		c.Conn.Close()
	}
	return n, err
}

// badGreeting checks the parts of the greeting within b that zmq4 checks
// too: zmq4 refuses a bad one but leaves the connection open, so a peer
// could hold any number of descriptors; the guard closes it.
func (c *guardedConn) badGreeting(b []byte) error {
	for i := 0; i < len(b) && c.greeting-i > 0; i++ {
		pos := zmtpGreetingLen - (c.greeting - i)
		switch {
		case pos == 0 && b[i] != 0xff, pos == 9 && b[i] != 0x7f, pos == 10 && b[i] < 3:
			return fmt.Errorf("read zmtp greeting from %s: not a ZMTP 3 greeting (byte %d is %#x)", c.RemoteAddr(), pos, b[i])
		}
	}
	return nil
}

// scan advances the framing state over b.
func (c *guardedConn) scan(b []byte) *FrameTooLargeError {
	for len(b) > 0 {
		switch {
		case c.greeting > 0:
			k := min(c.greeting, len(b))
			c.greeting -= k
			b = b[k:]
		case c.body > 0:
			k := uint64(len(b))
			if k > c.body {
				k = c.body
			}
			c.body -= k
			b = b[k:]
			if c.body == 0 {
				c.frameDone()
			}
		default:
			c.header[c.headerLen] = b[0]
			c.headerLen++
			b = b[1:]
			want := 2
			if c.header[0]&zmtpLong != 0 {
				want = 9
			}
			if c.headerLen < want {
				continue
			}
			var size uint64
			for _, x := range c.header[1:want] {
				size = size<<8 | uint64(x)
			}
			c.headerLen = 0
			c.more = c.header[0]&zmtpMore != 0 && c.header[0]&zmtpCommand == 0
			total := satAdd(c.message, satAdd(size, frameOverhead))
			if total > c.guard.limit {
				return &FrameTooLargeError{Peer: c.RemoteAddr().String(), Size: total, Limit: c.guard.limit}
			}
			c.message = total
			c.body = size
			if size == 0 {
				c.frameDone()
			}
		}
	}
	return nil
}

// frameDone ends a frame: the message ends with it unless more follow,
// and the handshake ends with the first frame (NULL security's READY).
func (c *guardedConn) frameDone() {
	if !c.more {
		c.message = 0
	}
	if c.handshaking {
		c.handshaking = false
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
