package meta

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// data is the envelope fields a test template or path runs over.
func data(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return m
}

func TestPaths(t *testing.T) {
	root := data(t, `{"msg": {"a": {"b": "x"}, "n": 3, "t": true, "null": null,
		"list": [{"v": "1"}, {"v": "2"}, {"w": "3"}], "tags": ["p", "q"],
		"byname": {"z": {"v": "last"}, "a": {"v": "first"}}}}`)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"msg.a.b", []string{"x"}},
		{"msg.n", []string{"3"}},
		{"msg.t", []string{"true"}},
		{"msg.null", nil},
		{"msg.absent.deeper", nil},
		{"msg.a", nil}, // a map is not a value
		{"msg.list[*].v", []string{"1", "2"}},
		{"msg.list[1].v", []string{"2"}},
		{"msg.list[-1].w", []string{"3"}},
		{"msg.list[9].v", nil},
		{"msg.tags", []string{"p", "q"}}, // a list at the end yields its elements
		{"msg.byname.*.v", []string{"first", "last"}},
		{"msg.byname.keys()", []string{"a", "z"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			p, err := compilePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.appendValues(nil, root); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBadPaths(t *testing.T) {
	for _, p := range []string{"", "msg..a", "msg.a[", "msg.a[x]", "msg.a]"} {
		t.Run(p, func(t *testing.T) {
			if _, err := compilePath(p); err == nil {
				t.Errorf("compilePath(%q) succeeded", p)
			}
		})
	}
}

func TestTransforms(t *testing.T) {
	aliases := map[string]string{"threebean": "ralph"}
	for _, tc := range []struct {
		spec string
		in   []string
		want []string
	}{
		{"nvr", []string{"python-foo-1.0-1.fc38", "kernel", "a-b"}, []string{"python-foo", "kernel", "a-b"}},
		{"split", []string{"a, b c,,d"}, []string{"a", "b", "c", "d"}},
		{"split:;", []string{"a; b;c"}, []string{"a", "b", "c"}},
		{"lower", []string{"Ralph"}, []string{"ralph"}},
		{"mentions", []string{"thanks @ralph and @puiterwijk, see foo@bar"}, []string{"ralph", "puiterwijk", "bar"}},
		{"email", []string{"ralph@fedoraproject.org", "plain"}, []string{"ralph", "plain"}},
		{"fasemail", []string{"ralph@fedoraproject.org", "bob@example.com"}, []string{"ralph"}},
		{"openid", []string{"http://ralph.id.fedoraproject.org/", "https://example.com/"}, []string{"ralph"}},
		{"fas", []string{"http://ralph.id.fedoraproject.org/", "pingou@fedoraproject.org", "bob@example.com", "carol"},
			[]string{"ralph", "pingou", "bob@example.com", "carol"}},
		{"prefix:packages/", []string{"a"}, []string{"packages/a"}},
		{"suffix:/__git__", []string{"a"}, []string{"a/__git__"}},
		{"trimprefix:rpms/", []string{"rpms/a", "b"}, []string{"a", "b"}},
		{"replace:.:/", []string{"a.b.c"}, []string{"a/b/c"}},
		{`regex:^(\w+)-`, []string{"foo-1", "nomatch"}, []string{"foo"}},
		{"drop:orphan", []string{"orphan", "ralph"}, []string{"ralph"}},
		{"first", []string{"a", "b"}, []string{"a"}},
		{"basename", []string{"a/b/c.txt"}, []string{"c.txt"}},
		{"alias", []string{"threebean", "x"}, []string{"ralph", "x"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			tr, err := compileTransform(tc.spec, aliases)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr(slices.Clone(tc.in)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBadTransforms(t *testing.T) {
	for _, spec := range []string{"shout", "prefix", "nvr:x", "regex:(", "replace:x"} {
		t.Run(spec, func(t *testing.T) {
			if _, err := compileTransform(spec, nil); err == nil {
				t.Errorf("compileTransform(%q) succeeded", spec)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	root := data(t, `{"topic": "org.fedoraproject.prod.bodhi.update.request.testing",
		"msg": {"user": {"name": "ralph"}, "agent": "lmacken", "karma": 1, "zero": 0, "zerof": 0.0, "ok": true, "none": null,
		"title": "gnome-settings-daemon-3.6.1-1.fc18", "tags": ["b", "a", "c", "d"],
		"pkgs": [{"distro": "Fedora", "name": "x"}, {"distro": "Debian", "name": "y"}]}}`)
	set := newTemplateSet(map[string]string{"threebean": "ralph"})
	if err := set.addNamed([]namedTemplate{{"who", `{{ unwrap "name" .msg.user }}`}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src, want string
	}{
		{"constant", "plain text", "plain text"},
		{"field", "{{ .msg.agent }}", "lmacken"},
		{"absent field fails the whole template", "a {{ .msg.absent }} b", ""},
		{"null field fails the whole template", "{{ .msg.none }}", ""},
		{"field of a string is absent", "{{ if .msg.agent.name }}yes{{ else }}no{{ end }}", "no"},
		{"if on absent is false", "{{ if .msg.absent }}x{{ else }}y{{ end }}", "y"},
		{"with rebinds dot", "{{ with .msg.user }}{{ .name }}{{ end }}", "ralph"},
		{"range over a list with else", "{{ range .msg.tags }}{{ . }}{{ else }}none{{ end }}", "bacd"},
		{"range with break", "{{ range $i, $t := .msg.tags }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $t }}{{ end }}", "ba"},
		{"variables and assignment", `{{ $x := "a" }}{{ if .msg.ok }}{{ $x = "b" }}{{ end }}{{ $x }}`, "b"},
		{"block variables end with their block", `{{ if true }}{{ $a := 1 }}{{ end }}{{ $b := "b" }}{{ $b }}`, "b"},
		{"range variables end with the range", `{{ range $i, $t := .msg.tags }}{{ $x := $t }}{{ end }}{{ $y := "z" }}{{ $y }}`, "z"},
		{"shadowing", `{{ $x := "a" }}{{ with .msg.user }}{{ $x := "b" }}{{ $x }}{{ end }}{{ $x }}`, "ba"},
		{"else of an empty range", `{{ range $t := .msg.absent }}{{ $t }}{{ else }}none{{ end }}`, "none"},
		{"root variable inside with", "{{ with .msg.user }}{{ $.msg.agent }}{{ end }}", "lmacken"},
		{"number compares with a literal", "{{ if eq .msg.karma 1 }}one{{ end }}", "one"},
		{"eq with several candidates", `{{ if eq .msg.agent "x" "lmacken" }}yes{{ end }}`, "yes"},
		{"pipeline", `{{ .msg.agent | upper }}`, "LMACKEN"},
		{"and returns the deciding value", `{{ and .msg.ok .msg.agent }}`, "lmacken"},
		{"or skips absent", `{{ or .msg.absent "fallback" }}`, "fallback"},
		{"include and named templates", `{{ include "who" . }}/{{ template "who" . }}`, "ralph/ralph"},
		{"trunc at the reference's >=", `{{ trunc 10 .msg.title }}`, "gnome-sett..."},
		{"token from the end", `{{ token -1 .topic }}`, "testing"},
		{"tokens slice", `{{ tokens 3 5 .topic }}`, "bodhi.update"},
		{"series of four", `{{ series .msg.tags }}`, "a, b, and 2 others"},
		{"series of two", `{{ series (slice .msg.tags 0 2) }}`, "a and b"},
		{"series of nothing", `{{ series .msg.absent }}`, "(nothing)"},
		{"where and pluck", `{{ join "," (pluck "name" (where "distro" "Fedora" .msg.pkgs)) }}`, "x"},
		{"nvr", `{{ nvr .msg.title }}`, "gnome-settings-daemon"},
		{"py booleans", `{{ py .msg.ok }} {{ py .msg.none }}`, "True None"},
		{"default", `{{ default "d" .msg.absent }}`, "d"},
		{"alias", `{{ alias "threebean" }}`, "ralph"},
		{"printf", `{{ printf "%s-%v" .msg.agent .msg.karma }}`, "lmacken-1"},
		{"function failure fails the template", `{{ index .msg.tags 9 }}`, ""},
		{"len and index", `{{ len .msg.tags }}{{ index .msg.tags 0 }}`, "4b"},
		{"kindIs", `{{ kindIs "map" .msg.user }}{{ kindIs "number" .msg.karma }}`, "truetrue"},
		{"zero is false", `{{ if .msg.zero }}t{{ else }}f{{ end }}{{ if .msg.zerof }}t{{ else }}f{{ end }}{{ if .msg.karma }}t{{ end }}`, "fft"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := compileTemplate("test", tc.src, set)
			if err != nil {
				t.Fatal(err)
			}
			if got := tm.execute(getState(), root); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTemplateCompileErrors(t *testing.T) {
	set := newTemplateSet(nil)
	for _, src := range []string{
		"{{ nope }}",
		"{{ trunc 1 }}",
		`{{ template "missing" . }}`,
		`{{ include "missing" . }}`,
		"{{ .msg.a 1 }}",
		`{{ define "x" }}y{{ end }}`,
		"{{ if }}",
	} {
		t.Run(src, func(t *testing.T) {
			if _, err := compileTemplate("test", src, set); err == nil {
				t.Errorf("compileTemplate(%q) succeeded", src)
			}
		})
	}
}

func TestTemplateRecursionIsBounded(t *testing.T) {
	set := newTemplateSet(nil)
	if err := set.addNamed([]namedTemplate{{"loop", `{{ template "loop" . }}`}}); err != nil {
		t.Fatal(err)
	}
	tm, err := compileTemplate("test", `{{ template "loop" . }}`, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := tm.execute(getState(), map[string]any{}); got != "" {
		t.Errorf("got %q, want the failed template's \"\"", got)
	}
}
