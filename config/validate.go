package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/destkind"
)

// bus.max_message_bytes's range: Fedora's messages are a few KB; a
// replay answer may hold 64 of the largest, which must still fit in memory.
const (
	minMessageBytes = 1 << 10
	maxMessageBytes = 64 << 20
)

// validate checks every value and records every problem; it never stops
// at the first.
func (d *decoder) validate(c *Config) {
	for i, ep := range c.Bus.Endpoints {
		d.zmqAddr(fmt.Sprintf("bus.endpoints[%d].url", i), ep.URL, true)
		d.zmqAddr(fmt.Sprintf("bus.endpoints[%d].replay", i), ep.Replay, false)
	}
	d.zmqAddr("bus.inbound", c.Bus.Inbound, false)
	for i, p := range c.Bus.TopicPrefixes {
		if p == "" {
			d.errorAt(fmt.Sprintf("bus.topic_prefixes[%d]", i), "an empty prefix; leave the list empty to receive every topic")
		}
	}
	if c.Bus.ValidateSignatures && c.Bus.Signatures.CA == "" && c.Bus.GPGKeyring == "" {
		d.errorAt("bus.validate_signatures", "needs bus.signatures.ca (X.509) or bus.gpg_keyring (GnuPG) to check signatures against")
	}
	d.exists("bus.signatures.ca", c.Bus.Signatures.CA)
	d.exists("bus.gpg_keyring", c.Bus.GPGKeyring)
	for i, dom := range c.Bus.SRVDomains {
		if !isDomainName(dom) {
			d.errorAt(fmt.Sprintf("bus.srv_domains[%d]", i), "%q is not a domain name like debian.org", dom)
		}
	}
	d.hostPort("bus.srv_resolver", c.Bus.SRVResolver, false)
	d.atLeast("bus.srv_refresh", c.Bus.SRVRefresh, time.Second)
	d.exists("bus.signatures.crl", c.Bus.Signatures.CRL)
	for topic, cns := range c.Bus.Signatures.RoutingPolicy {
		key := "bus.signatures.routing_policy." + topic
		if len(cns) == 0 {
			d.errorAt(key, "lists no certificate names; the topic could never be accepted")
		}
	}
	if n := c.Bus.MaxMessageBytes; n < minMessageBytes || n > maxMessageBytes {
		d.errorAt("bus.max_message_bytes", "must be %d-%d bytes, got %d", minMessageBytes, maxMessageBytes, n)
	}

	d.amqp(c.Bus.AMQP)

	d.required("store.path", c.Store.Path)
	d.postgresURL("store.url", c.Store.URL)

	d.hostPort("web.listen", c.Web.Listen, true)
	d.hostPort("web.metrics_listen", c.Web.MetricsListen, false)
	d.httpURL("web.base_url", c.Web.BaseURL, true)
	for i, p := range c.Web.TrustedProxies {
		if _, ok := parseProxy(p); !ok {
			d.errorAt(fmt.Sprintf("web.trusted_proxies[%d]", i), "%q is not an IP address or a CIDR block like 10.0.0.0/8", p)
		}
	}
	switch h := c.Web.TrustedProxyHeader; {
	case h == "" && len(c.Web.TrustedProxies) > 0:
		d.errorAt("web.trusted_proxies", "set without web.trusted_proxy_header, the header they name the client in (X-Forwarded-For, say)")
	case h != "" && len(c.Web.TrustedProxies) == 0:
		d.errorAt("web.trusted_proxy_header", "set without web.trusted_proxies, the proxies whose header to believe")
	case h != "" && strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }):
		d.errorAt("web.trusted_proxy_header", "%q is not an HTTP header name", h)
	}

	d.required("email.smtp_host", c.Email.SMTPHost)
	d.port("email.smtp_port", c.Email.SMTPPort)
	d.oneOf("email.tls", c.Email.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	if _, err := mail.ParseAddress(c.Email.From); err != nil {
		d.errorAt("email.from", "%q is not an email address", c.Email.From)
	}
	if c.Email.Password != "" && c.Email.Username == "" {
		d.errorAt("email.password", "set without email.username")
	}
	if c.Email.Password != "" && c.Email.TLS == TLSNone && !isLoopback(c.Email.SMTPHost) {
		d.errorAt("email.tls", "none would send the SMTP password in clear text to %s", c.Email.SMTPHost)
	}

	if c.Matrix.Homeserver != "" {
		d.httpURL("matrix.homeserver", c.Matrix.Homeserver, true)
		if err := destkind.Check(destkind.Matrix, c.Matrix.UserID); err != nil {
			d.errorAt("matrix.user_id", "%v", err)
		}
		d.required("matrix.access_token", c.Matrix.AccessToken)
		if !(c.Matrix.RateLimit > 0) {
			d.errorAt("matrix.rate_limit", "must be more than 0 messages a second, got %v", c.Matrix.RateLimit)
		}
		if c.Matrix.Burst < 1 {
			d.errorAt("matrix.burst", "must be at least 1, got %d", c.Matrix.Burst)
		}
	}
	if c.IRC.Server != "" {
		d.hostPort("irc.server", c.IRC.Server, true)
		d.required("irc.nick", c.IRC.Nick)
		d.atLeast("irc.line_interval", c.IRC.LineInterval, 10*time.Millisecond)
		if c.IRC.Burst < 1 {
			d.errorAt("irc.burst", "must be at least 1, got %d", c.IRC.Burst)
		}
		if c.IRC.MaxLines < 2 || c.IRC.MaxLines > 100 {
			d.errorAt("irc.max_lines", "must be 2-100 (some text and the link to the rest), got %d", c.IRC.MaxLines)
		}
		for i, ch := range c.IRC.Channels {
			if ch == "" || !strings.ContainsRune("#&", rune(ch[0])) || strings.ContainsAny(ch, " ,\x07") {
				d.errorAt(fmt.Sprintf("irc.channels[%d]", i), "%q is not a channel name like #hark", ch)
			}
		}
	}

	d.source("owners.source", c.Owners.Source)
	d.source("owners.groups", c.Owners.Groups)
	d.atLeast("webhook.timeout", c.Webhook.Timeout, 100*time.Millisecond)
	d.atLeast("owners.refresh", c.Owners.Refresh, time.Minute)

	for i, p := range c.Meta.Processors {
		d.exists(fmt.Sprintf("meta.processors[%d]", i), p)
	}
	for from, to := range c.Meta.Aliases {
		if to == "" {
			d.errorAt("meta.aliases."+from, "maps to an empty name")
		}
	}

	d.atLeast("history.retention", c.History.Retention, time.Minute)
	d.atLeast("rules.budget_per_message", c.Rules.BudgetPerMessage, time.Millisecond)
	d.httpURL("catchup.url", c.Catchup.URL, c.Catchup.Enabled)
	d.atLeast("catchup.max_window", c.Catchup.MaxWindow, time.Minute)
	if c.Catchup.Rate < 1 {
		d.errorAt("catchup.rate", "must be at least 1 request a second, got %d", c.Catchup.Rate)
	}
	if c.Catchup.Gap != 0 {
		d.atLeast("catchup.gap", c.Catchup.Gap, time.Minute)
	}
	d.atLeast("web.session_ttl", c.Web.SessionTTL, time.Minute)
	d.atLeast("web.stuck_after", c.Web.StuckAfter, time.Second)
	d.atLeast("users.unconfirmed_ttl", c.Users.UnconfirmedTTL, time.Hour)

	if c.OIDC.Issuer != "" {
		d.httpURL("oidc.issuer", c.OIDC.Issuer, true)
		d.required("oidc.client_id", c.OIDC.ClientID)
		d.required("oidc.username_claim", c.OIDC.UsernameClaim)
		if !slices.Contains(c.OIDC.Scopes, "openid") {
			d.errorAt("oidc.scopes", "must include openid")
		}
		if len(c.OIDC.AdminGroups) > 0 {
			d.required("oidc.groups_claim", c.OIDC.GroupsClaim)
		}
		if c.OIDC.MatrixClaim != "" {
			d.required("oidc.matrix_server", c.OIDC.MatrixServer)
		}
	}
	if c.OIDC.AccountURL != "" {
		d.httpURL("oidc.account_url", c.OIDC.AccountURL, true)
		if !strings.Contains(c.OIDC.AccountURL, "{name}") {
			d.errorAt("oidc.account_url", "must say where the user's name goes with {name}, like https://fasjson.fedoraproject.org/v1/users/{name}/")
		}
		d.atLeast("oidc.account_check", c.OIDC.AccountCheck, time.Minute)
	}

	r := c.Delivery.Retry
	if r.MaxAttempts < 1 {
		d.errorAt("delivery.retry.max_attempts", "must be at least 1, got %d", r.MaxAttempts)
	}
	d.atLeast("delivery.retry.backoff_min", r.BackoffMin, time.Second)
	if r.BackoffMax < r.BackoffMin {
		d.errorAt("delivery.retry.backoff_max", "%s is less than backoff_min %s", r.BackoffMax, r.BackoffMin)
	}
	d.atLeast("delivery.poll_every", c.Delivery.PollEvery, 10*time.Millisecond)
	f := c.Delivery.Flood
	if f.Rate < 0 {
		d.errorAt("delivery.flood.rate", "must be 0 (off) or more, got %d", f.Rate)
	}
	if f.Rate > 0 {
		d.atLeast("delivery.flood.window", f.Window, time.Second)
		d.atLeast("delivery.flood.digest_for", f.DigestFor, time.Second)
	}
	if p := c.Delivery.Partitions; p < 1 || p > 4096 {
		d.errorAt("delivery.partitions", "must be between 1 and 4096, got %d", p)
	}
	d.atLeast("delivery.lease", c.Delivery.Lease, time.Second)
}

// absent reports whether v is empty, an error if it is required.
func (d *decoder) absent(key, v string, required bool) bool {
	if v == "" && required {
		d.errorAt(key, "required")
	}
	return v == ""
}

func (d *decoder) required(key, v string) {
	if v == "" {
		d.errorAt(key, "required")
	}
}

func (d *decoder) oneOf(key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		d.errorAt(key, "%q is not one of %v", v, allowed)
	}
}

func (d *decoder) atLeast(key string, v, least time.Duration) {
	if v < least {
		d.errorAt(key, "must be at least %s, got %s", least, v)
	}
}

func (d *decoder) port(key string, p int) {
	if p < 1 || p > 65535 {
		d.errorAt(key, "%d is not a port (1-65535)", p)
	}
}

// hostPort checks a host:port address such as 127.0.0.1:8080.
func (d *decoder) hostPort(key, v string, required bool) {
	if d.absent(key, v, required) {
		return
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		d.errorAt(key, "%q is not host:port", v)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		d.errorAt(key, "%q has no valid port", v)
	}
}

// zmqAddr checks a ZeroMQ address: tcp://host:port or ipc://path.
func (d *decoder) zmqAddr(key, v string, required bool) {
	if d.absent(key, v, required) {
		return
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		d.errorAt(key, "%q is not a URL", v)
	case u.Scheme == "tcp":
		if u.Port() == "" || u.Hostname() == "" || u.Path != "" {
			d.errorAt(key, "%q is not tcp://host:port", v)
		}
	case u.Scheme == "ipc":
		if u.Opaque == "" && u.Path == "" && u.Host == "" {
			d.errorAt(key, "%q names no socket path", v)
		}
	default:
		d.errorAt(key, "%q is not a tcp:// or ipc:// address", v)
	}
}

// postgresURL checks an optional PostgreSQL connection URL, without the
// password in what it says.
func (d *decoder) postgresURL(key, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		d.errorAt(key, "is not a postgres:// URL like postgres://hark@db.example.org:5432/hark")
		return
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		d.errorAt(key, "names no server: write postgres://USER@HOST:PORT/DATABASE")
	}
	if strings.Trim(u.Path, "/") == "" && u.Query().Get("dbname") == "" {
		d.errorAt(key, "names no database: write postgres://USER@HOST:PORT/DATABASE")
	}
}

func (d *decoder) httpURL(key, v string, required bool) {
	if d.absent(key, v, required) {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorAt(key, "%q is not an http:// or https:// URL", v)
	}
}

// source checks a value that is an http(s) URL or a local file.
func (d *decoder) source(key, v string) {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" {
		d.httpURL(key, v, false)
		return
	}
	d.exists(key, v)
}

func (d *decoder) exists(key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		d.errorAt(key, "%v", err)
	}
}

// amqp checks bus.amqp when a broker URL is set.
func (d *decoder) amqp(a AMQP) {
	if a.URL == "" {
		return
	}
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		d.errorAt("bus.amqp.url", "%q is not an amqp:// or amqps:// URL", a.URL)
	} else if a.Cert != "" && u.Scheme != "amqps" {
		d.errorAt("bus.amqp.cert", "a client certificate needs an amqps:// url")
	}
	d.required("bus.amqp.exchange", a.Exchange)
	if len(a.Bindings) == 0 {
		d.errorAt("bus.amqp.bindings", "empty: the queue would receive nothing; use [\"#\"] for every topic")
	}
	for i, b := range a.Bindings {
		d.required(fmt.Sprintf("bus.amqp.bindings[%d]", i), b)
	}
	if a.Prefetch < 1 || a.Prefetch > 65535 {
		d.errorAt("bus.amqp.prefetch", "must be 1-65535, got %d", a.Prefetch)
	}
	if (a.Cert == "") != (a.Key == "") {
		d.errorAt("bus.amqp.key", "bus.amqp.cert and bus.amqp.key go together")
	}
	d.exists("bus.amqp.cert", a.Cert)
	d.exists("bus.amqp.key", a.Key)
	d.exists("bus.amqp.ca", a.CA)
	d.httpURL("bus.amqp.app_url", a.AppURL, false)
}

// isDomainName reports whether s is a DNS name: dot-separated labels of
// letters, digits, hyphens and underscores, 1 to 63 bytes each, 253 in all.
func isDomainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
