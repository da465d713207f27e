package meta

import (
	"encoding/json"
	"strings"
	"testing"
)

// The schema classes' formatting helpers, on the branches the recorded
// messages do not reach. Expected values are what the Python helpers
// (koji's fill_task_template, repr, comma_join) return for the same input.

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
