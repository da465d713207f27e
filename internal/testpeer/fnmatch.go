package testpeer

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// fnmatchScript answers, for each [name, pattern] pair on stdin, what
// Python's fnmatch.fnmatchcase says.
const fnmatchScript = `
import fnmatch, json, sys
pairs = json.load(sys.stdin)
json.dump([fnmatch.fnmatchcase(n, p) for n, p in pairs], sys.stdout)
`

// Fnmatch asks Python's fnmatch.fnmatchcase, the reference for topic
// globs, whether each name matches its pattern: pairs are [name, pattern].
// It skips or fails the test as Missing does when /usr/bin/python3 is
// absent.
func Fnmatch(t testing.TB, pairs [][2]string) []bool {
	t.Helper()
	if _, err := exec.LookPath(Python); err != nil {
		Unavailable(t, Python, "python3", err)
	}
	in, err := json.Marshal(pairs)
	if err != nil {
		t.Fatalf("encode fnmatch pairs: %v", err)
	}
	cmd := exec.Command(Python, "-c", fnmatchScript)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run python fnmatch: %v", err)
	}
	var got []bool
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(pairs) {
		t.Fatalf("decode python fnmatch answer %q: %v", out, err)
	}
	return got
}
