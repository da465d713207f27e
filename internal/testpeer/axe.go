package testpeer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// axeUnderRepo is where .ci/run installs npm's axe-core, from the
// repository's root.
const axeUnderRepo = ".ci/axe/node_modules/axe-core/axe.min.js"

// AxeJS returns the browser script of axe-core (npm axe-core), the
// accessibility checker browser tests run inside each page: the copy
// named by $HARK_AXE_JS, else the one .ci/run installs under .ci/axe.
// Without it the test skips, or fails when CI=true.
func AxeJS(t testing.TB) string {
	t.Helper()
	path := os.Getenv("HARK_AXE_JS")
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			unavailableNPM(t, err)
		}
		path = filepath.Join(root, axeUnderRepo)
	}
	js, err := os.ReadFile(path)
	if err != nil {
		unavailableNPM(t, err)
	}
	return string(js)
}

func unavailableNPM(t testing.TB, err error) {
	t.Helper()
	msg := "axe-core is not available (" + err.Error() + "); run .ci/run, or: npm install --prefix .ci/axe axe-core"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// repoRoot is the nearest directory above the working directory (a test's
// package) holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
