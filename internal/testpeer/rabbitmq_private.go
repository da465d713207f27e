package testpeer

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ConsumerTimeout is how long the private broker lets a delivery go
// unacknowledged before it closes the consumer's channel, as RabbitMQ's
// consumer timeout does after 30 minutes in production: short, so a test
// can provoke that channel-only close. Tests on the private broker
// acknowledge faster than this unless that close is what they test.
const ConsumerTimeout = 3 * time.Second

// privateNode is one RabbitMQ node of the test binary's own: its node
// name, ports, cookie, data and logs are private, so stopping or breaking
// it leaves the RabbitMQ that every package's tests share alone.
type privateNode struct {
	name string // RABBITMQ_NODENAME
	url  string
	env  []string // HOME (the Erlang cookie) and the node's name
	bin  string   // the directory of rabbitmq-server and rabbitmqctl
	cmd  *exec.Cmd
	dir  string
	mu   sync.Mutex // one outage at a time
	// watchdog's end kills the node: see startPrivateNode.
	watchdog io.WriteCloser
}

var (
	privateOnce sync.Once
	private     *privateNode
	privateErr  error
)

// PrivateRabbitMQ returns a fresh Broker corner on a RabbitMQ node this
// test binary starts for itself on the first call (booting takes several
// seconds, so the tests of one binary share it). Tests that stop the
// broker (Outage) or close its connections must use it, never the shared
// one. The node is stopped when the binary's TestMain calls
// StopPrivateRabbitMQ; without rabbitmq-server the test skips, or fails
// when CI=true.
func PrivateRabbitMQ(t testing.TB) *Broker {
	t.Helper()
	privateOnce.Do(func() { private, privateErr = startPrivateNode() })
	if privateErr != nil {
		Unavailable(t, "a private rabbitmq-server node", "rabbitmq-server", privateErr)
	}
	return newBroker(t, private.url, private)
}

// StopPrivateRabbitMQ stops the private node if one was started; a
// package whose tests use PrivateRabbitMQ calls it from TestMain after
// m.Run.
func StopPrivateRabbitMQ() {
	if private == nil {
		return
	}
	private.stop()
}

// rabbitBin is where Debian keeps the broker's own scripts: the ones in
// /usr/sbin switch to the rabbitmq user, who could not write the test's
// directories.
func rabbitBin() (string, error) {
	const debian = "/usr/lib/rabbitmq/bin"
	if _, err := os.Stat(filepath.Join(debian, "rabbitmq-server")); err == nil {
		return debian, nil
	}
	p, err := exec.LookPath("rabbitmq-server")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

func startPrivateNode() (*privateNode, error) {
	bin, err := rabbitBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hark-rabbitmq-")
	if err != nil {
		return nil, err
	}
	port, dist, err := twoFreePorts()
	if err != nil {
		return nil, err
	}
	n := &privateNode{name: fmt.Sprintf("hark-test-%d@localhost", os.Getpid()), bin: bin, dir: dir,
		url: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)}
	conf := fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\nconsumer_timeout = %d\n", port, ConsumerTimeout.Milliseconds())
	// The channel checks its consumers' timeouts on its tick, once a
	// minute by default: often enough here that the close follows the
	// timeout closely.
	advanced := "[{rabbit, [{channel_tick_interval, 500}]}].\n"
	// No plugins: the management and Prometheus ones would bind ports
	// the shared broker holds.
	for name, text := range map[string]string{"rabbitmq.conf": conf, "advanced.config": advanced, "enabled_plugins": "[].\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	n.env = append(os.Environ(),
		"HOME="+dir, // the Erlang cookie the node and rabbitmqctl share
		"RABBITMQ_NODENAME="+n.name,
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", dist),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(dir, "advanced.config"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
	)
	out, err := os.Create(filepath.Join(dir, "server.out"))
	if err != nil {
		return nil, err
	}
	n.cmd = exec.Command(filepath.Join(bin, "rabbitmq-server"))
	n.cmd.Env, n.cmd.Dir, n.cmd.Stdout, n.cmd.Stderr = n.env, dir, out, out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so stop can end the node's whole group
	if err := n.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start rabbitmq-server: %w", err)
	}
	// A watchdog ends the node's process group and removes its files when
	// this test binary ends without StopPrivateRabbitMQ (a panic, a test
	// timeout, a kill): its standard input is a pipe only this process
	// holds.
	watchdog := exec.Command("/bin/sh", "-c", fmt.Sprintf("cat >/dev/null; kill -9 -%d; sleep 1; rm -rf '%s'", n.cmd.Process.Pid, dir))
	if n.watchdog, err = watchdog.StdinPipe(); err == nil {
		err = watchdog.Start()
	}
	if err != nil {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		return nil, fmt.Errorf("start rabbitmq watchdog: %w", err)
	}
	go watchdog.Wait()
	exited := make(chan struct{})
	go func() { n.cmd.Wait(); out.Close(); close(exited) }()
	// await_startup fails at once while the node is not registered yet:
	// ask until it answers, the server exits, or a minute passes.
	deadline := time.Now().Add(time.Minute)
	for {
		err := n.ctl("await_startup", "--timeout", "60")
		if err == nil {
			break
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "server.out"))
			return nil, fmt.Errorf("rabbitmq-server exited while starting: %s", tail(log))
		default:
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("rabbitmq-server did not start within a minute: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	conn, err := amqp.Dial(n.url)
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("dial the private node: %w", err)
	}
	conn.Close()
	return n, nil
}

// ctl runs rabbitmqctl against the node.
func (n *privateNode) ctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(n.bin, "rabbitmqctl"), append([]string{"-q", "-n", n.name}, args...)...)
	cmd.Env = n.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, tail(out))
	}
	return nil
}

// stop asks the node to stop, then ends its process group whatever it
// said, and removes its files.
func (n *privateNode) stop() {
	if err := n.ctl("stop"); err != nil {
		fmt.Fprintf(os.Stderr, "testpeer: stop private rabbitmq: %v\n", err)
	}
	if n.cmd != nil && n.cmd.Process != nil {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	}
	if n.watchdog != nil {
		n.watchdog.Close()
	}
	os.RemoveAll(n.dir)
}

func twoFreePorts() (int, int, error) {
	var ports []int
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("find free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], nil
}

func tail(b []byte) string {
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}

// Outage stops the broker's application (every client is disconnected
// and nothing is accepted, as in a broker restart) and returns the
// function that starts it again. Only a private broker can have one: the
// shared broker stays up for every other package's tests. The broker is
// started again in t.Cleanup whatever happens, so a failing test never
// leaves it down.
func (b *Broker) Outage() (restart func()) {
	b.t.Helper()
	if b.node == nil {
		b.t.Fatal("Outage needs a PrivateRabbitMQ: the shared broker must stay up for other packages' tests")
	}
	b.node.mu.Lock()
	if err := b.node.ctl("stop_app"); err != nil {
		b.node.mu.Unlock()
		b.t.Fatal(err)
	}
	var once sync.Once
	restart = func() {
		once.Do(func() {
			defer b.node.mu.Unlock()
			err := b.node.ctl("start_app")
			if err == nil {
				err = b.node.ctl("await_startup")
			}
			if err != nil {
				b.t.Error(err)
			}
		})
	}
	b.t.Cleanup(restart)
	return restart
}

// CloseConnections closes every client connection of the private broker,
// as an operator's close_all_connections does.
func (b *Broker) CloseConnections() {
	b.t.Helper()
	if b.node == nil {
		b.t.Fatal("CloseConnections needs a PrivateRabbitMQ: it would cut every other package's tests")
	}
	if err := b.node.ctl("close_all_connections", "closed by the test"); err != nil {
		b.t.Fatal(err)
	}
}

// DeleteQueue deletes the test's queue under its consumers, as an
// operator, a policy or a failover may.
func (b *Broker) DeleteQueue() {
	b.t.Helper()
	b.do(func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(b.Queue, false, false, false)
		return err
	})
}
