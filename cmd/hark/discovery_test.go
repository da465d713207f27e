package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
)

// gpgSigned is a fedmsg envelope on topic, signed by gpg itself the way
// Debian's fedmsg signs: a detached signature over the canonical msg.
func gpgSigned(t *testing.T, g *testpeer.GPG, key, topic, id string, msg map[string]any) [][]byte {
	t.Helper()
	sig := g.Run(bus.Canonical(msg), "--local-user", key, "--detach-sign")
	return frames(t, map[string]any{"topic": topic, "msg": msg, "msg_id": id, "i": 1,
		"timestamp": time.Now().Unix(), "username": "dak", "crypto": "gpg",
		"signature": base64.StdEncoding.EncodeToString(sig)})
}

// TestServeFindsPublishersBySRVAndChecksGPG runs `hark serve` with no
// configured endpoint: it finds its publisher in a DNS zone on loopback,
// follows the zone when the publisher moves, and commits only the
// messages a keyring key signed.
func TestServeFindsPublishersBySRVAndChecksGPG(t *testing.T) {
	testpeer.RequireZMQ(t)
	g := testpeer.StartGPG(t)
	key := g.GenKey("ftpmaster <ftpmaster@example.org>", "never")
	stranger := g.GenKey("stranger <stranger@example.org>", "never")
	a, b := testpeer.StartPub(t), testpeer.StartPub(t)
	zone := testpeer.StartDNS(t)
	setPublisher := func(p *testpeer.Pub) {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.Endpoint, "tcp://"))
		n, _ := strconv.Atoi(port)
		zone.SetSRV("_fedmsg._tcp.bus.test", testpeer.SRV{Target: "localhost", Port: uint16(n)})
	}
	setPublisher(a)

	svc := newService(t, "tcp://127.0.0.1:1", "")
	keyring := g.Run(nil, "--export", key)
	if err := os.WriteFile(svc.dir+"/publishers.gpg", keyring, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("store:\n  path: hark.db\nweb:\n  listen: %s\nbus:\n  inbound: \"\"\n  endpoints: []\n"+
		"  srv_domains: [bus.test]\n  srv_resolver: %s\n  srv_refresh: 1s\n  validate_signatures: true\n  gpg_keyring: publishers.gpg\n",
		svc.web, zone.Addr)
	if err := os.WriteFile(svc.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	svc.start(t)
	svc.settle(t, a)

	topic := "org.debian.dev.dak.upload"
	msg := map[string]any{"source": "hello", "version": "2.10-3"}
	good := gpgSigned(t, g, key, topic, "good-1", msg)
	var tampered map[string]any
	json.Unmarshal(good[1], &tampered)
	tampered["msg"] = map[string]any{"source": "hello", "version": "2.10-4"}
	tampered["msg_id"] = "tampered-1"
	a.Send(frames(t, tampered)...)
	a.Send(gpgSigned(t, g, stranger, topic, "stranger-1", msg)...)
	a.Send(good...)
	svc.eventually(t, "the signed message is committed", func() bool {
		return svc.metric(t, "hark_messages_committed_total") >= 1
	})

	// The publisher moves: hark follows the zone at its next refresh.
	setPublisher(b)
	svc.settle(t, b)
	b.Send(gpgSigned(t, g, key, topic, "good-2", msg)...)
	svc.eventually(t, "the moved publisher's message is committed", func() bool {
		return svc.metric(t, "hark_messages_committed_total") >= 2
	})
	// The tampered and the stranger's message came first on the same
	// socket, so they were judged before the first commit.
	if n := svc.metric(t, "hark_messages_committed_total"); n != 2 {
		t.Errorf("committed %v messages, want the 2 signed by the keyring's key", n)
	}
	if n := svc.metric(t, "hark_bus_bad_signature_total"); n < 2 {
		t.Errorf("%v messages refused for their signature, want at least the tampered and the stranger's", n)
	}
	svc.stop(t)
	for _, want := range []string{"subscribing to discovered endpoint", "dropping endpoint no longer discovered"} {
		if !strings.Contains(svc.log.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, svc.log)
		}
	}
}
