package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// table is a small role table that records what happens to its roles.
func table(log *[]string, failing string) Table {
	role := func(name string, needs ...string) Role {
		return Role{Name: name, Needs: needs,
			Start: func(context.Context) error {
				if name == failing {
					return errors.New("broken")
				}
				*log = append(*log, "start "+name)
				return nil
			},
			Stop: func() error { *log = append(*log, "stop "+name); return nil }}
	}
	return Table{role("store"), role("index"), role("router", "store", "index"), role("delivery", "store"), role("web", "store", "delivery")}
}

func TestResolveAddsWhatRolesNeedInStartOrder(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"", []string{"store", "index", "router", "delivery", "web"}},
		{"all", []string{"store", "index", "router", "delivery", "web"}},
		{"router", []string{"store", "index", "router"}},
		{"web", []string{"store", "delivery", "web"}},
		{" web , router ", []string{"store", "index", "router", "delivery", "web"}},
		{"delivery,delivery", []string{"store", "delivery"}},
	} {
		t.Run(tc.list, func(t *testing.T) {
			var log []string
			roles, err := table(&log, "").Resolve(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range roles {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResolveNamesTheRolesOfAnUnknownOne(t *testing.T) {
	var log []string
	_, err := table(&log, "").Resolve("router,mail")
	if err == nil || !strings.Contains(err.Error(), `unknown role "mail"`) || !strings.Contains(err.Error(), "store, index, router, delivery, web") {
		t.Errorf("got %v, want the unknown role and the known ones", err)
	}
}

func TestCheckRefusesANeedThatComesLater(t *testing.T) {
	bad := Table{{Name: "router", Needs: []string{"store"}}, {Name: "store"}}
	if err := bad.Check(); err == nil {
		t.Error("a role needing a later one passed")
	}
	if _, err := bad.Resolve("router"); err == nil {
		t.Error("resolved a bad table")
	}
}

func TestStartStopsInReverseAndUndoesAFailedStart(t *testing.T) {
	var log []string
	roles, _ := table(&log, "").Resolve("router")
	stop, err := Start(context.Background(), roles)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"start store", "start index", "start router", "stop router", "stop index", "stop store"}
	if !slices.Equal(log, want) {
		t.Errorf("got %v, want %v", log, want)
	}

	log = nil
	roles, _ = table(&log, "router").Resolve("router")
	if _, err := Start(context.Background(), roles); err == nil || !strings.Contains(err.Error(), "start router: broken") {
		t.Errorf("got %v, want the failing role named", err)
	}
	want = []string{"start store", "start index", "stop index", "stop store"}
	if !slices.Equal(log, want) {
		t.Errorf("got %v, want %v", log, want)
	}
}
