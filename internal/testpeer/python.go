package testpeer

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// RequirePython makes sure Python can import every module named (for
// X.509 interop, "cryptography" from Debian's python3-cryptography). It
// skips or fails the test as Unavailable does. Debian names a module's
// package python3-MODULE, lower-cased (OpenSSL: python3-openssl).
func RequirePython(t testing.TB, modules ...string) {
	t.Helper()
	script := "import " + strings.Join(append([]string{"json"}, modules...), ", ")
	if out, err := exec.Command(Python, "-c", script).CombinedOutput(); err != nil {
		packages := make([]string, len(modules))
		for i, m := range modules {
			packages[i] = "python3-" + strings.ToLower(m)
		}
		Unavailable(t, fmt.Sprintf("%s with %s", Python, strings.Join(modules, ", ")), strings.Join(packages, " "),
			fmt.Errorf("%w: %s", err, bytes.TrimSpace(out)))
	}
}

// RunPython runs script with Python, feeding it stdin, and returns what it
// printed; a script that fails fails the test with its stderr.
func RunPython(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Python, append([]string{"-c", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run python script: %v\n%s", err, stderr.Bytes())
	}
	return out
}
