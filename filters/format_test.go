package filters_test

import (
	"fmt"
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

// manyFilters is an export file of n filters, each on its own lines,
// with names, destinations and rules as given.
func manyFilters(n int, name func(i int) string, dests, rules int) string {
	var b strings.Builder
	b.WriteString("{\"version\": 1, \"user\": \"alice\", \"filters\": [\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		ds := make([]string, dests)
		for j := range ds {
			ds[j] = fmt.Sprintf(`"email:a%d@example.org"`, j)
		}
		rs := make([]string, rules)
		for j := range rs {
			rs[j] = `{"kind": "topic", "args": {"pattern": "*.bodhi.*"}}`
		}
		fmt.Fprintf(&b, "  {\"name\": %q,\n   \"destinations\": [%s],\n   \"rules\": [%s]}",
			name(i), strings.Join(ds, ", "), strings.Join(rs, ", "))
	}
	b.WriteString("\n]}\n")
	return b.String()
}

func TestParseExportEnforcesTheLimits(t *testing.T) {
	named := func(i int) string { return fmt.Sprintf("f%d", i) }
	for _, tc := range []struct {
		name, file, want string
	}{
		{"too many filters", manyFilters(filters.MaxFilters+1, named, 1, 1), "alice.json:1: filters: 101 filters, more than the 100 a user may have"},
		{"too many rules", manyFilters(3, named, 1, filters.MaxRules+1), "alice.json:4: filters[0].rules: 21 rules, more than the 20 a filter may have"},
		{"too many destinations", manyFilters(3, named, filters.MaxDestinations+1, 1), "alice.json:3: filters[0].destinations: 21 destinations, more than the 20 a filter may have"},
		{"long name", manyFilters(3, func(i int) string { return strings.Repeat("n", 5000) }, 1, 1), "alice.json:2: filters[0].name: a name of 5000 bytes, longer than 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := filters.ParseExport("alice.json", []byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseExport error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := filters.ParseExport("alice.json", []byte(manyFilters(filters.MaxFilters, named, filters.MaxDestinations, filters.MaxRules))); err != nil {
		t.Errorf("a file at every limit: %v", err)
	}
}

// TestParseExportNamesLinesDeepInALargeFile: the positions of a large
// file are right at its end, where a mistake is found last.
func TestParseExportNamesLinesDeepInALargeFile(t *testing.T) {
	file := manyFilters(filters.MaxFilters, func(i int) string { return fmt.Sprintf("f%d", i) }, 1, 1)
	file = strings.Replace(file, `"email:a0@example.org"]`+",\n   \"rules\": [{\"kind\": \"topic\", \"args\": {\"pattern\": \"*.bodhi.*\"}}]}\n]}",
		`"sms:0"]`+",\n   \"rules\": [{\"kind\": \"topic\", \"args\": {\"pattern\": \"*.bodhi.*\"}}]}\n]}", 1)
	want := fmt.Sprintf("alice.json:%d: filters[99].destinations[0]", 3*99+3)
	if _, err := filters.ParseExport("alice.json", []byte(file)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseExport error = %v, want it to contain %q", err, want)
	}
}

// BenchmarkParseExportErrorPositions parses files of growing size whose
// last value is wrong, so that every value's line is found: the time per
// byte should stay flat as the file grows (it grew with the file before
// the line breaks were indexed once).
func BenchmarkParseExportErrorPositions(b *testing.B) {
	for _, size := range []int{1 << 16, 1 << 20, 1 << 23} {
		// One filter whose many destinations fill the file, the last one wrong.
		n := size / 30
		ds := make([]string, n)
		for i := range ds {
			ds[i] = fmt.Sprintf("\n \"email:a%d@example.org\"", i)
		}
		ds[n-1] = `"sms:x"`
		file := []byte(`{"version": 1, "user": "alice", "filters": [{"name": "big", "destinations": [` + strings.Join(ds, ",") + `], "rules": [], "extra": 1}]}`)
		b.Run(fmt.Sprintf("%dKiB", len(file)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				if _, err := filters.ParseExport("big.json", file); err == nil {
					b.Fatal("no error")
				}
			}
		})
	}
}
