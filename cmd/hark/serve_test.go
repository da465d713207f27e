package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/internal/testpeer"
	"hark/meta"
	"hark/owners"
	"hark/rules"
)

// harkBinary builds the hark binary once per test run: `hark serve` runs
// as a process of its own so tests can kill it as a crash would.
var harkBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hark-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hark")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// service is one `hark serve` process and the files it uses.
type service struct {
	dir, config, db, web string
	cmd                  *exec.Cmd
	log                  *logBuffer
	// wrap runs the service through a command, e.g. prlimit, when set.
	wrap []string
	// args are more arguments to hark serve, e.g. --roles.
	args []string
}

// logBuffer is a service's output, which tests read while the process
// still writes it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newService writes a config whose store, web port and bus endpoint are
// the test's own. extra is appended to the YAML.
func newService(t testing.TB, endpoint, extra string) *service {
	t.Helper()
	dir := t.TempDir()
	s := &service{dir: dir, config: filepath.Join(dir, "hark.yaml"), db: filepath.Join(dir, "hark.db"),
		web: fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))}
	cfg := fmt.Sprintf("store:\n  path: hark.db\nweb:\n  listen: %s\nbus:\n  inbound: \"\"\n  endpoints: [%q]\n%s", s.web, endpoint, extra)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HARK_CONFIG", s.config)
	return s
}

// start runs `hark serve` and waits until /healthz answers.
func (s *service) start(t testing.TB) {
	t.Helper()
	s.launch(t)
	s.eventually(t, "hark serve answers /healthz", func() bool {
		resp, err := http.Get("http://" + s.web + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// launch runs `hark serve` without waiting for it.
func (s *service) launch(t testing.TB) {
	t.Helper()
	bin, err := harkBinary()
	if err != nil {
		t.Fatal(err)
	}
	s.log = &logBuffer{}
	args := append(append(append([]string{}, s.wrap...), bin, "serve", "--config", s.config), s.args...)
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := s.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

// kill stops the service as a crash would: SIGKILL, no draining.
func (s *service) kill(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// stop sends SIGTERM and expects a clean exit.
func (s *service) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("hark serve after SIGTERM: %v\n%s", err, s.log)
	}
}

// metric reads one unlabelled sample from /metrics.
func (s *service) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.web + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func (s *service) eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			out := ""
			if s.log != nil {
				out = s.log.String()
			}
			t.Fatalf("timed out waiting until %s; service log:\n%s", what, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle publishes probes until the service has received one, so the
// subscription has reached the publisher (ZeroMQ's slow joiner).
func (s *service) settle(t *testing.T, pub *testpeer.Pub) {
	t.Helper()
	before := s.metric(t, "hark_bus_received_total")
	for i := 0; ; i++ {
		pub.Send(probe(t, i)...)
		if s.metric(t, "hark_bus_received_total") > before {
			return
		}
		if i > 200 {
			t.Fatalf("subscription never settled; log:\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func probe(t *testing.T, n int) [][]byte {
	t.Helper()
	return frames(t, map[string]any{"topic": "org.fedoraproject.test.probe", "msg": map[string]any{}, "msg_id": fmt.Sprintf("probe-%d-%d", n, time.Now().UnixNano())})
}

func frames(t testing.TB, fields map[string]any) [][]byte {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{[]byte(fields["topic"].(string)), body}
}

// notification is one row of `hark notifications --json`.
type notification struct {
	MsgID       string `json:"msg_id"`
	User        string `json:"user"`
	Destination string `json:"destination"`
	Filter      string `json:"filter"`
	State       string `json:"state"`
}

func listNotifications(t testing.TB) []notification {
	t.Helper()
	var ns []notification
	if err := json.Unmarshal([]byte(adminMust(t, "", "notifications", "--json", "--limit", "1000000")), &ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

// sampleEnvelopes is testdata's real messages without the file's own
// annotations, as frames and decoded, first copy of each key only.
func sampleEnvelopes(t *testing.T) ([][][]byte, []*bus.Envelope) {
	t.Helper()
	data, err := os.ReadFile("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var fs [][][]byte
	var envs []*bus.Envelope
	seen := map[string]bool{}
	for line := range bytes.Lines(data) {
		var fields map[string]any
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatal(err)
		}
		delete(fields, "expected")
		delete(fields, "_fixture")
		f := frames(t, fields)
		env, err := bus.Decode(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if seen[env.Key()] {
			continue
		}
		seen[env.Key()] = true
		fs = append(fs, f)
		envs = append(envs, env)
	}
	return fs, envs
}

const aliceFilters = `{"version": 1, "user": "alice", "filters": [
  {"name": "bodhi but not mine", "active": true, "destinations": ["email:alice@example.org"],
   "rules": [{"kind": "app", "args": {"names": ["bodhi"]}},
             {"kind": "agent", "args": {"names": ["@me"]}, "negate": true}]},
  {"name": "koji builds", "active": true, "destinations": ["irc:alice"],
   "rules": [{"kind": "topic", "args": {"pattern": "*.buildsys.build.state.change"}}]}]}`

const bobFilters = `{"version": 1, "user": "bob", "filters": [
  {"name": "my packages", "active": true, "destinations": ["email:bob@example.org"],
   "rules": [{"kind": "owned-by", "args": {"users": ["@me"]}}]}]}`

// TestServeQueuesExpectedNotificationsFromLibzmq publishes real sample
// messages from a libzmq publisher into `hark serve` and finds exactly
// the notifications the users' filters (made through the CLI) call for.
func TestServeQueuesExpectedNotificationsFromLibzmq(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	frs, envs := sampleEnvelopes(t)
	describer, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// bob owns the packages of the first message that has any.
	var owned []string
	for _, env := range envs {
		if d := describer.Describe(env); len(d.Packages) > 0 {
			owned = d.Packages
			break
		}
	}
	ownerMap := map[string][]string{}
	for _, p := range owned {
		ownerMap[p] = []string{"bob"}
	}
	ownersJSON, _ := json.Marshal(map[string]any{"rpms": ownerMap})

	svc := newService(t, pub.Endpoint, "owners:\n  source: owners.json\n")
	if err := os.WriteFile(filepath.Join(svc.dir, "owners.json"), ownersJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--irc", "alice", "--confirmed")
	adminMust(t, "", "user", "add", "bob", "--email", "bob@example.org", "--confirmed")
	for name, text := range map[string]string{"alice.json": aliceFilters, "bob.json": bobFilters} {
		path := filepath.Join(svc.dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		adminMust(t, "", "filters", "import", path)
	}

	// What the filters call for, by the same rules the service runs.
	snap, err := owners.Load(context.Background(), owners.Source{Aliases: filepath.Join(svc.dir, "owners.json")})
	if err != nil {
		t.Fatal(err)
	}
	ix := filters.New(filters.Options{Owners: func() rules.Ownership { return snap }})
	for name, text := range map[string]string{"alice": aliceFilters, "bob": bobFilters} {
		e, err := filters.ParseExport(name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.SetUser(name, e.Filters); err != nil {
			t.Fatal(err)
		}
	}
	want := map[notification]bool{}
	for _, env := range envs {
		d := describer.Describe(env)
		for _, h := range ix.DryRun(env, &d) {
			want[notification{MsgID: env.Key(), User: h.User, Destination: h.Destination, Filter: h.Filter}] = true
		}
	}
	users := map[string]int{}
	for n := range want {
		users[n.User]++
	}
	if users["alice"] == 0 || users["bob"] == 0 {
		t.Fatalf("the test's filters should match something for both users; they match %v", users)
	}

	svc.start(t)
	svc.settle(t, pub)
	for _, f := range frs {
		pub.Send(f...)
	}
	svc.eventually(t, "every sample is committed", func() bool {
		return svc.metric(t, "hark_messages_committed_total") >= float64(len(frs))
	})
	svc.stop(t)

	got := map[notification]bool{}
	for _, n := range listNotifications(t) {
		n.State = "" // delivery may have tried them already; what was queued is the question
		if got[n] {
			t.Errorf("duplicate notification %+v", n)
		}
		got[n] = true
	}
	for n := range want {
		if !got[n] {
			t.Errorf("missing notification %+v", n)
		}
	}
	for n := range got {
		if !want[n] {
			t.Errorf("unexpected notification %+v", n)
		}
	}
	t.Logf("%d notifications for %d messages: %v", len(got), len(frs), users)
}

// TestServeLosesNothingCommittedWhenKilled kills `hark serve` with
// SIGKILL in the middle of a steady stream: every notification committed
// before the kill survives, none is duplicated, every message received
// more than a second before the kill was committed, and after a restart
// processing resumes.
func TestServeLosesNothingCommittedWhenKilled(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	svc := newService(t, pub.Endpoint, "")
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "alice.json")
	os.WriteFile(path, []byte(`{"version": 1, "user": "alice", "filters": [{"name": "stream", "active": true,
		"destinations": ["email:alice@example.org"], "rules": [{"kind": "app", "args": {"names": ["stream"]}}]}]}`), 0o600)
	adminMust(t, "", "filters", "import", path)

	svc.start(t)
	svc.settle(t, pub)
	type sent struct {
		id string
		at time.Time
	}
	var log []sent
	send := func(n int) {
		id := fmt.Sprintf("2026-stream-%d", n)
		pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.stream.tick", "msg": map[string]any{"n": n}, "msg_id": id})...)
		log = append(log, sent{id, time.Now()})
	}
	n := 0
	streamUntil := time.Now().Add(2 * time.Second)
	for time.Now().Before(streamUntil) {
		send(n)
		n++
		time.Sleep(2 * time.Millisecond)
	}
	killedAt := time.Now()
	svc.kill(t)
	for i := 0; i < 20; i++ { // sent while hark is down: ZeroMQ keeps none of them
		send(n)
		n++
	}

	before := map[string]bool{}
	for _, x := range listNotifications(t) {
		if before[x.MsgID] {
			t.Errorf("duplicate notification for %s", x.MsgID)
		}
		before[x.MsgID] = true
	}
	for _, s := range log {
		if s.at.Before(killedAt.Add(-time.Second)) && !before[s.id] {
			t.Errorf("message %s was sent %v before the kill and not committed", s.id, killedAt.Sub(s.at).Round(time.Millisecond))
		}
	}
	if len(before) == 0 {
		t.Fatalf("nothing committed before the kill")
	}

	svc.start(t)
	svc.settle(t, pub)
	resumeFrom := n
	for i := 0; i < 50; i++ {
		send(n)
		n++
	}
	last := fmt.Sprintf("2026-stream-%d", n-1)
	svc.eventually(t, "processing resumes after the restart", func() bool {
		for _, x := range listNotifications(t) {
			if x.MsgID == last {
				return true
			}
		}
		return false
	})
	svc.stop(t)

	after := map[string]int{}
	for _, x := range listNotifications(t) {
		after[x.MsgID]++
	}
	for id := range before {
		if after[id] != 1 {
			t.Errorf("notification for %s committed before the kill: %d after the restart, want 1", id, after[id])
		}
	}
	for i := resumeFrom; i < n; i++ {
		if id := fmt.Sprintf("2026-stream-%d", i); after[id] != 1 {
			t.Errorf("message %s sent after the restart: %d notifications, want 1", id, after[id])
		}
	}
	t.Logf("%d notifications before the kill, %d after the restart", len(before), len(after))
}
