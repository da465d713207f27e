// Package config owns hark's configuration file: a strict YAML decode into
// plain structs, the defaults that let hark run on a laptop with no file at
// all, secrets from the environment or files, and a validation pass that
// reports every problem at once with file:line:col. Runtime packages receive
// these structs (or parts of them), never the raw file.
package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Config is the whole configuration. The yaml tags are the key names users
// write; they are a contract (see `hark config example`).
type Config struct {
	Bus      Bus      `yaml:"bus"`
	Store    Store    `yaml:"store"`
	Web      Web      `yaml:"web"`
	Email    Email    `yaml:"email"`
	IRC      IRC      `yaml:"irc"`
	Matrix   Matrix   `yaml:"matrix"`
	Webhook  Webhook  `yaml:"webhook"`
	Owners   Owners   `yaml:"owners"`
	Meta     Meta     `yaml:"meta"`
	History  History  `yaml:"history"`
	OIDC     OIDC     `yaml:"oidc"`
	Delivery Delivery `yaml:"delivery"`
	Users    Users    `yaml:"users"`
	Rules    Rules    `yaml:"rules"`
	Catchup  Catchup  `yaml:"catchup"`
}

// Bus is where messages come from.
type Bus struct {
	// Endpoints are publishers hark connects a SUB socket to, one each.
	Endpoints []Endpoint `yaml:"endpoints"`
	// Inbound is the address hark serve binds a SUB socket on for
	// active-mode publishers (fedmsg-relay's inbound role); "" binds none.
	Inbound            string     `yaml:"inbound"`
	TopicPrefixes      []string   `yaml:"topic_prefixes"`
	ValidateSignatures bool       `yaml:"validate_signatures"`
	Signatures         Signatures `yaml:"signatures"`
	// GPGKeyring is a file of OpenPGP public keys (armored or binary)
	// that GnuPG-signed messages (crypto "gpg", Debian's fedmsg) are
	// checked against; "" accepts none of them when validating.
	GPGKeyring string `yaml:"gpg_keyring"`
	// SRVDomains are domains whose _fedmsg._tcp SRV records name more
	// publishers to subscribe to, as Debian's fedmsg discovers them.
	SRVDomains []string `yaml:"srv_domains"`
	// SRVResolver is the DNS server (host:port) asked for them; "" asks
	// the system's resolver.
	SRVResolver string `yaml:"srv_resolver"`
	// SRVRefresh is how often the records are asked again: endpoints
	// that appear are subscribed, those that vanish are dropped.
	SRVRefresh time.Duration `yaml:"srv_refresh"`
	// MaxMessageBytes bounds one message (a ZeroMQ envelope, an AMQP
	// body), so no peer can make hark allocate without limit.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// AMQP is a fedora-messaging broker to read besides (or instead of)
	// the ZeroMQ endpoints.
	AMQP AMQP `yaml:"amqp"`
}

// AMQP is a fedora-messaging broker (AMQP 0-9-1, RabbitMQ). An empty URL
// reads none.
type AMQP struct {
	URL      string `yaml:"url"`
	Exchange string `yaml:"exchange"`
	// Queue names a durable queue, so messages published while hark is
	// down wait for it; "" uses a server-named queue that lives only as
	// long as the connection.
	Queue    string   `yaml:"queue"`
	Bindings []string `yaml:"bindings"`
	// Prefetch is how many unacknowledged messages the broker sends ahead.
	Prefetch int `yaml:"prefetch"`
	// Cert and Key are a TLS client certificate, used with SASL EXTERNAL;
	// CA verifies the broker.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
	// AppName, AppURL and ContactEmail are the client properties
	// fedora-messaging asks every consumer to send.
	AppName      string `yaml:"app_name"`
	AppURL       string `yaml:"app_url"`
	ContactEmail string `yaml:"contact_email"`
}

// Endpoint is one publisher. In the file it is either a plain URL string or
// a mapping with url and replay.
type Endpoint struct {
	URL string `yaml:"url"`
	// Replay is the publisher's REP socket for asking for missed messages
	// when seq_id jumps; "" means none.
	Replay string `yaml:"replay"`
}

// Signatures is how X.509-signed messages are checked.
type Signatures struct {
	CA  string `yaml:"ca"`
	CRL string `yaml:"crl"`
	// RoutingPolicy maps a topic to the certificate CNs allowed to sign it.
	RoutingPolicy map[string][]string `yaml:"routing_policy"`
	// Nitpicky rejects messages whose topic has no routing policy entry.
	Nitpicky bool `yaml:"nitpicky"`
}

// Store is where state lives: a SQLite file at Path (the default), or
// the PostgreSQL database URL names, which several hark processes share.
type Store struct {
	// Path is the SQLite database; with URL set, its directory still holds
	// the process's own files (the sent journal, the unsubscribe key).
	Path string `yaml:"path"`
	// URL, when set, is a postgres:// URL: the store is that database.
	// It may hold a password, so it is a secret (URLFile, HARK_STORE_URL).
	URL     string `yaml:"url"`
	URLFile string `yaml:"url_file"`
}

// Postgres reports whether the store is a PostgreSQL database (URL set)
// rather than the SQLite file at Path.
func (s Store) Postgres() bool { return s.URL != "" }

// Web is the HTTP side.
type Web struct {
	Listen  string `yaml:"listen"`
	BaseURL string `yaml:"base_url"`
	// MetricsListen serves /metrics on a separate address; "" serves it on
	// Listen.
	MetricsListen string `yaml:"metrics_listen"`
	// SessionTTL is how long a web login lasts before logging in again.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// StuckAfter is how long commits may fail or hang, or the AMQP source
	// go without a session, before /healthz answers 503.
	StuckAfter time.Duration `yaml:"stuck_after"`
	// TrustedProxies are the reverse proxies (addresses or CIDR blocks)
	// whose TrustedProxyHeader names the client's address, which the
	// login rate limit counts by. Without them every client of a proxy
	// would share its address, and one could slow everyone's logins.
	TrustedProxies     []string `yaml:"trusted_proxies"`
	TrustedProxyHeader string   `yaml:"trusted_proxy_header"`
}

// ProxyPrefixes are TrustedProxies as address blocks; an entry that is
// not one (validation reports it) is left out.
func (w Web) ProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range w.TrustedProxies {
		if prefix, ok := parseProxy(p); ok {
			out = append(out, prefix)
		}
	}
	return out
}

// parseProxy reads an address ("10.0.0.1", one host) or a CIDR block.
func parseProxy(s string) (netip.Prefix, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip, ip.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err == nil
}

// Email is the SMTP relay that mail goes through.
type Email struct {
	SMTPHost string `yaml:"smtp_host"`
	SMTPPort int    `yaml:"smtp_port"`
	// TLS is one of TLSNone, TLSStartTLS, TLSImplicit.
	TLS          string `yaml:"tls"`
	From         string `yaml:"from"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// Values of Email.TLS.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// IRC is the bot that delivers to nicks and channel feeds. An empty
// Server disables IRC.
type IRC struct {
	Server string `yaml:"server"`
	TLS    bool   `yaml:"tls"`
	Nick   string `yaml:"nick"`
	// SASLUser defaults to Nick when SASLPassword is set.
	SASLUser             string `yaml:"sasl_user"`
	SASLPassword         string `yaml:"sasl_password"`
	SASLPasswordFile     string `yaml:"sasl_password_file"`
	NickServPassword     string `yaml:"nickserv_password"`
	NickServPasswordFile string `yaml:"nickserv_password_file"`
	// RequireIdentified sends confirmation codes to, and takes commands
	// from, only nicks identified to the network's services.
	RequireIdentified bool `yaml:"require_identified"`
	// Channels are joined after every (re)connect, so people can find
	// the bot; users' irc-channel feeds are joined when first posted to.
	Channels []string `yaml:"channels"`
	// LineInterval and Burst are the bot's token bucket: one line per
	// LineInterval on average, Burst at once, below the network's flood
	// limits.
	LineInterval time.Duration `yaml:"line_interval"`
	Burst        int           `yaml:"burst"`
	// MaxLines caps one notification's lines; the last links to the rest
	// in the web UI, so one long message does not delay everyone's.
	MaxLines int `yaml:"max_lines"`
}

// Matrix is the bot account that delivers to Matrix users by direct
// message. An empty Homeserver disables Matrix.
type Matrix struct {
	// Homeserver is the bot's homeserver base URL (https://matrix.example).
	Homeserver string `yaml:"homeserver"`
	// UserID is the bot's full ID, @hark:example.org.
	UserID          string `yaml:"user_id"`
	AccessToken     string `yaml:"access_token"`
	AccessTokenFile string `yaml:"access_token_file"`
	// DeviceID is the device the access token was issued for ("" if
	// unknown).
	DeviceID string `yaml:"device_id"`
	// RateLimit is how many messages a second the bot sends on average,
	// Burst how many at once: below the homeserver's limit for the
	// bot's account, so it paces itself instead of collecting 429s.
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
}

// Webhook is how hark calls the URLs of webhook destinations.
type Webhook struct {
	// AllowPrivate lets webhooks reach loopback, link-local and private
	// addresses. Off, a user cannot make hark call what only its host
	// can reach (its own services, a cloud metadata address).
	AllowPrivate bool `yaml:"allow_private"`
	// Timeout bounds one request; a receiver slower than this is retried.
	Timeout time.Duration `yaml:"timeout"`
}

// Owners is where package ownership (for owned-by and group-owned rules)
// comes from. An empty Source disables both.
type Owners struct {
	// Source is a URL or file of package → owning users.
	Source string `yaml:"source"`
	// Groups is a URL or file of group → members, so that owned-by also
	// counts packages a user owns through their groups.
	Groups  string        `yaml:"groups"`
	Refresh time.Duration `yaml:"refresh"`
}

// Meta is how messages are described.
type Meta struct {
	// Processors are files of processor definitions, loaded in order after
	// the built-in ones.
	Processors []string `yaml:"processors"`
	// Aliases maps a bus username to the account name users know
	// (fedmsg's fas→username mapping, e.g. threebean → ralph).
	Aliases map[string]string `yaml:"aliases"`
}

// History is the local store of recent messages that previews search.
type History struct {
	// Retention is how long a message is kept after it was received.
	Retention time.Duration `yaml:"retention"`
}

// Catchup is where hark asks for the messages it missed (datagrepper,
// the bus's archive) and how hard it may ask.
type Catchup struct {
	// Enabled catches up at start from the newest stored message, and
	// after a silence of Gap on the bus, by asking URL's /v2/search.
	Enabled bool   `yaml:"enabled"`
	URL     string `yaml:"url"`
	// MaxWindow bounds how far back one catch-up reaches.
	MaxWindow time.Duration `yaml:"max_window"`
	// Rate is the most requests a second sent to datagrepper.
	Rate int `yaml:"rate"`
	// Gap is the silence on the bus after which the silent window is
	// caught up; 0 catches up at start only.
	Gap time.Duration `yaml:"gap"`
}

// OIDC is the web login. An empty Issuer means local passwords only.
type OIDC struct {
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	// UsernameClaim is the ID token claim that names the hark user.
	UsernameClaim string `yaml:"username_claim"`
	// EmailClaim is the claim whose address becomes the user's confirmed
	// email destination at login ("" for none).
	EmailClaim string `yaml:"email_claim"`
	// GroupsClaim lists the user's groups; members of AdminGroups are
	// admins, the others not, as of each login (no AdminGroups: the
	// flag is left to hark's admins).
	GroupsClaim string   `yaml:"groups_claim"`
	AdminGroups []string `yaml:"admin_groups"`
	// MatrixClaim holds the user's chat handles (a string or a list);
	// its Matrix IDs become confirmed matrix destinations ("" for none).
	// A Fedora account's matrix:/nick is @nick:MatrixServer.
	MatrixClaim  string `yaml:"matrix_claim"`
	MatrixServer string `yaml:"matrix_server"`
	// AccountURL is the provider's account directory, a user lookup
	// with {name} in it (Fedora's FASJSON): every AccountCheck, users
	// who log in through the provider and whom it answers 404 for
	// (locked or deleted) are disabled. "" checks nothing.
	AccountURL   string        `yaml:"account_url"`
	AccountCheck time.Duration `yaml:"account_check"`
}

// Delivery is how hard and how fast notifications are sent.
type Delivery struct {
	Retry Retry `yaml:"retry"`
	Flood Flood `yaml:"flood"`
	// Partitions is how many parts the destinations are cut into for
	// several delivery processes (hark serve --roles delivery
	// --instance NAME) to share; every process on one database must use
	// the same number, and more processes than partitions idle.
	Partitions int `yaml:"partitions"`
	// Lease is how long a delivery process holds its partitions and the
	// chat bots' connections without renewing them: how long a killed
	// process's destinations wait for another to take over.
	Lease time.Duration `yaml:"lease"`
	// FollowFeed has delivery read the queue when the store's change feed
	// says notifications were queued, by this process or another: within
	// milliseconds. PollEvery is how often it reads the queue besides
	// (retries and digests that came due), and the only reading when
	// FollowFeed is off.
	FollowFeed bool          `yaml:"follow_feed"`
	PollEvery  time.Duration `yaml:"poll_every"`
}

// Retry is the backoff for a send that failed but may work later.
type Retry struct {
	// MaxAttempts is how many sends are tried before a notification is dead.
	MaxAttempts int           `yaml:"max_attempts"`
	BackoffMin  time.Duration `yaml:"backoff_min"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
}

// Flood turns a storm into a digest: once a destination gets more than Rate
// notifications within Window, further ones are collected into one digest
// sent every DigestFor until the storm is over. Rate 0 disables it.
type Flood struct {
	Rate      int           `yaml:"rate"`
	Window    time.Duration `yaml:"window"`
	DigestFor time.Duration `yaml:"digest_for"`
}

// Rules bounds what users' rules may cost.
type Rules struct {
	// BudgetPerMessage is how long one user's regex and expression rules
	// may run on one message in all; past it their remaining rules fail
	// as not matched, so one user's rules delay no one else's
	// notifications by more than this.
	BudgetPerMessage time.Duration `yaml:"budget_per_message"`
}

// Users is the policy for new users.
type Users struct {
	// DefaultFilters gives a new user the starter filters (their own
	// packages, mentions of them) instead of none.
	DefaultFilters bool `yaml:"default_filters"`
	// UnconfirmedTTL is how long an added destination waits for its
	// confirmation before it lapses. Until then it holds nothing: other
	// users may claim the same address, and whoever confirms owns it.
	UnconfirmedTTL time.Duration `yaml:"unconfirmed_ttl"`
}

// Default is the configuration used with no file: everything on loopback,
// the database in the user's data directory.
func Default() *Config {
	return &Config{
		Bus:     Bus{Inbound: "tcp://127.0.0.1:9941", MaxMessageBytes: 1 << 20, SRVRefresh: 5 * time.Minute, AMQP: AMQP{Exchange: "amq.topic", Bindings: []string{"#"}, Prefetch: 1024, AppName: "hark"}},
		Store:   Store{Path: defaultStorePath()},
		Web:     Web{Listen: "127.0.0.1:8080", SessionTTL: 7 * 24 * time.Hour, StuckAfter: 2 * time.Minute},
		Email:   Email{SMTPHost: "localhost", From: "hark@localhost"},
		IRC:     IRC{TLS: true, Nick: "hark", LineInterval: 600 * time.Millisecond, Burst: 3, MaxLines: 5},
		Matrix:  Matrix{RateLimit: 2, Burst: 10},
		Webhook: Webhook{Timeout: 10 * time.Second},
		Owners:  Owners{Refresh: time.Hour},
		History: History{Retention: 7 * 24 * time.Hour},
		OIDC: OIDC{Scopes: []string{"openid", "profile", "email"}, UsernameClaim: "preferred_username",
			EmailClaim: "email", GroupsClaim: "groups", MatrixServer: "fedora.im", AccountCheck: 6 * time.Hour},
		Delivery: Delivery{
			Retry:      Retry{MaxAttempts: 10, BackoffMin: 30 * time.Second, BackoffMax: time.Hour},
			Flood:      Flood{Rate: 30, Window: time.Minute, DigestFor: 10 * time.Minute},
			Partitions: 64, Lease: 15 * time.Second,
			FollowFeed: true, PollEvery: time.Second,
		},
		Users:   Users{DefaultFilters: true, UnconfirmedTTL: 48 * time.Hour},
		Rules:   Rules{BudgetPerMessage: 50 * time.Millisecond},
		Catchup: Catchup{URL: "https://apps.fedoraproject.org/datagrepper/", MaxWindow: 24 * time.Hour, Rate: 2, Gap: 10 * time.Minute},
	}
}

// defaultStorePath is $XDG_DATA_HOME/hark/hark.db (~/.local/share/...):
// unlike the working directory it is the same wherever `hark serve` and the
// admin commands are started, so they find the same database.
func defaultStorePath() string {
	if dir := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "hark", "hark.db")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "hark", "hark.db")
	}
	return "hark.db"
}
