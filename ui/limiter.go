package ui

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// A loginBucket is one token bucket of the login limiter: Burst attempts
// at once, then one every Every. Each attempt costs a token before the
// password is checked, so guessing is slowed to Every per attempt, and
// nobody is ever locked out for longer than Every. A login that succeeds
// gives its tokens back: only failures add up.
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
// all pass a check made before any of them is counted. (x/time/rate's
// limiter cannot give a token back once taken, which a successful login
// must: an office behind one address would otherwise slow itself down.)
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*tokens
	swept   time.Time
}

// tokens is one bucket's level: n tokens at time at.
type tokens struct {
	n    float64
	at   time.Time
	spec loginBucket
}

// level is the bucket's tokens at now: what it had, refilled since.
func (t *tokens) level(now time.Time) float64 {
	refill := float64(now.Sub(t.at)) / float64(t.spec.Every)
	return min(float64(t.spec.Burst), t.n+max(refill, 0))
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{buckets: make(map[string]*tokens)}
}

// take spends one token of each named bucket, or of none: it returns 0
// when the attempt may go ahead, else how long until it may.
func (l *loginLimiter) take(now time.Time, keys map[string]loginBucket) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	var wait time.Duration
	for key, spec := range keys {
		b, ok := l.buckets[key]
		if !ok {
			b = &tokens{n: float64(spec.Burst), at: now, spec: spec}
			l.buckets[key] = b
		}
		if n := b.level(now); n < 1 {
			wait = max(wait, time.Duration((1-n)*float64(spec.Every)))
		}
	}
	if wait > 0 {
		return wait
	}
	for key := range keys {
		b := l.buckets[key]
		b.n, b.at = b.level(now)-1, now
	}
	return 0
}

// giveBack returns the tokens an attempt took: it succeeded.
func (l *loginLimiter) giveBack(now time.Time, keys map[string]loginBucket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range keys {
		if b, ok := l.buckets[key]; ok {
			b.n, b.at = min(float64(b.spec.Burst), b.level(now)+1), now
		}
	}
}

// sweep drops the buckets that are full again, once a minute or when
// there are too many.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute && len(l.buckets) < maxBuckets {
		return
	}
	l.swept = now
	for key, b := range l.buckets {
		if b.level(now) >= float64(b.spec.Burst) {
			delete(l.buckets, key)
		}
	}
}

// loginKeys are the buckets an attempt to log in as name from r's client
// address takes from.
func (s *Server) loginKeys(r *http.Request, name string) map[string]loginBucket {
	addr := s.clientAddr(r)
	return map[string]loginBucket{
		"account\x00" + name:              bucketAccount,
		"addr\x00" + addr:                 bucketAddr,
		"pair\x00" + name + "\x00" + addr: bucketAccountAddr,
	}
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
