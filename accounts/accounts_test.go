package accounts_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"hark/accounts"
	"hark/filters"
	"hark/rules"
	"hark/store"
	"hark/store/sqlite"
)

func openStore(t *testing.T) (*sqlite.SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hark.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// failOnFilter makes the database refuse, inside the import's
// transaction, to store a filter named name: a fault (a full disk, say)
// after the import has created its destinations.
func failOnFilter(t *testing.T, path, name string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_import BEFORE INSERT ON filters WHEN NEW.name = '` + name + `'
BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
}

func TestFailedImportLeavesNothingBehind(t *testing.T) {
	st, path := openStore(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	failOnFilter(t, path, "second")
	rule := []rules.Spec{{Kind: "app", Args: []byte(`{"names": ["bodhi"]}`)}}
	e := &filters.Export{Version: filters.FormatVersion, User: "alice", Filters: []filters.Filter{
		{Name: "first", Active: true, Destinations: []string{"email:alice@example.org"}, Rules: rule},
		{Name: "second", Active: true, Destinations: []string{"irc:alice"}, Rules: rule},
	}}
	if _, err := accounts.Import(ctx, st, e, false); err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Import = %v, want the database's refusal", err)
	}
	if ds, err := st.ListDestinations(ctx, u.ID); err != nil || len(ds) != 0 {
		t.Errorf("destinations after a failed import: %+v, %v; want none", ds, err)
	}
	if fs, err := st.ListFilters(ctx, u.ID); err != nil || len(fs) != 0 {
		t.Errorf("filters after a failed import: %+v, %v; want none", fs, err)
	}
	// The same import without the fault creates both destinations.
	e.Filters[1].Name = "other"
	res, err := accounts.Import(ctx, st, e, false)
	if err != nil || len(res.NewDestinations) != 2 {
		t.Fatalf("Import = %+v, %v; want two new destinations", res, err)
	}
	fs, err := st.ListFilters(ctx, u.ID)
	if err != nil || len(fs) != 2 || len(fs[0].DestinationIDs) != 1 || len(fs[1].DestinationIDs) != 1 || fs[0].DestinationIDs[0] == fs[1].DestinationIDs[0] {
		t.Fatalf("filters after import: %+v, %v; want each sending to its own new destination", fs, err)
	}
}

// TestImportAppliesTheLimitsToTheResult: a merge of files each within
// the limits cannot add up to more filters than a user may have.
func TestImportAppliesTheLimitsToTheResult(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	batch := func(prefix string) *filters.Export {
		e := &filters.Export{Version: filters.FormatVersion, User: "alice"}
		for i := range filters.MaxFilters/2 + 1 {
			e.Filters = append(e.Filters, filters.Filter{Name: prefix + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Destinations: []string{}, Rules: []rules.Spec{}})
		}
		return e
	}
	if _, err := accounts.Import(ctx, st, batch("one "), true); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Import(ctx, st, batch("two "), true); err == nil || !strings.Contains(err.Error(), "more than the 100 a user may have") {
		t.Fatalf("second merge: %v, want the limit", err)
	}
}

// TestImportTakesDestinationSettingsAndExportLeavesSecrets: an import
// file's settings for a destination it creates are stored; an export
// never carries a secret; a setting the kind refuses fails the parse
// naming its place; a file without settings imports as before.
func TestImportTakesDestinationSettingsAndExportLeavesSecrets(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	file := `{"version": 1, "user": "alice", "filters": [{"name": "f", "active": true,
		"destinations": ["ntfy:https://ntfy.sh/alice"], "rules": [{"kind": "app", "args": {"names": ["bodhi"]}}]}],
		"destinations": [{"destination": "ntfy:https://ntfy.sh/alice", "settings": {"token": "tk_abc"}}]}`
	e, err := filters.ParseExport("alice.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Import(ctx, st, e, false); err != nil {
		t.Fatal(err)
	}
	ds, err := st.ListDestinations(ctx, u.ID)
	if err != nil || len(ds) != 1 || ds[0].Settings["token"] != "tk_abc" {
		t.Fatalf("destinations %+v, %v; want the ntfy topic with its token", ds, err)
	}
	out, err := accounts.Export(ctx, st, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if out.Destinations != nil {
		t.Errorf("export carries %+v, want no secret", out.Destinations)
	}
	bad := strings.Replace(file, `"tk_abc"`, `"tk with spaces"`, 1)
	if _, err := filters.ParseExport("alice.json", []byte(bad)); err == nil || !strings.Contains(err.Error(), "destinations[0].settings: token:") {
		t.Errorf("ParseExport of a bad token: %v", err)
	}
}
