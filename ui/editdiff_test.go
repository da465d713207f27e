package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// weekOfHistory stores messages of the last days: bodhi ones about
// nethack and dosbox, and a koji one.
func weekOfHistory(t *testing.T, ts *testServer) {
	t.Helper()
	now := time.Now()
	var msgs []store.Message
	for i, m := range []struct{ app, pkg string }{{"bodhi", "nethack"}, {"bodhi", "nethack"}, {"bodhi", "dosbox"}, {"buildsys", "nethack"}} {
		key, topic := fmt.Sprintf("h%d", i), "org.fedoraproject.prod."+m.app+".x"
		at := now.Add(-time.Duration(i+1) * time.Hour)
		msg, err := store.NewMessage(key, topic, float64(at.Unix()),
			[]byte(fmt.Sprintf(`{"topic":%q,"msg_id":%q,"timestamp":%d,"msg":{}}`, topic, key, at.Unix())),
			map[string]any{"app": m.app, "packages": []string{m.pkg}})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	if _, err := ts.store.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

func TestRuleEditsSayWhatTheyChangeOverTheLastWeek(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	weekOfHistory(t, ts)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "bodhi", Active: true,
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["bodhi"]}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/filters/%d", f.ID)
	notNethack := url.Values{"kind": {"package"}, "value": {"nethack"}, "negate": {"1"}}

	ask := url.Values{"check": {"1"}}
	for k, v := range notNethack {
		ask[k] = v
	}
	resp := alice.post(path+"/rules", ask)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "Nothing is saved yet. Over the last week it would add 0 and remove 2 of the 3 message(s)") {
		t.Fatalf("dry run: status %d:\n%s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(resp.Body, `value="nethack"`) {
		t.Errorf("the dry run did not keep what was typed")
	}
	if got, _ := ts.store.FilterByID(context.Background(), f.ID); len(got.Rules) != 1 {
		t.Fatalf("the dry run saved: %+v", got.Rules)
	}

	resp = alice.post(path+"/rules", notNethack)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: status %d: %s", resp.StatusCode, resp.Body)
	}
	if page := alice.get(path).Body; !strings.Contains(page, "Rule added. Over the last week it would add 0 and remove 2 of the 3 message(s)") {
		t.Errorf("no effect in the notice:\n%s", page)
	}
	alice.post(path+"/rules/1/negate", nil) // now: bodhi AND nethack
	if page := alice.get(path).Body; !strings.Contains(page, "Rule changed. Over the last week it would add 2 and remove 1 of the 1 message(s)") {
		t.Errorf("no effect of negating in the notice:\n%s", page)
	}
}

func TestRulesAreEditableInPlace(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	weekOfHistory(t, ts)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "nethack", Active: true,
		Rules: []store.Rule{{Kind: "package", Args: json.RawMessage(`{"names":["nethack"]}`), Negate: false}}})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/filters/%d/rules/0/edit", f.ID)
	if resp := alice.post(path, url.Values{"value-0": {"dosbox"}, "check": {"1"}}); !strings.Contains(resp.Body, "would add 1 and remove 3 of the 3") ||
		!strings.Contains(resp.Body, `value="dosbox"`) {
		t.Fatalf("dry run: status %d:\n%s", resp.StatusCode, resp.Body)
	}
	if resp := alice.post(path, url.Values{"value-0": {"dosbox, nethack"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: status %d: %s", resp.StatusCode, resp.Body)
	}
	got, _ := ts.store.FilterByID(context.Background(), f.ID)
	if len(got.Rules) != 1 || string(got.Rules[0].Args) != `{"names":["dosbox","nethack"]}` {
		t.Errorf("rules = %+v", got.Rules)
	}
	resp := alice.post(path, url.Values{"value-0": {""}})
	at := strings.Index(resp.Body, `id="value-0"`)
	if resp.StatusCode != http.StatusBadRequest || at < 0 || !strings.Contains(resp.Body[at:], `class="field-error" role="alert">is required`) {
		t.Fatalf("empty value: status %d:\n%s", resp.StatusCode, resp.Body)
	}
}
