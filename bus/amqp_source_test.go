package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"hark/bus"
	"hark/internal/testpeer"
)

// amqpSample is one sample envelope as fedora-messaging would publish it,
// and what the source must make of it.
type amqpSample struct {
	msg   testpeer.FedoraMessage
	env   *bus.Envelope // the sample itself
	users []string      // announced in object headers
}

// amqpSamples are testdata's real messages published with fresh UUIDs,
// their expected usernames and packages as object headers.
func amqpSamples(t *testing.T) []amqpSample {
	t.Helper()
	data, err := os.ReadFile("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []amqpSample
	sent := time.Date(2026, 11, 23, 7, 56, 44, 0, time.UTC)
	for line := range bytes.Lines(data) {
		env, err := bus.Decode(bytes.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		var expected struct{ Usernames, Packages []string }
		raw, _ := json.Marshal(env.Fields["expected"])
		json.Unmarshal(raw, &expected)
		m := testpeer.NewFedoraMessage(t, env.Topic, env.Msg, uuid.NewString(), bus.SeverityInfo, sent, expected.Usernames, expected.Packages)
		out = append(out, amqpSample{msg: m, env: env, users: expected.Usernames})
	}
	return out
}

// consumer runs an AMQPSource on the test's broker corner and collects
// what it hands over; ack decides what each Ack gets.
type consumer struct {
	src  *bus.AMQPSource
	envs chan *bus.Envelope
	stop func()
	log  *syncBuffer // what the source logged
}

// syncBuffer is a log destination the test reads while the source writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startConsumer(t *testing.T, b *testpeer.Broker, ack func(*bus.Envelope) error) *consumer {
	t.Helper()
	logs := new(syncBuffer)
	src, err := bus.NewAMQPSource(bus.AMQPOptions{URL: b.URL, Exchange: b.Exchange, Queue: b.Queue,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c := &consumer{src: src, envs: make(chan *bus.Envelope, 4096), log: logs}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := src.Run(ctx, func(_ context.Context, env *bus.Envelope) {
			c.envs <- env
			if err := ack(env); err != errHold {
				env.Ack(err)
			}
		}); err != nil {
			t.Errorf("run amqp source: %v", err)
		}
	})
	c.stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(c.stop)
	return c
}

// next returns the next envelope, failing after a generous wait.
func (c *consumer) next(t *testing.T) *bus.Envelope {
	t.Helper()
	select {
	case env := <-c.envs:
		return env
	case <-time.After(30 * time.Second):
		t.Fatal("no message from the amqp source within 30s")
		return nil
	}
}

func ackAll(*bus.Envelope) error { return nil }

// errHold from a consumer's ack function leaves the message unsettled, as
// a commit stalled for good would.
var errHold = errors.New("hold the message unacknowledged")

func TestAMQPSourceReadsWhatPikaPublishes(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	samples := amqpSamples(t)
	pika := b.StartPika()
	msgs := make([]testpeer.FedoraMessage, len(samples))
	for i, s := range samples {
		msgs[i] = s.msg
	}
	pika.Publish(msgs, 0)
	pika.Wait()
	c := startConsumer(t, b, ackAll)
	for i, s := range samples {
		env := c.next(t)
		if env.Topic != s.env.Topic || env.MsgID != s.msg.MessageID || env.Severity != bus.SeverityInfo {
			t.Fatalf("message %d: topic %q id %q severity %d, want %q %q info", i, env.Topic, env.MsgID, env.Severity, s.env.Topic, s.msg.MessageID)
		}
		if got, want := bus.Canonical(map[string]any{"m": env.Msg}), bus.Canonical(map[string]any{"m": s.env.Msg}); string(got) != string(want) {
			t.Fatalf("message %d (%s): payload changed on the way:\n got %s\nwant %s", i, env.Topic, got, want)
		}
		var users []string
		if env.Objects != nil {
			users = slices.Sorted(slices.Values(env.Objects.Users))
		}
		if want := slices.Sorted(slices.Values(s.users)); !slices.Equal(users, want) {
			t.Errorf("message %d: users %v, want %v", i, users, want)
		}
	}
	eventually(t, "every acknowledged message leaves the queue", func() bool { return b.Depth() == 0 })
}

func TestAMQPSourceRejectsMalformedBodyWithoutBlockingQueue(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	good := testpeer.NewFedoraMessage(t, "org.fedoraproject.prod.hark.good", map[string]any{"ok": true}, uuid.NewString(), bus.SeverityInfo, time.Now(), nil, nil)
	bad := good
	bad.Body, bad.MessageID = `{"truncated": `, uuid.NewString()
	pika := b.StartPika()
	pika.Publish([]testpeer.FedoraMessage{bad, good}, 0)
	pika.Wait()
	c := startConsumer(t, b, ackAll)
	if env := c.next(t); env.MsgID != good.MessageID {
		t.Fatalf("got %q, want the good message after the rejected one", env.MsgID)
	}
	eventually(t, "the queue is empty", func() bool { return b.Depth() == 0 })
	if s := c.src.Stats(); s.Invalid != 1 || s.Received != 1 {
		t.Errorf("stats %+v, want 1 invalid and 1 received", s)
	}
}

func TestAMQPSourceRedeliversWhatIsNotAcknowledged(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	msg := testpeer.NewFedoraMessage(t, "org.fedoraproject.prod.hark.retry", map[string]any{}, uuid.NewString(), bus.SeverityInfo, time.Now(), nil, nil)
	pika := b.StartPika()
	pika.Publish([]testpeer.FedoraMessage{msg}, 0)
	pika.Wait()

	var mu sync.Mutex
	refused := 0
	c := startConsumer(t, b, func(*bus.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		if refused == 0 {
			refused++
			return fmt.Errorf("not committed")
		}
		return nil
	})
	first, second := c.next(t), c.next(t)
	if first.MsgID != msg.MessageID || second.MsgID != msg.MessageID {
		t.Errorf("got %q then %q, want the refused message delivered again", first.MsgID, second.MsgID)
	}
	eventually(t, "the queue is empty", func() bool { return b.Depth() == 0 })
}

func TestAMQPSourceResumesAfterBrokerOutage(t *testing.T) {
	b := testpeer.PrivateRabbitMQ(t)
	b.DeclareQueue("#")
	before, after := fedoraBatch(t, "before", 50), fedoraBatch(t, "after", 50)
	// Nothing is acknowledged before the outage: every message handed over
	// then must come back after it.
	var mu sync.Mutex
	down := true
	c := startConsumer(t, b, func(*bus.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return fmt.Errorf("not committed before the outage")
		}
		return nil
	})
	pika := b.StartPika()
	pika.Publish(before, 0)
	pika.Wait()
	c.next(t)
	restart := b.Outage()
	mu.Lock()
	down = false
	mu.Unlock()
	restart()
	pika = b.StartPika()
	pika.Publish(after, 0)
	pika.Wait()

	want := map[string]bool{}
	for _, m := range slices.Concat(before, after) {
		want[m.MessageID] = true
	}
	for len(want) > 0 {
		delete(want, c.next(t).MsgID)
	}
	eventually(t, "the queue is empty", func() bool { return b.Depth() == 0 })
	if c.src.Stats().Reconnects == 0 {
		t.Error("no reconnect counted")
	}
}

// fedoraBatch is n distinct messages on topic org.fedoraproject.prod.hark.name.
func fedoraBatch(t *testing.T, name string, n int) []testpeer.FedoraMessage {
	msgs := make([]testpeer.FedoraMessage, n)
	for i := range msgs {
		msgs[i] = testpeer.NewFedoraMessage(t, "org.fedoraproject.prod.hark."+name, map[string]any{"i": i}, uuid.NewString(), bus.SeverityInfo, time.Now(), nil, nil)
	}
	return msgs
}

// Whatever ends the source's session, it logs why, opens a new one
// (declaring the queue and bindings again) and hands over every message
// published after that exactly once.
func TestAMQPSourceResumesAfterEverySessionEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		// hold leaves the first message unacknowledged, so the broker's
		// consumer timeout closes the channel.
		hold  bool
		fault func(b *testpeer.Broker)
		cause string // in the log line of the session's end
	}{
		{"queue deleted", false, (*testpeer.Broker).DeleteQueue, "cancelled the consumer"},
		{"channel closed by the consumer timeout", true, func(*testpeer.Broker) {}, "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out"},
		{"connections closed", false, (*testpeer.Broker).CloseConnections, "CONNECTION_FORCED - closed by the test"},
		{"broker stopped and started", false, func(b *testpeer.Broker) { b.Outage()() }, "closed by the broker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testpeer.PrivateRabbitMQ(t)
			b.DeclareQueue("#")
			before, after := fedoraBatch(t, "before", 5), fedoraBatch(t, "after", 50)
			var held atomic.Bool
			c := startConsumer(t, b, func(*bus.Envelope) error {
				if tc.hold && !held.Swap(true) {
					return errHold
				}
				return nil
			})
			pika := b.StartPika()
			pika.Publish(before, 0)
			pika.Wait()
			for range before {
				c.next(t)
			}
			tc.fault(b)
			eventually(t, "the session ends", func() bool { return c.src.Stats().Reconnects > 0 })
			eventually(t, "a new session consumes", func() bool { since, _ := c.src.Down(); return since.IsZero() })
			if !strings.Contains(c.log.String(), tc.cause) {
				t.Errorf("the log does not tell the cause %q:\n%s", tc.cause, c.log)
			}

			pika = b.StartPika()
			pika.Publish(after, 0)
			pika.Wait()
			got := map[string]int{}
			for _, m := range after {
				got[m.MessageID] = 0
			}
			for n := 0; n < len(after); {
				id := c.next(t).MsgID
				if _, ok := got[id]; ok {
					got[id]++
					if got[id] == 1 {
						n++
					}
				}
			}
			eventually(t, "the queue is empty", func() bool { return b.Depth() == 0 })
			// Anything handed over twice would have come by now: the queue
			// is empty and every message acknowledged.
			c.stop()
			for len(c.envs) > 0 {
				if id := (<-c.envs).MsgID; got[id] > 0 {
					got[id]++
				}
			}
			for id, n := range got {
				if n != 1 {
					t.Errorf("message %s handed over %d times, want once", id, n)
				}
			}
		})
	}
}

func TestAMQPPublisherPublishesWhatTheSourceReads(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("org.fedoraproject.dev.hark.#")
	pub, err := bus.NewAMQPPublisher(bus.AMQPOptions{URL: b.URL, Exchange: b.Exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	id, err := pub.Publish(context.Background(), "org.fedoraproject.dev.hark.log", map[string]any{"log": "hello"}, bus.SeverityError,
		&bus.Objects{Users: []string{"alice"}, Flatpaks: []string{"org.gnome.Maps"}})
	if err != nil {
		t.Fatal(err)
	}
	c := startConsumer(t, b, ackAll)
	env := c.next(t)
	if env.MsgID != id || env.Severity != bus.SeverityError || env.Msg.(map[string]any)["log"] != "hello" ||
		!equalObjects(*env.Objects, bus.Objects{Users: []string{"alice"}, Flatpaks: []string{"org.gnome.Maps"}}) {
		t.Errorf("read %q severity %d msg %v objects %+v; want %q, error, the log line and the objects", env.MsgID, env.Severity, env.Msg, env.Objects, id)
	}
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("message_id %q is not a UUID: %v", id, err)
	}
}
