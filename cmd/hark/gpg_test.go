package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hark/bus"
	"hark/internal/testpeer"
)

// TestPublishGPGKeyVerifiesEverywhere signs with `hark publish --gpg-key`
// and checks what a libzmq subscriber received with `hark verify
// --keyring` and with gpg --verify, as a Debian fedmsg consumer would.
func TestPublishGPGKeyVerifiesEverywhere(t *testing.T) {
	g := testpeer.StartGPG(t)
	fpr := g.GenKey("debian publisher <pub@example.org>", "never")
	secret := g.WriteFile("secret.asc", g.Run(nil, "--armor", "--export-secret-keys", fpr))
	keyring := g.WriteFile("pubring.gpg", g.Run(nil, "--export", fpr))

	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	sub := testpeer.StartSub(t, endpoint, true, "")
	if code, stderr := publish(t, `{"package": "hello", "version": "2.10-3", "note": "ünïcode"}`,
		"--endpoint", endpoint, "--prefix", "org.debian", "--modname", "dak", "--topic", "upload", "--json-input", "--gpg-key", secret); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames := sub.Next()
	env, err := bus.DecodeFrames(frames)
	if err != nil {
		t.Fatal(err)
	}
	if env.Crypto != "gpg" {
		t.Errorf("crypto %q, want gpg", env.Crypto)
	}

	line := string(frames[1])
	if code, out, errOut := verify(t, line+"\n", "--keyring", keyring); code != 0 || out != "ok\n" {
		t.Errorf("hark verify --keyring: exit %d, %q, %s", code, out, errOut)
	}
	tampered := strings.Replace(line, "2.10-3", "2.10-4", 1)
	if code, out, _ := verify(t, tampered+"\n", "--keyring", keyring); code != 1 || !strings.HasPrefix(out, "fail: gpg signature does not match") {
		t.Errorf("tampered message: exit %d, %q", code, out)
	}
	if code, out, _ := verify(t, line+"\n"); code != 1 || !strings.Contains(out, "no gpg keyring") {
		t.Errorf("without --keyring: exit %d, %q", code, out)
	}

	sig, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(env.Signature, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "msg.sig"), sig, 0o600)
	os.WriteFile(filepath.Join(dir, "msg.json"), bus.Canonical(env.Msg), 0o600)
	if _, err := g.Try(nil, "--verify", filepath.Join(dir, "msg.sig"), filepath.Join(dir, "msg.json")); err != nil {
		t.Errorf("gpg --verify: %v", err)
	}
}

func TestPublishGPGKeyFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"with x509 key", []string{"--gpg-key", "k.asc", "--key", "k.pem", "--cert", "c.pem"}, 2, "not both"},
		{"with amqp", []string{"--gpg-key", "k.asc", "--amqp", "amqp://localhost/"}, 2, "--gpg-key and --bind are for ZeroMQ"},
		{"missing file", []string{"--gpg-key", filepath.Join(t.TempDir(), "none.asc")}, 1, "load gpg signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--modname", "hark", "--topic", "t", "--message", "x"}, tc.args...)
			code, stderr := publish(t, "", args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
