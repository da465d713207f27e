package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"hark/store"
	"hark/store/sqlite"
)

// testServer is a UI on a fresh SQLite store behind a real HTTP server.
type testServer struct {
	*Server
	URL   string
	store *sqlite.SQLite
}

// newTestServer starts a UI; adjust changes its options before New.
func newTestServer(t *testing.T, adjust ...func(*Options)) *testServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var h http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	opts := Options{Store: st, BaseURL: hs.URL}
	for _, f := range adjust {
		f(&opts)
	}
	s, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return &testServer{Server: s, URL: hs.URL, store: st}
}

// addUser creates a user with password "password1".
func (ts *testServer) addUser(t *testing.T, name string, admin bool) store.User {
	t.Helper()
	hash, err := testHash()
	if err != nil {
		t.Fatal(err)
	}
	u, err := ts.store.CreateUser(context.Background(), store.User{Name: name, Admin: admin, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testHash is "password1" hashed at bcrypt's lowest cost, made once:
// checking the default cost takes most of a second under the race
// detector, and bcrypt hashes carry their cost, so login checks it alike.
var testHash = sync.OnceValues(func() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	return string(h), err
})

// The decoy at bcrypt's lowest cost too, like testHash: logins of
// unknown users check against it.
func init() {
	decoyHash = sync.OnceValue(func() string {
		h, _ := bcrypt.GenerateFromPassword([]byte("decoy"), bcrypt.MinCost)
		return string(h)
	})
}

// client is a browser-like client of a test server: a cookie jar, no
// automatic redirects (tests look at them), and helpers.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (ts *testServer) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: ts.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login makes name (created if missing, with password "password1") and
// returns a client logged in as them.
func (ts *testServer) login(t *testing.T, name string, admin bool) *client {
	t.Helper()
	if _, err := ts.store.UserByName(context.Background(), name); err != nil {
		ts.addUser(t, name, admin)
	}
	c := ts.client(t)
	resp := c.post("/login", url.Values{"username": {name}, "password": {"password1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in as %s: status %d: %s", name, resp.StatusCode, resp.Body)
	}
	return c
}

// response is a finished request with its body read.
type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) request(method, path, contentType, body string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.do(req)
}

func (c *client) get(path string) response { c.t.Helper(); return c.request("GET", path, "", "") }

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	return c.request("POST", path, "application/x-www-form-urlencoded", form.Encode())
}

func (c *client) postJSON(path, body string) response {
	c.t.Helper()
	return c.request("POST", path, "application/json", body)
}
