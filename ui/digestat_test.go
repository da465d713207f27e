package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hark/store"
)

// TestDigestAtThroughTheAPIAndThePage: the API sets and shows a
// destination's digest time, refuses 25:00 naming the field and keeps the
// time it had, and the page's form shows it.
func TestDigestAtThroughTheAPIAndThePage(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	u, err := ts.store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ts.store.SaveDestination(context.Background(), store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "alice@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/destinations/%d", d.ID)
	if resp := alice.request("PATCH", path, "application/json", `{"digest_at": "Mon 8:00"}`); resp.StatusCode/100 != 2 {
		t.Fatalf("PATCH digest_at: status %d: %s", resp.StatusCode, resp.Body)
	}
	resp := alice.request("PATCH", path, "application/json", `{"digest_at": "25:00"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "digest_at") || !strings.Contains(resp.Body, "25:00") {
		t.Errorf("PATCH digest_at=25:00: status %d, %s; want 400 naming digest_at", resp.StatusCode, resp.Body)
	}
	var got struct {
		DigestAt string `json:"digest_at"`
	}
	if resp := alice.get(path); json.Unmarshal([]byte(resp.Body), &got) != nil || got.DigestAt != "mon 08:00" {
		t.Errorf("GET %s = %s, want digest_at mon 08:00 kept", path, resp.Body)
	}
	resp = alice.request("PATCH", path, "application/json", `{"snooze": "2020-01-01T00:00:00Z"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "snooze") || !strings.Contains(resp.Body, "in the past") {
		t.Errorf("PATCH a snooze in the past: status %d, %s; want 400 naming snooze", resp.StatusCode, resp.Body)
	}
	if resp := alice.request("PATCH", path, "application/json", `{"snooze": "on", "snooze_then": "drop"}`); resp.StatusCode/100 != 2 {
		t.Fatalf("PATCH snooze: status %d: %s", resp.StatusCode, resp.Body)
	}
	if page := alice.get("/destinations"); !strings.Contains(page.Body, `name="digest_at" value="mon 08:00"`) || !strings.Contains(page.Body, `name="snooze" value="on"`) {
		t.Errorf("the destinations page does not show the digest time:\n%s", page.Body)
	}
}
