package meta

import (
	"slices"
	"strings"
	"testing"
)

func TestCatalogueListsTopicsAndSchemasPerApp(t *testing.T) {
	apps := Default().Catalogue()
	if !slices.IsSortedFunc(apps, func(a, b App) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("apps are not sorted by name")
	}
	byName := map[string]App{}
	for _, a := range apps {
		byName[a.Name] = a
	}
	for _, tc := range []struct {
		app  string
		want Event
	}{
		{"bodhi", Event{Match: "update.comment"}},
		{"buildsys", Event{Match: "build.state.change"}},
		{"buildsys", Event{Schema: "koji_fedoramessaging.build.BuildStateChangeV1"}},
	} {
		t.Run(tc.app+" "+tc.want.Match+tc.want.Schema, func(t *testing.T) {
			a, ok := byName[tc.app]
			if !ok {
				t.Fatalf("no app %q in the catalogue", tc.app)
			}
			if !slices.Contains(a.Events, tc.want) {
				t.Errorf("%s events = %v, want %v among them", tc.app, a.Events, tc.want)
			}
		})
	}
	if _, ok := byName[genericService]; ok {
		t.Errorf("the generic fallback %q is listed as an app", genericService)
	}
}
