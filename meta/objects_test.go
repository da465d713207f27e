package meta

import (
	"slices"
	"testing"

	"hark/bus"
)

func TestDescribeMergesDeclaredObjects(t *testing.T) {
	const js = `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"user": {"name": "bob"},
		"update": {"title": "gcc-14.1-1.fc41", "builds": [{"nvr": "gcc-14.1-1.fc41"}]}}}}`
	for _, tc := range []struct {
		name        string
		objects     *bus.Objects
		users, pkgs []string
		groups      []string
	}{
		{"no headers: what the processors extract", nil, []string{"bob"}, []string{"gcc"}, nil},
		{"declared users and packages are added", &bus.Objects{Users: []string{"alice", "bob"}, RPMs: []string{"libstdc++"}, Flatpaks: []string{"org.gnome.Maps"}},
			[]string{"alice", "bob"}, []string{"gcc", "libstdc++", "org.gnome.Maps"}, nil},
		{"declared users go through the aliases", &bus.Objects{Users: []string{"threebean"}}, []string{"bob", "ralph"}, []string{"gcc"}, nil},
		{"declared groups", &bus.Objects{Groups: []string{"packager", "infra"}}, []string{"bob"}, []string{"gcc"}, []string{"infra", "packager"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envelope(t, js)
			env.Objects = tc.objects
			d := Default().Describe(env)
			if !slices.Equal(d.Usernames, tc.users) || !slices.Equal(d.Packages, tc.pkgs) || !slices.Equal(d.Groups, tc.groups) {
				t.Errorf("usernames %v packages %v groups %v; want %v %v %v", d.Usernames, d.Packages, d.Groups, tc.users, tc.pkgs, tc.groups)
			}
		})
	}
}
