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

// bodhiNotifications gives alice a confirmed destination and a filter of
// everything from bodhi, and queues one notification per topic suffix,
// each about package nethack and numbered; it returns the filter and the
// notifications by message key.
func bodhiNotifications(t *testing.T, ts *testServer, now time.Time, suffixes ...string) (store.Filter, map[string]store.Notification) {
	t.Helper()
	ctx := context.Background()
	d := addDestination(t, ts, "alice@example.org", true)
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: 1, Name: "bodhi", Active: true, DestinationIDs: []int64{d.ID},
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["bodhi"]}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Accepted
	for i, suffix := range suffixes {
		key, topic := fmt.Sprintf("m%d", i), "org.fedoraproject.prod.bodhi."+suffix
		env := fmt.Sprintf(`{"topic":%q,"msg_id":%q,"timestamp":%d,"msg":{}}`, topic, key, now.Unix())
		m, err := store.NewMessage(key, topic, float64(now.Unix()), []byte(env),
			map[string]any{"app": "bodhi", "subtitle": "bob did " + suffix, "packages": []string{"nethack"}})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, store.Accepted{Message: m, Matches: []store.Match{{UserID: 1, DestinationID: d.ID, FilterID: f.ID, Why: json.RawMessage(`[]`)}}})
	}
	if _, err := ts.store.Enqueue(ctx, batch); err != nil {
		t.Fatal(err)
	}
	ns, err := ts.store.ListNotifications(ctx, store.NotificationQuery{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.Notification{}
	for _, n := range ns {
		byKey[n.MsgKey] = n
	}
	return f, byKey
}

func TestNotLikeThisPreviewsThenExcludes(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f, ns := bodhiNotifications(t, ts, time.Now(), "update.comment", "update.comment", "update.request.stable")
	if history := alice.get("/history").Body; !strings.Contains(history, fmt.Sprintf(`href="/notifications/%d/exclude"`, ns["m0"].ID)) {
		t.Errorf("the history does not offer \"not like this\":\n%s", history)
	}
	page := alice.get(fmt.Sprintf("/notifications/%d/exclude", ns["m0"].ID))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", page.StatusCode, page.Body)
	}
	for _, want := range []string{
		"bob did update.comment",
		"messages of the topic org.fedoraproject.prod.bodhi.update.comment",
		"this would have stopped 2 of the 3 message(s)",
		"anything about the package nethack",
		"this would have stopped 3 of the 3 message(s)",
	} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the page lacks %q:\n%s", want, page.Body)
		}
	}
	resp := alice.post(fmt.Sprintf("/notifications/%d/exclude", ns["m0"].ID), url.Values{"by": {"topic"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != fmt.Sprintf("/filters/%d", f.ID) {
		t.Fatalf("exclude: status %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), resp.Body)
	}
	if next := alice.get(resp.Header.Get("Location")); !strings.Contains(next.Body, "no longer sends messages of the topic") {
		t.Errorf("no notice after excluding:\n%s", next.Body)
	}
	got, err := ts.store.FilterByID(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := got.Rules[len(got.Rules)-1]
	if len(got.Rules) != 2 || last.Kind != "topic" || !last.Negate || string(last.Args) != `{"pattern":"org.fedoraproject.prod.bodhi.update.comment"}` {
		t.Errorf("rules = %+v, want the app rule and NOT the comment topic", got.Rules)
	}
	// Twice is harmless: no second rule.
	alice.post(fmt.Sprintf("/notifications/%d/exclude", ns["m1"].ID), url.Values{"by": {"topic"}})
	if got, _ := ts.store.FilterByID(context.Background(), f.ID); len(got.Rules) != 2 {
		t.Errorf("excluding again added a rule: %+v", got.Rules)
	}
}

func TestNotLikeThisErrors(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	_, ns := bodhiNotifications(t, ts, time.Now(), "update.comment")
	path := fmt.Sprintf("/notifications/%d/exclude", ns["m0"].ID)
	resp := alice.post(path, url.Values{"by": {"package:kernel"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `class="field-error"`) || !strings.Contains(resp.Body, "choose what to stop") {
		t.Fatalf("unknown choice: status %d:\n%s", resp.StatusCode, resp.Body)
	}
	bob := ts.login(t, "bob", false)
	if resp := bob.get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another user's notification: status %d, want 404", resp.StatusCode)
	}
	if resp := alice.postJSON("/api/v1"+path, `{"by":"app"}`); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"negate": true`) {
		t.Errorf("API exclude: status %d: %s", resp.StatusCode, resp.Body)
	}
}
