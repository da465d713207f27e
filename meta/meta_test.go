package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hark/bus"
)

// envelope decodes a JSON envelope for a test.
func envelope(t *testing.T, js string) *bus.Envelope {
	t.Helper()
	env, err := bus.Decode([]byte(js))
	if err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return env
}

// writeProcessor writes an extra processor file and returns its path.
func writeProcessor(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDescribeAppAndDefaultTitle(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		name, topic, app, title string
	}{
		{"four tokens or more", "org.fedoraproject.prod.bodhi.update.comment", "bodhi", "bodhi.update.comment"},
		{"app with no event", "org.fedoraproject.prod.bodhi", "bodhi", "bodhi"},
		{"fewer than four tokens has no app", "fedoracollege.content.added", "", "fedoracollege.content.added"},
		{"other prefix", "org.release-monitoring.prod.anitya.project.add", "anitya", "anitya.project.add"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "`+tc.topic+`", "msg": {}}`))
			if got.App != tc.app || got.Title != tc.title {
				t.Errorf("app, title = %q, %q; want %q, %q", got.App, got.Title, tc.app, tc.title)
			}
		})
	}
}

func TestGenericFallbackReadsCommonKeys(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		name        string
		msg         string
		users, pkgs []string
		agent       string
	}{
		{"agent and owner", `{"agent": "alice", "owner": "bob"}`, []string{"alice", "bob"}, nil, "alice"},
		{"user as a map with a name", `{"user": {"name": "carol"}}`, []string{"carol"}, nil, "carol"},
		{"package string", `{"package": "kernel", "username": "dave"}`, []string{"dave"}, []string{"kernel"}, "dave"},
		{"bare name is not a package", `{"name": "something"}`, nil, nil, ""},
		{"threebean is ralph", `{"agent": "threebean"}`, []string{"ralph"}, nil, "ralph"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "org.example.prod.newservice.thing.happened", "msg": `+tc.msg+`}`))
			if !slices.Equal(got.Usernames, tc.users) || !slices.Equal(got.Packages, tc.pkgs) || got.Agent != tc.agent {
				t.Errorf("usernames %q packages %q agent %q; want %q %q %q",
					got.Usernames, got.Packages, got.Agent, tc.users, tc.pkgs, tc.agent)
			}
		})
	}
}

func TestDescribeSetsAreSortedAndDeduplicated(t *testing.T) {
	got := Default().Describe(envelope(t, `{"topic": "org.fedoraproject.prod.bodhi.update.comment",
		"msg": {"comment": {"author": "zed", "karma": 0, "text": "@amy @zed @amy thanks",
		"update_title": "b-1-1.fc30,a-1-1.fc30,b-2-1.fc30"}}}`))
	if want := []string{"amy", "zed"}; !slices.Equal(got.Usernames, want) {
		t.Errorf("usernames %q, want %q", got.Usernames, want)
	}
	if want := []string{"a", "b"}; !slices.Equal(got.Packages, want) {
		t.Errorf("packages %q, want %q", got.Packages, want)
	}
}

func TestAliases(t *testing.T) {
	d, err := New(Options{Aliases: map[string]string{"bob@example.com": "bob", "threebean": "rbean"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		agent string
		want  string
	}{
		{"configured alias wins over the default", "threebean", "rbean"},
		{"an address with an alias becomes the user", "bob@example.com", "bob"},
		{"an address without an alias names nobody", "eve@example.com", ""},
		{"a plain name stays", "carol", "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "org.example.prod.x.y", "msg": {"agent": "`+tc.agent+`"}}`))
			if got.Agent != tc.want {
				t.Errorf("agent %q, want %q", got.Agent, tc.want)
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if !slices.Equal(got.Usernames, want) {
				t.Errorf("usernames %q, want %q", got.Usernames, want)
			}
		})
	}
}

func TestExtraFileExtendsOverridesOrReplaces(t *testing.T) {
	const topic = "org.fedoraproject.prod.bodhi.update.comment"
	const comment = `{"topic": "` + topic + `", "msg": {"comment": {"author": "kalev", "karma": 1, "text": "", "update_title": "foo-1-1.fc30"}}}`
	for _, tc := range []struct {
		name, file    string
		subtitle      string
		wantPackages  []string
		otherSubtitle string // of bodhi.stack.save, which the file does not name
	}{
		{
			name:     "a rule for an existing topic wins",
			file:     "service: bodhi\ntopics:\n  - match: update.comment\n    subtitle: 'custom {{ .msg.comment.author }}'\n",
			subtitle: "custom kalev", wantPackages: nil,
			otherSubtitle: `ralph updated the "s" stack`,
		},
		{
			name:     "a new topic extends and leaves the others",
			file:     "service: bodhi\ntopics:\n  - match: brand.new\n    subtitle: new\n",
			subtitle: "kalev commented on bodhi update foo-1-1.fc30 (karma: 1)", wantPackages: []string{"foo"},
			otherSubtitle: `ralph updated the "s" stack`,
		},
		{
			name:     "replace drops the embedded rules",
			file:     "service: bodhi\nreplace: true\ntopics:\n  - match: update.comment\n    subtitle: only\n",
			subtitle: "only", wantPackages: nil,
			otherSubtitle: "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Options{Files: []string{writeProcessor(t, "bodhi.yaml", tc.file)}})
			if err != nil {
				t.Fatal(err)
			}
			got := d.Describe(envelope(t, comment))
			if got.Subtitle != tc.subtitle || !slices.Equal(got.Packages, tc.wantPackages) {
				t.Errorf("subtitle %q packages %q; want %q %q", got.Subtitle, got.Packages, tc.subtitle, tc.wantPackages)
			}
			other := d.Describe(envelope(t, `{"topic": "org.fedoraproject.prod.bodhi.stack.save", "msg": {"agent": "ralph", "stack": {"name": "s", "packages": []}}}`))
			if other.Subtitle != tc.otherSubtitle {
				t.Errorf("other topic's subtitle %q, want %q", other.Subtitle, tc.otherSubtitle)
			}
		})
	}
}

func TestNewServiceFromExtraFile(t *testing.T) {
	p := writeProcessor(t, "acme.yaml", `
service: [acme, acme2]
icon: https://acme.example/icon.png
templates:
  who: '{{ .msg.who }}'
topics:
  - match: widget.*
    when: '{{ .msg.who }}'
    subtitle: '{{ include "who" . }} made a {{ token -1 .topic }} widget'
    link: 'https://acme.example/{{ .msg.id }}'
    usernames: [msg.who]
    packages:
      - path: msg.builds[*].nvr
        transforms: [nvr]
    objects:
      - path: msg.builds[*].nvr
        transforms: [nvr, "prefix:widgets/"]
`)
	d, err := New(Options{Files: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"acme", "acme2"} {
		t.Run(app, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "com.acme.prod.`+app+`.widget.blue",
				"msg": {"who": "wile", "id": 7, "builds": [{"nvr": "rocket-1.0-2.fc40"}, {"nvr": "anvil-3-1"}]}}`))
			want := Description{
				App: app, Title: app + ".widget.blue", Subtitle: "wile made a blue widget",
				Link: "https://acme.example/7", Icon: "https://acme.example/icon.png",
				Usernames: []string{"wile"}, Packages: []string{"anvil", "rocket"},
				Agent: "wile", Objects: []string{"widgets/anvil", "widgets/rocket"},
			}
			// The agent comes from the generic fallback: the rule sets none
			// and neither does the service.
			want.Agent = ""
			if !equalDescription(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("when false falls back to the service defaults", func(t *testing.T) {
		got := d.Describe(envelope(t, `{"topic": "com.acme.prod.acme.widget.blue", "msg": {"id": 7}}`))
		if got.Subtitle != "" || got.Icon != "https://acme.example/icon.png" {
			t.Errorf("subtitle %q icon %q", got.Subtitle, got.Icon)
		}
	})
}

func equalDescription(a, b Description) bool {
	return a.App == b.App && a.Title == b.Title && a.Subtitle == b.Subtitle && a.Link == b.Link &&
		a.Icon == b.Icon && a.Agent == b.Agent && slices.Equal(a.Usernames, b.Usernames) &&
		slices.Equal(a.Packages, b.Packages) && slices.Equal(a.Objects, b.Objects)
}

func TestBrokenFileErrorNamesFileLineAndProcessor(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown function", "service: acme\ntopics:\n  - match: a\n    subtitle: '{{ nope .msg }}'\n",
			[]string{"acme.yaml:4:", `processor "acme"`, `topic "a"`, "subtitle", `function "nope" not defined`}},
		{"unknown transform", "service: acme\ntopics:\n  - match: a\n    usernames:\n      - path: msg.x\n        transforms: [shout]\n",
			[]string{"acme.yaml:6:", `processor "acme"`, `unknown transform "shout"`}},
		{"unknown key", "service: acme\ntopics:\n  - match: a\n    subtitel: x\n",
			[]string{"acme.yaml:4:", `unknown key "subtitel"`}},
		{"bad path", "service: acme\nusernames: ['msg.x[']\n",
			[]string{"acme.yaml:2:", `processor "acme"`, "unclosed ["}},
		{"missing service", "topics: []\n", []string{"acme.yaml:1:", `missing key "service"`}},
		{"bad glob", "service: acme\ntopics:\n  - match: '[a'\n", []string{"acme.yaml:3:", "bad glob"}},
		{"wrong arity", "service: acme\nlink: '{{ trunc 3 }}'\n", []string{"acme.yaml:2:", "wrong number of arguments for trunc"}},
		{"undefined named template", "service: acme\nlink: '{{ template \"x\" . }}'\n", []string{"acme.yaml:2:", `no template "x"`}},
		{"broken named template", "service: acme\ntemplates:\n  a: ok\n  b: '{{ if }}'\n", []string{"acme.yaml:4:", "templates.b"}},
		{"extractor with two sources", "service: acme\nobjects:\n  - path: msg.a\n    value: b\n", []string{"acme.yaml:3:", "exactly one of"}},
		{"yaml syntax", "service: [acme\n", []string{"acme.yaml", "yaml:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Files: []string{writeProcessor(t, "acme.yaml", tc.body)}})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMissingExtraFileIsAnError(t *testing.T) {
	_, err := New(Options{Files: []string{filepath.Join(t.TempDir(), "absent.yaml")}})
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("err = %v, want one naming absent.yaml", err)
	}
}

func TestEmbeddedProcessorsLoad(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.services) < 40 {
		t.Errorf("%d services loaded, want the ~50 of the samples", len(d.services))
	}
}

// TestDescribeConcurrently runs under -race: a Describer is shared by
// every consumer goroutine.
func TestDescribeConcurrently(t *testing.T) {
	d := Default()
	samples := loadSamples(t)
	want := make([]Description, len(samples))
	for i, s := range samples {
		want[i] = d.Describe(s.env)
	}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for i, s := range samples {
				if got := d.Describe(s.env); !equalDescription(got, want[i]) {
					done <- fmt.Errorf("line %d: got %+v, want %+v", s.line, got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
