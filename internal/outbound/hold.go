package outbound

import (
	"bytes"
	"net"
	"net/textproto"
	"strconv"
	"sync"

	"hark/internal/tcpcork"
)

// holdConn is a client connection that, armed for one request, keeps
// back the request's last byte: the receiver has all of it but that
// byte, so it cannot finish reading it (a body one byte short of its
// Content-Length, or a TLS record short of its end) until release
// writes it. It sits above TLS, where the request is plain HTTP. Do arms it when the transport picks it for a request and
// releases it once the caller's handed (delivery's sent journal) has
// run. It finds the request's end itself, from the header block's
// Content-Length, since the transport's buffered writer flushes the
// request's tail after every hook it offers has run. The socket is
// corked from the held byte to its release, as the email sender corks
// its end of data.
type holdConn struct {
	net.Conn
	tcp *net.TCPConn // nil when not TCP: no cork

	mu    sync.Mutex
	armed bool
	end   func() // called once the request's last byte is held
	head  []byte // the header block so far, until its blank line
	left  int64  // body bytes still to come; -1 before the blank line
	held  []byte // the request's last byte, once written
}

// newHoldConn wraps c, the connection requests are written to (TLS's
// when https), over raw, the socket it uses.
func newHoldConn(c, raw net.Conn) *holdConn {
	tcp, _ := raw.(*net.TCPConn)
	return &holdConn{Conn: c, tcp: tcp, held: make([]byte, 0, 1)}
}

// arm makes the next request written hold its last byte and call end
// (on the transport's writing goroutine) once it does.
func (c *holdConn) arm(end func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.end, c.head, c.left = true, end, c.head[:0], -1
}

// Write writes p, keeping its last byte back when it ends the armed
// request.
func (c *holdConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed || len(p) == 0 || !c.ends(p) {
		return c.Conn.Write(p)
	}
	last := len(p) - 1
	tcpcork.Set(c.tcp, true)
	if _, err := c.Conn.Write(p[:last]); err != nil {
		tcpcork.Set(c.tcp, false)
		return 0, err
	}
	c.held = append(c.held[:0], p[last])
	c.armed = false
	c.end()
	return len(p), nil
}

// ends follows the request through p and reports whether p ends it. It
// reads the end from the header block's Content-Length (none: no body);
// Do sends no chunked bodies.
func (c *holdConn) ends(p []byte) bool {
	if c.left < 0 {
		c.head = append(c.head, p...)
		i := bytes.Index(c.head, []byte("\r\n\r\n"))
		if i < 0 {
			return false
		}
		c.left = contentLength(c.head[:i+2]) - int64(len(c.head)-(i+4))
		c.head = c.head[:0]
		return c.left <= 0
	}
	c.left -= int64(len(p))
	return c.left <= 0
}

// contentLength is the Content-Length of a request's header block (the
// request line and the header lines), 0 when it has none.
func contentLength(head []byte) int64 {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && textproto.CanonicalMIMEHeaderKey(string(name)) == "Content-Length" {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// release writes the byte held back and uncorks: the receiver now has
// the whole request.
func (c *holdConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if len(c.held) > 0 {
		_, err = c.Conn.Write(c.held)
		c.held = c.held[:0]
	}
	tcpcork.Set(c.tcp, false)
	return err
}

// abandon drops the byte held back and closes the connection: the
// request it carried stays cut, and the transport cannot reuse a
// connection with part of a request on it.
func (c *holdConn) abandon() {
	c.mu.Lock()
	c.armed = false
	c.held = c.held[:0]
	c.mu.Unlock()
	c.Conn.Close()
}
