package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hark/store"
)

func TestAdminIsForAdminsOnly(t *testing.T) {
	ts := newTestServer(t)
	sentAndDead(t, ts, notified(t, ts, "bob", "m-old", "m-new"))
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/admin", ""},
		{"POST", "/admin/users/bob/disable", ""},
		{"POST", "/admin/dead/resend", ""},
		{"GET", "/api/v1/admin", ""},
		{"POST", "/api/v1/admin/users/bob/disable", ""},
		{"POST", "/api/v1/admin/dead/resend", `{}`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ct := "application/x-www-form-urlencoded"
			if strings.HasPrefix(tc.path, "/api/") {
				ct = "application/json"
			}
			if resp := alice.request(tc.method, tc.path, ct, tc.body); resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	ctx := context.Background()
	if bob, err := ts.store.UserByName(ctx, "bob"); err != nil || bob.Disabled {
		t.Errorf("bob %+v, %v: want him still enabled", bob, err)
	}
	if dead, err := ts.store.DeadLetters(ctx, 10); err != nil || len(dead) != 1 {
		t.Errorf("%d dead letters, %v: want bob's still dead", len(dead), err)
	}
}

// activeFilterUsers is the users whose filters the router would load.
func activeFilterUsers(t *testing.T, ts *testServer) map[int64]bool {
	t.Helper()
	fs, err := ts.store.ActiveFilters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	users := map[int64]bool{}
	for _, f := range fs {
		users[f.UserID] = true
	}
	return users
}

func TestDisablingAUserStopsTheirFilters(t *testing.T) {
	ts := newTestServer(t)
	notified(t, ts, "bob", "m1")
	bobClient := ts.login(t, "bob", false)
	bob, _ := ts.store.UserByName(context.Background(), "bob")
	root := ts.login(t, "root", true)

	if resp := root.post("/admin/users/bob/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: status %d: %s", resp.StatusCode, resp.Body)
	}
	if activeFilterUsers(t, ts)[bob.ID] {
		t.Errorf("a disabled user's filters are still active")
	}
	if resp := bobClient.get("/api/v1/history"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled user's session still works: status %d", resp.StatusCode)
	}
	if resp := root.get("/admin"); !strings.Contains(resp.Body, "disabled: filters stopped") {
		t.Errorf("the admin page does not show bob disabled:\n%s", resp.Body)
	}

	if resp := root.postJSON("/api/v1/admin/users/bob/enable", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("enable: status %d: %s", resp.StatusCode, resp.Body)
	}
	if !activeFilterUsers(t, ts)[bob.ID] {
		t.Errorf("an enabled user's filters are not active")
	}
}

func TestDisablingUsersRefusesMistakes(t *testing.T) {
	ts := newTestServer(t)
	root := ts.login(t, "root", true)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/v1/admin/users/root/disable", http.StatusBadRequest},
		{"/api/v1/admin/users/nobody/disable", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if resp := root.postJSON(tc.path, ""); resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, resp.Body)
			}
		})
	}
	if resp := root.post("/admin/users/root/disable", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "you cannot disable yourself") {
		t.Errorf("page: status %d, want 400 with the reason: %s", resp.StatusCode, resp.Body)
	}
}

func TestAdminSeesQueueHealthAndResendsDeadLetters(t *testing.T) {
	ts := newTestServer(t)
	bobs := notified(t, ts, "bob", "m-bob-old", "m-bob-new")
	sentAndDead(t, ts, bobs)
	carols := notified(t, ts, "carol", "m-carol-old", "m-carol-new")
	sentAndDead(t, ts, carols)
	root := ts.login(t, "root", true)

	resp := root.get("/api/v1/admin")
	var got adminJSON
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, resp.Body)
	}
	if got.Queue[store.StateDead] != 2 || got.Queue[store.StateSent] != 2 || got.Queue[store.StateQueued] != 0 || len(got.Dead) != 2 || len(got.Users) != 3 {
		t.Fatalf("got %+v", got)
	}
	if page := root.get("/admin"); !strings.Contains(page.Body, "550 no such mailbox") || !strings.Contains(page.Body, `data-state="dead" class="state-bad">2<`) {
		t.Errorf("the admin page lacks the dead letters:\n%s", page.Body)
	}

	if resp := root.postJSON("/api/v1/admin/dead/resend", fmt.Sprintf(`{"ids":[%d]}`, bobs[1].ID)); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"requeued": 1`) {
		t.Fatalf("re-send one: status %d: %s", resp.StatusCode, resp.Body)
	}
	if resp := root.post("/admin/dead/resend", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-send all: status %d: %s", resp.StatusCode, resp.Body)
	}
	depth, err := ts.store.QueueDepth(context.Background())
	if err != nil || depth[store.StateDead] != 0 || depth[store.StateQueued] != 2 {
		t.Errorf("queue %v, %v: want both dead letters queued again", depth, err)
	}
}
