package accounts_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"hark/accounts"
	"hark/filters"
	"hark/store"
)

// TestExportKeepsModesUrgentAndSnooze: a filter's modes per destination,
// urgent flag and snooze survive an export and an import of the file.
func TestExportKeepsModesUrgentAndSnooze(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	file := `{"version": 1, "user": "alice", "filters": [
  {"name": "failed builds", "active": true, "destinations": ["email:alice@example.org", "irc:alice"],
   "rules": [{"kind": "app", "args": {"names": ["koji"]}}],
   "modes": {"email:alice@example.org": "now", "irc:alice": "weekly Mon 8:00"},
   "urgent": true},
  {"name": "noise", "active": true, "destinations": ["email:alice@example.org"],
   "rules": [{"kind": "app", "args": {"names": ["wiki"]}}],
   "modes": {"email:alice@example.org": "after 10 every 2h"},
   "snooze": "` + until + `", "snooze_then": "drop"},
  {"name": "muted", "active": true, "destinations": ["email:alice@example.org"],
   "rules": [{"kind": "app", "args": {"names": ["fas"]}}], "snooze": "on"}]}`
	e, err := filters.ParseExport("alice.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Import(ctx, st, e, false); err != nil {
		t.Fatal(err)
	}
	out, err := accounts.Export(ctx, st, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []filters.Filter{
		{Modes: map[string]string{"email:alice@example.org": "now", "irc:alice": "weekly mon 08:00"}, Urgent: true},
		{Modes: map[string]string{"email:alice@example.org": "after 10 every 2h0m0s"}, Snooze: until, SnoozeThen: "drop"},
		{Snooze: "on"},
	}
	for i, f := range out.Filters {
		got := filters.Filter{Modes: f.Modes, Urgent: f.Urgent, Snooze: f.Snooze, SnoozeThen: f.SnoozeThen}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("filter %q exported as %+v, want %+v", f.Name, got, want[i])
		}
	}
}

// TestOldExportFileStillImports: a file written before filters had modes,
// urgent and snooze imports as it did, every filter in its
// destinations' own way.
func TestOldExportFileStillImports(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/export-v1-before-modes.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := filters.ParseExport("export-v1-before-modes.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Import(ctx, st, e, false); err != nil {
		t.Fatal(err)
	}
	fs, err := st.ListFilters(ctx, u.ID)
	if err != nil || len(fs) != 2 || len(fs[0].DestinationIDs) != 2 || !fs[1].Oneshot {
		t.Fatalf("filters %+v, %v; want the file's two", fs, err)
	}
	for _, f := range fs {
		if !reflect.DeepEqual(f.FilterDelivery, store.FilterDelivery{}) {
			t.Errorf("filter %q delivered %+v, want its destinations' own way", f.Name, f.FilterDelivery)
		}
	}
}

// TestBadDeliveryInAnExportNamesTheField: a mode for a destination the
// filter lacks, an unreadable mode or snooze each name file, line and
// field.
func TestBadDeliveryInAnExportNamesTheField(t *testing.T) {
	for _, tc := range []struct{ filter, want string }{
		{`"modes": {"email:bob@example.org": "now"}`, `alice.json:3: filters[0].modes["email:bob@example.org"]: "email:bob@example.org" is not one of the filter's destinations`},
		{`"modes": {"email:alice@example.org": "daily 25:00"}`, `alice.json:3: filters[0].modes["email:alice@example.org"]: "25:00" is not a time of day`},
		{`"modes": {"email:alice@example.org": "after 0"}`, `filters[0].modes["email:alice@example.org"]: "after 0": after takes a whole number of notifications of 1 or more`},
		{`"snooze": "soon"`, `alice.json:3: filters[0].snooze: "soon" is not a time`},
		{`"snooze": "on", "snooze_then": "later"`, `filters[0].snooze_then: "later" is not digest or drop`},
	} {
		file := "{\"version\": 1, \"user\": \"alice\", \"filters\": [\n  {\"name\": \"f\", \"active\": true, \"destinations\": [\"email:alice@example.org\"], \"rules\": [],\n   " + tc.filter + "}]}"
		_, err := filters.ParseExport("alice.json", []byte(file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.filter, err, tc.want)
		}
	}
}

// TestSnoozeFilterOnTheUsersClock: "tomorrow 09:00" is on the user's
// clock; a zone the store holds but no one knows is an error naming
// timezone, and changes nothing.
func TestSnoozeFilterOnTheUsersClock(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{Name: "alice", Timezone: "Europe/Prague"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := filters.ParseExport("alice.json", []byte(`{"version": 1, "user": "alice", "filters": [
  {"name": "noisy", "active": true, "destinations": ["email:alice@example.org"], "rules": []}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Import(ctx, st, e, false); err != nil {
		t.Fatal(err)
	}
	prague, _ := time.LoadLocation("Europe/Prague")
	now := time.Date(2026, 10, 24, 23, 30, 0, 0, prague) // the night before clocks go back
	until, err := accounts.SnoozeFilter(ctx, st, "alice", "noisy", "tomorrow 09:00", "drop", now)
	if want := time.Date(2026, 10, 25, 9, 0, 0, 0, prague); err != nil || !until.Equal(want) {
		t.Errorf("snooze until %v, %v; want %v", until, err, want)
	}
	if err := st.SetUserTimezone(ctx, "alice", "Mars/Olympus_Mons"); err != nil {
		t.Fatal(err)
	}
	_, err = accounts.SnoozeFilter(ctx, st, "alice", "noisy", "off", "", now)
	var fe *accounts.FieldError
	if !errors.As(err, &fe) || fe.Field != "timezone" || !strings.Contains(fe.Message, "Mars/Olympus_Mons") {
		t.Errorf("snooze with an unknown zone: %v, want an error naming timezone", err)
	}
	if fs, _ := st.ListFilters(ctx, u.ID); !fs[0].SnoozeUntil.Equal(until) || !fs[0].SnoozeDrop {
		t.Errorf("a refused snooze changed the filter to %v", fs[0].SnoozeUntil)
	}
}
