package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"hark/meta"
	"hark/store"
)

// Guided rule building: people pick an application and one of its events
// from what hark's processors know, or start from a named template of a
// common wish, instead of typing topics and app names by hand (a misspelt
// one silently matches nothing).

func init() {
	register((*Server).guideRoutes)
	funcs["eventValue"] = eventValue
	funcs["suggestList"] = suggestListOf
}

func (s *Server) guideRoutes(rt *Routes) {
	rt.Page("POST /filters/{id}/rules/pick", func(w http.ResponseWriter, r *http.Request) {
		s.finishEdit(w, r, func(r *http.Request, f *store.Filter) error {
			rule, err := s.pickedRule(r.PostFormValue("app"), r.PostFormValue("event"))
			if err != nil {
				return err
			}
			f.Rules = append(f.Rules, rule)
			return nil
		}, "Rule added.")
	})
	rt.API("GET /catalogue", func(*http.Request) (any, error) { return s.catalogue(), nil })
	rt.API("GET /filters/templates", func(*http.Request) (any, error) { return filterTemplates, nil })
}

// catalogue is the apps and events people can pick from.
func (s *Server) catalogue() []meta.App {
	if s.opts.Catalogue != nil {
		return s.opts.Catalogue()
	}
	return meta.Default().Catalogue()
}

// eventValue is how the editor's event picker names an event of app:
// "app topic:SUFFIX" or "app schema:NAME".
func eventValue(app string, e meta.Event) string {
	if e.Schema != "" {
		return app + " schema:" + e.Schema
	}
	return app + " topic:" + e.Match
}

// pickedRule is the rule for a picked app, or for a picked event of it
// (which implies the app): an event of a topic is a topic rule over any
// environment's prefix, one of a fedora-messaging schema an expression
// over the schema header.
func (s *Server) pickedRule(app, event string) (store.Rule, error) {
	apps := s.catalogue()
	if event == "" {
		if app == "" {
			return store.Rule{}, invalid("app", "choose an application or one of its events")
		}
		if !slices.ContainsFunc(apps, func(a meta.App) bool { return a.Name == app }) {
			return store.Rule{}, invalid("app", "hark knows no application %q", app)
		}
		return ruleOf("app", map[string]any{"names": []string{app}}), nil
	}
	for _, a := range apps {
		for _, e := range a.Events {
			if eventValue(a.Name, e) != event {
				continue
			}
			if e.Schema != "" {
				return ruleOf("expr", map[string]any{"expression": fmt.Sprintf("headers[%q] == %q", "fedora_messaging_schema", e.Schema)}), nil
			}
			return ruleOf("topic", map[string]any{"pattern": "*." + a.Name + "." + e.Match}), nil
		}
	}
	return store.Rule{}, invalid("event", "hark knows no event %q", event)
}

func ruleOf(kind string, args map[string]any) store.Rule {
	raw, err := json.Marshal(args)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return store.Rule{Kind: kind, Args: raw}
}

// A filterTemplate is a named common wish and the rules that grant it, so
// that a new user gets a working filter without learning the rule kinds.
type filterTemplate struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	About string       `json:"about"`
	Rules []store.Rule `json:"rules"`
}

var (
	ownedByMe   = ruleOf("owned-by", map[string]any{"users": []string{"@me"}})
	notByMe     = store.Rule{Kind: "agent", Args: json.RawMessage(`{"names":["@me"]}`), Negate: true}
	topicRule   = func(p string) store.Rule { return ruleOf("topic", map[string]any{"pattern": p}) }
	exprRule    = func(e string) store.Rule { return ruleOf("expr", map[string]any{"expression": e}) }
	kojiFailed  = 3 // koji's build state FAILED
	failedBuild = exprRule(fmt.Sprintf("msg?.new == %d", kojiFailed))
)

// filterTemplates are the wishes people most often ask FMN for. Topic
// patterns start with "*." so they match in every environment and on
// both buses (fedora-messaging keeps the fedmsg topics).
var filterTemplates = []filterTemplate{
	{"failed-builds", "Failed builds of my packages", "Koji builds of packages you own that failed.",
		[]store.Rule{ownedByMe, topicRule("*.buildsys.build.state.change"), failedBuild}},
	{"stable-updates", "Updates of my packages going stable", "Bodhi updates of packages you own that were pushed to stable.",
		[]store.Rule{ownedByMe, topicRule("*.bodhi.update.complete.stable")}},
	{"update-comments", "Comments on my updates", "Someone else commented on a Bodhi update you submitted.",
		[]store.Rule{topicRule("*.bodhi.update.comment"), exprRule("msg?.comment?.update?.user?.name == owner"), notByMe}},
	{"upstream-releases", "New upstream releases of my packages", "Anitya found a new upstream version of a package you own.",
		[]store.Rule{ownedByMe, topicRule("*.anitya.project.version.update*")}},
	{"mentions", "Mentions of me", "Any message that names you, except what you did yourself.",
		[]store.Rule{ruleOf("user", map[string]any{"names": []string{"@me"}}), notByMe}},
	{"koschei-failures", "Koschei failures of my packages", "Koschei found that a package you own no longer builds.",
		[]store.Rule{ownedByMe, topicRule("*.koschei.package.state.change"), exprRule(`msg?.new == "failing"`)}},
}

func findTemplate(id string) (filterTemplate, bool) {
	i := slices.IndexFunc(filterTemplates, func(t filterTemplate) bool { return t.ID == id })
	if i < 0 {
		return filterTemplate{}, false
	}
	return filterTemplates[i], true
}

// newFilter is a new filter of user: active, and sent to every confirmed
// destination the user has, so that it works at once.
func (s *Server) newFilter(r *http.Request, userID int64, name string, rules []store.Rule) (store.Filter, error) {
	dests, err := s.store.ListDestinations(r.Context(), userID)
	if err != nil {
		return store.Filter{}, err
	}
	f := store.Filter{UserID: userID, Name: name, Active: true, Position: maxFilters, Rules: slices.Clone(rules)}
	for _, d := range dests {
		if d.Confirmed && d.Enabled {
			f.DestinationIDs = append(f.DestinationIDs, d.ID)
		}
	}
	return s.saveFilter(r, f)
}

// filterFromTemplate makes the template's filter, named after it unless
// name is given.
func (s *Server) filterFromTemplate(r *http.Request, id, name string) (store.Filter, error) {
	t, ok := findTemplate(id)
	if !ok {
		return store.Filter{}, invalid("template", "choose one of the templates (%s)", templateIDs())
	}
	if name == "" {
		name = t.Name
	}
	return s.newFilter(r, userOf(r).ID, name, t.Rules)
}

func templateIDs() string {
	ids := make([]string, len(filterTemplates))
	for i, t := range filterTemplates {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// filterWarnings say what keeps f from sending anything, in words and
// with what to do about it.
func (s *Server) filterWarnings(f store.Filter, dests []store.Destination) []string {
	var warn []string
	if !f.Active {
		warn = append(warn, "This filter is off: turn it on under Filters for it to send anything.")
	}
	chosen := 0
	for _, d := range dests {
		if !slices.Contains(f.DestinationIDs, d.ID) {
			continue
		}
		chosen++
		if !d.Confirmed {
			warn = append(warn, fmt.Sprintf("%s %s is not confirmed yet: nothing goes there until you confirm it under Destinations.", d.Kind, d.Address))
		}
	}
	if chosen == 0 {
		warn = append(warn, "This filter sends to no destination: choose one under \"Send to\" below, or nothing it matches reaches you.")
	}
	if slices.ContainsFunc(f.Rules, func(r store.Rule) bool { return r.Kind == "owned-by" || r.Kind == "group-owned" }) && !s.hasOwnership() {
		warn = append(warn, "This hark has no package ownership data (owners.source in its configuration), so \"Packages owned by\" rules match nothing: ask its admin, or use a \"Package\" rule naming your packages.")
	}
	return warn
}

// hasOwnership says whether package ownership data is loaded, without
// which owned-by and group-owned rules match nothing.
func (s *Server) hasOwnership() bool {
	if s.opts.Owners == nil {
		return false
	}
	o := s.opts.Owners()
	if o == nil {
		return false
	}
	if v := reflect.ValueOf(o); v.Kind() == reflect.Pointer && v.IsNil() {
		return false
	}
	if c, ok := o.(interface{ Packages() int }); ok {
		return c.Packages() > 0
	}
	return true
}
