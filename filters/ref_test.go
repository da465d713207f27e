package filters_test

import (
	"encoding/json"
	"testing"

	"hark/filters"
)

// TestHitsCarryTheFiltersRef: a stored filter's hits name its user,
// itself and the destination by the store's ids, with the reason to show
// the user; a filter without a Ref has hits of names only.
func TestHitsCarryTheFiltersRef(t *testing.T) {
	stored := filter("stored", both, appBodhi)
	stored.OneShot = true
	stored.Ref = filters.Ref{UserID: 7, FilterID: 42, DestinationIDs: []int64{100, 101}}
	ix := newIndex(t, filters.Options{}, "alice", stored)
	env, desc := message(t, "bob")
	hits := ix.DryRun(env, desc)
	want := []struct {
		dest string
		id   int64
	}{{"email:alice@example.org", 100}, {"irc:alice", 101}}
	if len(hits) != len(want) {
		t.Fatalf("hits %+v, want one per destination", hits)
	}
	why, _ := json.Marshal(filters.MatchedVerdicts(stored))
	for i, h := range hits {
		if h.Destination != want[i].dest || h.DestinationID != want[i].id || h.UserID != 7 || h.FilterID != 42 || !h.OneShot ||
			string(h.Why()) != string(why) {
			t.Errorf("hit %d: %+v why %s, want %s as %d of filter 42 of user 7, one-shot, why %s", i, h, h.Why(), want[i].dest, want[i].id, why)
		}
	}

	draft := newIndex(t, filters.Options{}, "alice", filter("draft", email, appBodhi))
	if hits := draft.DryRun(env, desc); len(hits) != 1 || hits[0] != (filters.Hit{User: "alice", Filter: "draft", Destination: email[0]}) {
		t.Errorf("a filter without a Ref: hits %+v", hits)
	}
}

func TestRefMustNameEveryDestination(t *testing.T) {
	f := filter("stored", both, appBodhi)
	f.Ref = filters.Ref{UserID: 7, FilterID: 42, DestinationIDs: []int64{100}}
	if err := filters.New(filters.Options{}).SetUser("alice", []filters.Filter{f}); err == nil {
		t.Error("a Ref with one id for two destinations was taken")
	}
}
