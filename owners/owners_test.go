package owners

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const aliases = `{
  "rpms": {"nethack": ["alice", "@games-sig"], "kernel": ["carol"]},
  "modules": {"nethack": ["dave"]},
  "container": {"httpd": ["@web"]},
  "flatpaks": {"firefox": ["erin"]}
}`

const groups = `{"games-sig": ["bob", "alice"], "web": ["frank"]}`

func TestParse(t *testing.T) {
	s, err := Parse("aliases.json", []byte(aliases), "groups.json", []byte(groups))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, pkg   string
		users, grps []string
	}{
		{"direct and through a group, namespaces merged", "nethack", []string{"alice", "bob", "dave"}, []string{"games-sig"}},
		{"direct only", "kernel", []string{"carol"}, nil},
		{"container namespace counts", "httpd", []string{"frank"}, []string{"web"}},
		{"flatpaks namespace counts", "firefox", []string{"erin"}, nil},
		{"unknown package", "vim", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Users(tc.pkg); !slices.Equal(got, tc.users) {
				t.Errorf("Users(%s) = %v, want %v", tc.pkg, got, tc.users)
			}
			if got := s.Groups(tc.pkg); !slices.Equal(got, tc.grps) {
				t.Errorf("Groups(%s) = %v, want %v", tc.pkg, got, tc.grps)
			}
		})
	}
	if n := s.Packages(); n != 4 {
		t.Errorf("Packages() = %d, want 4", n)
	}
}

func TestParseWithoutGroupsFile(t *testing.T) {
	s, err := Parse("aliases.json", []byte(aliases), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Users("nethack"); !slices.Equal(got, []string{"alice", "dave"}) {
		t.Errorf("Users(nethack) = %v, want the direct owners only", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, aliases, groups, want string }{
		{"syntax error names the line", "{\n\"rpms\": {\n\"x\": [\"a\",]}}", "", "parse owners aliases.json: line 3"},
		{"wrong shape", `{"rpms": ["x"]}`, "", "parse owners aliases.json"},
		{"empty owner", `{"rpms": {"x": ["@"]}}`, "", `rpms.x[0]: empty owner`},
		{"bad groups file", `{}`, `{"g": "alice"}`, "parse groups groups.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g []byte
			if tc.groups != "" {
				g = []byte(tc.groups)
			}
			_, err := Parse("aliases.json", []byte(tc.aliases), "groups.json", g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadFromURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pagure_owner_alias.json":
			io.WriteString(w, aliases)
		case "/groups.json":
			io.WriteString(w, groups)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		src     Source
		wantErr string
	}{
		{"aliases and groups", Source{Aliases: srv.URL + "/pagure_owner_alias.json", Groups: srv.URL + "/groups.json"}, ""},
		{"missing file", Source{Aliases: srv.URL + "/nope.json"}, "status 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(context.Background(), tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Users("nethack"); !slices.Equal(got, []string{"alice", "bob", "dave"}) {
				t.Errorf("Users(nethack) = %v", got)
			}
		})
	}
}

// TestRefresherSwapsAndKeepsOldOnError runs an hour of 10-minute
// refreshes in fake time: a change to the file shows up at the next tick,
// a broken file keeps the previous snapshot and is counted.
func TestRefresherSwapsAndKeepsOldOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pagure_owner_alias.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"rpms": {"nethack": ["alice"]}}`)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := NewRefresher(ctx, Source{Aliases: path}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		go r.Run(ctx, 10*time.Minute)
		owner := func() []string { return r.Current().Users("nethack") }

		write(`{"rpms": {"nethack": ["bob"]}}`)
		synctest.Wait()
		if got := owner(); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("before the first tick: %v, want [alice]", got)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := owner(); !slices.Equal(got, []string{"bob"}) {
			t.Fatalf("after the first tick: %v, want [bob]", got)
		}
		write(`{"rpms": `)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := owner(); !slices.Equal(got, []string{"bob"}) {
			t.Fatalf("after a failed refresh: %v, want the previous [bob]", got)
		}
		if st := r.Stats(); st != (Stats{Refreshes: 1, Failures: 1}) {
			t.Errorf("Stats = %+v, want 1 refresh and 1 failure", st)
		}
	})
}
