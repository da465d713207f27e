package testpeer

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ngircdConf is the smallest ngircd setup tests need: loopback only, no
// DNS, ident or PAM lookups that would stall registration, no flood
// penalties (MaxPenaltyTime=0) so the client's own rate limit is what a
// test measures, and long nicks so tests can name their clients freely.
const ngircdConf = `[Global]
Name = irc.hark.test
Info = hark test server
Listen = 127.0.0.1
Ports = %d
[Limits]
MaxPenaltyTime = 0
MaxNickLength = 30
PingTimeout = 120
PongTimeout = 60
[Options]
DNS = no
Ident = no
PAM = no
`

// IRCd is Debian's ngircd listening on a free loopback port.
type IRCd struct {
	// Addr is host:port for clients; it stays the same across Restart.
	Addr string
	// TLSAddr is host:port of the TLS listener, and RootCAs trusts its
	// self-signed certificate; both are set by StartIRCdTLS only.
	TLSAddr string
	RootCAs *x509.CertPool
	t       testing.TB
	conf    string
	cmd     *exec.Cmd
	log     *bytes.Buffer
}

// StartIRCd starts ngircd in the foreground on a free port and stops it
// in t.Cleanup. Without ngircd the test skips, or fails when CI=true.
func StartIRCd(t testing.TB) *IRCd {
	t.Helper()
	return startIRCd(t, false)
}

// StartIRCdTLS is StartIRCd with a TLS listener too, on a certificate
// for 127.0.0.1 made for the test.
func StartIRCdTLS(t testing.TB) *IRCd {
	t.Helper()
	return startIRCd(t, true)
}

func startIRCd(t testing.TB, withTLS bool) *IRCd {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		Unavailable(t, "ngircd", "ngircd", err)
	}
	// ngircd drops root for nobody before it reads the key: the files
	// must be readable by anyone (they are a throwaway test key).
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	d := &IRCd{Addr: fmt.Sprintf("127.0.0.1:%d", port), t: t, conf: filepath.Join(dir, "ngircd.conf")}
	conf := fmt.Sprintf(ngircdConf, port)
	if withTLS {
		tlsPort := FreePort(t)
		d.TLSAddr = fmt.Sprintf("127.0.0.1:%d", tlsPort)
		d.RootCAs = selfSigned(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
		conf += fmt.Sprintf("[SSL]\nPorts = %d\nCertFile = %s\nKeyFile = %s\n", tlsPort, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	}
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("write ngircd config: %v", err)
	}
	d.start(bin)
	t.Cleanup(d.Stop)
	return d
}

// selfSigned writes a certificate and key for 127.0.0.1 as PEM files and
// returns a pool that trusts the certificate.
func selfSigned(t testing.TB, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irc.hark.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func (d *IRCd) start(bin string) {
	d.t.Helper()
	d.log = new(bytes.Buffer)
	d.cmd = exec.Command(bin, "-n", "-f", d.conf)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start ngircd: %v", err)
	}
	deadline := time.Now().Add(peerTimeout)
	for {
		c, err := net.Dial("tcp", d.Addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("ngircd never listened on %s: %v\n%s", d.Addr, err, d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills ngircd, as an outage would, and reaps it.
func (d *IRCd) Stop() {
	if d.cmd == nil || d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
}

// Restart starts ngircd again on the same port after Stop.
func (d *IRCd) Restart() {
	d.t.Helper()
	d.Stop()
	d.start(d.cmd.Path)
}

// Line is one line an IRC client received and when it arrived.
type Line struct {
	Raw string // as on the wire, without CR LF
	At  time.Time
}

// IRCClient is a plain TCP IRC client: it registers a nick, answers PINGs
// and records every line the server sends it, so tests see exactly what a
// person's client would.
type IRCClient struct {
	Nick string
	t    testing.TB
	conn net.Conn

	mu    sync.Mutex
	lines []Line
	more  chan struct{} // closed and replaced whenever a line arrives
}

// DialIRC connects nick to addr and waits until the server welcomed it.
func DialIRC(t testing.TB, addr, nick string) *IRCClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial irc %s: %v", addr, err)
	}
	c := &IRCClient{Nick: nick, t: t, conn: conn, more: make(chan struct{})}
	t.Cleanup(func() { conn.Close() })
	go c.read()
	c.Send("NICK " + nick)
	c.Send("USER " + nick + " 0 * :hark test client")
	c.Wait(" 001 ")
	return c
}

func (c *IRCClient) read() {
	r := bufio.NewReader(c.conn)
	for {
		raw, err := r.ReadString('\n')
		if err != nil {
			return
		}
		now := time.Now()
		raw = strings.TrimRight(raw, "\r\n")
		if token, ok := strings.CutPrefix(raw, "PING "); ok {
			fmt.Fprintf(c.conn, "PONG %s\r\n", token)
		}
		c.mu.Lock()
		c.lines = append(c.lines, Line{Raw: raw, At: now})
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
	}
}

// Send writes one raw line.
func (c *IRCClient) Send(line string) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", line); err != nil {
		c.t.Fatalf("irc client %s: send %q: %v", c.Nick, line, err)
	}
}

// Privmsg sends text to target.
func (c *IRCClient) Privmsg(target, text string) {
	c.t.Helper()
	c.Send("PRIVMSG " + target + " :" + text)
}

// Lines returns every line received so far that contains substr.
func (c *IRCClient) Lines(substr string) []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Line
	for _, l := range c.lines {
		if strings.Contains(l.Raw, substr) {
			out = append(out, l)
		}
	}
	return out
}

// WaitN waits until n lines containing substr have arrived and returns
// them; the test fails with everything received after timeout.
func (c *IRCClient) WaitN(substr string, n int, timeout time.Duration) []Line {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		more := c.more
		c.mu.Unlock()
		if got := c.Lines(substr); len(got) >= n {
			return got
		}
		select {
		case <-more:
		case <-deadline:
			var all []string
			for _, l := range c.Lines("") {
				all = append(all, l.Raw)
			}
			c.t.Fatalf("irc client %s: %d lines with %q after %v, want %d; received:\n%s",
				c.Nick, len(c.Lines(substr)), substr, timeout, n, strings.Join(all, "\n"))
		}
	}
}

// Wait waits for one line containing substr and returns the first such.
func (c *IRCClient) Wait(substr string) Line {
	c.t.Helper()
	return c.WaitN(substr, 1, peerTimeout)[0]
}

// CheckPace fails the test if lines arrived faster than a token bucket of
// one line per interval with burst allows: in any stretch of time at most
// burst + 1 + (elapsed + paceJitter)/interval lines. The jitter is time
// lines sent at pace may spend held up on the way (ngircd, the reading
// client, a loaded machine's scheduler) and then arrive together; a
// sender that ignores its pace still fails, its lines arriving many
// times faster.
func CheckPace(t testing.TB, lines []Line, interval time.Duration, burst int) {
	t.Helper()
	for i := range lines {
		for j := i + 1; j < len(lines); j++ {
			elapsed := lines[j].At.Sub(lines[i].At)
			if allowed := burst + 1 + int((elapsed+paceJitter)/interval); j-i+1 > allowed {
				t.Fatalf("lines %d..%d (%d lines) arrived within %v; one per %v with a burst of %d allows %d",
					i, j, j-i+1, elapsed, interval, burst, allowed)
			}
		}
	}
}

// paceJitter is how long CheckPace lets lines be held up on their way.
const paceJitter = 250 * time.Millisecond
