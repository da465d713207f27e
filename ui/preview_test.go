package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hark/owners"
	"hark/rules"
	"hark/store"
)

// storeMessages puts messages in the history as the router stores them,
// one a minute, oldest first: key, app and agent of each.
func storeMessages(t *testing.T, ts *testServer, msgs ...[3]string) {
	t.Helper()
	var batch []store.Message
	for i, m := range msgs {
		topic := "org.fedoraproject.prod." + m[1] + ".update.comment"
		sec := int64(1767225600 + 60*i)
		env := fmt.Sprintf(`{"msg":{"agent":%q},"msg_id":%q,"timestamp":%d,"topic":%q}`, m[2], m[0], sec, topic)
		desc := map[string]any{"app": m[1], "agent": m[2], "usernames": []string{m[2]}, "packages": []string{m[1]},
			"subtitle": m[2] + " commented on " + m[0]}
		sm, err := store.NewMessage(m[0], topic, float64(sec), []byte(env), desc)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, sm)
	}
	if _, err := ts.store.AddMessages(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

// userFilter saves a filter of user name with rules written as JSON.
func userFilter(t *testing.T, ts *testServer, name, filter, rulesJSON string) store.Filter {
	t.Helper()
	ctx := context.Background()
	u, err := ts.store.UserByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Rule
	if err := json.Unmarshal([]byte(rulesJSON), &rs); err != nil {
		t.Fatal(err)
	}
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: filter, Active: true, Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// bodhiNotMine is bodhi messages, not alice's own actions.
const bodhiNotMine = `[{"kind":"app","args":{"names":["bodhi"]}},{"kind":"agent","args":{"names":["@me"]},"negate":true}]`

func previewHistory(t *testing.T, ts *testServer) {
	storeMessages(t, ts,
		[3]string{"m-bob-1", "bodhi", "bob"},
		[3]string{"m-koji", "koji", "bob"},
		[3]string{"m-alice", "bodhi", "alice"},
		[3]string{"m-bob-2", "bodhi", "bob"})
}

func decodePreview(t *testing.T, resp response) previewJSON {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	var p previewJSON
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func matchKeys(p previewJSON) []string {
	var out []string
	for _, m := range p.Matches {
		out = append(out, m.Key)
	}
	return out
}

func TestPreviewPageShowsMatchesWithReasons(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	previewHistory(t, ts)
	f := userFilter(t, ts, "alice", "bodhi", bodhiNotMine)
	resp := alice.get(fmt.Sprintf("/filters/%d/preview", f.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	for _, want := range []string{`data-msg-id="m-bob-2"`, `data-msg-id="m-bob-1"`, "NOT Acting user", "bob commented on m-bob-2"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"m-alice", "m-koji"} {
		if strings.Contains(resp.Body, unwanted) {
			t.Errorf("page shows %s, which the filter does not match", unwanted)
		}
	}
	if strings.Index(resp.Body, "m-bob-2") > strings.Index(resp.Body, "m-bob-1") {
		t.Errorf("matches are not newest first")
	}
}

func TestPreviewAPIPagesThroughOlderMatches(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	previewHistory(t, ts)
	f := userFilter(t, ts, "alice", "bodhi", bodhiNotMine)
	var got []string
	path := fmt.Sprintf("/api/v1/filters/%d/preview?limit=1", f.ID)
	for range 3 {
		p := decodePreview(t, alice.get(path))
		got = append(got, matchKeys(p)...)
		if p.Next == "" {
			break
		}
		path = fmt.Sprintf("/api/v1/filters/%d/preview?limit=1&before=%s", f.ID, p.Next)
	}
	if strings.Join(got, " ") != "m-bob-2 m-bob-1" {
		t.Errorf("pages gave %v, want m-bob-2 then m-bob-1", got)
	}
}

func TestPreviewOfAnUnsavedFilter(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	previewHistory(t, ts)
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"runs as the caller", `{"rules":` + bodhiNotMine + `}`, http.StatusOK, "m-bob-2"},
		{"no rules", `{"rules":[]}`, http.StatusOK, "matches nothing"},
		{"bad rule names it", `{"rules":[{"kind":"app","args":{"names":["x"]}},{"kind":"regex","args":{"pattern":"("}}]}`, http.StatusBadRequest, "rules[1]"},
		{"unknown field", `{"rulez":[]}`, http.StatusBadRequest, "rulez"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.postJSON("/api/v1/preview", tc.body)
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.want) {
				t.Errorf("status %d, want %d with %q: %s", resp.StatusCode, tc.status, tc.want, resp.Body)
			}
		})
	}
}

func TestPreviewRejectsBadPaging(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f := userFilter(t, ts, "alice", "bodhi", bodhiNotMine)
	for _, q := range []string{"before=yesterday", "before=12-0", "limit=0", "limit=201", "limit=x"} {
		t.Run(q, func(t *testing.T) {
			resp := alice.get(fmt.Sprintf("/api/v1/filters/%d/preview?%s", f.ID, q))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400: %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestPreviewOfAnotherUsersFilter(t *testing.T) {
	ts := newTestServer(t)
	previewHistory(t, ts)
	ts.addUser(t, "bob", false)
	f := userFilter(t, ts, "bob", "bodhi", bodhiNotMine)
	alice := ts.login(t, "alice", false)
	for _, path := range []string{fmt.Sprintf("/filters/%d/preview", f.ID), fmt.Sprintf("/api/v1/filters/%d/preview", f.ID)} {
		t.Run("not found for another user "+path, func(t *testing.T) {
			if resp := alice.get(path); resp.StatusCode != http.StatusNotFound || strings.Contains(resp.Body, "m-alice") {
				t.Errorf("status %d, want 404: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	t.Run("an admin sees it as its owner would", func(t *testing.T) {
		root := ts.login(t, "root", true)
		p := decodePreview(t, root.get(fmt.Sprintf("/api/v1/filters/%d/preview", f.ID)))
		// @me is bob: his own actions are left out, alice's are not.
		if got := strings.Join(matchKeys(p), " "); got != "m-alice" {
			t.Errorf("matches %q, want m-alice only", got)
		}
	})
}

func TestPreviewUsesOwnershipAndLeavesOneShotsArmed(t *testing.T) {
	snap, err := owners.Parse("aliases.json", []byte(`{"rpms": {"bodhi": ["alice"]}}`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.Owners = func() rules.Ownership { return snap } })
	alice := ts.login(t, "alice", false)
	// The test messages name their app as their one package.
	storeMessages(t, ts, [3]string{"m-bodhi", "bodhi", "bob"}, [3]string{"m-koji", "koji", "bob"})
	f := userFilter(t, ts, "alice", "mine", `[{"kind":"owned-by","args":{"users":["@me"]}}]`)
	f.Oneshot = true
	if _, err := ts.store.SaveFilter(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	p := decodePreview(t, alice.get(fmt.Sprintf("/api/v1/filters/%d/preview", f.ID)))
	if got := strings.Join(matchKeys(p), " "); got != "m-bodhi" {
		t.Errorf("matches %q, want m-bodhi, the package alice owns", got)
	}
	after, err := ts.store.FilterByID(context.Background(), f.ID)
	if err != nil || !after.Active || !after.Oneshot {
		t.Errorf("filter after preview %+v, %v: want the one-shot still armed", after, err)
	}
}
