package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// openAt opens the store at path, closing it when the test ends.
func openAt(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTest(t testing.TB) *SQLite {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "hark.db"))
}

// fixture is a user with one confirmed email destination and one filter
// sending to it.
type fixture struct {
	user   store.User
	dest   store.Destination
	filter store.Filter
}

func seed(t testing.TB, s *SQLite, name string, oneshot bool) fixture {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.User{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: name + "@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "bodhi", Active: true, Oneshot: oneshot,
		Rules:          []store.Rule{{Kind: "topic", Args: json.RawMessage(`{"glob":"*.bodhi.*"}`)}},
		DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{u, d, f}
}

func message(key string, ts time.Time) store.Message {
	return store.Message{Key: key, Topic: "org.fedoraproject.prod.bodhi.update.comment", Timestamp: ts,
		Envelope: json.RawMessage(`{"msg_id":"` + key + `"}`), Description: json.RawMessage(`{"app":"bodhi"}`)}
}

func (f fixture) accepted(key string) store.Accepted {
	return store.Accepted{Message: message(key, time.Unix(1700000000, 0)), Matches: []store.Match{{
		UserID: f.user.ID, DestinationID: f.dest.ID, FilterID: f.filter.ID, Oneshot: f.filter.Oneshot,
		Why: json.RawMessage(`[{"kind":"topic","matched":true}]`)}}}
}

func TestMigrationsFromEmptyReachTheCurrentVersion(t *testing.T) {
	s := openTest(t)
	var v int
	if err := s.r.QueryRow(selectSchemaVersion).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
}

func TestReopeningKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	if _, err := s.UserByName(context.Background(), "alice"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	s := openAt(t, path)
	if _, err := s.w.Exec(updateSchemaVersion, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), path); err == nil {
		t.Error("opened a database from a newer hark")
	}
}

// TestMigrationToClaimsKeepsDestinationsAndTheirLinks rebuilds the
// destinations table of a version 6 database: nothing that refers to a
// destination may go with the old table.
func TestMigrationToClaimsKeepsDestinationsAndTheirLinks(t *testing.T) {
	s := openAfter(t, 6,
		`INSERT INTO users (id, name, created) VALUES (1, 'alice', 1), (2, 'bob', 1)`,
		`INSERT INTO destinations (id, user_id, kind, address, confirmed, created) VALUES (7, 1, 'email', 'alice@example.org', 1, 1)`,
		`INSERT INTO filters (id, user_id, name, position, created, updated) VALUES (3, 1, 'mine', 0, 1, 1)`,
		`INSERT INTO filter_destinations (filter_id, destination_id) VALUES (3, 7)`,
		`INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, next_attempt, created) VALUES ('m', 1, 7, 3, 'queued', 0, 1)`)
	ctx := context.Background()
	fs, err := s.ListFilters(ctx, 1)
	if err != nil || len(fs) != 1 || !slices.Equal(fs[0].DestinationIDs, []int64{7}) {
		t.Fatalf("filters after migration: %+v, %v; want filter 3 sending to destination 7", fs, err)
	}
	if depth, err := s.QueueDepth(ctx); err != nil || depth[store.StateQueued] != 1 {
		t.Errorf("queue after migration: %+v, %v; want the notification kept", depth, err)
	}
	if _, err := s.SaveDestination(ctx, store.Destination{UserID: 2, Kind: store.KindEmail, Address: "alice@example.org"}); err != nil {
		t.Errorf("claim on a confirmed address after migration: %v", err)
	}
	// Foreign keys are on again: deleting the user takes the rest along.
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DestinationByID(ctx, 7); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("destination of a deleted user: %v, want ErrNotFound", err)
	}
}

// TestMigrationDroppingTheKindCheckKeepsDestinations: after schemaV8 a
// kind the schema never heard of is stored (destkind decides what is
// valid), and what was there stays, with its links and triggers.
func TestMigrationDroppingTheKindCheckKeepsDestinations(t *testing.T) {
	s := openAfter(t, 7,
		`INSERT INTO users (id, name, created) VALUES (1, 'alice', 1)`,
		`INSERT INTO destinations (id, user_id, kind, address, confirmed, markup, created) VALUES (7, 1, 'irc', 'alice', 1, 1, 1)`,
		`INSERT INTO filters (id, user_id, name, position, created, updated) VALUES (3, 1, 'mine', 0, 1, 1)`,
		`INSERT INTO filter_destinations (filter_id, destination_id) VALUES (3, 7)`)
	ctx := context.Background()
	ds, err := s.ListDestinations(ctx, 1)
	if err != nil || len(ds) != 1 || ds[0].ID != 7 || ds[0].Kind != store.KindIRC || !ds[0].Markup || !ds[0].Confirmed {
		t.Fatalf("destinations after migration: %+v, %v; want irc:alice confirmed with markup", ds, err)
	}
	if fs, err := s.ListFilters(ctx, 1); err != nil || len(fs) != 1 || !slices.Equal(fs[0].DestinationIDs, []int64{7}) {
		t.Fatalf("filters after migration: %+v, %v; want filter 3 sending to destination 7", fs, err)
	}
	before, err := s.SettingsVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO destinations (user_id, kind, address, created) VALUES (1, 'matrix', '@alice:example.org', 1)`); err != nil {
		t.Errorf("a new kind after migration: %v", err)
	}
	if after, _ := s.SettingsVersion(ctx); after <= before {
		t.Errorf("settings version %d → %d: the destinations trigger is gone", before, after)
	}
}

// TestHistoryPagingUsesTheIndex checks the plan rather than a time: paging
// newest first must walk messages_ts, never sort the whole table.
func TestHistoryPagingUsesTheIndex(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name  string
		query string
		args  []any
	}{
		{"first page", selectHistoryFirst, []any{100}},
		{"later page", selectHistoryPage, []any{0, 0, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, s, tc.query, tc.args...)
			joined := fmt.Sprint(plan)
			if !strings.Contains(joined, "messages_ts") || strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan %v", plan)
			}
		})
	}
}
