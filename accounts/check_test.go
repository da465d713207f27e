package accounts_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"hark/accounts"
	"hark/store"
	"hark/store/sqlite"
)

// TestCheckDisablesAccountsTheDirectoryNoLongerLists runs the check
// against a directory answering as FASJSON does: 200 for bob, 404 for
// alice (locked or deleted), 500 for dave (no answer). Only alice is
// disabled; carol, a local account with a password, is not asked.
func TestCheckDisablesAccountsTheDirectoryNoLongerLists(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/users/"), "/")
		mu.Lock()
		asked = append(asked, name)
		mu.Unlock()
		switch name {
		case "bob":
			w.Write([]byte(`{"result": {"username": "bob"}}`))
		case "dave":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"name": "Not Found"}`))
		}
	}))
	defer dir.Close()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []store.User{{Name: "alice"}, {Name: "bob"}, {Name: "carol", PasswordHash: "x"}, {Name: "dave"}} {
		if _, err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	c := &accounts.Checker{Store: st, URL: dir.URL + "/v1/users/{name}/", Client: dir.Client(), Log: slog.New(slog.DiscardHandler)}
	disabled, err := c.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(disabled, []string{"alice"}) {
		t.Errorf("disabled %v, want [alice]", disabled)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(asked)
	if !slices.Equal(asked, []string{"alice", "bob", "dave"}) {
		t.Errorf("asked about %v, want alice, bob and dave", asked)
	}
	for name, want := range map[string]bool{"alice": true, "bob": false, "carol": false, "dave": false} {
		if u, _ := st.UserByName(ctx, name); u.Disabled != want {
			t.Errorf("%s disabled %t, want %t", name, u.Disabled, want)
		}
	}
	// A second check does not ask about alice again.
	asked = nil
	mu.Unlock()
	_, err = c.Check(ctx)
	mu.Lock()
	if err != nil || slices.Contains(asked, "alice") {
		t.Errorf("second check: asked %v, err %v", asked, err)
	}
}
