package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hark/internal/testpeer"
)

// clusterStore is the store a cluster's processes share: its section of
// the configuration. SQLite is one file several processes open in WAL
// mode; PostgreSQL a fresh database on the machine's server.
type clusterStore struct {
	name   string
	config func(t testing.TB, dir string) string
	// restartable: a test that restarts the store's server runs it on a
	// server of its own instead (see privateServer).
	restartable bool
}

var clusterStores = []clusterStore{
	{"sqlite", func(testing.TB, string) string { return "store:\n  path: hark.db\n" }, false},
	{"postgres", func(t testing.TB, _ string) string { return postgresStore(testpeer.PostgresDB(t)) }, true},
}

// postgresStore is the store section for the database at url. Its path
// is in the test's directory: beside it live each process's sent journal
// and the unsubscribe key, which must not be shared with other runs.
func postgresStore(url string) string {
	return fmt.Sprintf("store:\n  url: %q\n  path: hark.db\n", url)
}

// privateServer moves a restartable st to a PostgreSQL server of t's own
// and returns how to restart that server (see restartServer); for the
// others, st as it is and nil.
func privateServer(t *testing.T, st clusterStore) (clusterStore, func(down time.Duration, workers int)) {
	if !st.restartable {
		return st, nil
	}
	pg := testpeer.StartPrivatePostgres(t)
	st.config = func(testing.TB, string) string { return postgresStore(pg.URL) }
	return st, func(down time.Duration, workers int) { restartServer(t, pg, down, workers) }
}

// restartServer stops pg for down, starts it again and waits until the
// delivery partitions are shared by as many workers as before. An outage
// longer than the lease lets every lease lapse, and the first worker
// back takes every partition until the others show up again: a worker
// killed before it has its share again would leave nothing to take over.
func restartServer(t *testing.T, pg *testpeer.PrivatePostgres, down time.Duration, workers int) {
	t.Helper()
	stopped := time.Now()
	pg.Stop()
	time.Sleep(down) // the outage itself, not a wait for something
	pg.Start()
	back := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var owners int
		err := conn.QueryRow(ctx, `SELECT count(DISTINCT owner) FROM leases WHERE name LIKE 'delivery:%' AND expires > now()`).Scan(&owners)
		if err != nil {
			t.Fatalf("count the owners of delivery partitions after the restart: %v", err)
		}
		if owners == workers {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("PostgreSQL restarted mid-stream: down for %v, partitions shared by %d workers again %v after", back.Sub(stopped).Round(time.Millisecond), workers, time.Since(back).Round(time.Millisecond))
}

// cluster is several `hark serve` processes on one store, each with its
// own configuration file that differs only in its web port.
type cluster struct {
	dir, base string // base: the configuration without web
	procs     map[string]*service
}

// newCluster writes the shared part of the configuration: st's store,
// no ZeroMQ bus, and extra.
func newCluster(t testing.TB, st clusterStore, extra string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{dir: dir, procs: map[string]*service{}}
	c.base = st.config(t, dir) + "bus:\n  inbound: \"\"\n  endpoints: []\n" + extra
	admin := filepath.Join(dir, "admin.yaml")
	if err := os.WriteFile(admin, []byte(c.base), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HARK_CONFIG", admin)
	return c
}

// add is the process named name running roles, not started yet.
func (c *cluster) add(t testing.TB, name, roles string) *service {
	t.Helper()
	s := &service{dir: c.dir, config: filepath.Join(c.dir, name+".yaml"), db: filepath.Join(c.dir, "hark.db"),
		web: fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t)), args: []string{"--roles", roles, "--instance", name}}
	cfg := strings.Replace(c.base, "bus:\n", "web:\n  listen: "+s.web+"\nbus:\n", 1)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.procs[name] = s
	return s
}

// users adds n users, user0…, each with a confirmed address and one
// filter that matches every message.
func (c *cluster) users(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("user%d", i)
		adminMust(t, "", "user", "add", name, "--email", name+"@example.org", "--confirmed")
		path := filepath.Join(c.dir, name+".json")
		filters := fmt.Sprintf(`{"version": 1, "user": %q, "filters": [{"name": "everything", "active": true,
			"destinations": ["email:%s@example.org"], "rules": [{"kind": "topic", "args": {"pattern": "*"}}]}]}`, name, name)
		if err := os.WriteFile(path, []byte(filters), 0o600); err != nil {
			t.Fatal(err)
		}
		adminMust(t, "", "filters", "import", path)
	}
}

// fmSamples is testdata's real fedora-messaging messages, as pika
// publishes them, one per message id.
func fmSamples(t testing.TB) []testpeer.FedoraMessage {
	t.Helper()
	f, err := os.Open("../../testdata/fm-messages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []testpeer.FedoraMessage
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m struct {
			ID      string          `json:"id"`
			Topic   string          `json:"topic"`
			Headers map[string]any  `json:"headers"`
			Body    json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		out = append(out, testpeer.FedoraMessage{RoutingKey: m.Topic, Body: string(m.Body), MessageID: m.ID, Headers: m.Headers})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// clusterLease is the delivery lease of the cluster test: short, so
// that a takeover is quick to wait for.
const clusterLease = 3 * time.Second

// TestClusterDeliversExactlyOnceAcrossKills runs hark as a cluster on
// each store: RabbitMQ, two router processes competing for one
// fedora-messaging queue and two delivery processes sharing the
// destinations by leased partitions, mailing a real SMTP server, while
// pika streams the held-in samples. One router and, separately, one
// delivery process are killed with SIGKILL at random moments, several
// times, and started again: every message gets one notification per
// user and every notification is mailed exactly once, but for the
// documented in-flight window of the sent journal (a kill between an
// email's end of data and its journal record), which is counted. A
// delivery process killed for good has its destinations taken over
// within the lease. On PostgreSQL, the server is also restarted once
// mid-stream: routers hold what they could not commit, unacknowledged,
// and delivery picks up again, with the same counts.
func TestClusterDeliversExactlyOnceAcrossKills(t *testing.T) {
	for _, st := range clusterStores {
		t.Run(st.name, func(t *testing.T) { testClusterExactlyOnce(t, st) })
	}
}

func testClusterExactlyOnce(t *testing.T, st clusterStore) {
	st, restartStore := privateServer(t, st)
	b := testpeer.RabbitMQ(t)
	b.DeclareQueue("#")
	smtp := testpeer.StartSMTP(t)
	const users = 4
	c := newCluster(t, st, fmt.Sprintf("  amqp:\n    url: %q\n    exchange: %q\n    queue: %q\n    prefetch: 64\n", b.URL, b.Exchange, b.Queue)+
		mailConfig(smtp, "{max_attempts: 50, backoff_min: 1s, backoff_max: 2s}")+fmt.Sprintf("  lease: %s\n", clusterLease))
	c.users(t, users)
	routers := []*service{c.add(t, "router-1", "router"), c.add(t, "router-2", "router")}
	workers := []*service{c.add(t, "worker-1", "delivery"), c.add(t, "worker-2", "delivery")}
	for _, s := range append(routers, workers...) {
		s.start(t)
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("random seed %d", seed)

	msgs := fmSamples(t)
	tail := msgs[len(msgs)-40:] // published once a worker is gone for good
	msgs = msgs[:len(msgs)-40]
	pika := b.StartPika()
	pika.Publish(msgs, 15*time.Millisecond) // ~5 s of steady publishing
	kills := map[string]int{}
	killAt := func(group []*service) {
		victim := group[rng.IntN(len(group))]
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		victim.kill(t)
		kills[victim.args[3]]++
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		victim.start(t)
	}
	for round := range 3 {
		killAt(routers)
		if round == 1 && restartStore != nil {
			// Down for longer than the lease: workers lose their
			// partitions and take them again.
			restartStore(clusterLease+time.Second, len(workers))
		}
		killAt(workers)
	}
	pika.Wait()

	// One worker killed for good: the other takes its partitions over
	// within the lease (and the renewal that notices), and mails the
	// tail alone.
	gone, survivor := workers[0], workers[1]
	gone.kill(t)
	killed := time.Now()
	kills["worker-1"]++
	pika.Publish(tail, 0)
	pika.Wait()
	took := waitTakeover(t, survivor, "worker-1", killed, 2*clusterLease)
	t.Logf("worker-2 took worker-1's partitions over %v after its kill (lease %v)", took.Round(time.Millisecond), clusterLease)

	all := append(msgs, tail...)
	want := len(all) * users
	var committed []notification
	deadline := time.Now().Add(60 * time.Second) // the claims of the killed worker lapse after 15 s
	for {
		committed = listNotifications(t)
		sent := 0
		for _, n := range committed {
			if n.State == "sent" {
				sent++
			}
		}
		if sent == want && len(committed) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications committed, %d sent, want %d; kills %v\nworker-2:\n%s", len(committed), sent, want, kills, survivor.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range append(routers, survivor) {
		s.stop(t)
	}

	perUser := map[string]int{} // msg id → notifications
	for _, n := range committed {
		perUser[n.MsgID]++
	}
	for _, m := range all {
		if perUser[m.MessageID] != users {
			t.Errorf("message %s: %d notifications, want %d", m.MessageID, perUser[m.MessageID], users)
		}
	}
	mailed := map[string]int{} // msg id and recipient → mails
	for _, m := range smtp.Mails() {
		for _, id := range m.Header["X-Fedmsg-Msg-Id"] {
			mailed[id+" "+strings.Join(m.To, ",")]++
		}
	}
	repeats := 0
	for key, n := range mailed {
		if n > 1 {
			repeats += n - 1
			t.Logf("mailed %d times: %s", n, key)
		}
	}
	if len(mailed) != want {
		t.Errorf("%d notifications mailed, want %d: %d lost", len(mailed), want, want-len(mailed))
	}
	// The in-flight window: at most the one send a killed worker was in
	// the middle of, per kill.
	if repeats > kills["worker-1"]+kills["worker-2"] {
		t.Errorf("%d repeated mails after %v kills: more than the in-flight window", repeats, kills)
	}
	t.Logf("%d messages, %d notifications mailed, %d repeated in the in-flight window; kills %v", len(all), len(mailed), repeats, kills)
}

// takeoverLine is the log line of a worker taking a lease over.
var takeoverLine = regexp.MustCompile(`time=(\S+) level=INFO msg="delivery lease taken over" lease=delivery:\d+ from=(\S+)`)

// waitTakeover waits until s logs taking a partition over from prev
// after since, and says how long after since that was; it fails the test
// past within.
func waitTakeover(t *testing.T, s *service, prev string, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(within + 5*time.Second)
	for time.Now().Before(deadline) {
		for _, m := range takeoverLine.FindAllStringSubmatch(s.log.String(), -1) {
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err == nil && m[2] == prev && at.After(since) {
				took := at.Sub(since)
				if took > within {
					t.Errorf("took over %v after the kill, want within %v", took, within)
				}
				return took
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no takeover from %s within %v:\n%s", prev, within, s.log)
	return 0
}

// electedLine is the log line of a process whose IRC bot won the
// election.
const electedLine = "irc bot elected: connecting"

// TestClusterElectsOneIRCBot runs two delivery processes configured for
// IRC: one of them connects its bot, the holder of the bot:irc lease;
// killed, the other connects within the lease.
func TestClusterElectsOneIRCBot(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	c := newCluster(t, clusterStores[0], fmt.Sprintf("irc:\n  server: %q\n  tls: false\n  nick: harkbot\ndelivery:\n  lease: %s\n", ircd.Addr, clusterLease))
	workers := []*service{c.add(t, "worker-1", "delivery"), c.add(t, "worker-2", "delivery")}
	for _, w := range workers {
		w.start(t)
	}
	elected := func() []*service {
		var out []*service
		for _, w := range workers {
			if strings.Contains(w.log.String(), electedLine) {
				out = append(out, w)
			}
		}
		return out
	}
	workers[0].eventually(t, "one process connects its IRC bot", func() bool { return len(elected()) > 0 })
	first := elected()
	if len(first) != 1 {
		t.Fatalf("%d processes connected their IRC bot, want 1", len(first))
	}
	other := workers[0]
	if other == first[0] {
		other = workers[1]
	}
	first[0].kill(t)
	killed := time.Now()
	other.eventually(t, "the other process connects its bot", func() bool { return strings.Contains(other.log.String(), electedLine) })
	if took := time.Since(killed); took > 2*clusterLease {
		t.Errorf("the other bot connected %v after the kill, want within %v", took, 2*clusterLease)
	}
	other.stop(t)
}
