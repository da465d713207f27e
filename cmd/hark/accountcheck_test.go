package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hark/internal/testpeer"
)

// TestServeDisablesAccountsTheDirectoryNoLongerLists: hark serve with
// oidc.account_url asks a FASJSON-like directory about the users who log
// in through the provider; alice's account is gone (404), so she is
// disabled; bob's is there; carol has a local password and is not asked.
func TestServeDisablesAccountsTheDirectoryNoLongerLists(t *testing.T) {
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/users/bob/" {
			fmt.Fprint(w, `{"result": {"username": "bob"}}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer dir.Close()
	svc := newService(t, fmt.Sprintf("tcp://127.0.0.1:%d", testpeer.FreePort(t)), fmt.Sprintf(`oidc:
  account_url: %q
  account_check: 1m
`, dir.URL+"/v1/users/{name}/"))
	for _, name := range []string{"alice", "bob", "carol"} {
		adminMust(t, "", "user", "add", name)
	}
	adminMust(t, "a local password", "user", "passwd", "carol")
	svc.start(t)
	disabled := func() map[string]bool {
		out := map[string]bool{}
		for line := range strings.SplitSeq(adminMust(t, "", "user", "list"), "\n") {
			if f := strings.Fields(line); len(f) >= 3 {
				out[f[0]] = f[2] == "true"
			}
		}
		return out
	}
	svc.eventually(t, "alice is disabled", func() bool { return disabled()["alice"] })
	if d := disabled(); d["bob"] || d["carol"] {
		t.Errorf("disabled: %v, want alice only", d)
	}
}
