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
