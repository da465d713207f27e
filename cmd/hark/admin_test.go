package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/config"
	"hark/store"
	"hark/store/sqlite"
)

// adminEnv is a config file whose store lives in a fresh directory, named
// by HARK_CONFIG as a user would.
type adminEnv struct {
	dir, config, db string
}

func newAdminEnv(t *testing.T) adminEnv {
	t.Helper()
	dir := t.TempDir()
	e := adminEnv{dir: dir, config: filepath.Join(dir, "hark.yaml"), db: filepath.Join(dir, "hark.db")}
	if err := os.WriteFile(e.config, []byte("store:\n  path: hark.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvVar, e.config)
	return e
}

// adminRun runs one hark command in-process.
func adminRun(t testing.TB, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, stdio{strings.NewReader(stdin), &out, &errOut})
	return code, out.String(), errOut.String()
}

// adminMust runs a command that must succeed and returns its output.
func adminMust(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := adminRun(t, stdin, args...)
	if code != 0 {
		t.Fatalf("hark %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (e adminEnv) open(t *testing.T) *sqlite.SQLite {
	t.Helper()
	s, err := sqlite.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestUserAddCreatesUserAndDestinations(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--irc", "alice", "--email", "a@example.com", "--admin", "--confirmed")
	s := e.open(t)
	u, err := s.UserByName(context.Background(), "alice")
	if err != nil || !u.Admin {
		t.Fatalf("user %+v, %v", u, err)
	}
	ds, _ := s.ListDestinations(context.Background(), u.ID)
	if len(ds) != 3 || !ds[0].Confirmed || !ds[0].Enabled {
		t.Errorf("destinations %+v", ds)
	}
	list := adminMust(t, "", "user", "list")
	if !strings.Contains(list, "alice  true") || !strings.Contains(list, "irc:alice") {
		t.Errorf("user list:\n%s", list)
	}
}

func TestUserCommandErrors(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "bob", "--email", "bob@example.org", "--confirmed")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"duplicate name", []string{"user", "add", "bob"}, 1, `create user "bob": already exists`},
		{"address of another user", []string{"user", "add", "carol", "--email", "bob@example.org", "--confirmed"}, 1, "email:bob@example.org: belongs to another user"},
		{"bad email", []string{"user", "add", "carol", "--email", "Carol <c@x.org>"}, 2, `--email: "Carol <c@x.org>" is not a plain email address`},
		{"bad nick", []string{"user", "add", "carol", "--irc", "1carol"}, 2, `--irc: "1carol" is not an IRC nick`},
		{"no name", []string{"user", "add"}, 2, "want one NAME, got 0 arguments"},
		{"unknown user", []string{"user", "disable", "zed"}, 1, `disable user "zed": not found`},
		{"unknown verb", []string{"user", "frob"}, 2, "Usage:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := adminRun(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	if _, err := e.open(t).UserByName(context.Background(), "carol"); err == nil {
		t.Error("a refused user add left carol behind")
	}
}

func TestUserPasswdReadsStdin(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "s3cret pass\n", "user", "passwd", "alice")
	u, _ := e.open(t).UserByName(context.Background(), "alice")
	if !store.CheckPassword(u.PasswordHash, "s3cret pass") {
		t.Error("the stored hash does not match the password given on stdin")
	}
	if code, _, errOut := adminRun(t, "", "user", "passwd", "alice"); code != 1 || !strings.Contains(errOut, "no password given") {
		t.Errorf("empty stdin: exit %d, %q", code, errOut)
	}
}

func TestUserDisableAndEnable(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "", "user", "disable", "alice")
	if u, _ := e.open(t).UserByName(context.Background(), "alice"); !u.Disabled {
		t.Error("alice is not disabled")
	}
	if out := adminMust(t, "", "user", "enable", "alice"); !strings.Contains(out, "enabled alice") {
		t.Errorf("enable says %q", out)
	}
	if u, _ := e.open(t).UserByName(context.Background(), "alice"); u.Disabled {
		t.Error("alice is still disabled")
	}
}

func TestDestinationSet(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "", "user", "add", "bob", "--irc", "bob", "--confirmed")
	adminMust(t, "", "destination", "set", "alice", "email:alice@example.org", "batch_count=5", "batch_delta=90s", "verbose=true")
	adminMust(t, "", "destination", "set", "alice", "email:alice@example.org", "enabled=false", "markup=true", "digest_at=Tuesday 7:30")
	d, err := e.open(t).DestinationByAddress(context.Background(), store.KindEmail, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d.BatchCount != 5 || d.BatchDelta != 90*time.Second || !d.Verbose || d.Enabled || !d.Markup || d.Confirmed || d.DigestAt != "tue 07:30" {
		t.Errorf("destination %+v", d)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"alice", "email:alice@example.org", "colour=red"}, `unknown key "colour"`},
		{"bad boolean", []string{"alice", "email:alice@example.org", "verbose=yes"}, `verbose: "yes" is not true or false`},
		{"bad duration", []string{"alice", "email:alice@example.org", "batch_delta=soon"}, `batch_delta: "soon" is not a duration`},
		{"bad time of day", []string{"alice", "email:alice@example.org", "digest_at=25:00"}, `digest_at: "25:00" is not a time of day`},
		{"bad count", []string{"alice", "email:alice@example.org", "batch_count=-1"}, `batch_count: "-1" is not a whole number`},
		{"not key=value", []string{"alice", "email:alice@example.org", "verbose"}, `"verbose" is not key=value`},
		{"no kind", []string{"alice", "alice@example.org"}, "is not KIND:ADDRESS"},
		{"unknown kind", []string{"alice", "sms:123"}, `unknown destination kind "sms"`},
		{"another user's nick", []string{"alice", "irc:bob", "confirmed=true"}, "irc:bob: belongs to another user"},
		{"unknown user", []string{"zed", "irc:zed"}, `find user "zed": not found`},
		{"bad webhook secret", []string{"alice", "webhook:https://ci.example.org/h", "secret=whsec_c2hvcnQ="}, "secret: is not whsec_ followed by the base64 of 24 to 64 bytes"},
		{"setting of another kind", []string{"alice", "webhook:https://ci.example.org/h", "token=tk_x"}, `unknown key "token" (known: batch_count, batch_delta, confirmed, digest_at, enabled, markup, quiet_hours, secret,`},
		{"bad ntfy token", []string{"alice", "ntfy:https://ntfy.sh/a", "token=tk x"}, "token: is not an ntfy access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := adminRun(t, "", append([]string{"destination", "set"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure with %q", code, errOut, tc.want)
			}
		})
	}
}

// TestDestinationSetKindSettings: a webhook's secret is the one given,
// or one made and printed once; an ntfy token is stored and never
// printed; `confirmed=true` skips confirmation.
func TestDestinationSetKindSettings(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	chosen := "whsec_" + strings.Repeat("QUJD", 8)
	out := adminMust(t, "", "destination", "set", "alice", "webhook:https://ci.example.org/chosen", "secret="+chosen, "confirmed=true")
	if strings.Contains(out, chosen) || !strings.Contains(out, "settings: secret=(set)") || !strings.Contains(out, "confirmed=true") {
		t.Errorf("set with a secret printed:\n%s", out)
	}
	out = adminMust(t, "", "destination", "set", "alice", "webhook:https://ci.example.org/made")
	_, made, ok := strings.Cut(out, "signing secret (Standard Webhooks): ")
	made = strings.TrimSpace(made)
	if !ok || !strings.HasPrefix(made, "whsec_") {
		t.Fatalf("set without a secret printed none:\n%s", out)
	}
	if again := adminMust(t, "", "destination", "set", "alice", "webhook:https://ci.example.org/made", "verbose=true"); strings.Contains(again, made) {
		t.Errorf("the made secret is printed again:\n%s", again)
	}
	out = adminMust(t, "", "destination", "set", "alice", "ntfy:https://ntfy.sh/alice", "token=tk_abc")
	if strings.Contains(out, "tk_abc") || !strings.Contains(out, "settings: token=(set)") {
		t.Errorf("ntfy set printed:\n%s", out)
	}
	st := e.open(t)
	for addr, want := range map[string]string{"https://ci.example.org/chosen": chosen, "https://ci.example.org/made": made} {
		d, err := st.DestinationByAddress(context.Background(), store.KindWebhook, addr)
		if err != nil || d.Settings["secret"] != want {
			t.Errorf("%s: secret %q, %v; want %q", addr, d.Settings["secret"], err, want)
		}
	}
	d, err := st.DestinationByAddress(context.Background(), store.KindNtfy, "https://ntfy.sh/alice")
	if err != nil || d.Settings["token"] != "tk_abc" || d.Confirmed {
		t.Fatalf("ntfy destination %+v, %v; want its token, unconfirmed", d, err)
	}
	// The code the topic was pushed, typed to hark destination confirm.
	d.ConfirmCode, d.ConfirmExpires = "abcd234567", time.Now().Add(time.Hour)
	if _, err := st.SaveDestination(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := adminRun(t, "", "destination", "confirm", "alice", "ntfy:https://ntfy.sh/alice", "wrong"); code == 0 || !strings.Contains(errOut, "wrong or expired") {
		t.Errorf("a wrong code: exit %d, %s", code, errOut)
	}
	adminMust(t, "", "destination", "confirm", "alice", "ntfy:https://ntfy.sh/alice", "abcd234567")
	if d, err := st.DestinationByID(context.Background(), d.ID); err != nil || !d.Confirmed {
		t.Errorf("after confirm: %+v, %v", d, err)
	}
}

func TestHistoryImportStoresDescribedSamplesOnce(t *testing.T) {
	e := newAdminEnv(t)
	samples, err := filepath.Abs("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	out := adminMust(t, "", "history", "import", samples)
	if !strings.HasPrefix(out, "imported ") {
		t.Fatalf("output %q", out)
	}
	again := adminMust(t, "", "history", "import", samples)
	if !strings.HasPrefix(again, "imported 0 messages") {
		t.Errorf("a second import added messages: %q", again)
	}
	page, err := e.open(t).HistoryPage(context.Background(), store.Cursor{}, 1000)
	if err != nil || len(page) < 100 {
		t.Fatalf("history has %d messages, %v", len(page), err)
	}
	var desc struct{ Title string }
	for _, m := range page {
		if err := json.Unmarshal(m.Description, &desc); err != nil || desc.Title == "" {
			t.Fatalf("message %s has description %s", m.Key, m.Description)
		}
	}
}

func TestHistoryImportNamesBadLines(t *testing.T) {
	e := newAdminEnv(t)
	file := filepath.Join(e.dir, "bad.jsonl")
	content := `{"topic": "org.fedoraproject.prod.x", "msg": {}, "msg_id": "2024-a"}` + "\nnot json\n" + `{"msg": {}}` + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := adminRun(t, "", "history", "import", file)
	if code != 1 || !strings.Contains(out, "imported 1 messages") ||
		!strings.Contains(errOut, "bad.jsonl:2: decode envelope: invalid JSON") || !strings.Contains(errOut, "bad.jsonl:3: decode envelope: missing field: topic") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}

func TestNotificationsJSON(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed")
	adminMust(t, "", "user", "add", "bob", "--irc", "bob", "--confirmed")
	s := e.open(t)
	ctx := context.Background()
	var matches []store.Accepted
	for _, name := range []string{"alice", "bob"} {
		u, _ := s.UserByName(ctx, name)
		ds, _ := s.ListDestinations(ctx, u.ID)
		f, err := s.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: name + "-updates", Active: true, DestinationIDs: []int64{ds[0].ID}})
		if err != nil {
			t.Fatal(err)
		}
		matches = append(matches, store.Accepted{Message: store.Message{Key: "2024-" + name, Topic: "t", Envelope: []byte("{}")},
			Matches: []store.Match{{UserID: u.ID, DestinationID: ds[0].ID, FilterID: f.ID}}})
	}
	if _, err := s.Enqueue(ctx, matches); err != nil {
		t.Fatal(err)
	}
	ns, _ := s.Claim(ctx, 1, time.Now().Add(time.Second), time.Minute, 10)
	if err := s.MarkSent(ctx, []int64{ns[0].ID}, time.Now()); err != nil {
		t.Fatal(err)
	}

	var got []map[string]any
	if err := json.Unmarshal([]byte(adminMust(t, "", "notifications", "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d notifications", len(got))
	}
	alice := got[1]
	for k, want := range map[string]any{"id": float64(ns[0].ID), "msg_id": "2024-alice", "user": "alice", "destination": "email:alice@example.org", "filter": "alice-updates", "state": "sent"} {
		if alice[k] != want {
			t.Errorf("%s: got %v, want %v", k, alice[k], want)
		}
	}
	if alice["sent"] == nil || alice["created"] == nil || got[0]["sent"] != nil || got[0]["state"] != "queued" {
		t.Errorf("times or states: %v", got)
	}
	if err := json.Unmarshal([]byte(adminMust(t, "", "notifications", "--user", "bob", "--json")), &got); err != nil || len(got) != 1 || got[0]["user"] != "bob" {
		t.Errorf("--user bob: %v, %v", got, err)
	}
	if text := adminMust(t, "", "notifications"); !strings.Contains(text, "sent") || !strings.Contains(text, "email:alice@example.org") {
		t.Errorf("table:\n%s", text)
	}
	if code, _, errOut := adminRun(t, "", "notifications", "--user", "zed"); code != 1 || !strings.Contains(errOut, `"zed": not found`) {
		t.Errorf("unknown user: %d %q", code, errOut)
	}
}

// TestFiltersImportAppliesTheLimits: the command line takes filters in
// within the limits the web UI keeps, and a refused file changes nothing.
func TestFiltersImportAppliesTheLimits(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	rule := `{"kind": "app", "args": {"names": ["bodhi"]}}`
	for _, tc := range []struct{ name, file, want string }{
		{"long name", `{"version": 1, "user": "alice", "filters": [{"name": "` + strings.Repeat("n", 5000) + `", "destinations": ["email:alice@example.org"], "rules": []}]}`,
			"(stdin):1: filters[0].name: a name of 5000 bytes, longer than 100"},
		{"too many rules", `{"version": 1, "user": "alice", "filters": [{"name": "x", "destinations": ["email:alice@example.org"],
 "rules": [` + strings.TrimSuffix(strings.Repeat(rule+",", 300), ",") + `]}]}`,
			"(stdin):2: filters[0].rules: 300 rules, more than the 20 a filter may have"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := adminRun(t, tc.file, "filters", "import", "-")
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
		})
	}
	st := e.open(t)
	u, err := st.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ds, _ := st.ListDestinations(context.Background(), u.ID); len(ds) != 0 {
		t.Errorf("refused imports left destinations %+v", ds)
	}
}
