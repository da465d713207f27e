// Package hookurl checks the URLs users give as webhook and ntfy
// destinations. It depends on nothing in hark, so the store (which
// validates every destination it saves) and the senders share one
// definition of a valid address.
package hookurl

import (
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
