package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// ircLineInterval and ircBurst are the bot's token bucket in these tests:
// fast enough for a quick test, slow enough to measure.
const (
	ircLineInterval = 20 * time.Millisecond
	ircBurst        = 3
)

// ircService is `hark serve` running with its peers: a libzmq publisher,
// ngircd, and alice connected to it.
type ircService struct {
	*service
	pub   *testpeer.Pub
	ircd  *testpeer.IRCd
	alice *testpeer.IRCClient
}

// startIRCService starts `hark serve` reading a libzmq publisher and
// delivering to ngircd, with alice's badge awards going to her nick:
// flood control collects into a digest every second, and retries come
// back within two.
func startIRCService(t *testing.T) ircService {
	t.Helper()
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	ircd := testpeer.StartIRCd(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	svc := newService(t, pub.Endpoint, ircConfig(ircd)+`delivery:
  retry: {backoff_min: 1s, backoff_max: 2s}
  flood: {rate: 30, window: 1m, digest_for: 1s}
`)
	adminMust(t, "", "user", "add", "alice", "--irc", "alice", "--confirmed")
	path := filepath.Join(svc.dir, "alice.json")
	filter := `{"version": 1, "user": "alice", "filters": [{"name": "badges", "active": true,
		"destinations": ["irc:alice"], "rules": [{"kind": "app", "args": {"names": ["fedbadges"]}}]}]}`
	if err := os.WriteFile(path, []byte(filter), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)
	return ircService{svc, pub, ircd, alice}
}

// ircConfig is the irc section of a service delivering on ircd as
// harkbot, at the tests' pace.
func ircConfig(ircd *testpeer.IRCd) string {
	return fmt.Sprintf(`irc:
  server: %q
  tls: false
  nick: harkbot
  line_interval: %s
  burst: %d
`, ircd.Addr, ircLineInterval, ircBurst)
}

// award publishes a badge award whose subtitle holds name.
func award(t *testing.T, pub *testpeer.Pub, name string) {
	t.Helper()
	pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.fedbadges.badge.award",
		"msg":    map[string]any{"badge": map[string]any{"name": name}, "user": map[string]any{"username": "ralph"}},
		"msg_id": fmt.Sprintf("2026-%s-%d", strings.ReplaceAll(name[:min(len(name), 12)], " ", "-"), time.Now().UnixNano())})...)
}

// received is the text of every PRIVMSG alice got, in order, one line
// each, with the raw lines.
func received(alice *testpeer.IRCClient) (text string, lines []testpeer.Line) {
	lines = alice.Lines(" PRIVMSG alice :")
	var b strings.Builder
	for _, l := range lines {
		_, t, _ := strings.Cut(l.Raw, " PRIVMSG alice :")
		b.WriteString(t + "\n")
	}
	return b.String(), lines
}

func TestServeDeliversToIRC(t *testing.T) {
	svc := startIRCService(t)
	pub, alice := svc.pub, svc.alice

	t.Run("a long message is split into lines that fit 512 bytes as received", func(t *testing.T) {
		long := strings.Repeat("Très long nom de badge — 日本語 😀 ", 40)
		award(t, pub, long)
		svc.eventually(t, "alice receives the whole long message", func() bool {
			// Lines break at spaces, so compare without them.
			text, _ := received(alice)
			bare := strings.NewReplacer(" ", "", "\n", "")
			return strings.Contains(bare.Replace(text), bare.Replace(long))
		})
		_, lines := received(alice)
		if len(lines) < 2 {
			t.Fatalf("the long message came as %d line(s)", len(lines))
		}
		for _, l := range lines {
			if n := len(l.Raw) + len("\r\n"); n > 512 {
				t.Errorf("a line alice received is %d bytes with the server's prefix: %q", n, l.Raw)
			}
		}
	})

	t.Run("a burst of 100 is delivered completely within the rate limit", func(t *testing.T) {
		_, before := received(alice)
		for i := range 100 {
			award(t, pub, fmt.Sprintf("Burst %03d", i))
		}
		svc.eventually(t, "alice has all 100 awards", func() bool {
			text, _ := received(alice)
			for i := range 100 {
				if !strings.Contains(text, fmt.Sprintf("Burst %03d", i)) {
					return false
				}
			}
			return true
		})
		_, lines := received(alice)
		lines = lines[len(before):]
		testpeer.CheckPace(t, lines, ircLineInterval, ircBurst)
		t.Logf("100 awards arrived as %d lines over %v", len(lines), lines[len(lines)-1].At.Sub(lines[0].At).Round(time.Millisecond))
	})
	svc.stop(t)
}

func TestServeIRCDeliversWhatQueuedWhileTheServerWasDown(t *testing.T) {
	svc := startIRCService(t)
	pub, ircd, alice := svc.pub, svc.ircd, svc.alice
	award(t, pub, "Before the outage")
	alice.WaitN("Before the outage", 1, 20*time.Second)

	ircd.Stop()
	for i := range 3 {
		award(t, pub, fmt.Sprintf("During the outage %d", i))
	}
	svc.eventually(t, "the three notifications are queued", func() bool {
		n := 0
		for _, x := range listNotifications(t) {
			if x.State != "sent" {
				n++
			}
		}
		return n == 3
	})
	ircd.Restart()
	alice = testpeer.DialIRC(t, ircd.Addr, "alice")
	for i := range 3 {
		alice.WaitN(fmt.Sprintf("During the outage %d", i), 1, 30*time.Second)
	}
	svc.eventually(t, "every notification is recorded as sent", func() bool {
		for _, x := range listNotifications(t) {
			if x.State != "sent" {
				return false
			}
		}
		return true
	})
	svc.stop(t)
	for i := range 3 {
		if got := len(alice.Lines(fmt.Sprintf("During the outage %d", i))); got != 1 {
			t.Errorf("alice received the award %d sent during the outage %d times, want once", i, got)
		}
	}
}

// TestServeStopsADisabledUsersFiltersUntilEnabled: once an admin
// disables alice, the running service stops matching her filters (the
// index reloads), so bus messages make no notifications for her; enabled
// again, they reach her nick.
func TestServeStopsADisabledUsersFiltersUntilEnabled(t *testing.T) {
	s := startIRCService(t)
	award(t, s.pub, "before")
	s.alice.Wait("before")

	adminMust(t, "", "user", "disable", "alice")
	n := 0
	s.eventually(t, "a message committed without a notification for alice", func() bool {
		n++
		name := fmt.Sprintf("during %03d", n)
		committed := s.metric(t, "hark_messages_committed_total")
		award(t, s.pub, name)
		s.eventually(t, name+" is committed", func() bool { return s.metric(t, "hark_messages_committed_total") > committed })
		return !slices.ContainsFunc(listNotifications(t), func(x notification) bool {
			return strings.Contains(x.MsgID, strings.ReplaceAll(name, " ", "-"))
		})
	})

	adminMust(t, "", "user", "enable", "alice")
	m := 0
	s.eventually(t, "an award reaches alice after she is enabled", func() bool {
		m++
		award(t, s.pub, fmt.Sprintf("after %d", m))
		time.Sleep(100 * time.Millisecond)
		return len(s.alice.Lines("after ")) > 0
	})
	last := fmt.Sprintf("during %03d", n)
	if got := s.alice.Lines(last); len(got) != 0 {
		t.Errorf("alice received %q, published while she was disabled and not matched", got[0].Raw)
	}
}
