package ui

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// A loginBucket is one token bucket of the login limiter: Burst attempts
// at once, then one every Every. Each attempt costs a token before the
// password is checked, so guessing is slowed to Every per attempt, and
// nobody is ever locked out for longer than Every.
type loginBucket struct {
	Every time.Duration
	Burst int
}

// The login buckets. A client address guessing one account gets 5
// attempts, then one a minute; across accounts 20, then one every 15
// seconds. An account guessed from many addresses gets 50, then one
// every 10 seconds: its owner, from another address, waits at most that.
var (
	bucketAccountAddr = loginBucket{Every: time.Minute, Burst: 5}
	bucketAddr        = loginBucket{Every: 15 * time.Second, Burst: 20}
	bucketAccount     = loginBucket{Every: 10 * time.Second, Burst: 50}
)

// maxBuckets bounds the limiter's memory: past it, buckets that are full
// again (which behave as new ones) are dropped.
const maxBuckets = 100_000

// loginLimiter is the login rate limit. Taking a token from every bucket
// of an attempt is one step under one lock, so parallel attempts cannot
// all pass a check made before any of them is counted.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{buckets: make(map[string]*rate.Limiter)}
}

// take spends one token of each named bucket, or of none: it returns 0
// when the attempt may go ahead, else how long until it may.
func (l *loginLimiter) take(now time.Time, keys map[string]loginBucket) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	var wait time.Duration
	taken := make([]*rate.Reservation, 0, len(keys))
	for key, b := range keys {
		lim, ok := l.buckets[key]
		if !ok {
			lim = rate.NewLimiter(rate.Every(b.Every), b.Burst)
			l.buckets[key] = lim
		}
		r := lim.ReserveN(now, 1)
		taken = append(taken, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait > 0 {
		for _, r := range taken {
			r.CancelAt(now) // give back what this refused attempt took
		}
	}
	return wait
}

// sweep drops the buckets that are full again, once a minute or when
// there are too many.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute && len(l.buckets) < maxBuckets {
		return
	}
	l.swept = now
	for key, lim := range l.buckets {
		// A reservation of the whole burst succeeds now only if the bucket is full.
		r := lim.ReserveN(now, lim.Burst())
		if r.OK() && r.DelayFrom(now) == 0 {
			delete(l.buckets, key)
			continue
		}
		r.CancelAt(now)
	}
}

// loginAttempt takes a token for an attempt to log in as name from r's
// client address; it returns how long to wait when refused.
func (s *Server) loginAttempt(r *http.Request, name string) time.Duration {
	addr := s.clientAddr(r)
	return s.limiter.take(s.now(), map[string]loginBucket{
		"account\x00" + name:              bucketAccount,
		"addr\x00" + addr:                 bucketAddr,
		"pair\x00" + name + "\x00" + addr: bucketAccountAddr,
	})
}

// retryAfter is a wait as the Retry-After header says it: whole seconds,
// rounded up.
func retryAfter(wait time.Duration) int { return int(math.Ceil(wait.Seconds())) }

// clientAddr is the address a request comes from as the limiter counts
// it. Behind a trusted proxy (Options.TrustedProxies) it is the address
// the proxy names in Options.ProxyHeader, else the socket's. IPv6
// addresses count by their /64, the block one host is usually given.
func (s *Server) clientAddr(r *http.Request) string {
	ip := socketAddr(r)
	if ip.IsValid() && s.opts.ProxyHeader != "" && s.trustedProxy(ip) {
		if fwd, ok := s.forwardedAddr(r); ok {
			ip = fwd
		}
	}
	if !ip.IsValid() {
		return r.RemoteAddr
	}
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.Unmap().String()
}

// forwardedAddr is the client address in the proxy header. A list (as
// in X-Forwarded-For, each proxy appending the address it saw) is read
// from the right, skipping trusted proxies: what is left of them the
// client can write itself.
func (s *Server) forwardedAddr(r *http.Request) (netip.Addr, bool) {
	values := r.Header.Values(s.opts.ProxyHeader)
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		if !s.trustedProxy(ip) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func (s *Server) trustedProxy(ip netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// socketAddr is the IP of the connection's peer.
func socketAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip
}
