package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hark/config"
)

func TestConfigExamplePassesCheckConfig(t *testing.T) {
	t.Setenv(config.EnvVar, "")
	example := adminMust(t, "", "config", "example")
	if example != config.Example {
		t.Fatal("config example printed something else than config.Example")
	}
	file := filepath.Join(t.TempDir(), "hark.yaml")
	if err := os.WriteFile(file, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := adminMust(t, "", "check-config", file); out != file+": ok\n" {
		t.Errorf("check-config said %q", out)
	}
}

func TestCheckConfigFindsTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("web:\n  listen: nowhere\nemail:\n  tls: sometimes\nfrobnicate: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := bad + ":2:11: web.listen: \"nowhere\" is not host:port\n" +
		bad + ":4:8: email.tls: \"sometimes\" is not one of [none starttls tls]\n" +
		bad + ":5:1: frobnicate: unknown key"
	for _, tc := range []struct {
		name string
		env  string
		args []string
	}{
		{"argument", "", []string{"check-config", bad}},
		{"--config", "", []string{"check-config", "--config", bad}},
		{"HARK_CONFIG", bad, []string{"check-config"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(config.EnvVar, tc.env)
			code, _, errOut := adminRun(t, "", tc.args...)
			if code != 1 || !strings.HasPrefix(errOut, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant prefix:\n%s", code, errOut, want)
			}
		})
	}
}

func TestCheckConfigWithoutFileChecksDefaults(t *testing.T) {
	t.Setenv(config.EnvVar, "")
	if out := adminMust(t, "", "check-config"); out != "no file; the defaults: ok\n" {
		t.Errorf("got %q", out)
	}
}
