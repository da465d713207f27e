package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"hark/catchup/datagreppertest"
	"hark/internal/testpeer"
)

// archived is msgs as datanommer archives them for datagrepper.
func archived(t *testing.T, msgs []testpeer.FedoraMessage) []datagreppertest.Message {
	t.Helper()
	out := make([]datagreppertest.Message, len(msgs))
	for i, m := range msgs {
		sent, err := time.Parse(time.RFC3339Nano, m.Headers["sent-at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = datagreppertest.Message{ID: m.MessageID, Topic: m.RoutingKey, Sent: sent, Headers: m.Headers, Body: json.RawMessage(m.Body)}
	}
	return out
}

// deleteQueue drops the test's queue, as Fedora's broker does with a
// queue left without a consumer for an hour: what it held is lost.
func deleteQueue(t *testing.T, b *testpeer.Broker) {
	t.Helper()
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(b.Queue, false, false, false); err != nil {
		t.Fatal(err)
	}
}

// TestServeCatchesUpWhatItMissedExactlyOnce stops hark serve while
// messages are published: some the broker drops with hark's queue, some
// it keeps for hark. At restart hark asks datagrepper for what it
// missed: every message is notified exactly once, those that also arrive
// through the bus included.
func TestServeCatchesUpWhatItMissedExactlyOnce(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	dg := datagreppertest.New(t)
	svc := newService(t, testpeer.Endpoint(testpeer.FreePort(t)), fmt.Sprintf(
		"  amqp:\n    url: %q\n    exchange: %q\n    queue: %q\ncatchup:\n  enabled: true\n  url: %q\n  rate: 50\n",
		b.URL, b.Exchange, b.Queue, dg.URL))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "alice.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "user": "alice", "filters": [{"name": "stream", "active": true,
		"destinations": ["email:alice@example.org"], "rules": [{"kind": "app", "args": {"names": ["stream"]}}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	pika := b.StartPika()

	seen, lost, kept := stream(t, 0, 50), stream(t, 50, 120), stream(t, 170, 80)
	svc.start(t)
	pika.Publish(seen, 0)
	pika.Wait()
	dg.Add(archived(t, seen)...)
	svc.eventually(t, "hark has notified what it saw", func() bool { return len(notificationCounts(t)) == len(seen) })
	svc.stop(t)

	pika.Publish(lost, 0)
	pika.Wait()
	deleteQueue(t, b)
	b.DeclareQueue("#")
	pika.Publish(kept, 0)
	pika.Wait()
	dg.Add(archived(t, lost)...)
	dg.Add(archived(t, kept)...)

	svc.start(t)
	all := append(append(seen, lost...), kept...)
	svc.eventually(t, "every message is notified", func() bool { return len(notificationCounts(t)) >= len(all) })
	svc.eventually(t, "the queue is drained", func() bool { return b.Depth() == 0 })
	if n := svc.metric(t, "hark_catchup_messages_total"); n < float64(len(lost)+len(kept)) {
		t.Errorf("hark_catchup_messages_total %v; want at least the %d missed", n, len(lost)+len(kept))
	}
	svc.stop(t)
	if !strings.Contains(svc.log.String(), "caught up") {
		t.Errorf("no catch-up logged:\n%s", svc.log)
	}
	counts := notificationCounts(t)
	for _, m := range all {
		if counts[m.MessageID] != 1 {
			t.Errorf("message %s: %d notifications, want 1", m.MessageID, counts[m.MessageID])
		}
	}
	if len(counts) != len(all) {
		t.Errorf("%d messages notified, want %d", len(counts), len(all))
	}
	if dg.Requests() == 0 {
		t.Error("datagrepper was never asked")
	}
}

// TestHistoryBackfillSeedsThePreviewHistory backfills a fresh install
// from datagrepper twice: the second run adds nothing.
func TestHistoryBackfillSeedsThePreviewHistory(t *testing.T) {
	dg := datagreppertest.New(t)
	msgs := stream(t, 0, 230)
	dg.Add(archived(t, msgs)...)
	newService(t, testpeer.Endpoint(testpeer.FreePort(t)), fmt.Sprintf("catchup:\n  url: %q\n  rate: 50\n", dg.URL))
	for _, want := range []string{"backfilled 230 messages (0 already in the history)", "backfilled 0 messages (230 already in the history)"} {
		out := adminMust(t, "", "history", "backfill", "--since", "1d")
		if !strings.Contains(out, want) {
			t.Errorf("backfill said %q; want %q", out, want)
		}
	}
}

func TestParseSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"week", 0, false},
		{"-3d", 0, false},
	} {
		got, err := parseSince(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSince(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
