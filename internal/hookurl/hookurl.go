// Package hookurl checks the URLs users give as webhook and ntfy
// destinations, and their secrets (a webhook's signing secret, an ntfy
// access token). It depends on nothing in hark, so the store (which
// validates every destination it saves) and the senders share one
// definition of a valid address.
package hookurl

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Webhook reports whether address is a URL a webhook can be sent to:
// absolute, http or https, with a host, no user part and no fragment.
// Whether the host is public is decided when it is dialed.
func Webhook(address string) error {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an http or https URL like https://ci.example.org/hooks/hark", address)
	}
	return nil
}

// Ntfy splits an ntfy topic URL (http or https, a host, one path
// segment: the topic) into the URL to publish to and the Authorization
// header its user part asks for: https://:TOKEN@host/topic is a bearer
// access token, https://USER:PASSWORD@host/topic basic authentication,
// none "".
func Ntfy(address string) (publish, authorization string, err error) {
	u, err := url.Parse(address)
	topic := ""
	if err == nil {
		topic = strings.Trim(u.Path, "/")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || topic == "" ||
		strings.Contains(topic, "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q is not an ntfy topic URL like https://ntfy.sh/my-hark-alerts", address)
	}
	if u.User != nil {
		name := u.User.Username()
		pass, hasPass := u.User.Password()
		switch {
		case name == "" && hasPass && pass != "":
			authorization = "Bearer " + pass
		case name != "" && hasPass:
			req := http.Request{Header: http.Header{}}
			req.SetBasicAuth(name, pass)
			authorization = req.Header.Get("Authorization")
		default:
			return "", "", fmt.Errorf("%q: the part before @ must be :TOKEN or USER:PASSWORD", address)
		}
		u.User = nil
	}
	return u.String(), authorization, nil
}

// SecretPrefix starts a webhook signing secret as users see it.
const SecretPrefix = "whsec_"

// Secret reads a webhook signing secret as Standard Webhooks libraries
// take it: whsec_ and the base64 of 24 to 64 random bytes. Its error
// does not quote the secret.
func Secret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("is not %s followed by the base64 of 24 to 64 bytes (e.g. %s plus the output of openssl rand -base64 32)", SecretPrefix, SecretPrefix)
	}
	return key, nil
}

// NewSecret is a new random webhook signing secret: 32 bytes, as
// whsec_ and their base64.
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand crashes the program instead)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// NtfyToken checks an ntfy access token (tk_ and 29 letters and digits
// as ntfy issues them; other printable tokens are let through for
// servers that differ). Its error does not quote the token.
func NtfyToken(s string) error {
	if s == "" || strings.IndexFunc(s, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
		return fmt.Errorf("is not an ntfy access token like tk_… (printable characters, no spaces)")
	}
	return nil
}
