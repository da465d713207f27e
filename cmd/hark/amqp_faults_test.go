package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// TestServeAMQPResumesAfterQueueDeletionAndStopsWithBrokerDown deletes
// the queue hark consumes under it (an operator, a policy, a failover):
// hark logs why its session ended, declares the queue and its bindings
// again, and notifies every later message exactly once. With the broker
// then down, /healthz turns 503 after web.stuck_after, naming the cause,
// and SIGTERM still ends hark within 10s.
func TestServeAMQPResumesAfterQueueDeletionAndStopsWithBrokerDown(t *testing.T) {
	b := testpeer.PrivateRabbitMQ(t)
	b.DeclareQueue("#")
	svc := amqpService(t, b, testpeer.Endpoint(testpeer.FreePort(t)), "stream")
	svc.setStuckAfter(t, "1s")
	svc.start(t)
	pika := b.StartPika()
	before, after := stream(t, 0, 50), stream(t, 50, 100)
	pika.Publish(before, 0)
	pika.Wait()
	svc.eventually(t, "the first messages are notified", func() bool { return len(notificationCounts(t)) >= len(before) })

	b.DeleteQueue()
	svc.eventually(t, "hark declares its queue again", func() bool { return b.Depth() >= 0 })
	pika.Publish(after, 0)
	pika.Wait()
	all := append(before, after...)
	svc.eventually(t, "every later message is notified", func() bool { return len(notificationCounts(t)) >= len(all) })
	svc.eventually(t, "the queue is drained and acknowledged", func() bool { return b.Depth() == 0 })

	b.Outage()
	var reason string
	svc.eventually(t, "/healthz reports the broker down", func() bool {
		code, body := svc.healthz()
		reason = body
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(reason, "no amqp session") {
		t.Errorf("/healthz says %q, want the missing amqp session named", reason)
	}
	took := svc.sigterm(t)
	t.Logf("hark serve stopped %v after SIGTERM with the broker down", took.Round(time.Millisecond))
	log := svc.log.String()
	if !strings.Contains(log, "cancelled the consumer") {
		t.Errorf("the log does not say the consumer was cancelled:\n%s", log)
	}
	counts := notificationCounts(t)
	for _, m := range all {
		if counts[m.MessageID] != 1 {
			t.Errorf("message %s: %d notifications, want 1", m.MessageID, counts[m.MessageID])
		}
	}
}

// setStuckAfter sets web.stuck_after in the service's configuration.
func (s *service) setStuckAfter(t *testing.T, d string) {
	t.Helper()
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "web:\n", "web:\n  stuck_after: "+d+"\n", 1))
	if err := os.WriteFile(s.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
}

// healthz returns /healthz's status and body.
func (s *service) healthz() (int, string) {
	resp, err := http.Get("http://" + s.web + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sigterm sends SIGTERM and fails the test unless hark serve has exited
// within 10s; it returns how long that took.
func (s *service) sigterm(t *testing.T) time.Duration {
	t.Helper()
	stopped := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case <-exited:
		return time.Since(stopped)
	case <-time.After(10 * time.Second):
		t.Fatalf("hark serve still running 10s after SIGTERM")
		return 0
	}
}

// TestServeStopsWithinTenSecondsWhileTheDiskIsFull fills the file system
// under hark's database while AMQP messages arrive: commits fail,
// /healthz turns 503 after web.stuck_after, SIGTERM ends hark within 10s
// all the same, and what was not committed is delivered again and
// notified exactly once after a restart with room on the disk.
func TestServeStopsWithinTenSecondsWhileTheDiskIsFull(t *testing.T) {
	disk := testpeer.SmallDisk(t, 16<<20)
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	svc := amqpService(t, b, testpeer.Endpoint(testpeer.FreePort(t)), "stream")
	// The store moves to the small disk; the admin commands follow it.
	data, err := os.ReadFile(svc.db)
	if err != nil {
		t.Fatal(err)
	}
	svc.db = filepath.Join(disk, "hark.db")
	if err := os.WriteFile(svc.db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(filepath.Join(svc.dir, "hark.db"+suffix))
	}
	cfg, err := os.ReadFile(svc.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc.config, []byte(strings.Replace(string(cfg), "path: hark.db", "path: "+svc.db, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	svc.setStuckAfter(t, "1s")
	svc.start(t)
	pika := b.StartPika()
	before, during := stream(t, 0, 20), stream(t, 20, 200)
	pika.Publish(before, 0)
	pika.Wait()
	svc.eventually(t, "the first messages are notified", func() bool { return len(notificationCounts(t)) >= len(before) })

	free := testpeer.FillDisk(t, disk)
	pika.Publish(during, 0)
	pika.Wait()
	var reason string
	svc.eventually(t, "/healthz reports the commits stuck", func() bool {
		code, body := svc.healthz()
		reason = body
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(reason, "commits stuck") || !strings.Contains(reason, "full") {
		t.Errorf("/healthz says %q, want the stuck commits and the full disk named", reason)
	}
	took := svc.sigterm(t)
	t.Logf("hark serve stopped %v after SIGTERM with the disk full", took.Round(time.Millisecond))
	if log := svc.log.String(); !strings.Contains(log, "messages not committed") {
		t.Errorf("the log does not tell what was not committed:\n%s", log)
	}

	free()
	svc.start(t)
	all := append(before, during...)
	svc.eventually(t, "every message is notified once there is room", func() bool { return len(notificationCounts(t)) >= len(all) })
	svc.eventually(t, "the queue is drained and acknowledged", func() bool { return b.Depth() == 0 })
	svc.stop(t)
	counts := notificationCounts(t)
	for _, m := range all {
		if counts[m.MessageID] != 1 {
			t.Errorf("message %s: %d notifications, want 1", m.MessageID, counts[m.MessageID])
		}
	}
}

// TestServeStopsWithinTenSecondsWhileARuleRuns has a message matched
// against a rule that takes many seconds: SIGTERM ends hark within 10s
// all the same, and the message, never acknowledged, stays queued for
// the next start.
func TestServeStopsWithinTenSecondsWhileARuleRuns(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	svc := amqpService(t, b, testpeer.Endpoint(testpeer.FreePort(t)), "stream")
	adminMust(t, "", "user", "add", "bob", "--email", "bob@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "bob.json")
	slow := `{"version": 1, "user": "bob", "filters": [{"name": "slow", "active": true,
		"destinations": ["email:bob@example.org"], "rules": [{"kind": "expr",
		"args": {"expression": "let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}}]}]}`
	if err := os.WriteFile(path, []byte(slow), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	// A budget far above the rule's cost: the rule is still running when
	// SIGTERM comes.
	f, err := os.OpenFile(svc.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "rules:\n  budget_per_message: 10m\n")
	f.Close()
	svc.start(t)
	pika := b.StartPika()
	pika.Publish(stream(t, 0, 1), 0)
	pika.Wait()
	svc.eventually(t, "the message is being matched", func() bool { return svc.metric(t, "hark_bus_received_total") >= 1 })
	took := svc.sigterm(t)
	t.Logf("hark serve stopped %v after SIGTERM with a rule running", took.Round(time.Millisecond))
	svc.eventually(t, "the message waits in the queue for the next start", func() bool { return b.Depth() == 1 })
}

// tarpit is an SMTP server that accepts connections and never says a
// word, as an overloaded or hostile relay may; it counts connections.
type tarpit struct {
	ln    net.Listener
	conns atomic.Int32
}

func startTarpit(t *testing.T) *tarpit {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tarpit{ln: ln}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			tp.conns.Add(1)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return tp
}

// TestServeStopsWithinTenSecondsWhileMailHangs has hark deliver to an
// SMTP server that never answers: SIGTERM ends hark within 10s all the
// same; the notification stays queued for the next start.
func TestServeStopsWithinTenSecondsWhileMailHangs(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	tp := startTarpit(t)
	port := tp.ln.Addr().(*net.TCPAddr).Port
	svc := newService(t, pub.Endpoint, fmt.Sprintf("email:\n  smtp_host: 127.0.0.1\n  smtp_port: %d\n  tls: none\n  from: hark@example.org\ndelivery:\n  flood: {rate: 0}\n", port))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "alice.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "user": "alice", "filters": [`+tickFilter+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)
	tick(t, pub, 1)
	svc.eventually(t, "hark is connected to the silent SMTP server", func() bool { return tp.conns.Load() > 0 })
	took := svc.sigterm(t)
	t.Logf("hark serve stopped %v after SIGTERM with mail hanging", took.Round(time.Millisecond))
}
