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
	desc.Groups = set(slices.Clone(o.Groups))
}
