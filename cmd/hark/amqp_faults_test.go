package main

import (
	"io"
	"net/http"
	"os"
	"strings"
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
	cfg, err := os.ReadFile(svc.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "web:\n", "web:\n  stuck_after: 1s\n", 1))
	if err := os.WriteFile(svc.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
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
		resp, err := http.Get("http://" + svc.web + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		reason = string(body)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if !strings.Contains(reason, "no amqp session") {
		t.Errorf("/healthz says %q, want the missing amqp session named", reason)
	}

	stopped := time.Now()
	svc.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- svc.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("hark serve after SIGTERM: %v", err)
		}
		t.Logf("hark serve stopped %v after SIGTERM with the broker down", time.Since(stopped).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("hark serve still running 10s after SIGTERM with the broker down")
	}
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
