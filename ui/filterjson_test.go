package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAPIFiltersNameDestinationsAndStartWorking(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	confirmed := addDestination(t, ts, "alice@example.org", true)
	addDestination(t, ts, "alice@work.example.org", false)
	for _, tc := range []struct {
		name, body string
		active     bool
		dests      string
	}{
		{"defaults: on, to confirmed destinations", `{"name": "a", "rules": [{"kind": "app", "args": {"names": ["bodhi"]}}]}`, true, `["email:alice@example.org"]`},
		{"by kind:address", `{"name": "b", "rules": [], "destinations": ["email:alice@work.example.org"]}`, true, `["email:alice@work.example.org"]`},
		{"by id", fmt.Sprintf(`{"name": "c", "rules": [], "destinations": [%d], "active": false}`, confirmed.ID), false, `["email:alice@example.org"]`},
		{"none on purpose", `{"name": "d", "rules": [], "destinations": []}`, true, `[]`},
		{"from a template", `{"name": "", "template": "mentions"}`, true, `["email:alice@example.org"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.postJSON("/api/v1/filters", tc.body)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", resp.StatusCode, resp.Body)
			}
			var got struct {
				Active       bool            `json:"active"`
				Destinations json.RawMessage `json:"destinations"`
				Rules        []any           `json:"rules"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			var compact strings.Builder
			json.NewEncoder(&compact).Encode(got.Destinations)
			if got.Active != tc.active || strings.TrimSpace(compact.String()) != tc.dests {
				t.Errorf("active %v, destinations %s; want %v, %s", got.Active, got.Destinations, tc.active, tc.dests)
			}
		})
	}
}

func TestAPIErrorsNameTheFieldInWords(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct {
		name, body, field, want string
	}{
		{"text for a list", `{"name": "x", "rules": [], "destinations": "email:a@example.org"}`, "destinations", "must be a list of"},
		{"number for text", `{"name": 5, "rules": []}`, "name", "must be text, not a number"},
		{"misspelt field", `{"name": "x", "rulez": []}`, "rulez", "is not a field of this request"},
		{"unknown destination", `{"name": "x", "destinations": ["email:nobody@example.org"]}`, "destinations", "email:nobody@example.org is not one of your destinations"},
		{"unknown template", `{"name": "x", "template": "nope"}`, "template", "choose one of the templates"},
		{"template and rules", `{"name": "x", "template": "mentions", "rules": []}`, "rules", "either a template or rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.postJSON("/api/v1/filters", tc.body)
			var p Problem
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &p) != nil {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, resp.Body)
			}
			if !strings.Contains(p.Fields[tc.field], tc.want) || strings.Contains(resp.Body, "Go value") {
				t.Errorf("fields %v, want %s: %q", p.Fields, tc.field, tc.want)
			}
		})
	}
	if resp := alice.postJSON("/api/v1/filters", `{"name": `); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "cut short") {
		t.Errorf("cut body: status %d: %s", resp.StatusCode, resp.Body)
	}
}
