package main

import (
	"strings"
	"testing"
)

// TestFiltersModeUrgentAndSnoozeCommands: the commands set a filter's
// own delivery, which the export shows, and refuse bad input naming the
// field, changing nothing.
func TestFiltersModeUrgentAndSnoozeCommands(t *testing.T) {
	newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	adminMust(t, `{"version": 1, "user": "alice", "filters": [{"name": "builds", "active": true,
		"destinations": ["email:alice@example.org"], "rules": [{"kind": "app", "args": {"names": ["koji"]}}]}]}`, "filters", "import", "-")
	adminMust(t, "", "filters", "mode", "--user", "alice", "builds", "email:alice@example.org", "now")
	adminMust(t, "", "filters", "urgent", "--user", "alice", "builds", "on")
	if out := adminMust(t, "", "filters", "snooze", "--user", "alice", "builds", "on", "--then", "drop"); !strings.Contains(out, "snoozed until turned off, then drop") {
		t.Errorf("snooze said %q", out)
	}
	export := adminMust(t, "", "filters", "export", "--user", "alice")
	for _, want := range []string{`"email:alice@example.org": "now"`, `"urgent": true`, `"snooze": "on"`, `"snooze_then": "drop"`} {
		if !strings.Contains(export, want) {
			t.Errorf("export lacks %s:\n%s", want, export)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mode", "--user", "alice", "builds", "email:alice@example.org", "daily 25:00"}, `mode: "25:00" is not a time of day`},
		{[]string{"mode", "--user", "alice", "builds", "email:alice@example.org", "after 0"}, `mode: "after 0": after takes a whole number of notifications of 1 or more`},
		{[]string{"mode", "--user", "alice", "builds", "irc:alice", "now"}, `destination: "irc:alice" is not one of filter "builds"'s destinations`},
		{[]string{"snooze", "--user", "alice", "builds", "2020-01-01T00:00:00Z"}, "snooze: 2020-01-01T00:00:00Z is in the past"},
		{[]string{"snooze", "--user", "alice", "builds", "2h", "--then", "later"}, `snooze_then: "later" is not digest or drop`},
		{[]string{"snooze", "--user", "alice", "nosuch", "2h"}, `filter: alice has no filter named "nosuch"`},
	} {
		code, _, errOut := adminRun(t, "", append([]string{"filters"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("hark filters %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
	if again := adminMust(t, "", "filters", "export", "--user", "alice"); again != export {
		t.Errorf("refused commands changed the filter:\n%s\nwas\n%s", again, export)
	}
}
