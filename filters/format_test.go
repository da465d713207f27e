package filters_test

import (
	"slices"
	"strings"
	"testing"

	"hark/filters"
)

const exportFile = `{
  "version": 1,
  "user": "alice",
  "filters": [
    {"name": "mine", "active": true, "oneshot": false,
     "destinations": ["email:alice@example.org", "irc:alice"],
     "rules": [{"kind": "owned-by", "args": {"users": ["@me"]}, "negate": false}]}
  ]
}`

func TestParseExport(t *testing.T) {
	e, err := filters.ParseExport("alice.json", []byte(exportFile))
	if err != nil {
		t.Fatal(err)
	}
	if e.User != "alice" || len(e.Filters) != 1 || e.Filters[0].Rules[0].Kind != "owned-by" {
		t.Errorf("ParseExport = %+v", e)
	}
}

func TestParseExportErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"syntax error", `"user": "alice",`, `"user": "alice",,`, "alice.json:3:"},
		{"unknown field", `"oneshot": false,`, `"oneshot": false, "colour": 1,`, `alice.json:5: json: unknown field "colour"`},
		{"wrong type", `"active": true`, `"active": "yes"`, "alice.json:5:"},
		{"version", `"version": 1`, `"version": 2`, "alice.json:2: version: version 2 is not supported"},
		{"missing user", `"user": "alice"`, `"user": ""`, "alice.json:3: user: missing user"},
		{"bad destination", `"irc:alice"`, `"sms:alice"`, `alice.json:6: filters[0].destinations[1]: destination "sms:alice": unknown kind "sms"`},
		{"bad email", `"email:alice@example.org"`, `"email:Alice <alice@example.org>"`, "filters[0].destinations[0]: destination"},
		{"bad rule", `{"users": ["@me"]}`, `{"user": ["@me"]}`, "alice.json:7: filters[0].rules[0]: compile owned-by rule: args"},
		{"empty name", `"name": "mine"`, `"name": ""`, "alice.json:5: filters[0].name: missing name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(exportFile, tc.from) {
				t.Fatalf("test input lacks %q", tc.from)
			}
			_, err := filters.ParseExport("alice.json", []byte(strings.Replace(exportFile, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseExport error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseExportReportsDuplicateNames(t *testing.T) {
	dup := strings.Replace(exportFile, "\n  ]", ",\n    {\"name\": \"mine\", \"active\": true, \"oneshot\": false, \"destinations\": [], \"rules\": []}\n  ]", 1)
	_, err := filters.ParseExport("alice.json", []byte(dup))
	if err == nil || !strings.Contains(err.Error(), `alice.json:8: filters[1].name: duplicate name "mine" (also filters[0])`) {
		t.Errorf("ParseExport error = %v, want the duplicate named with its line", err)
	}
}

func TestImport(t *testing.T) {
	current := []filters.Filter{{Name: "a", Active: true}, {Name: "b", Active: true}}
	file := &filters.Export{Version: 1, User: "alice", Filters: []filters.Filter{{Name: "b"}, {Name: "c", Active: true}}}
	for _, tc := range []struct {
		name  string
		merge bool
		want  []string // name:active
	}{
		{"replace", false, []string{"b:false", "c:true"}},
		{"merge updates by name and appends", true, []string{"a:true", "b:false", "c:true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range filters.Import(current, file, tc.merge) {
				got = append(got, f.Name+":"+map[bool]string{true: "true", false: "false"}[f.Active])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Import = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewDestinations(t *testing.T) {
	fs := []filters.Filter{{Destinations: []string{"email:a@x.org", "irc:a"}}, {Destinations: []string{"irc:a", "irc:b"}}}
	got := filters.NewDestinations([]string{"email:a@x.org"}, fs)
	if want := []string{"irc:a", "irc:b"}; !slices.Equal(got, want) {
		t.Errorf("NewDestinations = %v, want %v", got, want)
	}
}

func TestDefaults(t *testing.T) {
	fs := filters.Defaults(email)
	ix := newIndex(t, filters.Options{}, "alice", fs...)
	for _, tc := range []struct {
		name  string
		agent string
		users []string
		want  string
	}{
		{"someone acts on my package", "bob", nil, "Events on packages that I own"},
		{"I act on my own package", "alice", []string{"alice"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, desc := message(t, tc.agent, tc.users...)
			hits := ix.Match(env, desc)
			got := ""
			if len(hits) > 0 {
				got = hits[0].Filter
			}
			if got != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
		})
	}
}
