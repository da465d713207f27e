package meta

import (
	"encoding/json"
	"strings"
	"testing"
)

// The schema classes' formatting helpers, on the branches the recorded
// messages do not reach. Expected values are what the Python helpers
// (dateutil's relativedelta, koji's fill_task_template, json.dumps,
// repr) return for the same input.

func TestFedocalStartsIn(t *testing.T) {
	tests := []struct {
		date, clock, sentAt, want string
	}{
		{"2026-12-07", "12:00:00", "2026-12-07T12:00:00+00:00", "right now"},
		{"2026-12-07", "12:00:00", "2026-12-07T11:59:30+00:00", "right now"},
		{"2026-12-07", "12:30:00", "2026-12-07T12:00:00+00:00", "in 30 minutes"},
		{"2026-12-07", "13:00:00", "2026-12-07T12:00:00+00:00", "in 1 hour"},
		{"2026-12-08", "11:59:00", "2026-12-07T12:00:00+00:00", "in 23 hours"},
		{"2027-01-31", "12:00:00", "2026-12-31T12:00:00+00:00", "in 1 month"},
		{"2027-03-01", "00:00:00", "2027-01-31T00:00:00+00:00", "in 1 month"},
		{"2029-02-07", "12:00:00", "2026-12-07T12:00:00+00:00", "in 2 years"},
		// A reminder sent late counts backwards, as the schema does.
		{"2026-12-05", "12:00:00", "2026-12-07T12:00:00+00:00", "in -2 days"},
		{"2026-12-07", "11:00:00", "2026-12-07T12:00:00+00:00", "in -1 hours"},
		{"2026-11-07", "12:00:00", "2026-12-07T12:00:00+00:00", "in -1 months"},
	}
	for _, tt := range tests {
		meeting := map[string]any{"meeting_date": tt.date, "meeting_time_start": tt.clock}
		got, err := fedocalStartsIn(meeting, tt.sentAt)
		if err != nil || got != tt.want {
			t.Errorf("fedocalStartsIn(%s %s, %s) = %q, %v; want %q", tt.date, tt.clock, tt.sentAt, got, err, tt.want)
		}
	}
	// The envelope's timestamp (Unix seconds) works as well as sent-at.
	got, err := fedocalStartsIn(map[string]any{"meeting_date": "2026-12-09", "meeting_time_start": "12:00:00"},
		json.Number("1796644800")) // 2026-12-07T12:00:00Z
	if err != nil || got != "in 2 days" {
		t.Errorf("fedocalStartsIn from a timestamp = %q, %v; want %q", got, err, "in 2 days")
	}
}

func TestKojiTaskText(t *testing.T) {
	task := decodeJSON(t, `{"id": 10, "host_name": null, "method": "build", "arch": "noarch",
		"url": "https://koji/t/10", "result": {"srpm": "tasks/x.src.rpm", "rpms": ["a.rpm", "b.rpm"], "logs": []},
		"children": [
			{"id": 12, "host_name": "b2", "method": "buildArch", "arch": "x86_64", "url": "https://koji/t/12",
			 "result": null, "children": [], "completion_time": 20.5},
			{"id": 11, "host_name": "b1", "method": "buildArch", "arch": "aarch64", "url": "https://koji/t/11",
			 "result": {"logs": ["build.log"]}, "children": [], "completion_time": null}]}`)
	want := "Task 10 on (unscheduled)\nTask Type: build (noarch)\nLink: https://koji/t/10\n" +
		"rpms:\n  https://files/a.rpm\n  https://files/b.rpm\nsrpm:\n  https://files/tasks/x.src.rpm\n" +
		"\nTask 10 has the following sub-tasks:\n" +
		"\nTask 11 on b1\nTask Type: buildArch (aarch64)\nLink: https://koji/t/11\nlogs:\n  https://files/build.log\n" +
		"\nTask 12 on b2\nTask Type: buildArch (x86_64)\nLink: https://koji/t/12\n"
	var b strings.Builder
	writeKojiTask(&b, task, "https://files")
	if got := b.String(); got != want {
		t.Errorf("kojiTaskText:\n%s\nwant:\n%s", got, want)
	}
}

func TestKojiDate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-01T07:37:44.691478+00:00": "Mon, 01 Jan 2024 07:37:44 UTC",
		"2024-01-01T07:37:44":              "Mon, 01 Jan 2024 07:37:44 ",
		"2024-01-01T07:37:44+02:00":        "Mon, 01 Jan 2024 07:37:44 UTC+02:00",
		"yesterday":                        "",
	} {
		if got := kojiDate(in); got != want {
			t.Errorf("kojiDate(%q) = %q, want %q", in, got, want)
		}
	}
	if got := kojiDate(nil); got != "" {
		t.Errorf("kojiDate(null) = %q, want \"\"", got)
	}
}

func TestPyJSONIndent(t *testing.T) {
	v := decodeJSON(t, `{"b": [1, {"é": "…😀\n\"x\\"}], "a": {}, "c": [], "d": null, "e": true, "f": 1.5}`)
	want := "{\n    \"a\": {},\n    \"b\": [\n        1,\n        {\n            \"\\u00e9\": \"\\u2026\\ud83d\\ude00\\n\\\"x\\\\\"\n" +
		"        }\n    ],\n    \"c\": [],\n    \"d\": null,\n    \"e\": true,\n    \"f\": 1.5\n}"
	var b strings.Builder
	writePyJSON(&b, v, 0)
	if got := b.String(); got != want {
		t.Errorf("pyJSONIndent:\n%s\nwant:\n%s", got, want)
	}
}

func TestSchemaTextHelpers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"repr plain", pyRepr("plain"), `'plain'`},
		{"repr single quote", pyRepr("it's"), `"it's"`},
		{"repr double quote", pyRepr(`say "hi"`), `'say "hi"'`},
		{"repr both quotes", pyRepr(`both ' and "`), `'both \' and "'`},
		{"repr tab", pyRepr("tab\there"), `'tab\there'`},
		{"repr non-ASCII", pyRepr("café …"), `'café …'`},
		{"fields none", quotedSeries(nil), "something unknown"},
		{"fields one", quotedSeries([]any{"cc"}), "'cc'"},
		{"fields two", quotedSeries([]any{"a", "b"}), "'a' and 'b'"},
		{"fields three", quotedSeries([]any{"a", "b", "c"}), "'a', 'b', and 'c'"},
		{"bodhi truncate short", truncRunes("abc", 40, 40, "…"), "abc"},
		{"bodhi truncate 40", truncRunes(strings.Repeat("é", 40), 40, 40, "…"), strings.Repeat("é", 40) + "…"},
		{"bugzilla truncate 40", truncRunes(strings.Repeat("x", 40), 41, 40, "..."), strings.Repeat("x", 40)},
		{"bugzilla truncate 41", truncRunes(strings.Repeat("x", 41), 41, 40, "..."), strings.Repeat("x", 40) + "..."},
		{"mentions", strings.Join(spacedMentions("@ralph thanks, /cc @code_block. mail test@example.com"), ","), "ralph,code_block"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}
