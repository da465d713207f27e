package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/config"
	"hark/internal/testpeer"
	"hark/meta"
)

// waitTimeout bounds a wait for output that should come; it is only
// reached when a test fails.
const waitTimeout = 15 * time.Second

// lockedBuffer is an io.Writer the command writes to while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tailRun is `hark tail` running in-process.
type tailRun struct {
	out, err lockedBuffer
	status   chan int
	stop     context.CancelFunc
}

func startTail(t *testing.T, args ...string) *tailRun {
	t.Helper()
	t.Setenv(config.EnvVar, "")
	ctx, cancel := context.WithCancel(context.Background())
	r := &tailRun{status: make(chan int, 1), stop: cancel}
	go func() {
		r.status <- run(ctx, append([]string{"tail"}, args...), stdio{strings.NewReader(""), &r.out, &r.err})
	}()
	t.Cleanup(func() { r.exit(t) })
	return r
}

// exit stops the command and returns its exit status.
func (r *tailRun) exit(t *testing.T) int {
	r.stop()
	select {
	case code := <-r.status:
		r.status <- code
		return code
	case <-time.After(waitTimeout):
		t.Fatalf("hark tail did not stop; stderr: %s", r.err.String())
		return -1
	}
}

// waitFor waits until the output contains every string of want.
func (r *tailRun) waitFor(t *testing.T, want ...string) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for {
		out := r.out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("output lacks %q after %v:\n%s\nstderr: %s", missing, waitTimeout, out, r.err.String())
		}
	}
}

var probes int

// settle publishes probes on topic until hark tail prints one.
func (r *tailRun) settle(t *testing.T, pub *testpeer.Pub, topic string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		probes++
		id := fmt.Sprintf("2024-probe-%d", probes)
		pub.Send(envelope(t, topic, id)...)
		for wait := time.Now().Add(100 * time.Millisecond); time.Now().Before(wait); {
			if strings.Contains(r.out.String(), id) {
				return
			}
			time.Sleep(5 * time.Millisecond) // polling output, not timing logic
		}
	}
	t.Fatalf("hark tail never printed a probe; stderr: %s", r.err.String())
}

func envelope(t *testing.T, topic, msgID string) [][]byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"topic": topic, "msg": map[string]any{"id": msgID}, "msg_id": msgID, "timestamp": 1700000000})
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{[]byte(topic), body}
}

func TestTailPrintsEveryMessageAcrossPublisherRestart(t *testing.T) {
	pub := testpeer.StartPub(t)
	r := startTail(t, "--endpoint", pub.Endpoint, "--json")
	var want []string
	for _, phase := range []string{"before", "after"} {
		if phase == "after" {
			pub.Restart()
		}
		r.settle(t, pub, "org.fedoraproject.test.probe")
		for n := 1; n <= 20; n++ {
			id := fmt.Sprintf("2024-%s-%d", phase, n)
			pub.Send(envelope(t, "org.fedoraproject.test.tail", id)...)
			want = append(want, id)
		}
		r.waitFor(t, want...)
	}
	if code := r.exit(t); code != 0 {
		t.Errorf("exit status %d, want 0 on interrupt", code)
	}
	for _, id := range want {
		if n := strings.Count(r.out.String(), `"msg_id":"`+id+`"`); n != 1 {
			t.Errorf("%s printed %d times", id, n)
		}
	}
}

func TestTailFormats(t *testing.T) {
	sample := envelopeOf(t, `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"text": "ok <b>", "user": {"name": "ralph"}, "update_title": "foo-1.0-1.fc40"}}, "msg_id": "2024-format-1", "timestamp": 1700000000, "i": 1.50}`)
	d, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	desc := d.Describe(sample)
	subtitle := desc.Subtitle
	if subtitle == "" {
		subtitle = sample.MsgID
	}
	for _, tc := range []struct {
		flag string
		want string
	}{
		{"--json", string(bus.CompactUTF8(sample.Fields)) + "\n"},
		{"--pretty", "  \"i\": 1.50,\n"},
		{"--terse", sample.Topic + " " + subtitle + " " + desc.Link + "\n"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			pub := testpeer.StartPub(t)
			r := startTail(t, "--endpoint", pub.Endpoint, "--exclude", "probe", tc.flag)
			r.settleSilently(t, pub, sample)
			r.waitFor(t, tc.want)
		})
	}
}

// settleSilently publishes env until hark tail prints it once; further
// copies are dropped as duplicates by the subscriber.
func (r *tailRun) settleSilently(t *testing.T, pub *testpeer.Pub, env *bus.Envelope) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) && r.out.String() == "" {
		pub.Send([]byte(env.Topic), bus.Canonical(env.Fields))
		for wait := time.Now().Add(100 * time.Millisecond); time.Now().Before(wait) && r.out.String() == ""; {
			time.Sleep(5 * time.Millisecond) // polling output, not timing logic
		}
	}
}

func envelopeOf(t *testing.T, text string) *bus.Envelope {
	t.Helper()
	env, err := bus.Decode([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestTailFiltersTopics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		shown []string
		gone  []string
	}{
		{"heartbeats excluded by default", nil,
			[]string{"org.fedoraproject.prod.bodhi.update"}, []string{"org.fedoraproject.prod.fedbadges._heartbeat"}},
		{"include searches the topic", []string{"--include", `koji\.build`},
			[]string{"org.fedoraproject.prod.buildsys.koji.build.state.change"}, []string{"org.fedoraproject.prod.bodhi.update"}},
		{"exclude replaces the default", []string{"--exclude", "bodhi"},
			[]string{"org.fedoraproject.prod.fedbadges._heartbeat"}, []string{"org.fedoraproject.prod.bodhi.update"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := testpeer.StartPub(t)
			r := startTail(t, append([]string{"--endpoint", pub.Endpoint, "--json"}, tc.args...)...)
			r.settle(t, pub, tc.shown[0])
			var shownIDs []string
			for i, topic := range append(tc.gone, tc.shown...) {
				id := fmt.Sprintf("2024-filter-%d", i)
				pub.Send(envelope(t, topic, id)...)
				if i >= len(tc.gone) {
					shownIDs = append(shownIDs, id)
				}
			}
			r.waitFor(t, shownIDs...)
			for _, topic := range tc.gone {
				if strings.Contains(r.out.String(), topic) {
					t.Errorf("printed %s", topic)
				}
			}
		})
	}
}

func TestTailRejectsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no endpoint", nil, "no endpoint: give --endpoint or set bus.endpoints or bus.srv_domains in the config"},
		{"two formats", []string{"--json", "--terse"}, "at most one of --json, --pretty, --terse"},
		{"bad include", []string{"--include", "("}, "--include: error parsing regexp"},
		{"bad endpoint", []string{"--endpoint", "udp://x:1"}, `transport "udp"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(config.EnvVar, "")
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"tail"}, tc.args...), stdio{strings.NewReader(""), &out, &errOut})
			if code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut.String(), tc.want)
			}
		})
	}
}
