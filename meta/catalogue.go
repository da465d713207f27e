package meta

import (
	"slices"
	"strings"
)

// An Event is one kind of message an app sends, as its processors know
// it: a topic suffix pattern (a fedmsg-era rule's match, such as
// "update.comment" or "update.request.*") or a fedora-messaging schema
// (such as "bodhi.update.comment.v1"). Exactly one of them is set.
type Event struct {
	Match  string `json:"match,omitempty"`
	Schema string `json:"schema,omitempty"`
}

// An App is an application of the bus with the events its processors
// describe, so that people can pick what they want instead of typing a
// topic.
type App struct {
	Name   string  `json:"name"`
	Events []Event `json:"events"`
}

// Catalogue lists the apps the processors know, by name, each with its
// events in the order its files list them, without repeats. Patterns of
// schemas (with wildcards) are left out: they name no one event.
func (d *Describer) Catalogue() []App {
	apps := make([]App, 0, len(d.services))
	for name, s := range d.services {
		a := App{Name: name}
		seen := map[Event]bool{}
		add := func(e Event) {
			if !seen[e] {
				seen[e] = true
				a.Events = append(a.Events, e)
			}
		}
		for _, r := range s.rules {
			for _, g := range r.globs {
				add(Event{Match: g.source})
			}
			for _, g := range r.schemas {
				if !strings.ContainsAny(g.source, `*?[\`) {
					add(Event{Schema: g.source})
				}
			}
		}
		apps = append(apps, a)
	}
	slices.SortFunc(apps, func(a, b App) int { return strings.Compare(a.Name, b.Name) })
	return apps
}
