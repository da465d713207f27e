// Package ui is hark's web interface: server-rendered pages for people and
// a JSON API under /api/v1 for their scripts, over the same handlers'
// logic. It owns login (local passwords and OpenID Connect), sessions, API
// tokens, authorization of every object against its owner, CSRF protection
// and security headers. Business rules stay in the packages it calls:
// rules validate arguments, accounts imports and exports filters, store
// keeps everything, delivery sends confirmations.
package ui

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"hark/accounts"
	"hark/filters"
	"hark/meta"
	"hark/rules"
	"hark/store"
)

// Store is what the web UI needs of hark's store.
type Store interface {
	store.Store
	store.Web
}

// Confirmer sends an unconfirmed destination a new confirmation code:
// for email a message with the link {base_url}/confirm/{id}/{code}, for
// IRC a private message with the code. It stores the code itself.
// accounts.Service implements it by queuing the send for the delivery
// role; delivery.Deliverer by sending at once.
type Confirmer interface {
	SendConfirmation(ctx context.Context, d store.Destination) error
}

// Tester sends one test notification to a destination, so its owner can
// see that delivery there works: accounts.Service queues it for the
// delivery role, delivery.Deliverer sends it at once.
type Tester interface {
	SendTest(ctx context.Context, d store.Destination) error
}

// Unsubscriber carries out the one-click unsubscribe links in emails:
// a token names one filter of one user, and unsubscribing turns that
// filter off.
type Unsubscriber interface {
	ParseUnsubscribeToken(token string) (userID, filterID int64, created time.Time, err error)
	Unsubscribe(ctx context.Context, token string) (filterID int64, err error)
}

// Options configure a Server.
type Options struct {
	Store Store
	// BaseURL is where people reach the UI (config web.base_url); links
	// in emails are made from it, and cookies are Secure when it is https.
	BaseURL string
	Logger  *slog.Logger
	// OIDC enables OpenID Connect login; nil means local passwords only.
	OIDC *OIDCOptions
	// DefaultFilters gives a user the default filters on their first
	// login (config users.default_filters).
	DefaultFilters bool
	// SessionTTL is how long a login lasts; 0 means 7 days.
	SessionTTL time.Duration
	// UnconfirmedTTL is how long an unconfirmed destination lives
	// (config users.unconfirmed_ttl); 0 means 48 hours.
	UnconfirmedTTL time.Duration
	// Settings is the settings service the pages and the API change
	// people's settings through; nil makes one on Store.
	Settings *accounts.Service
	// Confirmer, Tester and Unsubscriber send confirmations and test
	// notifications and honour unsubscribe links: Settings, which queues
	// the sends for the delivery role, or a delivery.Deliverer, which
	// sends them at once; nil ones make their actions answer that the
	// channel is not configured.
	Confirmer    Confirmer
	Tester       Tester
	Unsubscriber Unsubscriber
	// Owners is the package ownership data previews evaluate owned-by
	// and group-owned rules with (as matching does); nil means none.
	Owners func() rules.Ownership
	// Catalogue lists the apps and events the filter editor offers to
	// pick (meta.Describer.Catalogue, with config meta.processors); nil
	// means those of the embedded processors.
	Catalogue func() []meta.App
	// RuleBudget is how long a filter's regex and expression rules may
	// run on one message of a preview (config rules.budget_per_message);
	// 0 means preview.DefaultBudget.
	RuleBudget time.Duration
	// RuleErrors returns the last rule error of each of a user's active
	// filters that had one (filters.Index.RuleErrors), which the filter
	// page shows its owner; nil shows none.
	RuleErrors func(user string) []filters.RuleError
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the reverse proxies (config web.trusted_proxies)
	// whose ProxyHeader (web.trusted_proxy_header, such as
	// X-Forwarded-For) names the client's address for the login limit.
	// Requests from other addresses are counted by their socket address.
	TrustedProxies []netip.Prefix
	ProxyHeader    string
}

// Server is the web UI as an http.Handler.
type Server struct {
	opts     Options
	store    Store
	settings *accounts.Service
	log      *slog.Logger
	base     *url.URL
	secure   bool // cookies only over https
	now      func() time.Time
	pages    *pages
	oidc     *oidcLogin
	handler  http.Handler
	limiter  *loginLimiter

	setupMu    sync.Mutex
	setupToken string // "" once an admin exists
}

// New builds the UI. When no admin exists yet it makes a one-time setup
// link (SetupURL) that lets the first person to open it create one.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("new web ui: no store")
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("new web ui: base url %q is not an http(s) URL", opts.BaseURL)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	s := &Server{
		opts: opts, store: opts.Store, log: opts.Logger, base: base, secure: base.Scheme == "https",
		now: opts.Now, limiter: newLoginLimiter(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.SessionTTL == 0 {
		s.opts.SessionTTL = 7 * 24 * time.Hour
	}
	if s.opts.UnconfirmedTTL == 0 {
		s.opts.UnconfirmedTTL = 48 * time.Hour
	}
	s.settings = opts.Settings
	if s.settings == nil {
		s.settings = accounts.New(accounts.Options{Store: opts.Store, UnconfirmedTTL: s.opts.UnconfirmedTTL, Now: s.now})
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, fmt.Errorf("new web ui: %w", err)
	}
	if opts.OIDC != nil {
		if s.oidc, err = newOIDCLogin(ctx, *opts.OIDC, s.url("/login/oidc/callback")); err != nil {
			return nil, fmt.Errorf("new web ui: %w", err)
		}
	}
	if err := s.initSetup(ctx); err != nil {
		return nil, fmt.Errorf("new web ui: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// url is the absolute URL of path under the base URL.
func (s *Server) url(path string) string {
	u := *s.base
	u.Path += path
	return u.String()
}

// randomSecret is 32 random bytes, URL-safe: session cookies, API tokens,
// setup links and confirmation codes are all unguessable this way.
func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
