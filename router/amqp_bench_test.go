package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"hark/bus"
	"hark/filters"
	"hark/internal/testpeer"
	"hark/meta"
	"hark/router"
	"hark/store"
	"hark/store/sqlite"
)

// BenchmarkAMQPIngest measures the whole exactly-once path from RabbitMQ
// (consume → describe → match → commit → ack) against the floor of raw
// amqp091-go consuming the same messages with auto-ack, in the same run:
// the ratio is the price of exactly-once. Both report msgs/s; run with a
// fixed count, e.g. -benchtime=20000x.
func BenchmarkAMQPIngest(b *testing.B) {
	envs := samples(b)
	b.Run("raw-autoack", func(b *testing.B) {
		broker := filledQueue(b, envs)
		conn, err := amqp.Dial(broker.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			b.Fatal(err)
		}
		deliveries, err := ch.Consume(broker.Queue, "", true, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			<-deliveries
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("router-exactly-once", func(b *testing.B) {
		broker := filledQueue(b, envs)
		rt, st := benchRouter(b, envs)
		src, err := bus.NewAMQPSource(bus.AMQPOptions{URL: broker.URL, Exchange: broker.Exchange, Queue: broker.Queue,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		counted := &ackCounter{src: src, want: int64(b.N), done: make(chan struct{})}
		runUntil(b, rt, counted, counted.done)
		if n, err := st.QueueDepth(context.Background()); err != nil || n[store.StateQueued] == 0 {
			b.Fatalf("queue %v (%v), want notifications queued: the benchmark must match", n, err)
		}
	})
}

// BenchmarkRouterFromMemory is the same path without the broker: the
// same messages handed to the router from memory, each acknowledged after
// its commit. Against BenchmarkAMQPIngest it tells the broker's share of
// the cost from the store's.
func BenchmarkRouterFromMemory(b *testing.B) {
	envs := samples(b)
	rt, _ := benchRouter(b, envs)
	src := &memorySource{envs: envs, n: b.N, done: make(chan struct{})}
	runUntil(b, rt, src, src.done)
}

// runUntil times rt running src until done is closed, and reports msgs/s.
func runUntil(b *testing.B, rt *router.Router, src router.Source, done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.ResetTimer()
	wg.Go(func() { rt.Run(ctx, src) })
	<-done
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// memorySource hands over n copies of envs with fresh ids and closes done
// once all are acknowledged.
type memorySource struct {
	envs  []*bus.Envelope
	n     int
	acked atomic.Int64
	done  chan struct{}
}

func (m *memorySource) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	for i := range m.n {
		env := *m.envs[i%len(m.envs)]
		env.MsgID = uuid.NewString()
		env.Ack = func(err error) {
			if err == nil && m.acked.Add(1) == int64(m.n) {
				close(m.done)
			}
		}
		handle(ctx, &env)
	}
	<-ctx.Done()
	return nil
}

// ackCounter passes an AMQPSource's messages on and signals done once
// want of them have been acknowledged after their commit.
type ackCounter struct {
	src   *bus.AMQPSource
	want  int64
	acked atomic.Int64
	done  chan struct{}
}

func (c *ackCounter) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	return c.src.Run(ctx, func(ctx context.Context, env *bus.Envelope) {
		ack := env.Ack
		env.Ack = func(err error) {
			ack(err)
			if err == nil && c.acked.Add(1) == c.want {
				close(c.done)
			}
		}
		handle(ctx, env)
	})
}

// filledQueue is a durable queue holding b.N real sample messages (with
// unique ids) published as fedora-messaging does; the timer is reset
// after filling it.
func filledQueue(b *testing.B, envs []*bus.Envelope) *testpeer.Broker {
	b.Helper()
	broker := testpeer.RabbitMQ(b)
	broker.DeclareQueue("#")
	conn, err := amqp.Dial(broker.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		b.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, b.N))
	for i := range b.N {
		env := envs[i%len(envs)]
		msg, err := bus.Publishing(uuid.NewString(), env.Msg, bus.SeverityInfo, time.Now(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := ch.Publish(broker.Exchange, env.Topic, false, false, msg); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		if c := <-confirms; !c.Ack {
			b.Fatalf("broker refused message %d", c.DeliveryTag)
		}
	}
	b.ResetTimer()
	return broker
}

// benchRouter is a router over a fresh store with 200 users, each
// following messages about them: every person the samples mention, then
// others. A message notifies the few users it concerns, as on Fedora's
// bus, where most messages matter to a handful of people.
func benchRouter(b *testing.B, envs []*bus.Envelope) (*router.Router, *sqlite.SQLite) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hark.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	names := map[string]bool{}
	for _, env := range envs {
		for _, u := range meta.Default().Describe(env).Usernames {
			names[u] = true
		}
	}
	for i := 0; len(names) < 200; i++ {
		names[fmt.Sprintf("user%03d", i)] = true
	}
	for name := range names {
		u, err := st.CreateUser(ctx, store.User{Name: name})
		if err != nil {
			b.Fatal(err)
		}
		d, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: name + "@example.org", Confirmed: true, Enabled: true})
		if err != nil {
			b.Fatal(err)
		}
		r := rule("user", `{"names": ["@me"]}`, false)
		if _, err := st.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "about me", Active: true, Rules: []store.Rule{r}, DestinationIDs: []int64{d.ID}}); err != nil {
			b.Fatal(err)
		}
	}
	rt, err := router.New(router.Options{Store: st, Describer: meta.Default(), Index: filters.New(filters.Options{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return rt, st
}
