package main

import (
	"bytes"
	"context"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// firstSessionSubject is what the README says the first session's mail
// is titled: the summary of the message it publishes.
const firstSessionSubject = "bob submitted nethack-3.6.6-1.fc40 to stable"

// TestREADMEFirstSessionRunsLiterally runs the README's "A first session"
// block as written, in a copy of the repository's files (what a fresh
// clone has, with uncommitted changes), and finds the mail it promises in
// the local sink, titled with the message's summary.
func TestREADMEFirstSessionRunsLiterally(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hark and runs the README's first session")
	}
	for _, tool := range []string{"bash", "git", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			testpeer.Unavailable(t, tool, tool, err)
		}
	}
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := firstSession(t, string(readme))
	if !strings.Contains(block, firstSessionSubject) {
		t.Fatalf("the first session no longer says its mail is titled %q:\n%s", firstSessionSubject, block)
	}
	// The session's own ports: taken ones fail here, clearly, rather
	// than halfway through.
	for _, addr := range []string{"127.0.0.1:8091", "127.0.0.1:9951", "127.0.0.1:2526", "127.0.0.1:9961"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the first session needs %s free: %v", addr, err)
		}
		l.Close()
	}
	dir := t.TempDir()
	copyRepo(t, root, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// set -e stops at the first failing line; the trap stops the
	// session's background mailsink and serve however it ends.
	script := "set -e\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n" + block
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HARK_CONFIG=") // the session sets its own
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("first session:\n%s", out)
	if err != nil {
		t.Fatalf("the first session failed: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "mail", "0001.eml"))
	if err != nil {
		t.Fatalf("no mail in the sink: %v", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != firstSessionSubject {
		t.Errorf("subject %q, want the message's summary %q", got, firstSessionSubject)
	}
	if !strings.Contains(string(out), "mail mail/0001.eml to alice@example.org: "+firstSessionSubject) {
		t.Errorf("mailsink did not print the mail as the README says")
	}
	if !strings.Contains(string(out), "org.fedoraproject.dev.hark.hello ") {
		t.Errorf("tail did not print what publish sent")
	}
}

// firstSession is the shell of the README's "A first session" section:
// its indented lines, unindented.
func firstSession(t *testing.T, readme string) string {
	t.Helper()
	start := strings.Index(readme, "## A first session")
	if start < 0 {
		t.Fatal("the README has no \"A first session\"")
	}
	rest := readme[start+len("## A first session"):]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	var lines []string
	inBlock := false
	for _, line := range strings.Split(rest, "\n") {
		switch {
		case strings.HasPrefix(line, "    "):
			lines = append(lines, line[4:])
			inBlock = true
		case line == "" && inBlock:
			lines = append(lines, "")
		case inBlock:
			// The first block ends at the first unindented text.
			return strings.Join(lines, "\n") + "\n"
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// copyRepo copies the repository's files (tracked and new, not ignored)
// from root to dir.
func copyRepo(t *testing.T, root, dir string) {
	t.Helper()
	list := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	list.Dir = root
	names, err := list.Output()
	if err != nil {
		t.Fatalf("list the repository's files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(names), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
