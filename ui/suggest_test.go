package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"hark/owners"
	"hark/rules"
	"hark/store"
)

func TestSuggestCompletesNamesFromHistoryAndOwnership(t *testing.T) {
	snap, err := owners.Parse("aliases", []byte(`{"rpms": {"nethack": ["alice", "@games-sig"], "netpbm": ["bob"]}}`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.Owners = func() rules.Ownership { return snap } })
	if _, err := ts.store.AddMessages(context.Background(), []store.Message{{
		Key: "m1", Topic: "org.fedoraproject.prod.buildsys.build.state.change", Timestamp: time.Unix(1700000000, 0),
		Envelope:    json.RawMessage(`{}`),
		Description: json.RawMessage(`{"app":"buildsys","packages":["netcdf","kernel"],"usernames":["alex"],"agent":"alex"}`),
	}}); err != nil {
		t.Fatal(err)
	}
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/api/v1/suggest/packages?q=net", []string{"netcdf", "nethack", "netpbm"}},
		{"/api/v1/suggest/users?q=al", []string{"alex", "alice"}},
		{"/api/v1/suggest/groups?q=g", []string{"games-sig"}},
		{"/api/v1/suggest/packages?q=zzz", []string{}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := alice.get(tc.path)
			var got []string
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &got) != nil {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if resp := alice.get("/api/v1/suggest/secrets?q=a"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown list: status %d, want 404", resp.StatusCode)
	}
	if resp := ts.client(t).get("/api/v1/suggest/users?q=a"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: status %d, want 401", resp.StatusCode)
	}
}
