package testpeer

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitMQURL is the broker this machine runs for tests (.ci/run starts
// it where it is installed but stopped).
const RabbitMQURL = "amqp://guest:guest@127.0.0.1:5672/"

//go:embed pika.py
var pikaScript string

// Broker is one test's corner of the RabbitMQ on RabbitMQURL: its own
// topic exchange and queue name (UUIDs), so tests running at the same time
// never see each other's messages. Both are deleted in t.Cleanup.
type Broker struct {
	URL      string
	Exchange string
	Queue    string
	t        testing.TB
	node     *privateNode // nil on the shared broker
}

// RabbitMQ returns a fresh Broker corner on the shared broker; without a
// broker on 127.0.0.1:5672 the test skips, or fails when CI=true. A test
// that stops the broker or cuts its connections uses PrivateRabbitMQ.
func RabbitMQ(t testing.TB) *Broker {
	t.Helper()
	conn, err := amqp.Dial(RabbitMQURL)
	if err != nil {
		Unavailable(t, "RabbitMQ on 127.0.0.1:5672", "rabbitmq-server", err)
	}
	conn.Close()
	return newBroker(t, RabbitMQURL, nil)
}

// newBroker declares a fresh corner of the broker at url (node: the
// private one it runs on, if any) and deletes it in t.Cleanup.
func newBroker(t testing.TB, url string, node *privateNode) *Broker {
	t.Helper()
	b := &Broker{URL: url, Exchange: "hark-test-" + uuid.NewString(), Queue: uuid.NewString(), t: t, node: node}
	b.do(func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(b.Exchange, amqp.ExchangeTopic, true, false, false, false, nil)
	})
	t.Cleanup(func() {
		b.do(func(ch *amqp.Channel) error {
			if _, err := ch.QueueDelete(b.Queue, false, false, false); err != nil {
				return err
			}
			return ch.ExchangeDelete(b.Exchange, false, false)
		})
	})
	return b
}

// do runs f on a channel of a connection of its own.
func (b *Broker) do(f func(*amqp.Channel) error) {
	b.t.Helper()
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		b.t.Fatalf("dial RabbitMQ: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err == nil {
		err = f(ch)
	}
	if err != nil {
		b.t.Fatalf("RabbitMQ: %v", err)
	}
}

// DeclareQueue declares the test's queue durable and binds it to the
// exchange with keys, as hark's AMQP source does, so what is published
// before hark first connects waits for it.
func (b *Broker) DeclareQueue(keys ...string) {
	b.t.Helper()
	b.do(func(ch *amqp.Channel) error {
		if _, err := ch.QueueDeclare(b.Queue, true, false, false, false, nil); err != nil {
			return err
		}
		for _, k := range keys {
			if err := ch.QueueBind(b.Queue, k, b.Exchange, false, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Depth is how many messages wait in the test's queue, ready for a
// consumer (not counting those sent and not yet acknowledged); -1 when the
// queue does not exist.
func (b *Broker) Depth() int {
	b.t.Helper()
	n := -1
	b.do(func(ch *amqp.Channel) error {
		if q, err := ch.QueueDeclarePassive(b.Queue, true, false, false, false, nil); err == nil {
			n = q.Messages
		}
		return nil
	})
	return n
}

// FedoraMessage is one message as fedora-messaging publishes it: the
// routing key, the body text, and its properties and headers.
type FedoraMessage struct {
	RoutingKey      string         `json:"routing_key"`
	Body            string         `json:"body"`
	MessageID       string         `json:"message_id,omitempty"`
	ContentType     string         `json:"content_type,omitempty"`
	ContentEncoding string         `json:"content_encoding,omitempty"`
	Headers         map[string]any `json:"headers,omitempty"`
}

// NewFedoraMessage builds what fedora-messaging would publish for msg on
// topic: a JSON body, message_id id, schema, severity, sent-at and priority
// headers, and one header per user and rpm the message concerns.
func NewFedoraMessage(t testing.TB, topic string, msg any, id string, severity int, sent time.Time, users, rpms []string) FedoraMessage {
	t.Helper()
	body, err := json.Marshal(msg)
	if err != nil {
		t.Fatalf("encode message body: %v", err)
	}
	h := map[string]any{
		"fedora_messaging_schema":   "base.message",
		"fedora_messaging_severity": severity,
		"sent-at":                   sent.Format("2006-01-02T15:04:05.000000-07:00"),
		"priority":                  0,
	}
	for _, u := range users {
		h["fedora_messaging_user_"+u] = true
	}
	for _, p := range rpms {
		h["fedora_messaging_rpm_"+p] = true
	}
	return FedoraMessage{RoutingKey: topic, Body: string(body), MessageID: id, Headers: h}
}

// Pika is Debian's python3-pika publishing to a Broker's exchange with
// publisher confirms.
type Pika struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *bytes.Buffer
}

// StartPika starts the publisher; without python3-pika the test skips, or
// fails when CI=true.
func (b *Broker) StartPika() *Pika {
	b.t.Helper()
	RequirePython(b.t, "pika")
	p := &Pika{t: b.t, lines: make(chan []byte, 64), stderr: new(bytes.Buffer)}
	p.cmd = exec.Command(Python, "-u", "-c", pikaScript, b.URL, b.Exchange)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		b.t.Fatalf("start pika: %v", err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		b.t.Fatalf("start pika: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		b.t.Fatalf("start pika: %v", err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- bytes.Clone(sc.Bytes())
		}
	}()
	b.t.Cleanup(func() {
		p.stdin.Close()
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	p.next()
	return p
}

// Publish starts publishing msgs, one every interval, and returns at once;
// Wait waits until the broker has confirmed them all.
func (p *Pika) Publish(msgs []FedoraMessage, interval time.Duration) {
	p.t.Helper()
	line, err := json.Marshal(map[string]any{"messages": msgs, "interval": interval.Seconds()})
	if err != nil {
		p.t.Fatalf("encode pika command: %v", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("write to pika: %v; stderr: %s", err, p.stderr)
	}
}

// Wait waits for the confirmation of one Publish.
func (p *Pika) Wait() {
	p.t.Helper()
	p.next()
}

func (p *Pika) next() {
	p.t.Helper()
	select {
	case _, ok := <-p.lines:
		if !ok {
			p.cmd.Wait()
			p.t.Fatalf("pika publisher exited: %s", p.stderr)
		}
	case <-time.After(2 * peerTimeout):
		p.t.Fatalf("pika publisher said nothing for %v; stderr: %s", 2*peerTimeout, p.stderr)
	}
}
