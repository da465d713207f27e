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

// fmDefaults fills what a fedora-messaging message is never without,
// as fedora-messaging's base Message class does: a rule that writes no
// summary gets the topic. A summary or body the rule writes but that
// renders empty (a field it needs is missing) is a readable line from the
// topic and the agent, then that line: a summary is the subject of emails
// and the line of chat notifications. A rule that writes no body leaves
// Body empty: LongText makes the base class's from the envelope when it
// is shown, rather than every message paying for it and the history
// keeping the envelope twice.
func (d *Describer) fmDefaults(desc *Description, r *rule, env *bus.Envelope) {
	if desc.Subtitle == "" {
		if r.has&hasText(textSubtitle) == 0 {
			desc.Subtitle = env.Topic
		} else {
			desc.Subtitle = fallbackSummary(desc)
		}
	}
	if desc.Body == "" && r.has&hasText(textBody) != 0 {
		desc.Body = desc.Subtitle
	}
}

// LongText is what an email body says of env: the processor's body, else
// for a fedora-messaging message the base class's __str__ (its id, topic,
// headers and body as indented JSON, as FMN mails it), else "".
func LongText(env *bus.Envelope, desc *Description) string {
	if desc.Body != "" || env.Headers == nil {
		return desc.Body
	}
	return baseStr(env)
}

// fallbackSummary is what happened (the topic without its prefix and
// env) and, when known, who did it.
func fallbackSummary(desc *Description) string {
	if desc.Agent != "" {
		return desc.Title + " by " + desc.Agent
	}
	return desc.Title
}
