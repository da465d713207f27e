package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/rules"
	"hark/store"
)

// storeBigMessages puts n bodhi messages in the history, each with a
// text of size bytes.
func storeBigMessages(t *testing.T, ts *testServer, n, size int) {
	t.Helper()
	var batch []store.Message
	text := strings.Repeat("a", size)
	for i := range n {
		key := fmt.Sprintf("big-%d", i)
		topic := "org.fedoraproject.prod.bodhi.update.comment"
		sec := float64(1767225600 + 60*i)
		env, _ := json.Marshal(map[string]any{"msg": map[string]any{"text": text}, "msg_id": key, "timestamp": sec, "topic": topic})
		sm, err := store.NewMessage(key, topic, sec, env, map[string]any{"app": "bodhi"})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, sm)
	}
	if _, err := ts.store.AddMessages(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

// A preview of costly rules answers within its time limit, telling the
// user that their rule failed and why.
func TestPreviewOfCostlyRulesHonoursItsLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, size   int
		rule      string
		partial   bool
		errorText string
	}{
		// 18 s a message unbounded; 1000 messages at the budget each
		// outlast the limit.
		{"nested loops", 1000, 100, `{"kind":"expr","args":{"expression":"let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}}`, true, "budget"},
		// About 16 s a message unbounded, in the text check and again in
		// the evaluation.
		{"wide regex", 5, 1 << 20, `{"kind":"regex","args":{"pattern":"\\w{1000}\\W"}}`, false, "budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			alice := ts.login(t, "alice", false)
			storeBigMessages(t, ts, tc.n, tc.size)
			start := time.Now()
			p := decodePreview(t, alice.postJSON("/api/v1/preview", `{"rules":[`+tc.rule+`]}`))
			took := time.Since(start)
			// The limit plus a margin for a loaded machine.
			if limit := previewTimeout + 2*time.Second; took > limit {
				t.Errorf("preview took %v, more than %v", took, limit)
			}
			// A loaded machine may cut the second case short too.
			if (tc.partial && !p.Partial) || p.RuleErrors == 0 || !strings.Contains(p.RuleError, tc.errorText) || len(p.Matches) != 0 {
				t.Errorf("preview = partial %v, %d rule errors (%q), %d matches; want partial %v (or true) and rule errors naming the %s",
					p.Partial, p.RuleErrors, p.RuleError, len(p.Matches), tc.partial, tc.errorText)
			}
		})
	}
}

// The filter page shows its owner the last failure of each rule, such
// as a costly expression stopped at the budget while matching.
func TestFilterPageShowsLastRuleError(t *testing.T) {
	ix := filters.New(filters.Options{Budget: 20 * time.Millisecond})
	ts := newTestServer(t, func(o *Options) { o.RuleErrors = ix.RuleErrors })
	alice := ts.login(t, "alice", false)
	const rulesJSON = `[{"kind":"app","args":{"names":["bodhi"]}},{"kind":"expr","args":{"expression":"let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}}]`
	f := userFilter(t, ts, "alice", "loops", rulesJSON)
	var specs []rules.Spec
	if err := json.Unmarshal([]byte(rulesJSON), &specs); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetUser("alice", []filters.Filter{{Name: "loops", Active: true, Destinations: []string{"email:alice@example.org"}, Rules: specs}}); err != nil {
		t.Fatal(err)
	}
	page := alice.get(fmt.Sprintf("/filters/%d", f.ID))
	if strings.Contains(page.Body, "rule-error") {
		t.Fatalf("an error shown before any message: %s", page.Body)
	}
	env, err := bus.Decode([]byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": "m1", "msg": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	if hits := ix.Match(env, &meta.Description{App: "bodhi"}); len(hits) != 0 {
		t.Fatalf("hits = %v from a rule over budget", hits)
	}
	page = alice.get(fmt.Sprintf("/filters/%d", f.ID))
	i := strings.Index(page.Body, `data-rule="1"`)
	if i < 0 || !strings.Contains(page.Body[i:], "evaluation budget exceeded") || strings.Contains(page.Body[:i], "rule-error") {
		t.Errorf("the page does not show the expression's budget error under rule 1:\n%s", page.Body)
	}
}

// Expressions that build gigabytes with string + or join fail on each
// message, and the preview says so, instead of the service running out
// of memory.
func TestPreviewOfExpressionsBuildingTooMuch(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	storeBigMessages(t, ts, 3, 10)
	var b strings.Builder
	b.WriteString(`let s0 = \"aaaaaaaaaaaaaaaa\"; `)
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "let s%d = s%d + s%d; ", i, i-1, i-1)
	}
	doubling := b.String()
	for name, expression := range map[string]string{
		"doubling": doubling + "len(s30) > 0",
		// 20 × 1 MiB: over the 4 MiB a run may build, and quick, so the
		// time budget cannot be what stops it on a loaded machine.
		"join": doubling[:strings.Index(doubling, "let s17")] + "len(join(map(1..20, {s16}))) > 0",
	} {
		t.Run(name, func(t *testing.T) {
			p := decodePreview(t, alice.postJSON("/api/v1/preview", `{"rules":[{"kind":"expr","args":{"expression":"`+expression+`"}}]}`))
			if p.RuleErrors != 3 || !strings.Contains(p.RuleError, "builds more than") || len(p.Matches) != 0 {
				t.Errorf("preview = %d rule errors (%q), %d matches; want 3 errors of an expression building too much", p.RuleErrors, p.RuleError, len(p.Matches))
			}
		})
	}
}
