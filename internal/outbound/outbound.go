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
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"sync"
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
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
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
// as soon as the whole request is written and before the response is
// read: the moment the receiver has it, which delivery's sent journal
// records (see delivery.Batch.Handed) so that a crash while the receiver
// answers does not send it again. handed is not called when the response
// (or an error) comes first; nil skips it.
func Do(client *http.Client, req *http.Request, handed func()) (*http.Response, error) {
	if handed == nil {
		return client.Do(req)
	}
	wrote := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			once.Do(func() { close(wrote) })
		}
	}}
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
		r = <-done
	case r = <-done:
	}
	return r.resp, r.err
}
