// Package outbound is the HTTP client hark uses to call addresses its
// users typed (webhooks, ntfy servers): a user must not be able to make
// hark reach what only hark's host can reach (its loopback, the cloud
// metadata service on a link-local address, the private network behind
// it). The guard checks the address each connection actually dials,
// after DNS resolution, so a name that resolves to 127.0.0.1 is refused
// as the literal is, and redirects are never followed, so a public
// server cannot bounce a request inward.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrPrivate is a request refused because the address it would reach is
// loopback, link-local, private or otherwise not on the public internet.
var ErrPrivate = errors.New("address is not public (set webhook.allow_private to allow it)")

// Options configure a Client.
type Options struct {
	// Timeout bounds one request, from dialing to the end of the
	// response's headers and body (default 10s).
	Timeout time.Duration
	// AllowPrivate lets requests reach loopback, link-local and private
	// addresses: for a hark whose admin runs the receivers on the same
	// host or network.
	AllowPrivate bool
}

// NewClient is an http.Client that refuses non-public addresses unless
// o.AllowPrivate, never follows a redirect (the 3xx response is returned
// as is), ignores proxy environment variables (a proxy would dial in the
// guard's stead) and gives up after o.Timeout.
func NewClient(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: o.Timeout}
	if !o.AllowPrivate {
		dialer.Control = refusePrivate
	}
	// HTTP/1.1 only: Do holds back a request's last byte on its
	// connection, which HTTP/2 shares between requests; one small POST
	// at a time gains nothing from HTTP/2 anyway.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, address)
			if err != nil {
				return nil, err
			}
			return newHoldConn(c, c), nil
		},
		Protocols:             &protocols,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
	}
	// TLS is dialed here rather than by the transport so that the
	// holdConn sits above it, where the request is plain HTTP.
	transport.DialTLSContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{}
		if transport.TLSClientConfig != nil {
			cfg = transport.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(address)
		}
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		t := tls.Client(c, cfg)
		if err := t.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", address, err)
		}
		return newHoldConn(t, c), nil
	}
	return &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// refusePrivate is the dialer's Control: it runs with the resolved
// address of every connection, just before connect(2).
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrPrivate)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", address, ErrPrivate)
	}
	return nil
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range, private in
// practice though netip does not call it so.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Public reports whether a is a unicast address on the public internet:
// not loopback, link-local, private (RFC 1918, RFC 4193), carrier-grade
// NAT, unspecified nor multicast. An IPv4-mapped IPv6 address is judged
// as the IPv4 address it maps.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case !a.IsValid(), a.IsLoopback(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), a.IsMulticast(), a.IsPrivate(), a.IsUnspecified(),
		sharedAddressSpace.Contains(a):
		return false
	}
	return true
}

// Retryable reports whether a request answered status may succeed if
// tried again later: a timeout (408), rate limiting (429) or a server
// error (5xx). Other failures (a 4xx, a redirect, which is not followed)
// will not change by themselves.
func Retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// Do sends req with client and calls handed, on the caller's goroutine,
// once the whole request but its last byte is written and before the
// response is read; only when handed returned is that byte written (see
// holdConn). handed is where delivery writes its sent journal record
// (delivery.Batch.Handed): the receiver cannot finish reading a request
// the journal does not know, so a kill -9 before the record leaves it a
// cut request (sent again after the restart, once) and a kill after it
// a journaled one (not sent again): exactly once without the receiver
// de-duplicating. Only the instant between the record and the write of
// the last byte, two system calls on this goroutine, loses a request
// instead. handed is not called when the response (or an error) comes
// first, and the request then stays cut; nil skips it all.
func Do(client *http.Client, req *http.Request, handed func()) (*http.Response, error) {
	if handed == nil {
		return client.Do(req)
	}
	if req.ContentLength < 0 {
		return nil, fmt.Errorf("send %s: a body of unknown length, whose end cannot be held back", req.URL.Redacted())
	}
	var conn atomic.Pointer[holdConn]
	wrote := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if h, ok := info.Conn.(*holdConn); ok {
				h.arm(func() { once.Do(func() { close(wrote) }) })
				conn.Store(h)
			}
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		done <- result{resp, err}
	}()
	var r result
	select {
	case <-wrote:
		handed()
		if h := conn.Load(); h != nil {
			h.release() // a failed write shows as the response's error
		}
		r = <-done
	case r = <-done:
		if h := conn.Load(); h != nil {
			h.abandon()
		}
	}
	return r.resp, r.err
}
