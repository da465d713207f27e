package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hark/bus"
	"hark/internal/testpeer"
)

// amqpService is `hark serve` reading the test's durable queue on
// RabbitMQ besides the ZeroMQ endpoint, with alice notified of every
// message whose app is in apps.
func amqpService(t *testing.T, b *testpeer.Broker, endpoint string, apps ...string) *service {
	t.Helper()
	svc := newService(t, endpoint, fmt.Sprintf("  amqp:\n    url: %q\n    exchange: %q\n    queue: %q\n", b.URL, b.Exchange, b.Queue))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	names, _ := json.Marshal(apps)
	path := filepath.Join(svc.dir, "alice.json")
	filters := fmt.Sprintf(`{"version": 1, "user": "alice", "filters": [{"name": "apps", "active": true,
		"destinations": ["email:alice@example.org"], "rules": [{"kind": "app", "args": {"names": %s}}]}]}`, names)
	if err := os.WriteFile(path, []byte(filters), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	return svc
}

// stream is n fedora-messaging messages on the stream app, numbered from
// first.
func stream(t *testing.T, first, n int) []testpeer.FedoraMessage {
	msgs := make([]testpeer.FedoraMessage, n)
	for i := range msgs {
		msgs[i] = testpeer.NewFedoraMessage(t, "org.fedoraproject.prod.stream.tick", map[string]any{"n": first + i},
			uuid.NewString(), bus.SeverityInfo, time.Now(), []string{"alice"}, nil)
	}
	return msgs
}

// notificationCounts is how many notifications each message has.
func notificationCounts(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, n := range listNotifications(t) {
		counts[n.MsgID]++
	}
	return counts
}

// TestServeAMQPNotifiesExactlyOnceAcrossKill has pika publish to hark's
// durable queue before hark starts, while it runs, while it is down
// after a kill -9, and after its restart: every message gets exactly one
// notification.
func TestServeAMQPNotifiesExactlyOnceAcrossKill(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	svc := amqpService(t, b, testpeer.Endpoint(testpeer.FreePort(t)), "stream")
	pika := b.StartPika()

	before, during, after := stream(t, 0, 100), stream(t, 100, 300), stream(t, 400, 100)
	pika.Publish(before, 0)
	pika.Wait()
	svc.start(t)
	pika.Publish(during, 5*time.Millisecond) // ~1.5 s of steady publishing
	svc.eventually(t, "hark has committed part of the stream", func() bool {
		return svc.metric(t, "hark_messages_committed_total") > 150
	})
	svc.kill(t)
	pika.Wait() // the publisher kept going while hark was down
	svc.start(t)
	pika.Publish(after, 0)
	pika.Wait()

	all := append(append(before, during...), after...)
	svc.eventually(t, "every message is notified", func() bool { return len(notificationCounts(t)) >= len(all) })
	svc.eventually(t, "the queue is drained and acknowledged", func() bool { return b.Depth() == 0 })
	svc.stop(t)
	counts := notificationCounts(t)
	for _, m := range all {
		if counts[m.MessageID] != 1 {
			t.Errorf("message %s: %d notifications, want 1", m.MessageID, counts[m.MessageID])
		}
	}
	if len(counts) != len(all) {
		t.Errorf("%d messages notified, want %d", len(counts), len(all))
	}
}

// TestServeNotifiesOnceForMessagesOnBothBuses feeds hark the same
// messages through ZeroMQ and AMQP the way fedmsg-migration-tools'
// bridges republish them, in both directions.
func TestServeNotifiesOnceForMessagesOnBothBuses(t *testing.T) {
	testpeer.RequireZMQ(t)
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	pub := testpeer.StartPub(t)
	svc := amqpService(t, b, pub.Endpoint, "bodhi")
	svc.start(t)
	svc.settle(t, pub)
	pika := b.StartPika()

	// Born on ZeroMQ, bridged to AMQP whole, its msg_id the message_id.
	zmqBorn := map[string]any{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": map[string]any{"comment": "from zmq"},
		"msg_id": "2026-" + uuid.NewString(), "timestamp": 1795000000, "i": 1, "username": "apache"}
	body, _ := json.Marshal(zmqBorn)
	bridged := testpeer.NewFedoraMessage(t, zmqBorn["topic"].(string), nil, zmqBorn["msg_id"].(string), bus.SeverityInfo, time.Now(), nil, nil)
	bridged.Body = string(body)
	// Born on AMQP, bridged to ZeroMQ with msg_id "<year>-<message_id>".
	amqpBorn := testpeer.NewFedoraMessage(t, "org.fedoraproject.prod.bodhi.update.request", map[string]any{"comment": "from amqp"},
		uuid.NewString(), bus.SeverityInfo, time.Now(), nil, nil)
	toZMQ := map[string]any{"topic": amqpBorn.RoutingKey, "msg": map[string]any{"comment": "from amqp"},
		"msg_id": "2026-" + amqpBorn.MessageID, "timestamp": 1795000001, "i": 7, "username": "amqp-bridge"}

	pub.Send(frames(t, zmqBorn)...)
	pika.Publish([]testpeer.FedoraMessage{bridged, amqpBorn}, 0)
	pika.Wait()
	pub.Send(frames(t, toZMQ)...)
	svc.eventually(t, "all four copies are committed", func() bool {
		return svc.metric(t, "hark_messages_committed_total") >= 5 // and the settle probe
	})
	svc.stop(t)
	counts := notificationCounts(t)
	if len(counts) != 2 || counts[zmqBorn["msg_id"].(string)] != 1 || counts[amqpBorn.MessageID] != 1 {
		t.Errorf("notifications by message: %v; want one for %s and one for %s", counts, zmqBorn["msg_id"], amqpBorn.MessageID)
	}
}

func TestTailAMQPPrintsWhatPublishAMQPSends(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	r := startTail(t, "--amqp", b.URL, "--exchange", b.Exchange, "--binding", "org.fedoraproject.dev.#", "--json")
	// tail's queue exists only once it has connected: publish until it
	// prints (the first messages may find no queue yet).
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(r.out.String(), "hello") {
		if time.Now().After(deadline) {
			t.Fatalf("hark tail printed nothing; stderr: %s", r.err.String())
		}
		if code, stderr := publish(t, "", "--amqp", b.URL, "--exchange", b.Exchange, "--topic", "org.fedoraproject.dev.hark.log",
			"--message", "hello", "--severity", "warning"); code != 0 {
			t.Fatalf("hark publish --amqp: exit %d: %s", code, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	line, _, _ := strings.Cut(r.out.String(), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("tail printed %q: %v", line, err)
	}
	headers, _ := got["headers"].(map[string]any)
	if got["topic"] != "org.fedoraproject.dev.hark.log" || got["msg"].(map[string]any)["log"] != "hello" ||
		headers["fedora_messaging_severity"] != float64(bus.SeverityWarning) {
		t.Errorf("tail printed %s; want the topic, the log line and severity 30", line)
	}
	if code := r.exit(t); code != 0 {
		t.Errorf("hark tail exit %d: %s", code, r.err.String())
	}
}

func TestPublishAMQPRejectsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown severity", []string{"--amqp", testpeer.RabbitMQURL, "--topic", "a.b.c.d", "--message", "x", "--severity", "loud"}, `"loud" is not one of debug, info, warning, error`},
		{"signing", []string{"--amqp", testpeer.RabbitMQURL, "--topic", "a.b.c.d", "--key", "k", "--cert", "c"}, "are for ZeroMQ"},
		{"not a broker", []string{"--amqp", "tcp://127.0.0.1:1", "--topic", "a.b.c.d", "--message", "x"}, "is not an amqp:// or amqps:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := publish(t, "", tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.want)
			}
		})
	}
}
