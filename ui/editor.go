package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/meta"
	"hark/rules"
	"hark/schedule"
	"hark/store"
)

func init() { register((*Server).editorRoutes) }

// maxRuleValue bounds a rule's argument as typed (a regex or expression).
const maxRuleValue = 4096

func (s *Server) editorRoutes(rt *Routes) {
	rt.Page("GET /filters/{id}", s.show(s.editorView))
	back := func(r *http.Request) string { return "/filters/" + r.PathValue("id") }
	rt.Page("POST /filters/{id}/rules", func(w http.ResponseWriter, r *http.Request) {
		s.finishEdit(w, r, addRule, "Rule added.")
	})
	done := map[string]string{"negate": "Rule changed.", "delete": "Rule removed."}
	for action, change := range map[string]func(*store.Filter, int){
		"negate": func(f *store.Filter, i int) { f.Rules[i].Negate = !f.Rules[i].Negate },
		"delete": func(f *store.Filter, i int) { f.Rules = slices.Delete(f.Rules, i, i+1) },
	} {
		rt.Page("POST /filters/{id}/rules/{n}/"+action, func(w http.ResponseWriter, r *http.Request) {
			s.finishEdit(w, r, func(r *http.Request, f *store.Filter) error {
				i, err := strconv.Atoi(r.PathValue("n"))
				if err != nil || i < 0 || i >= len(f.Rules) {
					return errNotFound
				}
				change(f, i)
				return nil
			}, done[action])
		})
	}
	rt.Page("POST /filters/{id}/rules/{n}/edit", func(w http.ResponseWriter, r *http.Request) {
		s.finishEdit(w, r, editRule, "Rule saved.")
	})
	rt.Page("POST /filters/{id}/destinations", func(w http.ResponseWriter, r *http.Request) {
		err := s.changeFilter(r, func(r *http.Request, f *store.Filter) error {
			f.DestinationIDs = nil
			for _, v := range r.PostForm["destination"] {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return invalid("destinations", "%q is not a destination", v)
				}
				f.DestinationIDs = append(f.DestinationIDs, id)
			}
			return nil
		})
		s.finishWith(w, r, err, back(r), s.editorView, "Destinations saved.")
	})
}

// addRule appends the posted rule (kind, value, negate) to f.
func addRule(r *http.Request, f *store.Filter) error {
	value, err := text(r, "value", maxRuleValue)
	if err != nil {
		return err
	}
	kind, ok := findKind(r.PostFormValue("kind"))
	if !ok {
		return invalid("kind", "choose a rule kind from the list")
	}
	args, err := argsFromText(kind, value)
	if err != nil {
		return invalid("value", "%v", err)
	}
	f.Rules = append(f.Rules, store.Rule{Kind: kind.Name, Args: args, Negate: checked(r, "negate")})
	// The editing user stands in for the owner: "@me" compiles the
	// same for any name, and saveFilter compiles again as the owner.
	if _, err := rules.Compile(kind.Name, args, userOf(r).Name); err != nil {
		return invalid("value", "%v", err)
	}
	return nil
}

// editRule replaces the value of rule {n} of f with the posted one, in
// place: its kind and negation stay.
func editRule(r *http.Request, f *store.Filter) error {
	i, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || i < 0 || i >= len(f.Rules) {
		return errNotFound
	}
	field := "value-" + r.PathValue("n")
	value, err := text(r, field, maxRuleValue)
	if err != nil {
		return err
	}
	kind, ok := findKind(f.Rules[i].Kind)
	if !ok {
		return invalid(field, "this rule's kind is no longer known: remove it")
	}
	args, err := argsFromText(kind, value)
	if err != nil {
		return invalid(field, "%v", err)
	}
	if _, err := rules.Compile(kind.Name, args, userOf(r).Name); err != nil {
		return invalid(field, "%v", err)
	}
	f.Rules[i].Args = args
	return nil
}

// editorData is what the filter editor shows.
type editorData struct {
	Filter       store.Filter
	Rules        []ruleView
	Groups       []kindGroup
	Destinations []destinationChoice
	Apps         []meta.App
	Snooze       string // the filter's snooze as the form shows it
}

type ruleView struct {
	Index  int
	Title  string
	Value  string
	Negate bool
	// Editable rules take one text value the editor can change in place.
	Editable bool
	// LastError is the rule's last failure on a message, which made the
	// filter not match it: a missing key, or its time ran out.
	LastError string
	ErrorAt   time.Time
}

type destinationChoice struct {
	store.Destination
	Chosen bool
	Mode   string // the filter's own mode there; "" for the destination's
}

func (s *Server) editorView(r *http.Request) (string, View, error) {
	f, err := s.ownFilter(r)
	if err != nil {
		return "", View{}, err
	}
	dests, err := s.store.ListDestinations(r.Context(), f.UserID)
	if err != nil {
		return "", View{}, err
	}
	d := editorData{Filter: f, Groups: kindGroups(), Apps: s.catalogue()}
	for i, rule := range f.Rules {
		title, editable := rule.Kind, false
		if k, ok := findKind(rule.Kind); ok {
			_, _, _, err := argument(k)
			title, editable = k.Title, err == nil
		}
		d.Rules = append(d.Rules, ruleView{Index: i, Title: title, Value: rules.ArgsText(rule.Args), Negate: rule.Negate, Editable: editable})
	}
	for _, dest := range dests {
		choice := destinationChoice{Destination: dest, Chosen: slices.Contains(f.DestinationIDs, dest.ID)}
		if m, ok := f.Modes[dest.ID]; ok {
			choice.Mode = m.String()
		}
		d.Destinations = append(d.Destinations, choice)
	}
	d.Snooze = schedule.SnoozeText(f.SnoozeUntil, time.Now())
	if err := s.addRuleErrors(r, f, d.Rules); err != nil {
		return "", View{}, err
	}
	return "filter.html", View{Title: "Filter: " + f.Name, Data: d, Warnings: s.filterWarnings(f, dests)}, nil
}

// kindGroup is a heading of the rule catalogue in the editor.
type kindGroup struct {
	Label string
	Kinds []kindChoice
}

type kindChoice struct {
	rules.Kind
	Example string // the argument field's placeholder
	// Plain and Sample say what the kind does in everyday words and give
	// a value to type; the catalogue's Help stays for experts.
	Plain, Sample string
}

// plainHelp is each kind in everyday words with a value to type, for
// people who have never heard of globs or regular expressions. A kind
// missing here shows its catalogue help.
var plainHelp = map[string][2]string{
	"topic":         {"Messages whose topic looks like this; * stands for any text.", "*.bodhi.update.comment"},
	"app":           {"Messages sent by these applications.", "bodhi, koschei"},
	"severity":      {"Messages their sender marked with one of these levels (debug, info, warning, error).", "warning, error"},
	"package":       {"Messages about any of these packages.", "nethack, kernel"},
	"package-regex": {"Messages about a package whose name fits a pattern (a regular expression: ^ is the start, $ the end).", "^python-"},
	"user":          {"Messages that name any of these people; @me is you.", "@me, alice"},
	"agent":         {"Messages about something one of these people did; @me is you. Tick \"negate\" to leave out your own actions.", "@me"},
	"owned-by":      {"Messages about packages these people own, themselves or through a group; @me is you. Needs the package ownership data.", "@me"},
	"group-owned":   {"Messages about packages these groups own (group names without @).", "python-packagers-sig"},
	"regex":         {"The whole message, as JSON text, contains something that fits a regular expression.", `CVE-20[0-9][0-9]`},
	"expr":          {"A condition over the message's fields, for what no other kind can say.", `msg?.update?.status == "stable"`},
}

// groupOf sorts kinds under headings people look for them by; a kind not
// listed lands under "Other", so a new kind still shows up.
var groupOf = map[string]string{
	"topic": "Where it comes from", "app": "Where it comes from", "severity": "Where it comes from",
	"package": "What it is about", "package-regex": "What it is about", "owned-by": "What it is about", "group-owned": "What it is about",
	"user": "Who it involves", "agent": "Who it involves",
	"regex": "Advanced", "expr": "Advanced",
}

var groupOrder = []string{"Where it comes from", "What it is about", "Who it involves", "Advanced", "Other"}

func kindGroups() []kindGroup {
	groups := make([]kindGroup, len(groupOrder))
	for i, label := range groupOrder {
		groups[i].Label = label
	}
	for _, k := range rules.Kinds() {
		label, ok := groupOf[k.Name]
		if !ok {
			label = "Other"
		}
		i := slices.Index(groupOrder, label)
		plain, sample := k.Help, ""
		if p, ok := plainHelp[k.Name]; ok {
			plain, sample = p[0], p[1]
		}
		groups[i].Kinds = append(groups[i].Kinds, kindChoice{k, argDescription(k), plain, sample})
	}
	return slices.DeleteFunc(groups, func(g kindGroup) bool { return len(g.Kinds) == 0 })
}

func findKind(name string) (rules.Kind, bool) {
	kinds := rules.Kinds()
	i := slices.IndexFunc(kinds, func(k rules.Kind) bool { return k.Name == name })
	if i < 0 {
		return rules.Kind{}, false
	}
	return kinds[i], true
}

// argSchema is what the editor reads of a kind's JSON Schema: its one
// argument, a string or a list of strings.
type argSchema struct {
	Required   []string `json:"required"`
	Properties map[string]struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	} `json:"properties"`
}

// argument is the name, type and description of kind's one argument.
func argument(k rules.Kind) (name, typ, desc string, err error) {
	var sc argSchema
	if err := json.Unmarshal(k.Schema, &sc); err != nil || len(sc.Required) != 1 {
		return "", "", "", fmt.Errorf("rule kind %s has no single argument the editor can show", k.Name)
	}
	p := sc.Properties[sc.Required[0]]
	return sc.Required[0], p.Type, p.Description, nil
}

func argDescription(k rules.Kind) string {
	_, typ, desc, err := argument(k)
	if err != nil {
		return ""
	}
	if typ == "array" {
		return desc + ", separated by commas"
	}
	return desc
}

// argsFromText turns the editor's one text field into kind's arguments:
// a list is split at commas and spaces, a string is taken as typed.
func argsFromText(k rules.Kind, value string) (json.RawMessage, error) {
	name, typ, _, err := argument(k)
	if err != nil {
		return nil, err
	}
	if value == "" {
		return nil, fmt.Errorf("is required")
	}
	var v any = value
	if typ == "array" {
		v = strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	}
	return json.Marshal(map[string]any{name: v})
}

// addRuleErrors puts in views the last error matching had with each of
// f's rules, for its owner to see why the filter stays silent.
func (s *Server) addRuleErrors(r *http.Request, f store.Filter, views []ruleView) error {
	if s.opts.RuleErrors == nil {
		return nil
	}
	owner := userOf(r)
	if owner.ID != f.UserID {
		var err error
		if owner, err = s.store.UserByID(r.Context(), f.UserID); err != nil {
			return err
		}
	}
	for _, e := range s.opts.RuleErrors(owner.Name) {
		if e.Filter == f.Name && e.Rule >= 0 && e.Rule < len(views) {
			views[e.Rule].LastError, views[e.Rule].ErrorAt = e.Error, e.At
		}
	}
	return nil
}
