package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hark/filters"
)

// TestFilterLimitsHoldAtEveryWayIn sends a filter past each limit through
// each way the web UI takes filters in: it is refused, naming the limit.
func TestFilterLimitsHoldAtEveryWayIn(t *testing.T) {
	longName := strings.Repeat("n", 5000)
	rules := strings.TrimSuffix(strings.Repeat(`{"kind": "app", "args": {"names": ["bodhi"]}},`, filters.MaxRules+1), ",")
	dests := make([]string, filters.MaxDestinations+1)
	for i := range dests {
		dests[i] = fmt.Sprintf(`"email:a%d@example.org"`, i)
	}
	file := func(name, rules, dests string) string {
		return `{"version": 1, "user": "alice", "filters": [{"name": "` + name + `", "destinations": [` + dests + `], "rules": [` + rules + `]}]}`
	}
	var many []string
	for i := range filters.MaxFilters + 1 {
		many = append(many, fmt.Sprintf(`{"name": "f%d", "destinations": [], "rules": []}`, i))
	}
	tooMany := `{"version": 1, "user": "alice", "filters": [` + strings.Join(many, ",") + `]}`
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct {
		name string
		send func() response
		want string
	}{
		{"web import, long name", func() response {
			return alice.post("/filters/import", url.Values{"data": {file(longName, "", "")}})
		}, "a name of 5000 bytes, longer than 100"},
		{"web import, too many rules", func() response {
			return alice.post("/filters/import", url.Values{"data": {file("x", rules, "")}})
		}, "21 rules, more than the 20 a filter may have"},
		{"api import, too many destinations", func() response {
			return alice.postJSON("/api/v1/filters/import", file("x", "", strings.Join(dests, ",")))
		}, "21 destinations, more than the 20 a filter may have"},
		{"api import, too many filters", func() response {
			return alice.postJSON("/api/v1/filters/import?merge=true", tooMany)
		}, "101 filters, more than the 100 a user may have"},
		{"web form, long name", func() response {
			return alice.post("/filters", url.Values{"name": {longName}})
		}, "longer than 100 characters"},
		{"api create, long name", func() response {
			return alice.postJSON("/api/v1/filters", `{"name": "`+longName+`", "rules": [], "destinations": []}`)
		}, "longer than 100 characters"},
		{"api create, too many rules", func() response {
			return alice.postJSON("/api/v1/filters", `{"name": "x", "rules": [`+rules+`], "destinations": []}`)
		}, "at most 20 rules"},
		{"api create, too many destinations", func() response {
			return alice.postJSON("/api/v1/filters", `{"name": "x", "rules": [], "destinations": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]}`)
		}, "at most 20 destinations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.send()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, tc.want) {
				t.Fatalf("status %d, want 400 with %q in:\n%.2000s", resp.StatusCode, tc.want, resp.Body)
			}
		})
	}
	if resp := alice.get("/api/v1/filters"); resp.Body != "[]\n" && !strings.Contains(resp.Body, "[]") {
		t.Errorf("filters after refused input: %s", resp.Body)
	}
}
