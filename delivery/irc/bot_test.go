package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/internal/testpeer"
	"hark/store"
)

// wait bounds every wait on the network in these tests; it is only
// reached when a test fails.
const wait = 20 * time.Second

// startBot runs a bot against addr until the test ends and waits until
// it is registered.
func startBot(t *testing.T, opts Options) *Bot {
	t.Helper()
	opts.BackoffMin, opts.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	if opts.Nick == "" {
		opts.Nick = "hark"
	}
	if opts.Interval == 0 {
		opts.Interval = 10 * time.Millisecond
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitConnected(t, b)
	return b
}

func waitConnected(t *testing.T, b *Bot) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("bot never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func send(t *testing.T, b *Bot, batch *delivery.Batch) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if retryable, err := b.Send(ctx, batch); err != nil {
		t.Fatalf("send (retryable %v): %v", retryable, err)
	}
}

// privmsgText is the text of a received ":prefix PRIVMSG target :text".
func privmsgText(raw string) string {
	_, text, _ := strings.Cut(raw[1:], " :")
	return text
}

func TestNotificationReachesAnotherClient(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	b := startBot(t, Options{Server: ircd.Addr})
	send(t, b, batch(1, delivery.NotDigest, false, false))
	got := alice.WaitN("PRIVMSG alice :", 1, wait)
	if !strings.HasPrefix(got[0].Raw, ":hark!") || !strings.Contains(got[0].Raw, "python-foo-1.0-1.fc43") {
		t.Errorf("alice received %q", got[0].Raw)
	}
}

func TestLongMessageLinesFitTheProtocolLimitAsReceived(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	reader := testpeer.DialIRC(t, ircd.Addr, "a_reader_with_a_long_nick")
	// Room for the whole text: this test is about splitting, not the cap.
	b := startBot(t, Options{Server: ircd.Addr, Nick: "hark_with_a_long_nick_too", MaxLines: 100})
	long := batch(1, delivery.NotDigest, false, true)
	subtitle := strings.Repeat("Ünïcödé 日本語 😀 words and more words ", 60)
	long.Items[0].Subtitle = subtitle
	long.Destination.Address = reader.Nick
	send(t, b, long)
	lines := reader.WaitN("PRIVMSG "+reader.Nick+" :", 4, wait)
	time.Sleep(100 * time.Millisecond) // let any straggler arrive before counting
	lines = reader.Lines("PRIVMSG " + reader.Nick + " :")
	var text strings.Builder
	longest := 0
	for _, l := range lines {
		n := len(l.Raw) + len("\r\n")
		if n > maxLine {
			t.Errorf("a received line is %d bytes with its prefix: %q", n, l.Raw)
		}
		longest = max(longest, n)
		text.WriteString(privmsgText(l.Raw))
	}
	t.Logf("%d lines, the longest %d bytes as received", len(lines), longest)
	noSpace := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	if !strings.Contains(noSpace(text.String()), noSpace(subtitle)) {
		t.Errorf("the lines do not hold the whole text")
	}
	if width := b.Width(reader.Nick); width <= budget(assumedPrefix(b.Nick()), reader.Nick) {
		t.Errorf("width %d: the bot did not learn its prefix from the server", width)
	}
}

func TestBurstOfHundredIsDeliveredWithinTheRateLimit(t *testing.T) {
	const interval, burst = 25 * time.Millisecond, 3
	ircd := testpeer.StartIRCd(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	b := startBot(t, Options{Server: ircd.Addr, Interval: interval, Burst: burst})
	for i := range 100 {
		one := batch(1, delivery.NotDigest, false, false)
		one.Items[0] = item(i, time.Minute)
		send(t, b, one)
	}
	lines := alice.WaitN("PRIVMSG alice :", 100, wait)
	for i, l := range lines {
		if want := fmt.Sprintf("python-foo-1.%d-1.fc43 ", i); !strings.Contains(l.Raw, want) {
			t.Fatalf("line %d is %q, want it to hold %q", i, l.Raw, want)
		}
	}
	testpeer.CheckPace(t, lines, interval, burst)
}

func TestBotReconnectsAndDeliversAfterServerRestart(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	b := startBot(t, Options{Server: ircd.Addr, Channels: []string{"#hark"}, ConnectWait: 200 * time.Millisecond})
	ircd.Stop()
	deadline := time.Now().Add(wait)
	for b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("bot did not notice the server went away")
		}
		time.Sleep(10 * time.Millisecond)
	}
	retryable, err := b.Send(context.Background(), batch(1, delivery.NotDigest, false, false))
	if !retryable || !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send during the outage: retryable %v, err %v; want a retryable ErrNotConnected", retryable, err)
	}
	ircd.Restart()
	watcher := testpeer.DialIRC(t, ircd.Addr, "watcher")
	watcher.Send("JOIN #hark")
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	waitConnected(t, b)
	send(t, b, batch(1, delivery.NotDigest, false, false))
	alice.WaitN("PRIVMSG alice :", 1, wait)
	deadline = time.Now().Add(wait)
	for !inChannel(watcher, "hark") {
		if time.Now().After(deadline) {
			t.Fatal("the bot did not rejoin #hark")
		}
		watcher.Send("NAMES #hark")
		time.Sleep(20 * time.Millisecond)
	}
}

// inChannel says whether a NAMES reply the client received lists nick.
func inChannel(c *testpeer.IRCClient, nick string) bool {
	for _, l := range c.Lines(" 353 ") {
		for _, n := range strings.Fields(privmsgText(l.Raw)) {
			if strings.TrimLeft(n, "@+") == nick {
				return true
			}
		}
	}
	return false
}

func TestNickInUseFallsBackThenRegainsIt(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	squatter := testpeer.DialIRC(t, ircd.Addr, "hark")
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	b := startBot(t, Options{Server: ircd.Addr, PingEvery: 50 * time.Millisecond})
	if b.Nick() != "hark_" {
		t.Errorf("bot nick %q, want hark_", b.Nick())
	}
	send(t, b, batch(1, delivery.NotDigest, false, false))
	if got := alice.WaitN("PRIVMSG alice :", 1, wait)[0].Raw; !strings.HasPrefix(got, ":hark_!") {
		t.Errorf("alice received %q, want it from hark_", got)
	}
	squatter.Send("QUIT")
	deadline := time.Now().Add(wait)
	for b.Nick() != "hark" {
		if time.Now().After(deadline) {
			t.Fatalf("bot stayed %q after its nick was free", b.Nick())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegistersWhenTheServerHasNoSASL(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	b := startBot(t, Options{Server: ircd.Addr, SASLPassword: "secret"})
	if b.Nick() != "hark" {
		t.Errorf("bot nick %q, want hark", b.Nick())
	}
}

func TestIdentifiesToNickServ(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	nickserv := testpeer.DialIRC(t, ircd.Addr, "NickServ")
	startBot(t, Options{Server: ircd.Addr, NickServPassword: "s3cret"})
	nickserv.WaitN("PRIVMSG NickServ :IDENTIFY hark s3cret", 1, wait)
}

func TestUnreachableServerIsRetryable(t *testing.T) {
	b, err := New(Options{Server: fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t)), Nick: "hark", ConnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if retryable, err := b.Send(ctx, batch(1, delivery.NotDigest, false, false)); !retryable || err == nil {
		t.Errorf("send with the server down: retryable %v, err %v", retryable, err)
	}
}

func TestConfirmationOnlyToIdentifiedNicks(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	testpeer.DialIRC(t, ircd.Addr, "alice")
	b := startBot(t, Options{Server: ircd.Addr, RequireIdentified: true})
	c := delivery.Confirmation{User: "alice", Destination: store.Destination{Kind: store.KindIRC, Address: "alice"}, Code: "k7q2zpabcd"}
	if err := b.Confirm(context.Background(), c); !errors.Is(err, ErrNotIdentified) {
		t.Errorf("code to an unidentified nick: %v, want ErrNotIdentified", err)
	}
}

func TestOfflineNickIsRetryable(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	b := startBot(t, Options{Server: ircd.Addr})
	retryable, err := b.Send(context.Background(), batch(1, delivery.NotDigest, false, false))
	if !retryable || !errors.Is(err, ErrOffline) {
		t.Fatalf("send to an offline nick: retryable %v, err %v; want a retryable ErrOffline", retryable, err)
	}
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	send(t, b, batch(1, delivery.NotDigest, false, false))
	alice.WaitN("PRIVMSG alice :", 1, wait)
}

func TestDeliversOverTLS(t *testing.T) {
	ircd := testpeer.StartIRCdTLS(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	b := startBot(t, Options{Server: ircd.TLSAddr, TLS: true, TLSConfig: &tls.Config{RootCAs: ircd.RootCAs}})
	send(t, b, batch(1, delivery.NotDigest, false, false))
	alice.WaitN("PRIVMSG alice :", 1, wait)
}

func TestTLSRefusesAnUntrustedCertificate(t *testing.T) {
	ircd := testpeer.StartIRCdTLS(t)
	b, err := New(Options{Server: ircd.TLSAddr, Nick: "hark", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.connect(context.Background()); err == nil || !strings.Contains(err.Error(), "tls handshake") {
		t.Errorf("connect with a certificate nobody trusts: %v, want a tls handshake error", err)
	}
}

// A notification with a huge subtitle takes MaxLines lines, the last
// linking to the rest, so the notifications behind it, another user's
// included, wait for MaxLines lines at most.
func TestHugeNotificationIsCutAndDoesNotHoldOthersBack(t *testing.T) {
	const maxLines = 5
	ircd := testpeer.StartIRCd(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	bob := testpeer.DialIRC(t, ircd.Addr, "bob")
	b := startBot(t, Options{Server: ircd.Addr, Interval: 25 * time.Millisecond, MaxLines: maxLines})

	huge := batch(1, delivery.NotDigest, false, false)
	huge.Items[0].Subtitle = strings.Repeat("a subtitle of a hundred kilobytes ", 3000)
	huge.Items[0].HistoryLink = "https://hark.example/history#n-42"
	send(t, b, huge)
	forBob := batch(1, delivery.NotDigest, false, false)
	forBob.Destination.Address = "bob"
	send(t, b, forBob)
	bob.WaitN("PRIVMSG bob :", 1, wait)

	// The bot writes in order: once this one is in, all of the huge one is.
	after := batch(1, delivery.NotDigest, false, false)
	after.Items[0].Subtitle = "the next one"
	send(t, b, after)
	alice.WaitN("the next one", 1, wait)
	lines := alice.Lines("PRIVMSG alice :")
	if len(lines) != maxLines+1 {
		t.Fatalf("alice received %d lines, want %d of the huge notification and 1 after it", len(lines), maxLines)
	}
	if cut := lines[maxLines-1].Raw; !strings.Contains(cut, "more lines: https://hark.example/history#n-42") {
		t.Errorf("the last line of the huge notification is %q; want it to say where the rest is", cut)
	}
}
