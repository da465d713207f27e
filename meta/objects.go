package meta

import (
	"slices"

	"hark/bus"
)

// mergeObjects adds what the publisher declares the message is about
// (fedora-messaging's object headers) to what the processors found. The
// publisher knows its message best, so its objects always count; the
// processors' still do, since older publishers declare nothing or little.
// Users go through the aliases like extracted names; every package kind
// (rpm, container, module, flatpak) is a package to rules.
func (d *Describer) mergeObjects(desc *Description, o *bus.Objects) {
	if o == nil {
		return
	}
	desc.Usernames = d.aliasSet(append(desc.Usernames, o.Users...))
	desc.Packages = set(slices.Concat(desc.Packages, o.RPMs, o.Containers, o.Modules, o.Flatpaks))
	desc.Groups = set(append(desc.Groups, o.Groups...))
	desc.Containers = set(append(desc.Containers, o.Containers...))
	desc.Modules = set(append(desc.Modules, o.Modules...))
	desc.Flatpaks = set(append(desc.Flatpaks, o.Flatpaks...))
}

// appendKinds appends the containers, modules and flatpaks of desc to
// objects as paths ("containers/NAME"), so rules on objects see them.
func appendKinds(objects []string, desc *Description) []string {
	for _, k := range [...]struct {
		prefix string
		names  []string
	}{{"containers/", desc.Containers}, {"modules/", desc.Modules}, {"flatpaks/", desc.Flatpaks}} {
		for _, n := range k.names {
			objects = append(objects, k.prefix+n)
		}
	}
	return objects
}

// fallbackSummary is the one line of a fedora-messaging message no
// processor describes: what happened (the topic without its prefix and
// env) and, when known, who did it. A summary is never empty: it is the
// subject of emails and the line of chat notifications.
func fallbackSummary(desc *Description) string {
	if desc.Agent != "" {
		return desc.Title + " by " + desc.Agent
	}
	return desc.Title
}
