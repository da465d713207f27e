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

func TestMatchCommand(t *testing.T) {
	dir := t.TempDir()
	filtersFile := filepath.Join(dir, "ralph.json")
	os.WriteFile(filtersFile, []byte(`{"version": 1, "user": "ralph", "filters": [
	  {"name": "once", "active": true, "oneshot": true, "destinations": ["email:ralph@example.org"],
	   "rules": [{"kind": "topic", "args": {"pattern": "*.wiki.article.edit"}, "negate": false}]},
	  {"name": "about me", "active": true, "oneshot": false, "destinations": ["email:ralph@example.org", "irc:ralph"],
	   "rules": [{"kind": "user", "args": {"names": ["@me"]}, "negate": false}]}]}`), 0o644)
	samples, err := os.ReadFile("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(samples), "\n", 2)[0] // a wiki edit by ralph
	in := first + "\n{not json\n" + first + "\n"
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"dry run keeps the one-shot armed, first filter wins per destination", []string{"--filters", filtersFile}, []string{
			`{"line":1,"msg_id":"sha256:`, `"matches":[{"user":"ralph","filter":"once","destination":"email:ralph@example.org"},{"user":"ralph","filter":"about me","destination":"irc:ralph"}]}`,
			`{"line":2,"error":"decode envelope: invalid JSON`,
			`{"line":3,"msg_id":"sha256:`, `"filter":"once"`,
		}},
		{"explain adds verdicts", []string{"--filters", filtersFile, "--explain"}, []string{
			`"rules":[{"kind":"topic","args":{"pattern":"*.wiki.article.edit"},"negate":false,"value":true,"pass":true}]`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), append([]string{"match"}, tc.args...), stdio{strings.NewReader(in), &out, &errOut}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 {
				t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
			}
			for _, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Errorf("not JSON: %s", l)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %s:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestMatchCommandRejectsBadFilterFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\"version\": 1,\n\"user\": \"x\",\n\"filters\": [{\"name\": \"f\", \"active\": true, \"oneshot\": false, \"destinations\": [],\n\"rules\": [{\"kind\": \"topic\", \"args\": {\"pattern\": \"a.[b\"}, \"negate\": false}]}]}"), 0o644)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"match", "--filters", bad}, stdio{strings.NewReader(""), &out, &errOut})
	if code != 1 || !strings.Contains(errOut.String(), "bad.json:4: filters[0].rules[0]: compile topic rule: args.pattern") {
		t.Errorf("exit %d, stderr %q; want 1 and the file, line and field", code, errOut.String())
	}
}

// TestMatchDescribesMessagesAsTheConfigSays: with the config's username
// aliases, ralph's wiki edit is rdoe's, as hark serve would see it.
func TestMatchDescribesMessagesAsTheConfigSays(t *testing.T) {
	dir := t.TempDir()
	filtersFile := filepath.Join(dir, "rdoe.json")
	os.WriteFile(filtersFile, []byte(`{"version": 1, "user": "rdoe", "filters": [
	  {"name": "about me", "active": true, "destinations": ["email:rdoe@example.org"],
	   "rules": [{"kind": "user", "args": {"names": ["@me"]}}]}]}`), 0o644)
	cfg := filepath.Join(dir, "hark.yaml")
	os.WriteFile(cfg, []byte("meta:\n  aliases:\n    ralph: rdoe\n"), 0o644)
	samples, err := os.ReadFile("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(samples), "\n", 2)[0] // a wiki edit by ralph
	t.Setenv("HARK_CONFIG", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"built-in description", nil, `"matches":[]`},
		{"the config's aliases", []string{"--config", cfg}, `"matches":[{"user":"rdoe","filter":"about me"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(append([]string{"match"}, tc.args...), "--filters", filtersFile)
			if code := run(context.Background(), args, stdio{strings.NewReader(first + "\n"), &out, &errOut}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %s:\n%s", tc.want, out.String())
			}
		})
	}
}
