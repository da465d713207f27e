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

// bobsThings makes user bob with one destination and one filter.
func bobsThings(t *testing.T, ts *testServer) (store.Destination, store.Filter) {
	t.Helper()
	ctx := context.Background()
	bob := ts.addUser(t, "bob", false)
	d, err := ts.store.SaveDestination(ctx, store.Destination{UserID: bob.ID, Kind: store.KindEmail, Address: "bob@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: bob.ID, Name: "bob's", Active: true, DestinationIDs: []int64{d.ID},
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["bodhi"]}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	return d, f
}

func TestOthersObjectsAreNotFound(t *testing.T) {
	ts := newTestServer(t)
	d, f := bobsThings(t, ts)
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/filters/%d", f.ID), ""},
		{"POST", fmt.Sprintf("/filters/%d/delete", f.ID), ""},
		{"POST", fmt.Sprintf("/filters/%d/rename", f.ID), "name=mine"},
		{"POST", fmt.Sprintf("/filters/%d/active", f.ID), ""},
		{"POST", fmt.Sprintf("/filters/%d/rules", f.ID), "kind=app&value=koji"},
		{"POST", fmt.Sprintf("/filters/%d/rules/0/delete", f.ID), ""},
		{"POST", fmt.Sprintf("/destinations/%d/delete", d.ID), ""},
		{"POST", fmt.Sprintf("/destinations/%d/preferences", d.ID), "form=1&enabled=true"},
		{"POST", fmt.Sprintf("/destinations/%d/confirm", d.ID), "code=x"},
		{"GET", fmt.Sprintf("/api/v1/filters/%d", f.ID), ""},
		{"PUT", fmt.Sprintf("/api/v1/filters/%d", f.ID), `{"name":"x","active":true,"rules":[],"destinations":[]}`},
		{"DELETE", fmt.Sprintf("/api/v1/filters/%d", f.ID), ""},
		{"GET", fmt.Sprintf("/api/v1/destinations/%d", d.ID), ""},
		{"PATCH", fmt.Sprintf("/api/v1/destinations/%d", d.ID), `{"enabled":false}`},
		{"DELETE", fmt.Sprintf("/api/v1/destinations/%d", d.ID), ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ct := "application/x-www-form-urlencoded"
			if strings.HasPrefix(tc.path, "/api/") {
				ct = "application/json"
			}
			if resp := alice.request(tc.method, tc.path, ct, tc.body); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	after, err := ts.store.FilterByID(context.Background(), f.ID)
	if err != nil || after.Name != "bob's" || !after.Active || len(after.Rules) != 1 {
		t.Fatalf("bob's filter changed: %+v, %v", after, err)
	}
	if got, err := ts.store.DestinationByID(context.Background(), d.ID); err != nil || !got.Enabled {
		t.Fatalf("bob's destination changed: %+v, %v", got, err)
	}
}

func TestOthersObjectsAreNotListed(t *testing.T) {
	ts := newTestServer(t)
	bobsThings(t, ts)
	alice := ts.login(t, "alice", false)
	for _, path := range []string{"/filters", "/destinations", "/api/v1/filters", "/api/v1/destinations", "/api/v1/filters/export"} {
		t.Run(path, func(t *testing.T) {
			resp := alice.get(path)
			if resp.StatusCode != http.StatusOK || strings.Contains(resp.Body, "bob") {
				t.Fatalf("status %d, body mentions bob:\n%s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestFilterCannotUseOthersDestination(t *testing.T) {
	ts := newTestServer(t)
	d, _ := bobsThings(t, ts)
	alice := ts.login(t, "alice", false)
	resp := alice.postJSON("/api/v1/filters", fmt.Sprintf(`{"name":"steal","active":true,"rules":[],"destinations":[%d]}`, d.ID))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"destinations"`) {
		t.Fatalf("status %d, want 400 naming destinations: %s", resp.StatusCode, resp.Body)
	}
}

func TestAdminMayOpenOthersFilter(t *testing.T) {
	ts := newTestServer(t)
	_, f := bobsThings(t, ts)
	admin := ts.login(t, "root", true)
	if resp := admin.get(fmt.Sprintf("/api/v1/filters/%d", f.ID)); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin: status %d", resp.StatusCode)
	}
}

func TestAPITokenAuthenticatesAndRevokes(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	resp := alice.postJSON("/api/v1/tokens", `{"name":"script"}`)
	var tok struct {
		ID     int64
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil || tok.Secret == "" {
		t.Fatalf("create token: %d %s", resp.StatusCode, resp.Body)
	}
	script := ts.client(t)
	call := func() int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/account", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		return script.do(req).StatusCode
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("with token: status %d", got)
	}
	if resp := alice.request("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: status %d %s", resp.StatusCode, resp.Body)
	}
	if got := call(); got != http.StatusUnauthorized {
		t.Fatalf("revoked token: status %d, want 401", got)
	}
}

func TestDisabledUserLosesSession(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	if err := ts.store.SetUserDisabled(context.Background(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if resp := alice.get("/filters"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled user: status %d, want 303 to login", resp.StatusCode)
	}
}

func TestUserCannotConfirmThroughPreferences(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	u, _ := ts.store.UserByName(context.Background(), "alice")
	d, err := ts.store.SaveDestination(context.Background(), store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "a@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	resp := alice.post(fmt.Sprintf("/destinations/%d/preferences", d.ID), url.Values{"confirmed": {"true"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "is not a preference") {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if got, _ := ts.store.DestinationByID(context.Background(), d.ID); got.Confirmed {
		t.Fatal("destination confirmed without its code")
	}
}
