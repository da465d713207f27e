package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// webClient is a browser-less client of svc's web UI logged in as name.
func webClient(t *testing.T, svc *service, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm("http://"+svc.web+"/login", url.Values{"username": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse("http://" + svc.web + "/")
	if len(jar.Cookies(u)) == 0 {
		t.Fatalf("log in as %s: %s, no session cookie", name, resp.Status)
	}
	return c
}

// callAPI sends in as JSON to the web API and decodes the answer into
// out (nil to ignore it); an answer other than 2xx fails the test.
func callAPI(t *testing.T, c *http.Client, svc *service, method, path string, in, out any) {
	t.Helper()
	status, body := rawAPI(t, c, svc, method, path, in)
	if status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, status, body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(body), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, body)
		}
	}
}

// TestServeFeedsAnIRCChannel: alice adds #feed as an IRC channel feed
// through the web API; the bot posts the confirmation code in the
// channel, where carol, a second client, reads it; alice enters it, and
// a notification published on the bus through hark serve reaches carol
// in the channel.
func TestServeFeedsAnIRCChannel(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	ircd := testpeer.StartIRCd(t)
	carol := testpeer.DialIRC(t, ircd.Addr, "carol")
	carol.Send("JOIN #feed")
	carol.Wait(" 366 ")
	svc := newService(t, pub.Endpoint, ircConfig(ircd)+`delivery:
  retry: {backoff_min: 1s, backoff_max: 2s}
  flood: {rate: 0}
`)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "correct horse battery", "user", "passwd", "alice")
	svc.start(t)
	svc.settle(t, pub)

	web := webClient(t, svc, "alice", "correct horse battery")
	var dest struct {
		ID int64 `json:"id"`
	}
	callAPI(t, web, svc, "POST", "/destinations", map[string]any{"kind": "irc-channel", "address": "#feed"}, &dest)
	posted := carol.Wait("PRIVMSG #feed :alice added this channel")
	code := regexp.MustCompile(`enter the code (\w+)`).FindStringSubmatch(posted.Raw)
	if code == nil {
		t.Fatalf("no code in %q", posted.Raw)
	}
	callAPI(t, web, svc, "POST", fmt.Sprintf("/destinations/%d/confirm", dest.ID), map[string]string{"code": code[1]}, nil)

	path := filepath.Join(svc.dir, "alice.json")
	export := `{"version": 1, "user": "alice", "filters": [{"name": "ticks", "active": true, "destinations": ["irc-channel:#feed"],
	"rules": [{"kind": "topic", "args": {"pattern": "*.tick.*"}}]}]}`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	n := 0
	svc.eventually(t, "a tick reaches #feed", func() bool {
		n++ // each a new message: the bus's duplicates are dropped
		tick(t, pub, n)
		return len(carol.Lines(" PRIVMSG #feed :[tick] tick.n")) > 0
	})
}
