package testpeer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GPG is Debian's gpg with a private home directory, so tests never read
// or change the user's keys.
type GPG struct {
	Home string
	t    testing.TB
}

// StartGPG makes a fresh GnuPG home in a temporary directory. It skips the
// test, or fails it when CI=true, where gpg is not installed.
func StartGPG(t testing.TB) *GPG {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		Unavailable(t, "gpg", "gnupg", err)
	}
	// gpg-agent's socket path must stay short; t.TempDir's can be long.
	home, err := os.MkdirTemp("", "hark-gpg-")
	if err != nil {
		t.Fatalf("make gpg home: %v", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatalf("make gpg home: %v", err)
	}
	g := &GPG{Home: home, t: t}
	t.Cleanup(func() {
		// Stop the agent this home started before removing its sockets.
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	return g
}

// Run runs gpg in batch mode with an empty passphrase and stdin, and
// returns its stdout; a failure fails the test with gpg's stderr.
func (g *GPG) Run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, err := g.Try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Try is Run that returns gpg's failure, with its stderr, instead of
// failing the test.
func (g *GPG) Try(stdin []byte, args ...string) ([]byte, error) {
	full := append([]string{"--homedir", g.Home, "--batch", "--yes", "--no-tty",
		"--pinentry-mode", "loopback", "--passphrase", ""}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// GenKey makes a signing-only Ed25519 key for uid, expiring after expire
// (gpg's syntax: "never", "1d", ...), and returns its fingerprint. Extra
// args go before the command, e.g. "--faked-system-time", "20200101T000000".
func (g *GPG) GenKey(uid, expire string, extra ...string) string {
	g.t.Helper()
	args := append(extra, "--quick-gen-key", uid, "ed25519", "sign", expire)
	g.Run(nil, args...)
	out := g.Run(nil, "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			return f[9]
		}
	}
	g.t.Fatalf("gpg: no fingerprint for %s in %s", uid, out)
	return ""
}

// Revoke revokes the key fpr with the revocation certificate gpg wrote
// when it made the key.
func (g *GPG) Revoke(fpr string) {
	g.t.Helper()
	cert, err := os.ReadFile(filepath.Join(g.Home, "openpgp-revocs.d", fpr+".rev"))
	if err != nil {
		g.t.Fatalf("read revocation certificate: %v", err)
	}
	// gpg writes the armor line with a leading ':' so that an accidental
	// import does not revoke the key.
	cert = bytes.Replace(cert, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1)
	g.Run(cert, "--import")
}

// WriteFile writes data to name in a test temporary directory and returns
// its path.
func (g *GPG) WriteFile(name string, data []byte) string {
	g.t.Helper()
	path := filepath.Join(g.t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		g.t.Fatalf("write %s: %v", name, err)
	}
	return path
}
