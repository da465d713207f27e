package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// mallorysFilters are the costly rules of issue 16: an expression of a
// billion steps (18 s a message unbounded) and a regex that keeps a
// thousand threads alive per byte (seconds on the messages below).
const mallorysFilters = `{"version": 1, "user": "mallory", "filters": [
  {"name": "loops", "active": true, "destinations": ["email:mallory@example.org"],
   "rules": [{"kind": "expr", "args": {"expression": "let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}}]},
  {"name": "wide", "active": true, "destinations": ["email:mallory@example.org"],
   "rules": [{"kind": "regex", "args": {"pattern": "\\w{1000}\\W"}}]}]}`

// With mallory's costly rules saved, alice's notifications still arrive
// within 2 s of each message, and mallory's rules are counted over
// budget.
func TestServeBudgetKeepsOthersNotified(t *testing.T) {
	const budget = 50 * time.Millisecond
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	svc := newService(t, pub.Endpoint, mailConfig(smtp, "")+"rules:\n  budget_per_message: "+budget.String()+"\n")
	for user, export := range map[string]string{
		"alice":   `{"version": 1, "user": "alice", "filters": [` + tickFilter + `]}`,
		"mallory": mallorysFilters,
	} {
		adminMust(t, "", "user", "add", user, "--email", user+"@example.org", "--confirmed")
		path := filepath.Join(svc.dir, user+".json")
		if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
			t.Fatal(err)
		}
		adminMust(t, "", "filters", "import", path)
	}
	svc.start(t)
	svc.settle(t, pub)

	text := strings.Repeat("a", 256<<10)
	for n := range 3 {
		start := time.Now()
		pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.tick.n", "msg": map[string]any{"n": n, "text": text},
			"msg_id": tickID(n), "timestamp": time.Now().Unix()})...)
		smtp.Wait(n+1, 20*time.Second)
		took := time.Since(start)
		t.Logf("tick %d: alice's mail after %v", n, took)
		if took > 2*time.Second+budget {
			t.Errorf("tick %d: alice's mail came %v after the message, more than 2 s plus the budget", n, took)
		}
	}
	for _, m := range smtp.Mails() {
		if to := strings.Join(m.To, ","); !strings.Contains(to, "alice") {
			t.Errorf("mail to %s: mallory's rules over budget matched", to)
		}
	}
	svc.eventually(t, "mallory's rules are counted over budget", func() bool { return svc.metric(t, "hark_rule_over_budget_total") > 0 })
	svc.stop(t)
}

// SIGTERM does not wait for a rule that is running, even with a budget
// far longer than the shutdown may take.
func TestServeStopsPromptlyWhileARuleRuns(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	svc := newService(t, pub.Endpoint, "rules:\n  budget_per_message: 1h\n")
	adminMust(t, "", "user", "add", "mallory", "--email", "mallory@example.org", "--confirmed")
	path := filepath.Join(svc.dir, "mallory.json")
	if err := os.WriteFile(path, []byte(mallorysFilters), 0o600); err != nil {
		t.Fatal(err)
	}
	adminMust(t, "", "filters", "import", path)
	svc.start(t)
	svc.settle(t, pub)

	// About 15 s of the wide regex, unbounded.
	received := svc.metric(t, "hark_bus_received_total")
	pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.tick.n", "msg": map[string]any{"text": strings.Repeat("a", 900<<10)},
		"msg_id": "2026-wide", "timestamp": time.Now().Unix()})...)
	svc.eventually(t, "the message is received", func() bool { return svc.metric(t, "hark_bus_received_total") > received })
	time.Sleep(time.Second) // into the 15 s of the regex: no sign tells when it starts
	start := time.Now()
	svc.stop(t)
	took := time.Since(start)
	t.Logf("stopped %v after SIGTERM", took)
	if took > 10*time.Second {
		t.Errorf("hark serve took %v to stop after SIGTERM while a rule ran, more than 10 s", took)
	}
}
