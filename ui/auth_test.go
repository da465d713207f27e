package ui

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWithoutSessionPagesRedirectToLogin(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/", "/filters", "/destinations", "/account", "/no/such/page"} {
		t.Run(path, func(t *testing.T) {
			resp := ts.client(t).get(path)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Fatalf("status %d, Location %q; want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestWithoutSessionAPIIsUnauthorized(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.client(t).get("/api/v1/filters")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, `"error"`) {
		t.Fatalf("status %d body %s; want 401 JSON", resp.StatusCode, resp.Body)
	}
}

func TestLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		name, user, password string
		status               int
		want                 string
	}{
		{"wrong password", "alice", "nope", http.StatusUnauthorized, "wrong user name or password"},
		{"unknown user", "mallory", "password1", http.StatusUnauthorized, "wrong user name or password"},
		{"empty name", "", "password1", http.StatusBadRequest, "is required"},
		{"name with space", "a b", "password1", http.StatusBadRequest, "must not contain spaces"},
		{"huge password", "alice", strings.Repeat("x", 300), http.StatusBadRequest, "longer than 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.addUser(t, "alice", false)
			resp := ts.client(t).post("/login", url.Values{"username": {tc.user}, "password": {tc.password}})
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.want) {
				t.Fatalf("status %d, want %d with %q in:\n%s", resp.StatusCode, tc.status, tc.want, resp.Body)
			}
		})
	}
}

// behindProxy is a test server whose clients are all 127.0.0.1, a
// trusted proxy naming the client in X-Forwarded-For, on a clock the
// test moves.
func behindProxy(t *testing.T) (*testServer, *time.Time) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := newTestServer(t, func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		o.ProxyHeader = "X-Forwarded-For"
		o.Now = func() time.Time { return now }
	})
	ts.addUser(t, "alice", false)
	return ts, &now
}

// loginFrom posts a login of user with password as the client at addr.
func (c *client) loginFrom(addr, user, password string) response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+"/login", strings.NewReader(url.Values{"username": {user}, "password": {password}}.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	return c.do(req)
}

func TestLoginRaceChecksAtMostTheLimit(t *testing.T) {
	ts, _ := behindProxy(t)
	var wg sync.WaitGroup
	statuses := make(chan response, 100)
	for range 100 {
		wg.Go(func() { statuses <- ts.client(t).loginFrom("203.0.113.9", "alice", "wrong") })
	}
	wg.Wait()
	close(statuses)
	checked := 0
	for resp := range statuses {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("429 with Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
			}
		default:
			t.Errorf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	t.Logf("%d of 100 parallel wrong logins had their password checked", checked)
	if checked > bucketAccountAddr.Burst {
		t.Fatalf("%d passwords checked by 100 parallel logins, want at most %d", checked, bucketAccountAddr.Burst)
	}
	// The owner, elsewhere, is not locked out.
	if resp := ts.client(t).loginFrom("198.51.100.7", "alice", "password1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice from her own address: status %d after the attack; want 303", resp.StatusCode)
	}
}

func TestLoginIsSlowedNotLocked(t *testing.T) {
	ts, now := behindProxy(t)
	c := ts.client(t)
	for range bucketAccountAddr.Burst {
		c.loginFrom("203.0.113.9", "alice", "wrong")
	}
	resp := c.loginFrom("203.0.113.9", "alice", "password1")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d after %d failures; want 429", resp.StatusCode, bucketAccountAddr.Burst)
	}
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	*now = now.Add(time.Duration(wait) * time.Second)
	if resp := c.loginFrom("203.0.113.9", "alice", "password1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d after waiting Retry-After %ds; want 303", resp.StatusCode, wait)
	}
}

func TestLoginLimitPerAddressSparesOtherClientsOfTheProxy(t *testing.T) {
	ts, _ := behindProxy(t)
	c := ts.client(t)
	for i := range bucketAddr.Burst {
		c.loginFrom("203.0.113.9", fmt.Sprintf("user%d", i), "wrong")
	}
	if resp := c.loginFrom("203.0.113.9", "alice", "password1"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d after %d failures from one address; want 429", resp.StatusCode, bucketAddr.Burst)
	}
	if resp := c.loginFrom("198.51.100.7", "alice", "password1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d for another client of the same proxy; want 303", resp.StatusCode)
	}
}

func TestLoginLimitIgnoresForwardedForFromUntrustedPeers(t *testing.T) {
	ts := newTestServer(t) // no trusted proxies: 127.0.0.1 is the client
	ts.addUser(t, "alice", false)
	c := ts.client(t)
	for i := range bucketAccountAddr.Burst {
		c.loginFrom(fmt.Sprintf("203.0.113.%d", i), "alice", "wrong")
	}
	if resp := c.loginFrom("198.51.100.7", "alice", "password1"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d: a forged X-Forwarded-For got a fresh limit; want 429", resp.StatusCode)
	}
}

func TestClientAddr(t *testing.T) {
	s := &Server{opts: Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		ProxyHeader:    "X-Forwarded-For",
	}}
	for _, tc := range []struct{ remote, header, want string }{
		{"192.0.2.1:5000", "", "192.0.2.1"},
		{"192.0.2.1:5000", "198.51.100.7", "192.0.2.1"}, // not a trusted proxy
		{"10.1.2.3:5000", "198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.7, 10.9.9.9", "198.51.100.7"}, // the client wrote 6.6.6.6
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"10.1.2.3:5000", "", "10.1.2.3"},
		{"[::1]:5000", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:5000", "", "192.0.2.1"},
	} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set("X-Forwarded-For", tc.header)
		}
		if got := s.clientAddr(r); got != tc.want {
			t.Errorf("clientAddr(%s, %q) = %q, want %q", tc.remote, tc.header, got, tc.want)
		}
	}
}

func TestLoginSetsHardenedCookie(t *testing.T) {
	for _, tc := range []struct {
		name, base, cookie string
		secure             bool
	}{
		{"http base url", "", "hark_session", false},
		{"https base url", "https://hark.example.org/", "__Host-hark_session", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(o *Options) {
				if tc.base != "" {
					o.BaseURL = tc.base
				}
			})
			ts.addUser(t, "alice", false)
			resp := ts.client(t).post("/login", url.Values{"username": {"alice"}, "password": {"password1"}})
			set := resp.Header.Get("Set-Cookie")
			for _, want := range []string{tc.cookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
				if !strings.Contains(set, want) {
					t.Errorf("Set-Cookie %q lacks %q", set, want)
				}
			}
			if strings.Contains(set, "Secure") != tc.secure {
				t.Errorf("Set-Cookie %q: Secure should be %v", set, tc.secure)
			}
		})
	}
}

func TestLoginRedirectsOnlyWithinSite(t *testing.T) {
	for i, tc := range []struct{ next, want string }{
		{"/filters", "/filters"},
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/x\\..\\\\evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/filters?tab=1#top", "/filters?tab=1#top"},
	} {
		// Named by position: "?" and "%" in a test name would reach the
		// store's file name through t.TempDir.
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			ts := newTestServer(t)
			ts.addUser(t, "alice", false)
			resp := ts.client(t).post("/login", url.Values{"username": {"alice"}, "password": {"password1"}, "next": {tc.next}})
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Fatalf("next %q: Location %q, want %q", tc.next, got, tc.want)
			}
		})
	}
}

func TestLogoutEndsSession(t *testing.T) {
	ts := newTestServer(t)
	c := ts.login(t, "alice", false)
	if resp := c.get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("logged in: status %d", resp.StatusCode)
	}
	c.post("/logout", nil)
	if resp := c.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: status %d, want 303 to login", resp.StatusCode)
	}
}

func TestSetupLinkCreatesFirstAdminOnce(t *testing.T) {
	ts := newTestServer(t)
	link := ts.SetupURL()
	if link == "" {
		t.Fatal("no setup link without an admin")
	}
	path := strings.TrimPrefix(link, ts.URL)
	c := ts.client(t)
	if resp := c.post(path, url.Values{"username": {"root"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(resp.Body, "at least 8") {
		t.Fatalf("short password: status %d", resp.StatusCode)
	}
	if resp := c.post(path, url.Values{"username": {"root"}, "password": {"long enough"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: status %d: %s", resp.StatusCode, resp.Body)
	}
	if resp := c.get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin not logged in after setup: status %d", resp.StatusCode)
	}
	if resp := ts.client(t).post(path, url.Values{"username": {"root2"}, "password": {"long enough"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second use of the setup link: status %d, want 404", resp.StatusCode)
	}
	if ts.SetupURL() != "" {
		t.Fatal("setup link still offered after an admin exists")
	}
}

func TestCrossOriginPostIsRejected(t *testing.T) {
	ts := newTestServer(t)
	c := ts.login(t, "alice", false)
	req, _ := http.NewRequest("POST", ts.URL+"/filters", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: status %d, want 403", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.client(t).get("/login")
	for header, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(header); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", header, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline script: %s", csp)
	}
}

// TestLoginLimiterForgetsRefilledBuckets: a bucket full again behaves as
// a new one, so the limiter drops it and its memory stays bounded by the
// clients of the last minutes.
func TestLoginLimiterForgetsRefilledBuckets(t *testing.T) {
	l := newLoginLimiter()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		l.take(t0, map[string]loginBucket{fmt.Sprint("addr", i): bucketAddr})
	}
	for range bucketAccountAddr.Burst {
		l.take(t0, map[string]loginBucket{"pair": bucketAccountAddr})
	}
	// After 2 minutes the addresses (one token short) are full, the pair
	// (5 short, one a minute) is not.
	l.take(t0.Add(2*time.Minute), nil)
	if _, ok := l.buckets["pair"]; !ok || len(l.buckets) != 1 {
		t.Errorf("buckets after the sweep: %v; want only the pair's", slices.Collect(maps.Keys(l.buckets)))
	}
}

// TestSuccessfulLoginsDoNotCount: many people logging in from one
// address (an office without a proxy) are not slowed.
func TestSuccessfulLoginsDoNotCount(t *testing.T) {
	ts, _ := behindProxy(t)
	for i := range 2 * bucketAddr.Burst {
		ts.addUser(t, fmt.Sprintf("user%d", i), false)
		if resp := ts.client(t).loginFrom("198.51.100.7", fmt.Sprintf("user%d", i), "password1"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d from one address: status %d, want 303", i+1, resp.StatusCode)
		}
	}
}
