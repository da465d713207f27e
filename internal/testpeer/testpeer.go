// Package testpeer starts the real peers hark's tests talk to: libzmq
// sockets (Debian's /usr/bin/python3 with python3-zmq) on free loopback
// ports, stopped in t.Cleanup. Without its peer a test skips with a clear
// message, and fails instead when CI=true, so CI can never pass by skipping.
package testpeer

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Python is the interpreter that has python3-zmq on Debian; the python3
// first on PATH may lack it.
const Python = "/usr/bin/python3"

//go:embed peer.py
var peerScript string

var (
	zmqOnce sync.Once
	zmqErr  error
)

// Unavailable skips the test, or fails it when CI=true, because the peer
// named by what is not there; install names the Debian packages that
// provide it. Every peer helper reports a missing peer through it.
func Unavailable(t testing.TB, what, install string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available (%v); on Debian: apt-get install %s, or run .ci/run", what, err, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireZMQ makes sure libzmq peers can be started: /usr/bin/python3 with
// the zmq module. It skips or fails the test as Missing does.
func RequireZMQ(t testing.TB) {
	t.Helper()
	zmqOnce.Do(func() {
		out, err := exec.Command(Python, "-c", "import zmq").CombinedOutput()
		if err != nil {
			zmqErr = fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
		}
	})
	if zmqErr != nil {
		Unavailable(t, Python+" with python3-zmq", "python3-zmq", zmqErr)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago, for
// peers that must be told their port before they bind.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Endpoint is a ZeroMQ TCP endpoint on the loopback address.
func Endpoint(port int) string {
	return fmt.Sprintf("tcp://127.0.0.1:%d", port)
}

// reply is one line a peer prints; Frames are base64 on the wire, which
// encoding/json decodes into []byte.
type reply struct {
	Port   int             `json:"port"`
	OK     int             `json:"ok"`
	Ready  bool            `json:"ready"`
	Frames [][]byte        `json:"frames"`
	Query  json.RawMessage `json:"query"`
}

// proc is one running peer process and the lines it prints.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan reply
	stderr *bytes.Buffer
	done   chan struct{}
}

func start(t testing.TB, args ...string) *proc {
	t.Helper()
	RequireZMQ(t)
	cmd := exec.Command(Python, append([]string{"-u", "-c", peerScript}, args...)...)
	p := &proc{name: args[0], cmd: cmd, lines: make(chan reply, 1024), stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("start %s peer: %v", p.name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("start %s peer: %v", p.name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s peer: %v", p.name, err)
	}
	go p.read(t, stdout)
	t.Cleanup(p.stop)
	return p
}

func (p *proc) read(t testing.TB, stdout io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("%s peer printed %q: %v", p.name, sc.Bytes(), err)
			continue
		}
		p.lines <- r
	}
}

// next waits for the peer's next line; a peer that dies or stays silent
// fails the test with what it printed on stderr.
func (p *proc) next(t testing.TB, timeout time.Duration) reply {
	t.Helper()
	select {
	case r := <-p.lines:
		return r
	case <-p.done:
		select {
		case r := <-p.lines:
			return r
		default:
		}
		t.Fatalf("%s peer exited: %s", p.name, p.stderr)
	case <-time.After(timeout):
		t.Fatalf("%s peer said nothing for %v; stderr: %s", p.name, timeout, p.stderr)
	}
	return reply{}
}

func (p *proc) send(t testing.TB, cmd any) {
	t.Helper()
	line, err := json.Marshal(cmd)
	if err != nil {
		t.Fatalf("encode command for %s peer: %v", p.name, err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("write to %s peer: %v; stderr: %s", p.name, err, p.stderr)
	}
}

// stop kills the peer at once, as a crash would, and reaps it.
func (p *proc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	<-p.done
}

// peerTimeout bounds every wait for a peer's answer: generous, because a
// loaded 2-core machine can be slow, and only reached when a test fails.
const peerTimeout = 20 * time.Second

// Pub is a libzmq PUB socket bound on the loopback address, as a fedmsg
// publisher's is.
type Pub struct {
	// Endpoint is where subscribers dial; it stays the same across Restart.
	Endpoint string
	t        testing.TB
	port     int
	hwm      int
	p        *proc
}

// StartPub binds a libzmq PUB on a free port with the default send high
// water mark (1000, as fedmsg leaves it).
func StartPub(t testing.TB) *Pub {
	return StartPubHWM(t, 1000)
}

// StartPubHWM is StartPub with a send high water mark; 0 queues without
// bound, for benchmarks that must not lose messages to a slow reader.
func StartPubHWM(t testing.TB, hwm int) *Pub {
	t.Helper()
	pub := &Pub{t: t, hwm: hwm}
	pub.p = start(t, "pub", "-", fmt.Sprint(hwm))
	pub.port = pub.p.next(t, peerTimeout).Port
	pub.Endpoint = Endpoint(pub.port)
	return pub
}

// Send publishes one message of the given frames and waits until libzmq
// has taken it.
func (pub *Pub) Send(frames ...[]byte) {
	pub.t.Helper()
	pub.p.send(pub.t, map[string]any{"frames": frames})
	pub.p.next(pub.t, peerTimeout)
}

// Burst publishes n messages cycling through ring, as fast as libzmq
// takes them, and returns without waiting for them to be sent; Wait
// collects the peer's acknowledgement.
func (pub *Pub) Burst(ring [][][]byte, n int) {
	pub.t.Helper()
	pub.p.send(pub.t, map[string]any{"ring": ring, "burst": n})
}

// Wait waits for the acknowledgement of a Burst.
func (pub *Pub) Wait() {
	pub.t.Helper()
	pub.p.next(pub.t, peerTimeout)
}

// Restart kills the publisher, as a crash would, and binds a new one on
// the same port.
func (pub *Pub) Restart() {
	pub.t.Helper()
	pub.p.stop()
	pub.p = start(pub.t, "pub", pub.Endpoint, fmt.Sprint(pub.hwm))
	pub.p.next(pub.t, peerTimeout)
}

// Sub is a libzmq SUB socket that reports every message it receives.
type Sub struct {
	t testing.TB
	p *proc
}

// StartSub starts a libzmq SUB subscribed to topic that binds endpoint
// (bind true, as a relay's inbound socket does) or connects to it.
func StartSub(t testing.TB, endpoint string, bind bool, topic string) *Sub {
	t.Helper()
	how := "connect"
	if bind {
		how = "bind"
	}
	s := &Sub{t: t, p: start(t, "sub", endpoint, how, topic)}
	s.p.next(t, peerTimeout)
	return s
}

// Next returns the frames of the next message the SUB receives, failing
// the test when none comes within the peer timeout.
func (s *Sub) Next() [][]byte {
	s.t.Helper()
	return s.p.next(s.t, peerTimeout).Frames
}

// Rep is a libzmq REP socket answering fedmsg replay queries from a fixed
// store of envelopes, as fedmsg.replay.ReplayContext does.
type Rep struct {
	// Endpoint is where replay clients dial.
	Endpoint string
	t        testing.TB
	p        *proc
}

// StartRep serves store, one JSON envelope (with its seq_id) per element.
func StartRep(t testing.TB, store [][]byte) *Rep {
	t.Helper()
	file := filepath.Join(t.TempDir(), "replay-store.jsonl")
	if err := os.WriteFile(file, append(bytes.Join(store, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatalf("write replay store: %v", err)
	}
	r := &Rep{t: t, p: start(t, "rep", file)}
	r.Endpoint = Endpoint(r.p.next(t, peerTimeout).Port)
	return r
}

// Query returns the next query the REP received, as JSON text.
func (r *Rep) Query() string {
	r.t.Helper()
	return string(r.p.next(r.t, peerTimeout).Query)
}
