package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
	"hark/store"
)

// serveMemoryLimit is the address space `hark serve` runs in for the
// hostile-input tests (Go reserves address space generously, so 1 GiB is
// too tight), so a regression that allocates what a peer claims (2^40)
// fails the test as an out-of-memory exit instead of taking the machine.
const serveMemoryLimit = 4 << 30

// Frame headers that claim 2^62 bytes before the handshake (a panic in
// zmq4) or 2^40 after it (out of memory) leave `hark serve` running, and
// it goes on receiving from its endpoint and its inbound socket.
func TestServeSurvivesHostileZMTPHeaders(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		testpeer.Unavailable(t, "prlimit", "util-linux", err)
	}
	pub := testpeer.StartPub(t)
	s := newService(t, pub.Endpoint, "")
	inboundPort := testpeer.FreePort(t)
	inbound := testpeer.Endpoint(inboundPort)
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte(`inbound: ""`), fmt.Appendf(nil, "inbound: %q", inbound), 1)
	if err := os.WriteFile(s.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	s.wrap = []string{prlimit, fmt.Sprintf("--as=%d", serveMemoryLimit)}
	s.start(t)
	s.settle(t, pub)

	greeting, ready := testpeer.ZMTPGreeting(), testpeer.ZMTPReady("PUB")
	addr := strings.TrimPrefix(inbound, "tcp://")
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"2^62 bytes before the handshake", append(greeting, testpeer.ZMTPLongHeader(1<<62, false)...)},
		{"2^40 bytes after the handshake", bytes.Join([][]byte{greeting, ready, testpeer.ZMTPLongHeader(1<<40, false)}, nil)},
	} {
		if !testpeer.SendRawZMTP(t, addr, tc.stream, 20*time.Second) {
			t.Errorf("%s: the connection stayed open", tc.name)
		}
		if s.metric(t, "hark_bus_received_total") < 0 {
			t.Fatalf("%s: hark serve died:\n%s", tc.name, s.log)
		}
	}
	if got := s.metric(t, "hark_bus_too_large_total"); got != 2 {
		t.Errorf("hark_bus_too_large_total = %v, want 2", got)
	}

	// Still receiving: from the endpoint it dials, and on the inbound socket.
	s.settle(t, pub)
	before := s.metric(t, "hark_bus_received_total")
	ctx := context.Background()
	logger, err := bus.NewPublisher(ctx, bus.PublisherOptions{Endpoint: inbound, Modname: "logger", Username: "after"})
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	if _, err := logger.Publish(ctx, "log", map[string]any{"log": "still here"}); err != nil {
		t.Fatal(err)
	}
	s.eventually(t, "the inbound message is received", func() bool { return s.metric(t, "hark_bus_received_total") > before })
	s.stop(t)
}

// History import takes what the bus would: a line over
// bus.max_message_bytes is named and skipped, the rest imported.
func TestHistoryImportSkipsMessagesOverTheLimit(t *testing.T) {
	e := newAdminEnv(t)
	if err := os.WriteFile(e.config, []byte("store:\n  path: hark.db\nbus:\n  max_message_bytes: 2048\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "big.jsonl")
	small := `{"topic": "org.fedoraproject.prod.x", "msg": {}, "msg_id": "2024-small"}`
	big := `{"topic": "org.fedoraproject.prod.x", "msg": {"text": "` + strings.Repeat("x", 4096) + `"}, "msg_id": "2024-big"}`
	if err := os.WriteFile(file, []byte(small+"\n"+big+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := adminRun(t, "", "history", "import", file)
	if code != 1 || !strings.Contains(out, "imported 1 messages") ||
		!strings.Contains(errOut, "big.jsonl:2: message of 4176 bytes exceeds bus.max_message_bytes (2048)") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	page, err := e.open(t).HistoryPage(context.Background(), store.Cursor{}, 10)
	if err != nil || len(page) != 1 {
		t.Fatalf("history has %d messages, %v; want the small one", len(page), err)
	}
}
