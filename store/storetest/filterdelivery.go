package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"hark/schedule"
	"hark/store"
)

// The contract for filters with a way of their own to be delivered
// (store.FilterDelivery): stored with the filter, read back by every read
// of filters, snoozed alone, and queued apart (Pending.ByFilter,
// ClaimOnly).

func testFilterDeliveryRoundTrips(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	until := time.Date(2030, 3, 14, 9, 0, 0, 0, time.UTC)
	want := store.FilterDelivery{Urgent: true, SnoozeUntil: until, SnoozeDrop: true,
		Modes: map[int64]schedule.Mode{f.dest.ID: {At: "08:00"}}}
	f.filter.FilterDelivery = want
	if _, err := s.SaveFilter(ctx, f.filter); err != nil {
		t.Fatal(err)
	}
	listed, err := s.ListFilters(ctx, f.user.ID)
	if err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0].FilterDelivery, want) {
		t.Errorf("ListFilters: %+v, %v; want %+v", listed, err, want)
	}
	active, err := s.ActiveFilters(ctx)
	if err != nil || len(active) != 1 || !reflect.DeepEqual(active[0].FilterDelivery, want) {
		t.Errorf("ActiveFilters: %+v, %v; want %+v", active, err, want)
	}
	names, err := s.FilterNames(ctx)
	if err != nil || len(names) != 1 || !reflect.DeepEqual(names[0].FilterDelivery, want) {
		t.Errorf("FilterNames: %+v, %v; want %+v", names, err, want)
	}
	// A mode for a destination the filter no longer sends to goes.
	f.filter.DestinationIDs = nil
	if _, err := s.SaveFilter(ctx, f.filter); err != nil {
		t.Fatal(err)
	}
	if listed, _ := s.ListFilters(ctx, f.user.ID); listed[0].Modes != nil || !listed[0].Urgent {
		t.Errorf("after dropping the destination: %+v, want its mode gone, the rest kept", listed[0].FilterDelivery)
	}
	f.filter.FilterDelivery = store.FilterDelivery{}
	if _, err := s.SaveFilter(ctx, f.filter); err != nil {
		t.Fatal(err)
	}
	if listed, _ := s.ListFilters(ctx, f.user.ID); !reflect.DeepEqual(listed[0].FilterDelivery, store.FilterDelivery{}) {
		t.Errorf("after clearing: %+v, want none", listed[0].FilterDelivery)
	}
}

func testFilterModesGoWithTheirDestination(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	other, err := s.SaveDestination(ctx, store.Destination{UserID: f.user.ID, Kind: store.KindEmail, Address: "other@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f.filter.DestinationIDs = []int64{f.dest.ID, other.ID}
	f.filter.Modes = map[int64]schedule.Mode{f.dest.ID: {At: "08:00"}, other.ID: {Count: 3, Every: time.Hour}}
	if _, err := s.SaveFilter(ctx, f.filter); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDestination(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	want := map[int64]schedule.Mode{f.dest.ID: {At: "08:00"}}
	if listed, err := s.ListFilters(ctx, f.user.ID); err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0].Modes, want) {
		t.Errorf("ListFilters after deleting a destination: %+v, %v; want modes %+v", listed, err, want)
	}
	if names, err := s.FilterNames(ctx); err != nil || len(names) != 1 || !reflect.DeepEqual(names[0].Modes, want) {
		t.Errorf("FilterNames after deleting a destination: %+v, %v; want modes %+v", names, err, want)
	}
}

func testImportedFilterModesNameCreatedDestinations(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	in := store.Filter{Name: "builds", Active: true, DestinationIDs: []int64{-1, f.dest.ID},
		FilterDelivery: store.FilterDelivery{Modes: map[int64]schedule.Mode{-1: {}, f.dest.ID: {Count: 5}}}}
	fs, made, err := s.ImportFilters(ctx, f.user.ID, []store.Destination{{Kind: store.KindEmail, Address: "builds@example.org", Enabled: true}}, []store.Filter{in})
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := s.ListFilters(ctx, f.user.ID)
	want := map[int64]schedule.Mode{made[0].ID: {}, f.dest.ID: {Count: 5}}
	if len(fs) != 1 || len(listed) != 1 || !reflect.DeepEqual(listed[0].Modes, want) {
		t.Errorf("modes %+v, want %+v", listed, want)
	}
}

func testSnoozeFilterOfItsOwnerOnly(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	before, _ := s.SettingsVersion(ctx)
	until := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SnoozeFilter(ctx, alice.user.ID, alice.filter.ID, until, true); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.SettingsVersion(ctx); after == before {
		t.Error("snoozing a filter left the settings version")
	}
	if err := s.SnoozeFilter(ctx, bob.user.ID, alice.filter.ID, time.Time{}, false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob snoozing alice's filter: %v, want ErrNotFound", err)
	}
	listed, _ := s.ListFilters(ctx, alice.user.ID)
	if got := listed[0]; !got.SnoozeUntil.Equal(until) || !got.SnoozeDrop || len(got.Rules) != 1 {
		t.Errorf("snoozed filter %+v, want until %v, drop, its rule kept", got, until)
	}
	if err := s.SnoozeFilter(ctx, alice.user.ID, alice.filter.ID, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if listed, _ := s.ListFilters(ctx, alice.user.ID); !listed[0].SnoozeUntil.IsZero() {
		t.Errorf("snooze ended, still until %v", listed[0].SnoozeUntil)
	}
}

func testClaimOnlyPicksByFilter(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	urgent, err := s.SaveFilter(ctx, store.Filter{UserID: f.user.ID, Name: "urgent", Position: 1, Active: true,
		Rules: f.filter.Rules, DestinationIDs: []int64{f.dest.ID}})
	if err != nil {
		t.Fatal(err)
	}
	by := func(key string, filter int64) store.Accepted {
		a := f.accepted(key)
		a.Matches[0].FilterID = filter
		return a
	}
	batch := []store.Accepted{by("m1", f.filter.ID), by("m2", urgent.ID), by("m3", f.filter.ID), by("m4", urgent.ID)}
	if _, err := s.Enqueue(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// One of them fails once, so the split covers notification rows as
	// well as what was never claimed.
	now := time.Now().Add(time.Second)
	first, err := s.ClaimOnly(ctx, f.dest.ID, store.FilterSet{IDs: []int64{f.filter.ID}}, now, time.Minute, 1)
	if err != nil || len(first) != 1 || first[0].MsgKey != "m1" {
		t.Fatalf("first claim %+v, %v; want m1", first, err)
	}
	if err := s.MarkFailed(ctx, []int64{first[0].ID}, "try again", now, now); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Pending(ctx, now)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pending %+v, %v", ps, err)
	}
	got := map[int64]int{}
	for _, fp := range ps[0].ByFilter {
		got[fp.FilterID] = fp.Due
	}
	if ps[0].Due != 4 || got[f.filter.ID] != 2 || got[urgent.ID] != 2 {
		t.Errorf("pending %+v, want 4 due, 2 of each filter", ps[0])
	}
	urgentOnes, err := s.ClaimOnly(ctx, f.dest.ID, store.FilterSet{IDs: []int64{urgent.ID}}, now, time.Minute, 10)
	if err != nil || len(urgentOnes) != 2 || urgentOnes[0].MsgKey != "m2" || urgentOnes[1].MsgKey != "m4" {
		t.Errorf("urgent claim %+v, %v; want m2 and m4", urgentOnes, err)
	}
	rest, err := s.ClaimOnly(ctx, f.dest.ID, store.FilterSet{IDs: []int64{urgent.ID}, Except: true}, now, time.Minute, 10)
	if err != nil || len(rest) != 2 || rest[0].MsgKey != "m1" || rest[1].MsgKey != "m3" {
		t.Errorf("claim of the rest %+v, %v; want m1 and m3", rest, err)
	}
}
