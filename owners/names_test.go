package owners

import (
	"slices"
	"testing"
)

func TestWithPrefixCompletesNames(t *testing.T) {
	s, err := Parse("aliases", []byte(`{"rpms": {"nethack": ["alice", "@games-sig"], "netpbm": ["bob"], "kernel": ["@kernel-maint"]}}`),
		"groups", []byte(`{"games-sig": ["carol"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		list, prefix string
		limit        int
		want         []string
	}{
		{NamePackages, "net", 10, []string{"nethack", "netpbm"}},
		{NamePackages, "net", 1, []string{"nethack"}},
		{NamePackages, "", 10, []string{"kernel", "nethack", "netpbm"}},
		{NameUsers, "", 10, []string{"alice", "bob", "carol"}},
		{NameGroups, "ga", 10, []string{"games-sig"}},
		{NameGroups, "x", 10, nil},
	} {
		t.Run(tc.list+" "+tc.prefix, func(t *testing.T) {
			if got := s.WithPrefix(tc.list, tc.prefix, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("WithPrefix(%q, %q, %d) = %v, want %v", tc.list, tc.prefix, tc.limit, got, tc.want)
			}
		})
	}
}
