package confirmcode

import (
	"strings"
	"testing"
	"time"

	"hark/store"
)

func TestCodesUseOnlyTheUnambiguousAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := New()
		if len(c) != 10 || strings.Trim(c, alphabet) != "" || seen[c] {
			t.Fatalf("code %q: want 10 new letters of %s", c, alphabet)
		}
		seen[c] = true
	}
}

func TestLimitsPerAddressAndPerUser(t *testing.T) {
	p := Policy{For: 24 * time.Hour, Every: 10 * time.Minute, PerDay: 3}
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var l Limits
	dest := func(user int64, addr string) store.Destination {
		return store.Destination{UserID: user, Kind: store.KindEmail, Address: addr}
	}
	for _, step := range []struct {
		name  string
		at    time.Duration
		d     store.Destination
		allow bool
	}{
		{"alice's first code", 0, dest(1, "a@example.org"), true},
		{"again to the same address at once", time.Minute, dest(1, "a@example.org"), false},
		{"bob claims the same address", time.Minute, dest(2, "a@example.org"), true},
		{"alice's second address", 2 * time.Minute, dest(1, "b@example.org"), true},
		{"alice's third address", 3 * time.Minute, dest(1, "c@example.org"), true},
		{"alice's fourth address: past her day's three", 4 * time.Minute, dest(1, "d@example.org"), false},
		{"the first address ten minutes on, still past the day's three", 11 * time.Minute, dest(1, "a@example.org"), false},
		{"a code sent from another process nine minutes ago", 0,
			store.Destination{UserID: 3, Kind: store.KindEmail, Address: "c@example.org", ConfirmCode: "x", ConfirmExpires: start.Add(-9 * time.Minute).Add(24 * time.Hour)}, false},
	} {
		if got := l.Allow(p, step.d, start.Add(step.at)); got != step.allow {
			t.Errorf("%s: allowed %t, want %t", step.name, got, step.allow)
		}
	}
}
