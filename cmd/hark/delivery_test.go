package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
	"hark/meta"
)

// mailConfig is the config of a service mailing smtp in clear, with flood
// control off and the given delivery.retry ("" for the default).
func mailConfig(smtp *testpeer.SMTP, retry string) string {
	cfg := fmt.Sprintf("email:\n  smtp_host: %s\n  smtp_port: %d\n  tls: none\n  from: hark@example.org\ndelivery:\n  flood: {rate: 0}\n", smtp.Host, smtp.Port)
	if retry != "" {
		cfg += "  retry: " + retry + "\n"
	}
	return cfg
}

// mailService is `hark serve` reading a libzmq publisher and mailing a
// real SMTP server, with alice's one filter (filterJSON) on her confirmed
// address and prefs set on it. Flood control is off unless extra turns it
// on; retries back off from one second.
func mailService(t *testing.T, filterJSON string, prefs ...string) (*service, *testpeer.Pub, *testpeer.SMTP) {
	t.Helper()
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	svc := newService(t, pub.Endpoint, mailConfig(smtp, "{max_attempts: 50, backoff_min: 1s, backoff_max: 2s}"))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	if len(prefs) > 0 {
		adminMust(t, "", append([]string{"destination", "set", "alice", "email:alice@example.org"}, prefs...)...)
	}
	path := filepath.Join(svc.dir, "alice.json")
	export := `{"version": 1, "user": "alice", "filters": [` + filterJSON + `]}`
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)
	return svc, pub, smtp
}

const tickFilter = `{"name": "ticks", "active": true, "destinations": ["email:alice@example.org"],
	"rules": [{"kind": "topic", "args": {"pattern": "*.tick.*"}}]}`

// tick publishes message n of a stream the tick filter matches; its
// msg_id is tickID(n).
func tick(t testing.TB, pub *testpeer.Pub, n int) {
	t.Helper()
	pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.tick.n", "msg": map[string]any{"n": n},
		"msg_id": tickID(n), "timestamp": time.Now().Unix()})...)
}

func tickID(n int) string { return fmt.Sprintf("2026-tick-%04d", n) }

// msgIDs counts the X-Fedmsg-Msg-Id headers over mails.
func msgIDs(mails []testpeer.Mail) map[string]int {
	ids := map[string]int{}
	for _, m := range mails {
		for _, id := range m.Header["X-Fedmsg-Msg-Id"] {
			ids[id]++
		}
	}
	return ids
}

// TestServeEmailsANotification sends a real bodhi message through hark
// serve and finds the email with its headers, subject, body and footer.
func TestServeEmailsANotification(t *testing.T) {
	frs, envs := sampleEnvelopes(t)
	describer, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pick := -1
	var d meta.Description
	for i, env := range envs {
		d = describer.Describe(env)
		if d.App == "bodhi" && d.Subtitle != "" && d.Link != "" && len(d.Packages) > 0 && len(d.Usernames) > 0 {
			pick = i
			break
		}
	}
	if pick < 0 {
		t.Fatal("no bodhi sample with subtitle, link, packages and usernames")
	}
	env := envs[pick]
	svc, pub, smtp := mailService(t, `{"name": "bodhi", "active": true, "destinations": ["email:alice@example.org"],
		"rules": [{"kind": "topic", "args": {"pattern": "`+env.Topic+`"}}]}`)
	pub.Send(frs[pick]...)
	m := smtp.Wait(1, 20*time.Second)[0]

	for name, want := range map[string]string{
		"Subject":               d.Subtitle,
		"X-Fedmsg-Topic":        env.Topic,
		"X-Fedmsg-Category":     "bodhi",
		"X-Fedmsg-Msg-Id":       env.Key(),
		"Auto-Submitted":        "auto-generated",
		"Precedence":            "bulk",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := strings.Join(m.Header["X-Fedmsg-Username"], " "); got != strings.Join(d.Usernames, " ") {
		t.Errorf("X-Fedmsg-Username = %q, want %q", got, d.Usernames)
	}
	if got := strings.Join(m.Header["X-Fedmsg-Package"], " "); got != strings.Join(d.Packages, " ") {
		t.Errorf("X-Fedmsg-Package = %q, want %q", got, d.Packages)
	}
	if u := m.Header.Get("List-Unsubscribe"); !strings.HasPrefix(u, "<http://"+svc.web+"/unsubscribe/") {
		t.Errorf("List-Unsubscribe = %q, want a link to this hark's /unsubscribe/", u)
	}
	body := m.Text("text/plain")
	when := time.Unix(int64(env.Timestamp), 0).UTC().Format("2006-01-02 15:04:05")
	for _, want := range []string{d.Link, when, `Sent by your filter "bodhi": http://` + svc.web + "/filters/"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestServeEmailsOneDigestOfBatchCountEntries(t *testing.T) {
	const n = 5
	_, pub, smtp := mailService(t, tickFilter, "batch_count=5")
	for i := range n {
		tick(t, pub, i)
	}
	mails := smtp.Wait(1, 20*time.Second)
	time.Sleep(time.Second) // nothing else may follow
	mails = smtp.Mails()
	if len(mails) != 1 {
		t.Fatalf("got %d mails, want one digest", len(mails))
	}
	if ids := mails[0].Header["X-Fedmsg-Msg-Id"]; len(ids) != n {
		t.Errorf("digest carries %d X-Fedmsg-Msg-Id headers, want %d: %q", len(ids), n, ids)
	}
	if body := mails[0].Text("text/plain"); !strings.Contains(body, fmt.Sprintf("%3d. ", n)) || strings.Contains(body, fmt.Sprintf("%3d. ", n+1)) {
		t.Errorf("digest body is not numbered 1 to %d:\n%s", n, body)
	}
}

func TestServeEmailsDigestAfterBatchDelta(t *testing.T) {
	const delta = 2 * time.Second
	_, pub, smtp := mailService(t, tickFilter, "batch_delta=2s")
	start := time.Now()
	for i := range 3 {
		tick(t, pub, i)
	}
	mails := smtp.Wait(1, 20*time.Second)
	if waited := time.Since(start); waited < delta {
		t.Errorf("digest arrived after %v, before batch_delta %v", waited, delta)
	}
	if ids := mails[0].Header["X-Fedmsg-Msg-Id"]; len(ids) != 3 {
		t.Errorf("digest carries %q, want the 3 messages", ids)
	}
}

func TestServeDeliversExactlyOnceAcrossSMTPOutage(t *testing.T) {
	const n = 10
	svc, pub, smtp := mailService(t, tickFilter)
	smtp.Stop()
	for i := range n {
		tick(t, pub, i)
	}
	svc.eventually(t, "a send failed", func() bool { return svc.metricLabeled(t, "hark_deliveries_total", `outcome="failed"`) > 0 })
	smtp.Restart()
	smtp.Wait(n, 30*time.Second)
	time.Sleep(time.Second) // a duplicate would arrive now
	ids := msgIDs(smtp.Mails())
	for i := range n {
		if ids[tickID(i)] != 1 {
			t.Errorf("%s delivered %d times, want once", tickID(i), ids[tickID(i)])
		}
	}
}

func TestServeOneshotFilterEmailsOnceUnderBurst(t *testing.T) {
	_, pub, smtp := mailService(t, `{"name": "once", "active": true, "oneshot": true, "destinations": ["email:alice@example.org"],
		"rules": [{"kind": "topic", "args": {"pattern": "*.tick.*"}}]}`)
	for i := range 50 {
		tick(t, pub, i)
	}
	smtp.Wait(1, 20*time.Second)
	time.Sleep(time.Second)
	if got := len(smtp.Mails()); got != 1 {
		t.Errorf("one-shot filter sent %d mails under a burst, want 1", got)
	}
}

// TestServeDeliversCommittedNotificationsOnceAcrossKills kills hark serve
// with SIGKILL four times while it mails a stream, at different moments:
// as the first mail of a burst arrives, in the middle of a burst, as soon
// as a restart answers /healthz (while it replays its sent journal and
// catches up), and once more mid-burst. It restarts it each time, then finds every notification
// committed along the way sent, and mailed exactly once: what was sent but
// not yet marked is in the sent journal, so none is mailed again, and
// what was claimed but not sent is claimed again once its lease ran out.
func TestServeDeliversCommittedNotificationsOnceAcrossKills(t *testing.T) {
	svc, pub, smtp := mailService(t, tickFilter)
	n, replays := 0, 0
	for _, after := range []int{1, 30, 0, 15} { // mails to wait for before the kill
		for before := len(smtp.Mails()); len(smtp.Mails()) < before+after; n++ {
			if n > 5000 {
				svc.kill(t)
				t.Fatalf("%d published, %d mails; the stream does not get through:\n%s", n, len(smtp.Mails()), svc.log)
			}
			tick(t, pub, n)
			time.Sleep(3 * time.Millisecond) // the stream's pace
		}
		svc.kill(t)
		replays += strings.Count(svc.log.String(), "sent journal: marked sent what")
		svc.start(t)
	}

	var committed []notification
	deadline := time.Now().Add(60 * time.Second) // a lease of 15 s, and the sends
	for sent := false; !sent; {
		if time.Now().After(deadline) {
			svc.kill(t)
			t.Fatalf("not every notification sent after 60 s:\n%s", svc.log)
		}
		committed, sent = listNotifications(t), true
		for _, c := range committed {
			sent = sent && c.State == "sent"
		}
		time.Sleep(100 * time.Millisecond) // between two polls
	}
	svc.stop(t)
	if len(committed) == 0 {
		t.Fatal("nothing committed")
	}
	replays += strings.Count(svc.log.String(), "sent journal: marked sent what")
	mails := smtp.Mails()
	ids := msgIDs(mails)
	dup := 0
	for _, c := range committed {
		switch ids[c.MsgID] {
		case 0:
			t.Errorf("%s was committed and marked sent but never mailed", c.MsgID)
		case 1:
		default:
			dup += ids[c.MsgID] - 1
			t.Errorf("%s mailed %d times, want once", c.MsgID, ids[c.MsgID])
		}
	}
	if len(mails) != len(committed) {
		t.Errorf("%d mails for %d notifications", len(mails), len(committed))
	}
	t.Logf("%d published, %d committed, %d mails, %d duplicates, %d restarts whose journal replay marked sends", n, len(committed), len(mails), dup, replays)
}

// metricLabeled sums the samples of name whose labels contain label.
func (s *service) metricLabeled(t *testing.T, name, label string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.web + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, label) {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += f
		}
	}
	return sum
}
