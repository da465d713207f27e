package hark

import (
	"slices"
	"testing"

	"hark/app"
)

// TestRolesResolveWithWhatTheyNeed holds the role table to the splits
// the README documents: each list brings the roles it needs, in the
// order they start.
func TestRolesResolveWithWhatTheyNeed(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"all", []string{"store", "index", "router", "chat", "delivery", "web", "metrics"}},
		{"router", []string{"store", "index", "router"}},
		{"delivery,web", []string{"store", "index", "chat", "delivery", "web"}},
		{"web", []string{"store", "index", "web"}},
		{"router,metrics", []string{"store", "index", "router", "metrics"}},
	} {
		t.Run(tc.list, func(t *testing.T) {
			roles, err := New(nil, Options{}).Roles().Resolve(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if got := app.Table(roles).Names(); !slices.Equal(got, tc.want) {
				t.Errorf("--roles %s runs %v, want %v", tc.list, got, tc.want)
			}
		})
	}
	if got := RoleNames(); !slices.Equal(got, []string{"store", "index", "router", "chat", "delivery", "web", "metrics"}) {
		t.Errorf("RoleNames() = %v", got)
	}
}
