package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"hark/rules"
	"hark/store"
)

// addDestination gives user 1 a destination straight in the store.
func addDestination(t *testing.T, ts *testServer, address string, confirmed bool) store.Destination {
	t.Helper()
	d, err := ts.store.SaveDestination(context.Background(), store.Destination{UserID: 1, Kind: store.KindEmail, Address: address, Confirmed: confirmed, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEveryTemplateMakesAnActiveFilterToConfirmedDestinations(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	confirmed := addDestination(t, ts, "alice@example.org", true)
	addDestination(t, ts, "alice@work.example.org", false)
	for _, tmpl := range filterTemplates {
		t.Run(tmpl.ID, func(t *testing.T) {
			resp := alice.post("/filters", url.Values{"form": {"new"}, "template": {tmpl.ID}, "name": {""}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", resp.StatusCode, resp.Body)
			}
			page := alice.get(resp.Header.Get("Location"))
			if !strings.Contains(page.Body, "notice-ok") || !strings.Contains(page.Body, html.EscapeString(fmt.Sprintf("Filter %q created.", tmpl.Name))) {
				t.Fatalf("no success notice on the new filter's page:\n%s", page.Body)
			}
			fs, err := ts.store.ListFilters(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(fs, func(f store.Filter) bool { return f.Name == tmpl.Name })
			if i < 0 {
				t.Fatalf("no filter named %q in %+v", tmpl.Name, fs)
			}
			f := fs[i]
			if !f.Active || !slices.Equal(f.DestinationIDs, []int64{confirmed.ID}) || len(f.Rules) != len(tmpl.Rules) {
				t.Errorf("filter = %+v, want active, sent to %d only, with the template's %d rules", f, confirmed.ID, len(tmpl.Rules))
			}
			for _, r := range f.Rules {
				if _, err := rules.Compile(r.Kind, r.Args, "alice"); err != nil {
					t.Errorf("rule %s does not compile: %v", r.Kind, err)
				}
			}
		})
	}
	if resp := alice.get("/api/v1/filters/templates"); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"failed-builds"`) {
		t.Errorf("templates API: status %d: %s", resp.StatusCode, resp.Body)
	}
}

func TestFlashNoticeIsShownOnce(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	resp := alice.post("/filters", url.Values{"form": {"new"}, "name": {"mine"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d: %s", resp.StatusCode, resp.Body)
	}
	next := resp.Header.Get("Location")
	if page := alice.get(next); !strings.Contains(page.Body, "created.") {
		t.Fatalf("first view has no notice:\n%s", page.Body)
	}
	if page := alice.get(next); strings.Contains(page.Body, "created.") {
		t.Fatalf("notice shown again on reload:\n%s", page.Body)
	}
}

func TestPickerAddsTheRuleOfAnAppOrEvent(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "picked", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/filters/%d", f.ID)
	editor := alice.get(path).Body
	for _, tc := range []struct {
		name     string
		form     url.Values
		kind     string
		wantArgs string
	}{
		{"an application", url.Values{"app": {"bodhi"}}, "app", `{"names":["bodhi"]}`},
		{"an event by topic", url.Values{"app": {"bodhi"}, "event": {"bodhi topic:update.comment"}}, "topic", `{"pattern":"*.bodhi.update.comment"}`},
		{"an event by schema", url.Values{"event": {"buildsys schema:koji_fedoramessaging.build.BuildStateChangeV1"}}, "expr",
			`{"expression":"headers[\"fedora_messaging_schema\"] == \"koji_fedoramessaging.build.BuildStateChangeV1\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v := tc.form.Get("event"); v != "" && !strings.Contains(editor, `value="`+html.EscapeString(v)+`"`) {
				t.Fatalf("the editor offers no event %q", v)
			}
			if resp := alice.post(path+"/rules/pick", tc.form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			got, err := ts.store.FilterByID(context.Background(), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := got.Rules[len(got.Rules)-1]
			if last.Kind != tc.kind || string(last.Args) != tc.wantArgs {
				t.Errorf("rule = %s %s, want %s %s", last.Kind, last.Args, tc.kind, tc.wantArgs)
			}
		})
	}
}

// TestGuidedFormErrorsSitByTheirFieldAndKeepWhatWasTyped covers the error
// path of every form this file adds, and the typed value kept by the
// filter forms.
func TestGuidedFormErrorsSitByTheirFieldAndKeepWhatWasTyped(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "mine", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/filters/%d", f.ID)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		field      string // the id of the input the error must follow
		want, kept string
	}{
		{"unknown template", "/filters", url.Values{"form": {"new"}, "template": {"nope"}, "name": {"typed name"}}, `id="templates"`, "choose one of the templates", `value="typed name"`},
		{"taken name", "/filters", url.Values{"form": {"new"}, "name": {"mine"}}, `id="filter-name"`, "already have a filter named", `value="mine"`},
		{"taken name on rename", path + "/rename", url.Values{"form": {fmt.Sprintf("rename-%d", f.ID)}, "name": {""}}, fmt.Sprintf(`id="rename-%d"`, f.ID), "is required", `value=""`},
		{"nothing picked", path + "/rules/pick", url.Values{}, `id="pick-app"`, "choose an application", ""},
		{"unknown app", path + "/rules/pick", url.Values{"app": {"nosuchapp"}}, `id="pick-app"`, "knows no application", ""},
		{"unknown event", path + "/rules/pick", url.Values{"event": {"bodhi topic:nosuch"}}, `id="pick-event"`, "knows no event", ""},
		{"bad rule value", path + "/rules", url.Values{"kind": {"regex"}, "value": {"(typed"}}, `id="rule-value"`, "missing closing )", `value="(typed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.post(tc.path, tc.form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400:\n%s", resp.StatusCode, resp.Body)
			}
			at := strings.Index(resp.Body, tc.field)
			errAt := strings.Index(resp.Body, `class="field-error"`)
			if at < 0 || errAt < at || !strings.Contains(resp.Body[errAt:], tc.want) {
				t.Fatalf("no field error %q after %s:\n%s", tc.want, tc.field, resp.Body)
			}
			if next := strings.Index(resp.Body[at:], "<form"); next >= 0 && errAt > at+next && !strings.Contains(tc.field, "templates") {
				t.Errorf("the error is not in the form of %s", tc.field)
			}
			if tc.kept != "" && !strings.Contains(resp.Body, tc.kept) {
				t.Errorf("typed value %s not kept", tc.kept)
			}
			if !strings.Contains(resp.Body, "notice-error") {
				t.Errorf("no error notice at the top")
			}
		})
	}
}

func TestEditorWarnsOfWhatCannotWork(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	unconfirmed := addDestination(t, ts, "alice@example.org", false)
	owned, _ := json.Marshal(map[string][]string{"users": {"@me"}})
	for _, tc := range []struct {
		name   string
		filter store.Filter
		want   []string
	}{
		{"no destination", store.Filter{Name: "a", Active: true}, []string{"sends to no destination"}},
		{"unconfirmed destination", store.Filter{Name: "b", Active: true, DestinationIDs: []int64{unconfirmed.ID}}, []string{"alice@example.org is not confirmed"}},
		{"owned-by without ownership data", store.Filter{Name: "c", Active: true, Rules: []store.Rule{{Kind: "owned-by", Args: owned}}},
			[]string{"no package ownership data"}},
		{"off", store.Filter{Name: "d"}, []string{"This filter is off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.filter.UserID = 1
			f, err := ts.store.SaveFilter(context.Background(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			page := alice.get(fmt.Sprintf("/filters/%d", f.ID))
			for _, w := range tc.want {
				if !strings.Contains(page.Body, w) {
					t.Errorf("no warning %q:\n%s", w, page.Body)
				}
			}
		})
	}
}

func TestEveryKindHasPlainHelpWithAnExample(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "help", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	page := alice.get(fmt.Sprintf("/filters/%d", f.ID)).Body
	for _, k := range rules.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			p, ok := plainHelp[k.Name]
			if !ok {
				t.Fatalf("kind %s has no plain help", k.Name)
			}
			if !strings.Contains(page, html.EscapeString(p[1])) {
				t.Errorf("the editor shows no example %q", p[1])
			}
			// The example is a value the kind accepts.
			kind, _ := findKind(k.Name)
			args, err := argsFromText(kind, p[1])
			if err == nil {
				_, err = rules.Compile(k.Name, args, "alice")
			}
			if err != nil {
				t.Errorf("example %q does not compile: %v", p[1], err)
			}
		})
	}
	advanced := page[strings.Index(page, `id="kinds-advanced"`):]
	for _, expert := range []string{"Expression", "Message text"} {
		if !strings.Contains(advanced, "<dt>"+expert+"</dt>") {
			t.Errorf("%s is not under Advanced", expert)
		}
	}
}
