package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"hark/bus"
	"hark/meta"
	"hark/rules"
	"hark/store"
)

// "Not like this": every notification offers to exclude its kind of
// message (its topic, its app or one of its packages) from the filter
// that sent it. The page shows, for each way, how many of the filter's
// notifications of the last week it would have stopped; saving adds the
// negated rule to the filter.

func init() { register((*Server).excludeRoutes) }

// excludeWindow is how far back an exclusion's preview counts.
const excludeWindow = 7 * 24 * time.Hour

// maxExcludePreview bounds how many of a filter's messages a preview
// reads.
const maxExcludePreview = 2000

func (s *Server) excludeRoutes(rt *Routes) {
	rt.Page("GET /notifications/{id}/exclude", s.show(s.excludeView))
	rt.Page("POST /notifications/{id}/exclude", func(w http.ResponseWriter, r *http.Request) {
		x, choice, err := s.exclude(r, r.PostFormValue("by"))
		s.finishWith(w, r, err, fmt.Sprintf("/filters/%d", x.Filter.ID), s.excludeView,
			fmt.Sprintf("Filter %q no longer sends %s.", x.Filter.Name, choice.Label))
	})
	rt.API("GET /notifications/{id}/exclude", func(r *http.Request) (any, error) {
		x, err := s.exclusions(r)
		return x.Choices, err
	})
	rt.API("POST /notifications/{id}/exclude", func(r *http.Request) (any, error) {
		var in struct {
			By string `json:"by"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		x, _, err := s.exclude(r, in.By)
		if err != nil {
			return nil, err
		}
		return s.filterJSONOf(r, x.Filter)
	})
}

// exclusion is one way to stop a kind of message.
type exclusion struct {
	By    string     `json:"by"`    // "topic", "app" or "package:NAME"
	Label string     `json:"label"` // what it stops, in words
	Rule  store.Rule `json:"rule"`  // the negated rule it adds
	Stops int        `json:"stops"` // of the filter's messages of the last week
}

// exclusionPage is what the "not like this" page shows.
type exclusionPage struct {
	Notification store.Notification
	Summary      string
	Filter       store.Filter
	Recent       int // the filter's messages of the last week
	Choices      []exclusion
}

// exclusions loads the path's notification, its message and filter, and
// the ways to exclude that message with their previews.
func (s *Server) exclusions(r *http.Request) (exclusionPage, error) {
	var x exclusionPage
	n, err := ownObject(r, s.store.NotificationByID, func(n store.Notification) int64 { return n.UserID })
	if err != nil {
		return x, err
	}
	x.Notification = n
	if n.FilterID == 0 {
		return x, &Problem{Status: http.StatusGone, Message: "the filter that sent this notification has been deleted"}
	}
	if x.Filter, err = s.store.FilterByID(r.Context(), n.FilterID); err != nil {
		return x, err
	}
	msgs, err := s.store.MessagesByKey(r.Context(), []string{n.MsgKey})
	if err != nil {
		return x, err
	}
	m, ok := msgs[n.MsgKey]
	if !ok {
		return x, &Problem{Status: http.StatusGone, Message: "this message is no longer in the history, so hark cannot tell what it was like"}
	}
	var desc meta.Description
	if err := json.Unmarshal(m.Description, &desc); err != nil {
		return x, fmt.Errorf("decode description of %s: %w", m.Key, err)
	}
	x.Summary = firstOf(desc.Subtitle, desc.Title, m.Topic)
	if !strings.ContainsAny(m.Topic, `*?[\`) {
		x.Choices = append(x.Choices, exclusion{By: "topic", Label: "messages of the topic " + m.Topic,
			Rule: negated(ruleOf("topic", map[string]any{"pattern": m.Topic}))})
	}
	if desc.App != "" {
		x.Choices = append(x.Choices, exclusion{By: "app", Label: "anything from " + desc.App,
			Rule: negated(ruleOf("app", map[string]any{"names": []string{desc.App}}))})
	}
	for _, p := range desc.Packages {
		x.Choices = append(x.Choices, exclusion{By: "package:" + p, Label: "anything about the package " + p,
			Rule: negated(ruleOf("package", map[string]any{"names": []string{p}}))})
	}
	return x, s.countStops(r, &x)
}

// countStops fills each choice's Stops: how many of the filter's
// messages of the last week its rule would have stopped.
func (s *Server) countStops(r *http.Request, x *exclusionPage) error {
	owner, err := s.store.UserByID(r.Context(), x.Filter.UserID)
	if err != nil {
		return err
	}
	msgs, err := s.store.FilterMessagesSince(r.Context(), x.Filter.UserID, x.Filter.ID, s.now().Add(-excludeWindow), maxExcludePreview)
	if err != nil {
		return err
	}
	x.Recent = len(msgs)
	var own rules.Ownership
	if s.hasOwnership() {
		own = s.opts.Owners()
	}
	compiled := make([]*rules.Rule, len(x.Choices))
	for i, c := range x.Choices {
		if compiled[i], err = rules.Compile(c.Rule.Kind, c.Rule.Args, owner.Name); err != nil {
			return fmt.Errorf("compile exclusion %s: %w", c.By, err)
		}
	}
	for _, m := range msgs {
		env, err := bus.Decode(m.Envelope)
		if err != nil {
			continue // an unreadable message stops nothing
		}
		var desc meta.Description
		if json.Unmarshal(m.Description, &desc) != nil {
			continue
		}
		msg := rules.NewMessage(env, &desc, own)
		for i, rule := range compiled {
			// The compiled rule is the positive one: it is true for
			// what the negated rule stops.
			if hit, err := rule.Eval(msg); err == nil && hit {
				x.Choices[i].Stops++
			}
		}
	}
	return nil
}

// exclude adds the chosen exclusion to the notification's filter.
func (s *Server) exclude(r *http.Request, by string) (exclusionPage, exclusion, error) {
	x, err := s.exclusions(r)
	if err != nil {
		return x, exclusion{}, err
	}
	i := slices.IndexFunc(x.Choices, func(c exclusion) bool { return c.By == by })
	if i < 0 {
		return x, exclusion{}, invalid("by", "choose what to stop: its topic, its application or one of its packages")
	}
	choice := x.Choices[i]
	if slices.ContainsFunc(x.Filter.Rules, func(r store.Rule) bool {
		return r.Kind == choice.Rule.Kind && r.Negate && string(r.Args) == string(choice.Rule.Args)
	}) {
		return x, choice, nil // already excluded: saying so again is harmless
	}
	f := x.Filter
	f.Rules = append(slices.Clone(f.Rules), choice.Rule)
	x.Filter, err = s.saveFilter(r, f)
	return x, choice, err
}

func (s *Server) excludeView(r *http.Request) (string, View, error) {
	x, err := s.exclusions(r)
	if err != nil {
		return "", View{}, err
	}
	return "exclude.html", View{Title: "Not like this", Data: x}, nil
}

func negated(r store.Rule) store.Rule { r.Negate = true; return r }

// firstOf is the first of vals that is not empty.
func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
