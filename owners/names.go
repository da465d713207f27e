package owners

import (
	"slices"
	"strings"
)

// Name lists a snapshot knows, for completing what people type: every
// package with an owner, every owning user and every owning group.
const (
	NamePackages = "packages"
	NameUsers    = "users"
	NameGroups   = "groups"
)

// WithPrefix returns up to limit names of the list (NamePackages,
// NameUsers or NameGroups) that start with prefix, sorted. The sorted
// lists are built on first use, once per snapshot.
func (s *Snapshot) WithPrefix(list, prefix string, limit int) []string {
	s.namesOnce.Do(s.buildNames)
	names := s.names[list]
	i, _ := slices.BinarySearch(names, prefix)
	var out []string
	for ; i < len(names) && len(out) < limit && strings.HasPrefix(names[i], prefix); i++ {
		out = append(out, names[i])
	}
	return out
}

func (s *Snapshot) buildNames() {
	sorted := func(set map[string]bool) []string {
		out := make([]string, 0, len(set))
		for n := range set {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	pkgs, users, groups := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for pkg, us := range s.users {
		pkgs[pkg] = true
		for _, u := range us {
			users[u] = true
		}
	}
	for _, gs := range s.groups {
		for _, g := range gs {
			groups[g] = true
		}
	}
	s.names = map[string][]string{NamePackages: sorted(pkgs), NameUsers: sorted(users), NameGroups: sorted(groups)}
}
