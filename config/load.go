package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvVar is the environment variable that tells every hark command where
// its configuration file is, when --config is not given.
const EnvVar = "HARK_CONFIG"

// Env looks up an environment variable, like os.LookupEnv; tests inject
// their own.
type Env func(key string) (string, bool)

// Load reads and checks the configuration file at path; path "" means no
// file, the defaults alone. A problem in the file is returned as Errors,
// every one of them.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse("", nil, os.LookupEnv)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse decodes data over the defaults, takes secrets from env and files,
// fills the defaults that depend on other keys, and validates. file names
// the data in errors, and relative paths in it are resolved against file's
// directory. On any problem it returns Errors listing all of them.
func Parse(file string, data []byte, env Env) (*Config, error) {
	name := file
	if name == "" {
		name = "(defaults)"
	}
	d := &decoder{file: name, at: map[string]*yaml.Node{}}
	c := Default()
	if root := d.document(data); root != nil {
		d.fields(root, reflect.ValueOf(c).Elem(), "")
	}
	d.resolvePaths(c, filepath.Dir(file))
	d.secrets(c, env, filepath.Dir(file))
	d.derive(c)
	d.validate(c)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return c, nil
}

// document parses data into its single YAML document's root node; nil for
// an empty file.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.errorf(nil, "", "parse YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "", "a second YAML document; hark reads one")
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	return root
}

// resolvePaths makes relative file paths relative to the config file, so
// a config works wherever hark is started from.
func (d *decoder) resolvePaths(c *Config, dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && !strings.Contains(*p, "://") {
			*p = filepath.Join(dir, *p)
		}
	}
	if d.set("store.path") {
		abs(&c.Store.Path)
	}
	abs(&c.Bus.Signatures.CA)
	abs(&c.Bus.Signatures.CRL)
	abs(&c.Bus.GPGKeyring)
	abs(&c.Bus.AMQP.Cert)
	abs(&c.Bus.AMQP.Key)
	abs(&c.Bus.AMQP.CA)
	abs(&c.Owners.Source)
	abs(&c.Owners.Groups)
	for i := range c.Meta.Processors {
		abs(&c.Meta.Processors[i])
	}
}

// secret is a key whose value may come from the file, a *_file key, or
// the environment.
type secret struct {
	key         string
	value, file *string
}

func secretsOf(c *Config) []secret {
	return []secret{
		{"email.password", &c.Email.Password, &c.Email.PasswordFile},
		{"irc.sasl_password", &c.IRC.SASLPassword, &c.IRC.SASLPasswordFile},
		{"irc.nickserv_password", &c.IRC.NickServPassword, &c.IRC.NickServPasswordFile},
		{"matrix.access_token", &c.Matrix.AccessToken, &c.Matrix.AccessTokenFile},
		{"oidc.client_secret", &c.OIDC.ClientSecret, &c.OIDC.ClientSecretFile},
		{"store.url", &c.Store.URL, &c.Store.URLFile},
	}
}

// SecretEnv is the environment variable that overrides secret key (e.g.
// email.password → HARK_EMAIL_PASSWORD); the same name with _FILE names a
// file holding it.
func SecretEnv(key string) string {
	return "HARK_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// secrets fills each secret from, in order of precedence: its environment
// variable, the file its _FILE variable names, the file its _file key
// names, the key itself. Keeping secrets out of the file lets the file be
// world-readable and committed.
func (d *decoder) secrets(c *Config, env Env, dir string) {
	for _, s := range secretsOf(c) {
		name := SecretEnv(s.key)
		if v, ok := env(name); ok {
			*s.value = v
			continue
		}
		if p, ok := env(name + "_FILE"); ok {
			*s.value = d.readSecret(nil, name+"_FILE", p)
			continue
		}
		if *s.file == "" {
			continue
		}
		fileKey := s.key + "_file"
		if *s.value != "" {
			d.errorAt(fileKey, "set either %s or %s, not both", s.key, fileKey)
			continue
		}
		p := *s.file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		*s.value = d.readSecret(d.at[fileKey], fileKey, p)
	}
}

func (d *decoder) readSecret(n *yaml.Node, key, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		d.errorf(n, key, "read secret: %v", err)
		return ""
	}
	return strings.TrimRight(string(data), "\r\n")
}

// derive fills defaults that depend on other keys: a local MTA needs no
// TLS, a remote one gets STARTTLS; the port follows the TLS mode.
func (d *decoder) derive(c *Config) {
	if !d.set("email.tls") {
		c.Email.TLS = TLSStartTLS
		if isLoopback(c.Email.SMTPHost) {
			c.Email.TLS = TLSNone
		}
	}
	if !d.set("email.smtp_port") {
		switch c.Email.TLS {
		case TLSStartTLS:
			c.Email.SMTPPort = 587
		case TLSImplicit:
			c.Email.SMTPPort = 465
		default:
			c.Email.SMTPPort = 25
		}
	}
	if !d.set("web.base_url") {
		host, port, err := net.SplitHostPort(c.Web.Listen)
		if err == nil {
			if host == "" || net.ParseIP(host).IsUnspecified() {
				host = "localhost"
			}
			c.Web.BaseURL = "http://" + net.JoinHostPort(host, port) + "/"
		}
	}
	if c.IRC.SASLUser == "" && c.IRC.SASLPassword != "" {
		c.IRC.SASLUser = c.IRC.Nick
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
