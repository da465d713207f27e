package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// noEnv is an empty environment, so tests do not depend on the machine's.
func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustParse(t *testing.T, yaml string, env Env) *Config {
	t.Helper()
	c, err := Parse("hark.yaml", []byte(yaml), env)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

// parseErrors returns every error Parse reports, as strings.
func parseErrors(t *testing.T, yaml string) []string {
	t.Helper()
	_, err := Parse("hark.yaml", []byte(yaml), noEnv)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("parse: want Errors, got %v", err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestNoFileGivesLaptopDefaults(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"inbound", c.Bus.Inbound, "tcp://127.0.0.1:9941"},
		{"store", c.Store.Path, "/data/hark/hark.db"},
		{"listen", c.Web.Listen, "127.0.0.1:8080"},
		{"base url", c.Web.BaseURL, "http://127.0.0.1:8080/"},
		{"smtp", c.Email.SMTPHost, "localhost"},
		{"smtp tls", c.Email.TLS, TLSNone},
		{"smtp port", c.Email.SMTPPort, 25},
		{"retention", c.History.Retention, 7 * 24 * time.Hour},
		{"stuck after", c.Web.StuckAfter, 2 * time.Minute},
		{"catchup max_window", c.Catchup.MaxWindow, 24 * time.Hour},
		{"no endpoints", len(c.Bus.Endpoints), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestEndpointsTakeStringOrMapping(t *testing.T) {
	c := mustParse(t, `
bus:
  endpoints:
    - tcp://a.example:9940
    - {url: "tcp://b.example:9940", replay: "tcp://b.example:9943"}
`, noEnv)
	want := []Endpoint{{URL: "tcp://a.example:9940"}, {URL: "tcp://b.example:9940", Replay: "tcp://b.example:9943"}}
	if !reflect.DeepEqual(c.Bus.Endpoints, want) {
		t.Errorf("got %+v, want %+v", c.Bus.Endpoints, want)
	}
}

func TestRemoteSMTPDefaultsToStartTLSOn587(t *testing.T) {
	c := mustParse(t, "email: {smtp_host: smtp.example.org}", noEnv)
	if c.Email.TLS != TLSStartTLS || c.Email.SMTPPort != 587 {
		t.Errorf("got tls %q port %d, want starttls 587", c.Email.TLS, c.Email.SMTPPort)
	}
}

func TestEveryErrorIsReportedWithPosition(t *testing.T) {
	got := parseErrors(t, `bus:
  endpoint: []
  inbound: http://x
store:
  path: 3
email:
  smtp_port: many
  tls: maybe
history:
  retention: forever
web:
  listen: [1]
  base_url: ftp://x/
delivery:
  retry: {max_attempts: 0}
colour: blue
`)
	want := []string{
		"hark.yaml:2:3: bus.endpoint: unknown key (known in bus: amqp, endpoints, gpg_keyring, inbound, max_message_bytes, signatures, srv_domains, srv_refresh, srv_resolver, topic_prefixes, validate_signatures)",
		"hark.yaml:3:12: bus.inbound: \"http://x\" is not a tcp:// or ipc:// address",
		"hark.yaml:7:14: email.smtp_port: \"many\" is not an integer",
		"hark.yaml:8:8: email.tls: \"maybe\" is not one of [none starttls tls]",
		"hark.yaml:10:14: history.retention: \"forever\" is not a duration like 90s or 1h30m",
		"hark.yaml:12:11: web.listen: want a string, got a list",
		"hark.yaml:13:13: web.base_url: \"ftp://x/\" is not an http:// or https:// URL",
		"hark.yaml:15:25: delivery.retry.max_attempts: must be at least 1, got 0",
		"hark.yaml:16:1: colour: unknown key (known at the top level: bus, catchup, delivery, email, history, irc, matrix, meta, oidc, owners, rules, store, users, web, webhook)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorsOnCheck(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"syntax", "bus: [", "hark.yaml: parse YAML: line 1: did not find expected node content"},
		{"duplicate key", "web: {}\nweb: {}", "hark.yaml:2:1: web: key given twice"},
		{"negative duration", "owners: {refresh: -1m}", `hark.yaml:1:19: owners.refresh: "-1m" is not a duration like 90s or 1h30m`},
		{"bool as string", "irc: {tls: yes}", `hark.yaml:1:12: irc.tls: "yes" is not true or false`},
		{"endpoint without port", "bus: {endpoints: [tcp://hub]}", `hark.yaml:1:19: bus.endpoints[0].url: "tcp://hub" is not tcp://host:port`},
		{"signatures need a CA or keyring", "bus: {validate_signatures: true}", "hark.yaml:1:28: bus.validate_signatures: needs bus.signatures.ca (X.509) or bus.gpg_keyring (GnuPG) to check signatures against"},
		{"missing keyring", "bus: {validate_signatures: true, gpg_keyring: /nonexistent/keys.gpg}", "hark.yaml:1:47: bus.gpg_keyring: stat /nonexistent/keys.gpg: no such file or directory"},
		{"srv domain with a space", "bus: {srv_domains: [debian.org, 'x y']}", `hark.yaml:1:33: bus.srv_domains[1]: "x y" is not a domain name like debian.org`},
		{"srv resolver without port", "bus: {srv_resolver: 127.0.0.1}", `hark.yaml:1:21: bus.srv_resolver: "127.0.0.1" is not host:port`},
		{"srv refresh too often", "bus: {srv_refresh: 10ms}", "hark.yaml:1:20: bus.srv_refresh: must be at least 1s, got 10ms"},
		{"missing CA file", "bus: {signatures: {ca: /nonexistent/ca.pem}}", "hark.yaml:1:24: bus.signatures.ca: stat /nonexistent/ca.pem: no such file or directory"},
		{"password in clear", "email: {smtp_host: mx.example, tls: none, username: u, password: p}", "hark.yaml:1:37: email.tls: none would send the SMTP password in clear text to mx.example"},
		{"bad from", "email: {from: nobody}", `hark.yaml:1:15: email.from: "nobody" is not an email address`},
		{"secret twice", "email: {username: u, password: p, password_file: f}", "hark.yaml:1:50: email.password_file: set either email.password or email.password_file, not both"},
		{"empty alias", "meta: {aliases: {threebean: ''}}", "hark.yaml:1:29: meta.aliases.threebean: maps to an empty name"},
		{"backoff inverted", "delivery: {retry: {backoff_min: 1m, backoff_max: 1s}}", "hark.yaml:1:50: delivery.retry.backoff_max: 1s is less than backoff_min 1m0s"},
		{"oidc without openid", "oidc: {issuer: 'https://id.example', client_id: hark, scopes: [profile]}", "hark.yaml:1:63: oidc.scopes: must include openid"},
		{"second document", "web: {}\n---\nweb: {}", "hark.yaml:2:1: a second YAML document; hark reads one"},
		{"irc burst zero", "irc: {server: 'irc.example:6697', burst: 0}", "hark.yaml:1:42: irc.burst: must be at least 1, got 0"},
		{"stuck after too short", "web: {stuck_after: 10ms}", "hark.yaml:1:20: web.stuck_after: must be at least 1s, got 10ms"},
		{"rules budget zero", "rules: {budget_per_message: 0s}", "hark.yaml:1:29: rules.budget_per_message: must be at least 1ms, got 0s"},
		{"proxy not an address", "web: {trusted_proxies: [10.0.0.0/8, proxy.example], trusted_proxy_header: X-Forwarded-For}", `hark.yaml:1:37: web.trusted_proxies[1]: "proxy.example" is not an IP address or a CIDR block like 10.0.0.0/8`},
		{"proxies without header", "web: {trusted_proxies: [10.0.0.1]}", "hark.yaml:1:24: web.trusted_proxies: set without web.trusted_proxy_header, the header they name the client in (X-Forwarded-For, say)"},
		{"header without proxies", "web: {trusted_proxy_header: X-Real-IP}", "hark.yaml:1:29: web.trusted_proxy_header: set without web.trusted_proxies, the proxies whose header to believe"},
		{"proxy header not a name", "web: {trusted_proxies: [10.0.0.1], trusted_proxy_header: 'X Forwarded'}", `hark.yaml:1:58: web.trusted_proxy_header: "X Forwarded" is not an HTTP header name`},
		{"message limit too small", "bus: {max_message_bytes: 100}", "hark.yaml:1:26: bus.max_message_bytes: must be 1024-67108864 bytes, got 100"},
		{"message limit too large", "bus: {max_message_bytes: 1000000000}", "hark.yaml:1:26: bus.max_message_bytes: must be 1024-67108864 bytes, got 1000000000"},
		{"irc max lines one", "irc: {server: 'irc.example:6697', max_lines: 1}", "hark.yaml:1:46: irc.max_lines: must be 2-100 (some text and the link to the rest), got 1"},
		{"irc channel without #", "irc: {server: 'irc.example:6697', channels: [hark]}", `hark.yaml:1:46: irc.channels[0]: "hark" is not a channel name like #hark`},
		{"catch-up without url", "catchup: {enabled: true, url: ''}", "hark.yaml:1:31: catchup.url: required"},
		{"catch-up url not http", "catchup: {url: 'ftp://dg.example/'}", `hark.yaml:1:16: catchup.url: "ftp://dg.example/" is not an http:// or https:// URL`},
		{"catch-up rate zero", "catchup: {rate: 0}", "hark.yaml:1:17: catchup.rate: must be at least 1 request a second, got 0"},
		{"catch-up window tiny", "catchup: {max_window: 1s}", "hark.yaml:1:23: catchup.max_window: must be at least 1m0s, got 1s"},
		{"webhook timeout tiny", "webhook: {timeout: 1ms}", "hark.yaml:1:20: webhook.timeout: must be at least 100ms, got 1ms"},
		{"webhook allow_private not a bool", "webhook: {allow_private: maybe}", `hark.yaml:1:26: webhook.allow_private: "maybe" is not true or false`},
		{"matrix rate zero", "matrix: {homeserver: 'https://m.example', user_id: '@hark:m.example', access_token: t, rate_limit: 0}", "hark.yaml:1:100: matrix.rate_limit: must be more than 0 messages a second, got 0"},
		{"matrix burst zero", "matrix: {homeserver: 'https://m.example', user_id: '@hark:m.example', access_token: t, burst: 0}", "hark.yaml:1:95: matrix.burst: must be at least 1, got 0"},
		{"matrix rate not a number", "matrix: {rate_limit: fast}", `hark.yaml:1:22: matrix.rate_limit: "fast" is not a number like 2 or 0.5`},
		{"account url without name", "oidc: {account_url: 'https://fasjson.example/v1/users/'}", "hark.yaml:1:21: oidc.account_url: must say where the user's name goes with {name}, like https://fasjson.fedoraproject.org/v1/users/{name}/"},
		{"catch-up gap tiny", "catchup: {gap: 5s}", "hark.yaml:1:16: catchup.gap: must be at least 1m0s, got 5s"},
		{"store url not postgres", "store: {url: 'mysql://db.example/hark'}", "hark.yaml:1:14: store.url: is not a postgres:// URL like postgres://hark@db.example.org:5432/hark"},
		{"store url without database", "store: {url: 'postgres://hark@db.example'}", "hark.yaml:1:14: store.url: names no database: write postgres://USER@HOST:PORT/DATABASE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErrors(t, tc.yaml)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const withFile = "email: {username: u, password_file: pw}"
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"inline", "email: {username: u, password: inline}", nil, "inline"},
		{"file key, relative to the config", withFile, nil, "from-file"},
		{"environment wins", withFile, map[string]string{"HARK_EMAIL_PASSWORD": "from-env"}, "from-env"},
		{"environment file", "email: {username: u}", map[string]string{"HARK_EMAIL_PASSWORD_FILE": filepath.Join(dir, "pw")}, "from-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(filepath.Join(dir, "hark.yaml"), []byte(tc.yaml), envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Email.Password != tc.want {
				t.Errorf("got %q, want %q", c.Email.Password, tc.want)
			}
		})
	}
}

func TestRelativeStorePathFollowsTheConfigFile(t *testing.T) {
	c, err := Parse("/etc/hark/hark.yaml", []byte("store: {path: state/hark.db}"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/etc/hark/state/hark.db" {
		t.Errorf("got %q", c.Store.Path)
	}
}

func TestExampleIsValid(t *testing.T) {
	if _, err := Parse("example.yaml", []byte(Example), noEnv); err != nil {
		t.Fatalf("the example does not pass its own check:\n%v", err)
	}
}

// TestExampleDocumentsEveryKey walks the Config type and requires every
// key in the example, either set or (for secrets) as a commented line.
func TestExampleDocumentsEveryKey(t *testing.T) {
	d := &decoder{file: "example.yaml", at: map[string]*yaml.Node{}}
	d.fields(d.document([]byte(Example)), reflect.ValueOf(Default()).Elem(), "")
	secretKeys := map[string]bool{}
	for _, s := range secretsOf(Default()) {
		secretKeys[s.key] = true
	}
	var walk func(ty reflect.Type, path string)
	walk = func(ty reflect.Type, path string) {
		for i := range ty.NumField() {
			f := ty.Field(i)
			key := join(path, f.Tag.Get("yaml"))
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Endpoint]() {
				walk(f.Type, key)
				continue
			}
			leaf := f.Tag.Get("yaml")
			switch {
			case secretKeys[key]:
				if !strings.Contains(Example, "# "+leaf+":") {
					t.Errorf("example lacks a commented %s", key)
				}
			case !d.set(key):
				t.Errorf("example lacks %s", key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
