package bus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
)

// probeTopic marks the messages tests publish until a subscription has
// settled (ZeroMQ's slow joiner loses the first messages after a connect).
const probeTopic = "org.fedoraproject.test.probe"

// waitTimeout bounds a wait for a message that should come; it is only
// reached when a test fails.
const waitTimeout = 15 * time.Second

var probeCount atomic.Int64

// message is a fedmsg envelope's two frames, built from fields.
func message(t testing.TB, fields map[string]any) [][]byte {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatalf("encode message: %v", err)
	}
	return [][]byte{[]byte(fields["topic"].(string)), body}
}

// numbered is a small fedmsg message whose msg_id names tag and n.
func numbered(t testing.TB, topic, tag string, n int) [][]byte {
	return message(t, map[string]any{
		"topic": topic, "msg": map[string]any{"n": n}, "i": n,
		"timestamp": 1700000000 + n, "msg_id": fmt.Sprintf("2024-%s-%d", tag, n), "username": "test",
	})
}

// sequenced is a message from a publisher with a persistent store, which
// numbers its messages with seq_id.
func sequenced(t testing.TB, seq int) [][]byte {
	return message(t, map[string]any{
		"topic": "org.fedoraproject.test.replayed", "msg": map[string]any{"seq": seq}, "i": seq,
		"timestamp": 1700000000 + seq, "msg_id": fmt.Sprintf("2024-seq-%d", seq), "seq_id": seq,
	})
}

// samples returns the real bus messages of testdata as frames, without
// the file's own annotations.
func samples(t testing.TB) [][][]byte {
	t.Helper()
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatalf("open samples: %v", err)
	}
	defer f.Close()
	var out [][][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("samples line %d: %v", line, err)
		}
		delete(env.Fields, "expected")
		delete(env.Fields, "_fixture")
		out = append(out, [][]byte{[]byte(env.Topic), bus.Canonical(env.Fields)})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read samples: %v", err)
	}
	return out
}

// collector runs a Subscriber and collects what it delivers; probes go to
// their own channel.
type collector struct {
	sub    *bus.Subscriber
	envs   chan *bus.Envelope
	probes chan *bus.Envelope
	gate   chan struct{} // when set, each non-probe message waits for a token
	held   chan struct{} // told when a message starts waiting at the gate
}

func subscribe(t *testing.T, opts bus.SubscriberOptions) *collector {
	t.Helper()
	return subscribeGated(t, opts, nil)
}

func subscribeGated(t *testing.T, opts bus.SubscriberOptions, gate chan struct{}) *collector {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	sub, err := bus.NewSubscriber(opts)
	if err != nil {
		t.Fatalf("new subscriber: %v", err)
	}
	c := &collector{sub: sub, envs: make(chan *bus.Envelope, 10000), probes: make(chan *bus.Envelope, 100), gate: gate, held: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sub.Run(ctx, c.handle); err != nil {
			t.Errorf("run subscriber: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return c
}

func (c *collector) handle(ctx context.Context, env *bus.Envelope) {
	if env.Topic == probeTopic {
		select {
		case c.probes <- env:
		default:
		}
		return
	}
	if c.gate != nil {
		c.held <- struct{}{}
		select {
		case <-c.gate:
		case <-ctx.Done():
			return
		}
	}
	c.envs <- env
}

// settle publishes probes on pub until the subscriber has seen one, so the
// subscription has reached the publisher.
func (c *collector) settle(t *testing.T, pub *testpeer.Pub) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		n := int(probeCount.Add(1))
		pub.Send(numbered(t, probeTopic, "probe", n)...)
		select {
		case <-c.probes:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("subscription to %s never settled", pub.Endpoint)
}

func (c *collector) next(t *testing.T) *bus.Envelope {
	t.Helper()
	select {
	case env := <-c.envs:
		return env
	case <-time.After(waitTimeout):
		t.Fatalf("no message within %v; stats %+v", waitTimeout, c.sub.Stats())
		return nil
	}
}

// expect receives len(ids) messages and checks their msg_ids in order.
func (c *collector) expect(t *testing.T, ids ...string) {
	t.Helper()
	for i, want := range ids {
		if got := c.next(t).Key(); got != want {
			t.Fatalf("message %d: got %s, want %s", i+1, got, want)
		}
	}
}

// eventually waits until cond holds, checking it every few milliseconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func ids(tag string, from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("2024-%s-%d", tag, n))
	}
	return out
}

func TestSubscriberReceivesRealSamplesFromLibzmq(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}})
	c.settle(t, pub)

	msgs := samples(t)
	var want []string
	seen := map[string]bool{}
	for _, m := range msgs {
		env, err := bus.DecodeFrames(m)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[env.Key()] {
			want = append(want, env.Key())
			seen[env.Key()] = true
		}
		pub.Send(m...)
	}
	c.expect(t, want...)
	st := c.sub.Stats()
	if dups := uint64(len(msgs) - len(want)); st.Duplicates != dups || st.Invalid != 0 {
		t.Errorf("stats %+v: want %d duplicates (samples repeated across fixtures), 0 invalid", st, dups)
	}
}

func TestSubscriberDropsMalformedMessagesAndKeepsGoing(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}})
	c.settle(t, pub)
	const topic = "org.fedoraproject.test.good"
	for i, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"one frame", [][]byte{[]byte(`{"topic":"a","msg":{}}`)}},
		{"three frames", [][]byte{[]byte("a"), []byte(`{"topic":"a","msg":{}}`), []byte("x")}},
		{"bad UTF-8 in topic", [][]byte{[]byte("a\xff"), []byte(`{"topic":"a","msg":{}}`)}},
		{"bad UTF-8 in envelope", [][]byte{[]byte("a"), []byte("{\"topic\":\"a\",\"msg\":\"\xc3\x28\"}")}},
		{"bad JSON", [][]byte{[]byte("a"), []byte(`{"topic":"a","msg":`)}},
		{"topic mismatch", [][]byte{[]byte("a"), []byte(`{"topic":"b","msg":{}}`)}},
		{"missing msg", [][]byte{[]byte("a"), []byte(`{"topic":"a"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.sub.Stats().Invalid
			pub.Send(tc.frames...)
			pub.Send(numbered(t, topic, "good", i)...)
			c.expect(t, ids("good", i, i)...)
			if got := c.sub.Stats().Invalid; got != before+1 {
				t.Errorf("invalid count %d, want %d", got, before+1)
			}
		})
	}
}

func TestSubscriberResumesAfterPublisherRestart(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}})
	c.settle(t, pub)
	const topic = "org.fedoraproject.test.restart"
	for n := 1; n <= 20; n++ {
		pub.Send(numbered(t, topic, "before", n)...)
	}
	c.expect(t, ids("before", 1, 20)...)

	pub.Restart()
	c.settle(t, pub)
	for n := 1; n <= 20; n++ {
		pub.Send(numbered(t, topic, "after", n)...)
	}
	c.expect(t, ids("after", 1, 20)...)
	if st := c.sub.Stats(); st.Reconnects == 0 {
		t.Errorf("stats %+v: restart not counted as a reconnect", st)
	}
}

func TestSubscriberKeepsOtherEndpointWhileOneRestarts(t *testing.T) {
	a, b := testpeer.StartPub(t), testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: a.Endpoint}, {URL: b.Endpoint}}})
	c.settle(t, a)
	c.settle(t, b)

	got := map[string]int{}
	receive := func(n int) {
		for range n {
			got[c.next(t).Key()]++
		}
	}
	for n := 1; n <= 10; n++ {
		a.Send(numbered(t, "org.fedoraproject.test.a", "a", n)...)
		b.Send(numbered(t, "org.fedoraproject.test.b", "b", n)...)
	}
	receive(20)
	a.Restart()
	for n := 11; n <= 20; n++ {
		b.Send(numbered(t, "org.fedoraproject.test.b", "b", n)...)
	}
	receive(10)
	c.settle(t, a)
	for n := 11; n <= 20; n++ {
		a.Send(numbered(t, "org.fedoraproject.test.a", "a", n)...)
		b.Send(numbered(t, "org.fedoraproject.test.b", "b", n+10)...)
	}
	receive(20)
	// A last message proves nothing else (a duplicate) was waiting.
	b.Send(numbered(t, "org.fedoraproject.test.b", "end", 1)...)
	c.expect(t, ids("end", 1, 1)...)

	for _, id := range append(ids("a", 1, 20), ids("b", 1, 30)...) {
		if got[id] != 1 {
			t.Errorf("%s received %d times, want once", id, got[id])
		}
	}
}

func TestSubscriberReplaysMissedMessagesInOrder(t *testing.T) {
	var store [][]byte
	for seq := 1; seq <= 6; seq++ {
		store = append(store, sequenced(t, seq)[1])
	}
	rep := testpeer.StartRep(t, store)
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint, Replay: rep.Endpoint}}})
	c.settle(t, pub)

	for _, seq := range []int{1, 2, 5, 6} { // 3 and 4 were lost on the way
		pub.Send(sequenced(t, seq)...)
	}
	c.expect(t, ids("seq", 1, 6)...)
	if q := rep.Query(); q != `{"seq_id_range": [2, 5]}` {
		t.Errorf("replay query %s, want the range from the last seen seq_id to the current one", q)
	}
	if st := c.sub.Stats(); st.Replayed != 2 {
		t.Errorf("stats %+v: want 2 replayed", st)
	}
}

func TestSubscriberCountsIncompleteReplay(t *testing.T) {
	rep := testpeer.StartRep(t, [][]byte{sequenced(t, 1)[1], sequenced(t, 3)[1]}) // 2 and 4 are gone
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint, Replay: rep.Endpoint}}})
	c.settle(t, pub)

	pub.Send(sequenced(t, 1)...)
	pub.Send(sequenced(t, 5)...)
	c.expect(t, "2024-seq-1", "2024-seq-3", "2024-seq-5")
	if st := c.sub.Stats(); st.ReplayFailures != 1 || st.Replayed != 1 {
		t.Errorf("stats %+v: want 1 replayed and 1 replay failure", st)
	}
}

func TestSubscriberDropsLateCopyOfReplayedMessage(t *testing.T) {
	var store [][]byte
	for seq := 1; seq <= 3; seq++ {
		store = append(store, sequenced(t, seq)[1])
	}
	rep := testpeer.StartRep(t, store)
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint, Replay: rep.Endpoint}}})
	c.settle(t, pub)

	for _, seq := range []int{1, 3, 2} { // 2 arrives late, after its replay
		pub.Send(sequenced(t, seq)...)
	}
	pub.Send(numbered(t, "org.fedoraproject.test.end", "end", 1)...)
	c.expect(t, append(ids("seq", 1, 3), ids("end", 1, 1)...)...)
	if st := c.sub.Stats(); st.Duplicates != 1 {
		t.Errorf("stats %+v: want the late copy counted as 1 duplicate", st)
	}
}

func TestSubscriberCountsFailedReplayAndDeliversCurrent(t *testing.T) {
	rep := testpeer.StartRep(t, [][]byte{sequenced(t, 9)[1]}) // knows nothing of 1..5
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint, Replay: rep.Endpoint}}})
	c.settle(t, pub)

	pub.Send(sequenced(t, 1)...)
	pub.Send(sequenced(t, 5)...)
	c.expect(t, "2024-seq-1", "2024-seq-5")
	if st := c.sub.Stats(); st.ReplayFailures != 1 {
		t.Errorf("stats %+v: want 1 replay failure", st)
	}
}

// topicChecker refuses messages whose topic contains "forged": a stand-in
// for X.509 verification, which has its own tests.
type topicChecker struct{}

func (topicChecker) Verify(env *bus.Envelope) error {
	if strings.Contains(env.Topic, "forged") {
		return errors.New("signature does not match")
	}
	return nil
}

func TestSubscriberDropsMessagesFailingVerification(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, Verifier: topicChecker{}})
	c.settle(t, pub)

	pub.Send(numbered(t, "org.fedoraproject.test.forged", "forged", 1)...)
	pub.Send(numbered(t, "org.fedoraproject.test.signed", "signed", 1)...)
	c.expect(t, "2024-signed-1")
	if st := c.sub.Stats(); st.BadSignature != 1 {
		t.Errorf("stats %+v: want 1 bad signature", st)
	}
}

func TestSubscriberDeliversOnlySubscribedTopics(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{
		Endpoints: []bus.Endpoint{{URL: pub.Endpoint}},
		Topics:    []string{probeTopic, "org.fedoraproject.prod.bodhi."},
	})
	c.settle(t, pub)

	pub.Send(numbered(t, "org.fedoraproject.prod.koji.build", "koji", 1)...)
	pub.Send(numbered(t, "org.fedoraproject.prod.bodhi.update", "bodhi", 1)...)
	c.expect(t, "2024-bodhi-1")
}

func TestSubscriberDropNewestCountsOverflow(t *testing.T) {
	pub := testpeer.StartPub(t)
	gate := make(chan struct{})
	c := subscribeGated(t, bus.SubscriberOptions{
		Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, QueueSize: 1, Overflow: bus.DropNewest,
	}, gate)
	c.settle(t, pub)

	// One message waits in the handler, one in the queue, three are dropped.
	received := c.sub.Stats().Received
	pub.Send(numbered(t, "org.fedoraproject.test.flood", "flood", 1)...)
	<-c.held
	for n := 2; n <= 5; n++ {
		pub.Send(numbered(t, "org.fedoraproject.test.flood", "flood", n)...)
	}
	eventually(t, "5 messages received", func() bool { return c.sub.Stats().Received >= received+5 })
	close(gate)
	c.expect(t, ids("flood", 1, 2)...)
	if st := c.sub.Stats(); st.Overflowed != 3 {
		t.Errorf("stats %+v: want 3 overflowed", st)
	}
}

func TestSubscriberBlockWaitsAndLosesNothing(t *testing.T) {
	pub := testpeer.StartPub(t)
	gate := make(chan struct{})
	c := subscribeGated(t, bus.SubscriberOptions{
		Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, QueueSize: 1, Overflow: bus.Block,
	}, gate)
	c.settle(t, pub)

	for n := 1; n <= 5; n++ {
		pub.Send(numbered(t, "org.fedoraproject.test.flood", "flood", n)...)
	}
	eventually(t, "the receiver waits for room", func() bool { return c.sub.Stats().Overflowed > 0 })
	close(gate)
	c.expect(t, ids("flood", 1, 5)...)
}

func TestSubscriberRedialsSilentEndpoint(t *testing.T) {
	pub := testpeer.StartPub(t)
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, Silence: 300 * time.Millisecond})
	c.settle(t, pub)
	eventually(t, "the watchdog re-dials", func() bool { return c.sub.Stats().Reconnects > 0 })
	c.settle(t, pub)
	pub.Send(numbered(t, "org.fedoraproject.test.after", "after", 1)...)
	c.expect(t, "2024-after-1")
}

func TestNewSubscriberRejectsBadEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		ep   bus.Endpoint
		want string
	}{
		{"no port", bus.Endpoint{URL: "tcp://127.0.0.1"}, "endpoint 1: parse endpoint"},
		{"bad port", bus.Endpoint{URL: "tcp://127.0.0.1:http"}, `port "http"`},
		{"no transport", bus.Endpoint{URL: "127.0.0.1:9940"}, "want tcp://HOST:PORT or ipc://PATH"},
		{"unknown transport", bus.Endpoint{URL: "udp://127.0.0.1:9940"}, `transport "udp"`},
		{"bad replay", bus.Endpoint{URL: "tcp://127.0.0.1:9940", Replay: "127.0.0.1:9941"}, "endpoint 1 replay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bus.NewSubscriber(bus.SubscriberOptions{Endpoints: []bus.Endpoint{tc.ep}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseOverflow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bus.Overflow
		ok   bool
	}{
		{"block", bus.Block, true},
		{"drop-newest", bus.DropNewest, true},
		{"drop-oldest", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := bus.ParseOverflow(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseOverflow(%q) = %v, %v", tc.in, got, err)
			}
			if tc.ok && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

// An inbound endpoint is bound by the subscriber, and active-mode
// publishers (fedmsg-logger, hark publish) connect to it.
func TestSubscriberBindsInboundForActivePublishers(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: endpoint, Bind: true}}})
	ctx := context.Background()
	for _, name := range []string{"first", "second"} {
		pub, err := bus.NewPublisher(ctx, bus.PublisherOptions{Endpoint: endpoint, Modname: "logger", Username: name})
		if err != nil {
			t.Fatalf("new publisher %s: %v", name, err)
		}
		var want []string
		for n := range 3 {
			env, err := pub.Publish(ctx, "log", map[string]any{"log": fmt.Sprint(name, n)})
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			want = append(want, env.Key())
		}
		c.expect(t, want...)
		if err := pub.Close(); err != nil {
			t.Fatalf("close publisher: %v", err)
		}
	}
}
