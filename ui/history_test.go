package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// why is the Why of a notification of a bodhiNotMine filter.
const why = `[{"kind":"app","args":{"names":["bodhi"]},"negate":false,"value":true,"pass":true},` +
	`{"kind":"agent","args":{"names":["@me"]},"negate":true,"value":false,"pass":true}]`

// notified gives user a destination and a filter, and queues one
// notification for each key through them; it returns them newest first.
func notified(t *testing.T, ts *testServer, user string, keys ...string) []store.Notification {
	t.Helper()
	ctx := context.Background()
	u, err := ts.store.UserByName(ctx, user)
	if err != nil {
		u = ts.addUser(t, user, false)
	}
	d, err := ts.store.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: user + "@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: user + "'s bodhi", Active: true, DestinationIDs: []int64{d.ID},
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["bodhi"]}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Accepted
	for _, k := range keys {
		m, err := store.NewMessage(k, "org.fedoraproject.prod.bodhi.update.comment", 1767225600, []byte(`{"msg_id":"`+k+`"}`),
			map[string]string{"subtitle": "bob commented on " + k, "link": "https://bodhi.example/" + k})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, store.Accepted{Message: m, Matches: []store.Match{{UserID: u.ID, DestinationID: d.ID, FilterID: f.ID, Why: json.RawMessage(why)}}})
	}
	if _, err := ts.store.Enqueue(ctx, batch); err != nil {
		t.Fatal(err)
	}
	ns, err := ts.store.ListNotifications(ctx, store.NotificationQuery{User: user})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// sentAndDead marks the newest notification sent and the next dead after
// a failed attempt.
func sentAndDead(t *testing.T, ts *testServer, ns []store.Notification) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := ts.store.MarkSent(ctx, []int64{ns[0].ID}, now); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.MarkFailed(ctx, []int64{ns[1].ID}, "connection refused", now, now); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.MarkDead(ctx, []int64{ns[1].ID}, "550 no such mailbox", now); err != nil {
		t.Fatal(err)
	}
}

func TestHistoryPageShowsFilterReasonsAndOutcome(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	ns := notified(t, ts, "alice", "m-old", "m-new")
	sentAndDead(t, ts, ns)
	resp := alice.get("/history")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	for _, want := range []string{"alice&#39;s bodhi", "bob commented on m-new", "NOT Acting user", "<strong>sent</strong>", "<strong>dead</strong>",
		"550 no such mailbox", "failed", fmt.Sprintf(`action="/history/%d/resend"`, ns[1].ID)} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(resp.Body, fmt.Sprintf(`action="/history/%d/resend"`, ns[0].ID)) {
		t.Errorf("a sent notification offers a re-send")
	}
}

func TestHistoryAPIListsNotificationsWithReasons(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	sentAndDead(t, ts, notified(t, ts, "alice", "m-old", "m-new"))
	resp := alice.get("/api/v1/history")
	var got []historyJSON
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, resp.Body)
	}
	if len(got) != 2 || got[0].MsgID != "m-new" || got[0].State != store.StateSent || got[0].Sent == nil ||
		got[1].State != store.StateDead || len(got[1].Outcomes) != 2 || got[1].Outcomes[0].Outcome != store.StateDead {
		t.Fatalf("got %+v", got)
	}
	if r := got[0].Rules; len(r) != 2 || r[0].Kind != "app" || !r[1].Negate || !r[1].Pass {
		t.Errorf("rules %+v, want the filter's verdicts", r)
	}
}

func TestResendingADeadLetter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resend func(c *client, id int64) response
		want   int
	}{
		{"page", func(c *client, id int64) response { return c.post(fmt.Sprintf("/history/%d/resend", id), nil) }, http.StatusSeeOther},
		{"API", func(c *client, id int64) response {
			return c.postJSON(fmt.Sprintf("/api/v1/history/%d/resend", id), "")
		}, http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			alice := ts.login(t, "alice", false)
			ns := notified(t, ts, "alice", "m-old", "m-new")
			sentAndDead(t, ts, ns)
			if resp := tc.resend(alice, ns[1].ID); resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, resp.Body)
			}
			n, err := ts.store.NotificationByID(context.Background(), ns[1].ID)
			if err != nil || n.State != store.StateQueued {
				t.Errorf("notification %+v, %v: want it queued again", n, err)
			}
			if resp := tc.resend(alice, ns[0].ID); resp.StatusCode != http.StatusConflict {
				t.Errorf("re-sending a sent notification: status %d, want 409", resp.StatusCode)
			}
		})
	}
}

func TestAnotherUsersHistoryIsNeitherShownNorResent(t *testing.T) {
	ts := newTestServer(t)
	ns := notified(t, ts, "bob", "m-bob-old", "m-bob-new")
	sentAndDead(t, ts, ns)
	alice := ts.login(t, "alice", false)
	notified(t, ts, "alice", "m-alice")
	for _, path := range []string{"/history", "/api/v1/history"} {
		t.Run("listing "+path, func(t *testing.T) {
			resp := alice.get(path)
			if resp.StatusCode != http.StatusOK || strings.Contains(resp.Body, "m-bob") || !strings.Contains(resp.Body, "m-alice") {
				t.Errorf("status %d, want alice's only:\n%s", resp.StatusCode, resp.Body)
			}
		})
	}
	for _, path := range []string{fmt.Sprintf("/history/%d/resend", ns[1].ID), fmt.Sprintf("/api/v1/history/%d/resend", ns[1].ID)} {
		t.Run("re-send "+path, func(t *testing.T) {
			ct := "application/x-www-form-urlencoded"
			if strings.HasPrefix(path, "/api/") {
				ct = "application/json"
			}
			if resp := alice.request("POST", path, ct, ""); resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	if n, err := ts.store.NotificationByID(context.Background(), ns[1].ID); err != nil || n.State != store.StateDead {
		t.Errorf("bob's dead letter changed: %+v, %v", n, err)
	}
}

// Each row is the target of the link a cut IRC notification ends with
// (/history#n-ID).
func TestHistoryRowsAreLinkTargets(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	ns := notified(t, ts, "alice", "m-one")
	resp := alice.get("/history")
	if want := fmt.Sprintf(`id="n-%d"`, ns[0].ID); !strings.Contains(resp.Body, want) {
		t.Errorf("page lacks %s:\n%s", want, resp.Body)
	}
}
