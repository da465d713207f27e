package bus_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"hark/bus"
	"hark/internal/testpeer"
)

// A message over the limit is rejected without requeue, counted, and
// does not hold up the messages behind it; it does not come back.
func TestAMQPSourceRejectsMessageOverTheLimit(t *testing.T) {
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	const limit = 4096
	sent := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	small := func(n string) testpeer.FedoraMessage {
		return testpeer.NewFedoraMessage(t, "org.fedoraproject.test.small", map[string]any{"n": n}, uuid.NewString(), bus.SeverityInfo, sent, nil, nil)
	}
	before, after := small("before"), small("after")
	big := testpeer.NewFedoraMessage(t, "org.fedoraproject.test.big", map[string]any{"text": strings.Repeat("x", 2*limit)},
		uuid.NewString(), bus.SeverityInfo, sent, nil, nil)
	pika := b.StartPika()
	pika.Publish([]testpeer.FedoraMessage{before, big, after}, 0)
	pika.Wait()

	src, err := bus.NewAMQPSource(bus.AMQPOptions{URL: b.URL, Exchange: b.Exchange, Queue: b.Queue, MaxMessageBytes: limit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	envs := make(chan *bus.Envelope, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := src.Run(ctx, func(_ context.Context, env *bus.Envelope) { envs <- env; env.Ack(nil) }); err != nil {
			t.Errorf("run amqp source: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()

	for _, want := range []string{before.MessageID, after.MessageID} {
		select {
		case env := <-envs:
			if env.MsgID != want {
				t.Fatalf("got message %s, want %s", env.MsgID, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no message %s within 30s; stats %+v", want, src.Stats())
		}
	}
	if st := src.Stats(); st.TooLarge != 1 || st.Received != 2 {
		t.Errorf("stats %+v: want 2 received, 1 too large", st)
	}
	cancel()
	wg.Wait()
	// What is left in the queue (acknowledgements still on their way
	// when the source stopped are requeued) must not be the large one.
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, ok, err := ch.Get(b.Queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if d.MessageId == big.MessageID {
			t.Errorf("the large message was requeued")
		}
	}
}
