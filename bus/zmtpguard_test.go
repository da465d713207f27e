package bus_test

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
)

// hostileStreams are what a peer of the inbound socket can send to make
// zmq4 allocate whatever a frame header claims, each with what it costs
// without the guard.
func hostileStreams() []struct {
	name   string
	stream []byte
} {
	greeting, ready := testpeer.ZMTPGreeting(), testpeer.ZMTPReady("PUB")
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// 40,000 empty frames of one message: no frame is large, their count is.
	var emptyFrames []byte
	for range 40000 {
		emptyFrames = append(emptyFrames, 0x01, 0)
	}
	return []struct {
		name   string
		stream []byte
	}{
		// 73 bytes: panic makeslice before the handshake.
		{"2^62 bytes before the handshake", join(greeting, testpeer.ZMTPLongHeader(1<<62, false))},
		// fatal out of memory after a valid handshake.
		{"2^40 bytes after the handshake", join(greeting, ready, testpeer.ZMTPLongHeader(1<<40, false))},
		// frames of a message that add up past the limit.
		{"topic then a 2^40-byte envelope", join(greeting, ready, []byte{0x01, 3}, []byte("top"), testpeer.ZMTPLongHeader(1<<40, false))},
		{"a flood of empty frames", join(greeting, ready, emptyFrames)},
	}
}

// waitListening waits until something accepts TCP connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	eventually(t, addr+" accepts connections", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// A peer of the bound inbound socket that announces a huge message is
// disconnected before anything is allocated, and the socket goes on
// serving other publishers.
func TestInboundRefusesHostileFrameHeadersAndKeepsReceiving(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: endpoint, Bind: true}}})
	addr := strings.TrimPrefix(endpoint, "tcp://")
	waitListening(t, addr)
	streams := hostileStreams()
	for _, tc := range streams {
		t.Run(tc.name, func(t *testing.T) {
			if !testpeer.SendRawZMTP(t, addr, tc.stream, waitTimeout) {
				t.Fatalf("the connection stayed open")
			}
		})
	}
	eventually(t, "every hostile peer is counted", func() bool { return c.sub.Stats().TooLarge == uint64(len(streams)) })

	ctx := context.Background()
	pub, err := bus.NewPublisher(ctx, bus.PublisherOptions{Endpoint: endpoint, Modname: "logger", Username: "after"})
	if err != nil {
		t.Fatalf("new publisher: %v", err)
	}
	defer pub.Close()
	env, err := pub.Publish(ctx, "log", map[string]any{"log": "still here"})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	c.expect(t, env.Key())
}

// A publisher the subscriber dials that sends a message over the limit is
// counted and disconnected; the subscriber dials it again and receives
// what follows.
func TestSubscriberRefusesMessageOverTheLimitFromLibzmq(t *testing.T) {
	pub := testpeer.StartPub(t)
	const limit = 4096
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, MaxMessageBytes: limit})
	c.settle(t, pub)

	big := message(t, map[string]any{
		"topic": "org.fedoraproject.test.big", "msg": map[string]any{"text": strings.Repeat("x", 2*limit)},
		"msg_id": "2024-big-1", "timestamp": 1700000000,
	})
	pub.Send(big...)
	eventually(t, "the large message is refused", func() bool { return c.sub.Stats().TooLarge == 1 })

	c.settle(t, pub)
	pub.Send(numbered(t, "org.fedoraproject.test.after", "after", 1)...)
	c.expect(t, "2024-after-1")
	if st := c.sub.Stats(); st.TooLarge != 1 {
		t.Errorf("stats %+v: want 1 too large", st)
	}
}

// A message just under the limit passes: the limit is the envelope's
// size, with room for its topic frame.
func TestSubscriberAcceptsMessageAtTheLimit(t *testing.T) {
	pub := testpeer.StartPub(t)
	const limit = 4096
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: pub.Endpoint}}, MaxMessageBytes: limit})
	c.settle(t, pub)
	fields := map[string]any{"topic": "org.fedoraproject.test.full", "msg": map[string]any{"text": ""},
		"msg_id": "2024-full-1", "timestamp": 1700000000}
	base := len(message(t, fields)[1])
	fields["msg"] = map[string]any{"text": strings.Repeat("x", limit-base)}
	frames := message(t, fields)
	if len(frames[1]) != limit {
		t.Fatalf("envelope is %d bytes, want %d", len(frames[1]), limit)
	}
	pub.Send(frames...)
	c.expect(t, "2024-full-1")
}

// A peer that connects and says nothing, or says something other than a
// ZMTP greeting, is disconnected, and publishers behind it get through:
// zmq4 handshakes one connection at a time and never gives up on its own.
func TestInboundDropsSilentAndGarbledPeers(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	const handshake = 500 * time.Millisecond
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: endpoint, Bind: true}}, HandshakeTimeout: handshake})
	addr := strings.TrimPrefix(endpoint, "tcp://")
	waitListening(t, addr)

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx := context.Background()
	// Without the timeout the publisher's handshake waits for good.
	type started struct {
		pub *bus.Publisher
		err error
	}
	connected := make(chan started, 1)
	go func() {
		pub, err := bus.NewPublisher(ctx, bus.PublisherOptions{Endpoint: endpoint, Modname: "logger", Username: "behind"})
		connected <- started{pub, err}
	}()
	var pub *bus.Publisher
	select {
	case s := <-connected:
		if s.err != nil {
			t.Fatalf("new publisher behind a silent peer: %v", s.err)
		}
		pub = s.pub
	case <-time.After(waitTimeout):
		t.Fatalf("a publisher could not connect behind a silent peer within %v", waitTimeout)
	}
	defer pub.Close()
	env, err := pub.Publish(ctx, "log", map[string]any{"log": "got through"})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	c.expect(t, env.Key())
	if !testpeer.SendRawZMTP(t, addr, nil, waitTimeout) {
		t.Errorf("a silent peer stayed connected past the handshake timeout")
	}
	// Longer than a greeting, so zmq4 reads it whole, refuses it, and
	// reads no more (no timeout would close it).
	garbage := []byte("GET / HTTP/1.1\r\nHost: hark\r\nUser-Agent: " + strings.Repeat("x", 64) + "\r\n\r\n")
	if !testpeer.SendRawZMTP(t, addr, garbage, waitTimeout) {
		t.Errorf("a peer that sent no greeting stayed connected")
	}
}

// hark publish --bind's PUB socket reads its subscribers' subscriptions;
// one that announces a huge one is disconnected, and the others still
// receive.
func TestBoundPublisherRefusesHostileSubscriber(t *testing.T) {
	pub := newPublisher(t, bus.PublisherOptions{Endpoint: "tcp://127.0.0.1:0", Bind: true, Env: "prod", Modname: "hark"})
	stream := bytes.Join([][]byte{testpeer.ZMTPGreeting(), testpeer.ZMTPReady("SUB"), testpeer.ZMTPLongHeader(1<<40, false)}, nil)
	if !testpeer.SendRawZMTP(t, pub.Addr(), stream, waitTimeout) {
		t.Fatalf("the connection stayed open")
	}
	sub := testpeer.StartSub(t, "tcp://"+pub.Addr(), false, "org.fedoraproject.prod.hark.")
	sent, err := pub.Publish(context.Background(), "test.bind", map[string]any{"log": "still here"})
	if err != nil {
		t.Fatal(err)
	}
	received(t, sub.Next(), sent)
}

// The guard carries ipc:// endpoints too.
func TestInboundOverIPCPassesTheGuard(t *testing.T) {
	endpoint := "ipc://" + filepath.Join(t.TempDir(), "inbound.sock")
	c := subscribe(t, bus.SubscriberOptions{Endpoints: []bus.Endpoint{{URL: endpoint, Bind: true}}, MaxMessageBytes: 4096})
	ctx := context.Background()
	var pub *bus.Publisher
	eventually(t, "the ipc socket is bound", func() bool {
		var err error
		pub, err = bus.NewPublisher(ctx, bus.PublisherOptions{Endpoint: endpoint, Modname: "logger", Username: "ipc"})
		return err == nil
	})
	defer pub.Close()
	env, err := pub.Publish(ctx, "log", map[string]any{"log": "over ipc"})
	if err != nil {
		t.Fatal(err)
	}
	c.expect(t, env.Key())
	if _, err := pub.Publish(ctx, "log", map[string]any{"log": strings.Repeat("x", 8192)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the large message is refused", func() bool { return c.sub.Stats().TooLarge == 1 })
}
