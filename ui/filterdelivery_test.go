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

// TestFilterDeliveryThroughTheAPI: the API sets a filter's mode for one
// of its destinations, urgent and snooze, shows them, and refuses bad
// input naming the field while keeping what was set.
func TestFilterDeliveryThroughTheAPI(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	ctx := context.Background()
	u, err := ts.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ts.store.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "alice@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "builds", Active: true,
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["koji"]}`)}}, DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/filters/%d/delivery", f.ID)
	resp := alice.request("PUT", path, "application/json", `{"modes": {"email:alice@example.org": "daily 8:00"}, "urgent": true, "snooze": "on", "snooze_then": "drop"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: status %d: %s", resp.StatusCode, resp.Body)
	}
	want := `{"urgent":true,"snooze":"on","snooze_then":"drop","modes":{"email:alice@example.org":"daily 08:00"}}`
	for _, tc := range []struct{ body, field, says string }{
		{`{"modes": {"email:alice@example.org": "daily 25:00"}}`, "modes.email:alice@example.org", "25:00"},
		{`{"modes": {"email:alice@example.org": "after 0"}}`, "modes.email:alice@example.org", "1 or more"},
		{`{"modes": {"irc:alice": "now"}}`, "modes.irc:alice", "not one of the filter's destinations"},
		{`{"urgent": false, "snooze": "2020-01-01T00:00:00Z"}`, "snooze", "in the past"},
		{`{"snooze": "2h", "snooze_then": "later"}`, "snooze_then", "not digest or drop"},
	} {
		resp := alice.request("PUT", path, "application/json", tc.body)
		var p Problem
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &p) != nil || !strings.Contains(p.Fields[tc.field], tc.says) {
			t.Errorf("PUT %s: status %d, %s; want 400 saying %q of %s", tc.body, resp.StatusCode, resp.Body, tc.says, tc.field)
		}
	}
	var got, wantJSON any
	json.Unmarshal([]byte(want), &wantJSON)
	if resp := alice.get(path); json.Unmarshal([]byte(resp.Body), &got) != nil || fmt.Sprint(got) != fmt.Sprint(wantJSON) {
		t.Errorf("GET %s = %s, want %s kept", path, resp.Body, want)
	}
	bob := ts.login(t, "bob", false)
	if resp := bob.request("PUT", path, "application/json", `{"urgent": false}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's PUT on alice's filter: status %d, want 404", resp.StatusCode)
	}
}

// TestFilterDeliveryThroughThePage: the filter's page saves a mode for
// one destination, urgent and a snooze, shows them back, and a bad mode
// shows the error beside its field and saves nothing.
func TestFilterDeliveryThroughThePage(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	ctx := context.Background()
	u, err := ts.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ts.store.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "alice@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "builds", Active: true,
		Rules: []store.Rule{{Kind: "app", Args: json.RawMessage(`{"names":["koji"]}`)}}, DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/filters/%d", f.ID)
	mode := fmt.Sprintf("mode-%d", d.ID)
	resp := alice.post(page+"/delivery", url.Values{mode: {"daily 25:00"}, "urgent": {"true"}, "snooze": {"on"}, "snooze_then": {"drop"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "25:00") {
		t.Errorf("a mode of daily 25:00: status %d; want 400 showing the error", resp.StatusCode)
	}
	if got, _ := ts.store.ListFilters(ctx, u.ID); got[0].Urgent || !got[0].SnoozeUntil.IsZero() {
		t.Errorf("a refused form saved %+v", got[0].FilterDelivery)
	}
	if resp := alice.post(page+"/delivery", url.Values{mode: {"now"}, "urgent": {"true"}, "snooze": {"on"}, "snooze_then": {"drop"}}); resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the form: status %d: %s", resp.StatusCode, resp.Body)
	}
	body := alice.get(page).Body
	for _, want := range []string{fmt.Sprintf(`name="mode-%d" value="now"`, d.ID), `name="urgent" value="true" checked`, `name="snooze" value="on"`, `<option value="drop" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the filter's page lacks %s", want)
		}
	}
}
