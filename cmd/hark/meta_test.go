package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMetaCommand runs "hark meta args..." with stdin and returns stdout,
// stderr and the exit status.
func runMetaCommand(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"meta"}, args...), stdio{strings.NewReader(stdin), &out, &errOut})
	return out.String(), errOut.String(), code
}

func TestMetaDescribesEachLine(t *testing.T) {
	in := `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"author": "kalev", "karma": 1, "text": "thanks @threebean", "update_title": "foo-1.0-1.fc30"}}}
{"topic": "a.b", "msg": {}}
`
	out, errOut, code := runMetaCommand(t, in)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2: %q", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"app":       "bodhi",
		"title":     "bodhi.update.comment",
		"subtitle":  "kalev commented on bodhi update foo-1.0-1.fc30 (karma: 1)",
		"usernames": `["kalev","ralph"]`,
		"packages":  `["foo"]`,
		"objects":   `["packages/foo"]`,
		"agent":     "",
	} {
		got, _ := json.Marshal(first[key])
		if s, ok := first[key].(string); ok {
			got = []byte(s)
		}
		if string(got) != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	// Absent values are "" and [], never null or missing.
	want := `{"app":"","title":"a.b","subtitle":"","link":"","icon":"","usernames":[],"packages":[],"agent":"","objects":[],"app_name":"","body":""}`
	if lines[1] != want {
		t.Errorf("second line\n got %s\nwant %s", lines[1], want)
	}
}

func TestMetaBadLineIsReportedAndProcessingContinues(t *testing.T) {
	in := "{\"topic\": \"a.b\", \"msg\": {}}\nnot json\n{\"msg\": {}}\n{\"topic\": \"c.d\", \"msg\": {}}\n"
	out, errOut, code := runMetaCommand(t, in)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d lines described, want 2: %q", n, out)
	}
	for _, want := range []string{"stdin line 2:", "stdin line 3:", "topic"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not name %q", errOut, want)
		}
	}
}

func TestMetaProcessorsFlag(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	for p, body := range map[string]string{
		a: "service: acme\nsubtitle: from a\n",
		b: "service: zeta\nsubtitle: from b\n",
	} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in := `{"topic": "x.y.z.acme.e", "msg": {}}
{"topic": "x.y.z.zeta.e", "msg": {}}
`
	out, errOut, code := runMetaCommand(t, in, "--processors", a, "--processors", b)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, `"subtitle":"from a"`) || !strings.Contains(out, `"subtitle":"from b"`) {
		t.Errorf("output %q lacks the extra processors' subtitles", out)
	}
}

func TestMetaBrokenProcessorFileFailsWithItsLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(p, []byte("service: acme\ntopics:\n  - match: a\n    link: '{{ nope }}'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runMetaCommand(t, "", "--processors", p)
	if code != 1 || !strings.Contains(errOut, "broken.yaml:4:") {
		t.Errorf("exit %d, stderr %q; want 1 and broken.yaml:4:", code, errOut)
	}
}

func TestMetaExplainNamesFileLineAndHow(t *testing.T) {
	in := `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"author": "kalev", "karma": 1, "update_title": "foo-1.0-1.fc30"}}}
{"topic": "org.fedoraproject.prod.acme.thing.done", "msg_id": "m1", "msg": {"x": 1}, "headers": {"fedora_messaging_schema": "base.message"}}
`
	out, errOut, code := runMetaCommand(t, in, "--explain")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2: %q", len(lines), out)
	}
	for i, want := range []struct {
		file, by, subtitle string
		body               bool
	}{
		{"processors/bodhi.yaml", "topic", "kalev commented on bodhi update foo-1.0-1.fc30 (karma: 1)", false},
		{"processors/generic.yaml", "defaults", "org.fedoraproject.prod.acme.thing.done", true},
	} {
		var got struct {
			Subtitle string `json:"subtitle"`
			Body     string `json:"body"`
			Explain  struct {
				File string `json:"file"`
				Line int    `json:"line"`
				By   string `json:"by"`
			} `json:"explain"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Explain.File != want.file || got.Explain.Line == 0 || got.Explain.By != want.by ||
			got.Subtitle != want.subtitle || (got.Body != "") != want.body {
			t.Errorf("line %d: %s; want explain %s by %s, subtitle %q, body %v", i+1, lines[i], want.file, want.by, want.subtitle, want.body)
		}
	}
}
