package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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

func TestLoginIsRateLimitedPerUser(t *testing.T) {
	ts := newTestServer(t)
	ts.addUser(t, "alice", false)
	c := ts.client(t)
	for range maxFailsPerUser {
		c.post("/login", url.Values{"username": {"alice"}, "password": {"wrong"}})
	}
	resp := c.post("/login", url.Values{"username": {"alice"}, "password": {"password1"}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d after %d failures; want 429", resp.StatusCode, maxFailsPerUser)
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
	for _, tc := range []struct{ next, want string }{
		{"/filters", "/filters"},
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
	} {
		t.Run(tc.next, func(t *testing.T) {
			ts := newTestServer(t)
			ts.addUser(t, "alice", false)
			resp := ts.client(t).post("/login", url.Values{"username": {"alice"}, "password": {"password1"}, "next": {tc.next}})
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Fatalf("Location %q, want %q", got, tc.want)
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
