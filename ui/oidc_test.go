package ui

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hark/delivery"
	"hark/delivery/matrix"
	"hark/destkind"
	"hark/internal/testpeer"
	"hark/store"
	"hark/store/sqlite"
)

// provider is an OpenID Connect provider built for the tests: discovery,
// signing keys, an authorization endpoint that approves at once, and a
// token endpoint whose ID token the test shapes through claims.
type provider struct {
	*httptest.Server
	key    *rsa.PrivateKey // what it signs with
	public *rsa.PrivateKey // whose public half it publishes
	claims func(c map[string]any)

	mu     sync.Mutex
	nonces map[string]string // code → nonce
}

// signingKeys are two RSA keys made once: generating them is slow under
// the race detector.
var signingKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	var err error
	for i := range keys {
		if keys[i], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return keys, err
		}
	}
	return keys, nil
})

func newProvider(t *testing.T, claims func(map[string]any)) *provider {
	keys, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	key := keys[0]
	p := &provider{key: key, public: key, claims: claims, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.public.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := randomSecret()
		p.mu.Lock()
		p.nonces[code] = q.Get("nonce")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		nonce, ok := p.nonces[r.PostFormValue("code")]
		p.mu.Unlock()
		if !ok || r.PostFormValue("code_verifier") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		now := time.Now()
		c := map[string]any{"iss": p.URL, "sub": "1234", "aud": "hark", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"nonce": nonce, "preferred_username": "carol"}
		p.claims(c)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}}, nil)
		if err != nil {
			t.Error(err)
			return
		}
		payload, _ := json.Marshal(c)
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Error(err)
			return
		}
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// follow walks redirects from path by hand (the client does not), until a
// response that is not one leaves this test's servers or ends.
func (c *client) follow(path string) (response, string) {
	c.t.Helper()
	resp := c.get(path)
	for resp.StatusCode == http.StatusFound {
		loc := resp.Header.Get("Location")
		req, _ := http.NewRequest("GET", loc, nil)
		if strings.HasPrefix(loc, "/") {
			req, _ = http.NewRequest("GET", c.base+loc, nil)
		}
		resp = c.do(req)
	}
	return resp, resp.Header.Get("Location")
}

func TestOIDCLogin(t *testing.T) {
	keys, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	other := keys[1]
	for _, tc := range []struct {
		name    string
		claims  func(map[string]any)
		signer  *rsa.PrivateKey
		wantIn  bool
		wantErr string
	}{
		{name: "valid token", claims: func(map[string]any) {}, wantIn: true},
		{name: "wrong audience", claims: func(c map[string]any) { c["aud"] = "someone-else" }, wantErr: "audience"},
		{name: "expired token", claims: func(c map[string]any) {
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		}, wantErr: "expired"},
		{name: "wrong nonce", claims: func(c map[string]any) { c["nonce"] = "replayed" }, wantErr: "nonce"},
		{name: "unknown signing key", claims: func(map[string]any) {}, signer: other, wantErr: "signature"},
		{name: "missing username claim", claims: func(c map[string]any) { delete(c, "preferred_username") }, wantErr: "preferred_username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, tc.claims)
			if tc.signer != nil {
				p.key = tc.signer
			}
			ts := newTestServer(t, func(o *Options) {
				o.OIDC = &OIDCOptions{Issuer: p.URL, ClientID: "hark", ClientSecret: "s3cret",
					Scopes: []string{"openid", "profile"}, UsernameClaim: "preferred_username"}
			})
			c := ts.client(t)
			resp, loc := c.follow("/login/oidc?next=/account")
			if !tc.wantIn {
				if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, tc.wantErr) {
					t.Fatalf("status %d, want 401 mentioning %q:\n%s", resp.StatusCode, tc.wantErr, resp.Body)
				}
				if c.get("/account").StatusCode != http.StatusSeeOther {
					t.Fatal("refused login still gave a session")
				}
				return
			}
			if resp.StatusCode != http.StatusSeeOther || loc != "/account" {
				t.Fatalf("callback: status %d Location %q; want 303 to /account:\n%s", resp.StatusCode, loc, resp.Body)
			}
			if got := c.get("/account"); got.StatusCode != http.StatusOK || !strings.Contains(got.Body, "carol") {
				t.Fatalf("after login: status %d", got.StatusCode)
			}
			if _, err := ts.store.UserByName(context.Background(), "carol"); err != nil {
				t.Fatalf("user not created on first login: %v", err)
			}
		})
	}
}

// A Fedora account's first login brings its email address as a
// confirmed destination, its Matrix chat handle as a confirmed matrix
// destination, its admin flag from its groups and the default
// filters; the next login after leaving the admin group drops the flag.
func TestOIDCFedoraAccount(t *testing.T) {
	groups := []any{"packager", "sysadmin-main"}
	var mu sync.Mutex
	p := newProvider(t, func(c map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		c["email"] = "carol@fedoraproject.org"
		c["groups"] = groups
		c["chat"] = []any{"irc:/carol", "matrix:/Carol"}
	})
	ts := newTestServer(t, func(o *Options) {
		o.DefaultFilters = true
		o.OIDC = &OIDCOptions{Issuer: p.URL, ClientID: "hark", ClientSecret: "s3cret", Scopes: []string{"openid"},
			UsernameClaim: "preferred_username", EmailClaim: "email", GroupsClaim: "groups", AdminGroups: []string{"sysadmin-main"},
			MatrixClaim: "chat", MatrixServer: "fedora.im"}
	})
	ctx := context.Background()
	login := func() {
		t.Helper()
		if resp, loc := ts.client(t).follow("/login/oidc?next=/account"); resp.StatusCode != http.StatusSeeOther || loc != "/account" {
			t.Fatalf("login: status %d Location %q:\n%s", resp.StatusCode, loc, resp.Body)
		}
	}
	login()
	u, err := ts.store.UserByName(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Admin {
		t.Error("member of an admin group is not an admin")
	}
	dests, err := ts.store.ListDestinations(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(dests) != 2 || dests[0].Kind != store.KindEmail || dests[0].Address != "carol@fedoraproject.org" || !dests[0].Confirmed || !dests[0].Enabled ||
		dests[1].Kind != "matrix" || dests[1].Address != "@carol:fedora.im" || !dests[1].Confirmed || !dests[1].Enabled {
		t.Fatalf("destinations %+v, want the email claim and the Matrix ID confirmed", dests)
	}
	fs, err := ts.store.ListFilters(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 || !slices.Contains(fs[0].DestinationIDs, dests[0].ID) || !slices.Contains(fs[0].DestinationIDs, dests[1].ID) {
		t.Fatalf("filters %+v, want the defaults sending to both destinations", fs)
	}

	mu.Lock()
	groups = []any{"packager"}
	mu.Unlock()
	login()
	if u, err = ts.store.UserByName(ctx, "carol"); err != nil || u.Admin {
		t.Errorf("after leaving the admin group: admin %t, err %v", u.Admin, err)
	}
	if again, _ := ts.store.ListDestinations(ctx, u.ID); len(again) != 2 {
		t.Errorf("second login: destinations %+v, want the two", again)
	}

	// Disabled (by an admin, or by the account check when the directory
	// stopped listing her): the provider's word no longer logs her in,
	// and the login changes nothing.
	if err := ts.store.SetUserDisabled(ctx, "carol", true); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	groups = []any{"packager", "sysadmin-main"}
	mu.Unlock()
	if resp, _ := ts.client(t).follow("/login/oidc?next=/account"); resp.StatusCode == http.StatusSeeOther || !strings.Contains(resp.Body, "account is disabled") {
		t.Errorf("login of a disabled account: status %d:\n%s", resp.StatusCode, resp.Body)
	}
	if u, _ = ts.store.UserByName(ctx, "carol"); !u.Disabled || u.Admin {
		t.Errorf("after a refused login: disabled %t, admin %t; want disabled, not admin", u.Disabled, u.Admin)
	}
}

// The destinations page offers the Matrix kinds; adding a Matrix ID
// sends its confirmation code there through the bot on a real Dendrite,
// and the link in it confirms the destination.
func TestDestinationsPageConfirmsAMatrixID(t *testing.T) {
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	aliceToken, aliceID := hs.Register("alice", "alice-password-1", false)
	ts := newTestServer(t, func(o *Options) {
		bot, err := matrix.New(matrix.Options{Homeserver: hs.URL, UserID: botID, AccessToken: botToken})
		if err != nil {
			t.Fatal(err)
		}
		d, err := delivery.New(delivery.Options{Store: o.Store.(*sqlite.SQLite), Senders: delivery.Senders{destkind.Matrix: bot},
			BaseURL: o.BaseURL, Key: []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		o.Confirmer, o.Tester, o.Unsubscriber = d, d, d
	})
	c := ts.login(t, "alice", false)
	if page := c.get("/destinations"); !strings.Contains(page.Body, `value="matrix"`) || !strings.Contains(page.Body, `value="matrix-room"`) {
		t.Fatalf("destinations page lacks the Matrix kinds:\n%s", page.Body)
	}
	if resp := c.post("/destinations", url.Values{"kind": {"matrix"}, "address": {aliceID}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add matrix:%s: status %d:\n%s", aliceID, resp.StatusCode, resp.Body)
	}
	notice := hs.User(aliceToken, aliceID).Notices(1, time.Minute)[0]
	link := regexp.MustCompile(`http://[^\s"<>]+/confirm/[0-9]+/[a-z0-9]+`).FindString(notice.Body)
	if link == "" {
		t.Fatalf("confirmation notice %q has no link", notice.Body)
	}
	if resp := c.post(strings.TrimPrefix(link, ts.URL), nil); resp.StatusCode >= 400 {
		t.Fatalf("confirm: status %d:\n%s", resp.StatusCode, resp.Body)
	}
	u, _ := ts.store.UserByName(context.Background(), "alice")
	dests, err := ts.store.ListDestinations(context.Background(), u.ID)
	if err != nil || len(dests) != 1 || dests[0].Kind != "matrix" || !dests[0].Confirmed {
		t.Fatalf("destinations %+v, err %v; want %s confirmed", dests, err, aliceID)
	}
}
