package filters

import (
	"slices"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Why is the rule verdicts of one user's filter on a message: the reason
// a notification it made was sent, kept with the notification. Unlike
// Explain it evaluates one filter, so the service can afford it for every
// match. It is nil when the user has no such active filter.
func (ix *Index) Why(env *bus.Envelope, desc *meta.Description, user, filter string) []Verdict {
	ix.mu.RLock()
	uf := ix.users[user]
	ix.mu.RUnlock()
	if uf == nil {
		return nil
	}
	i := slices.IndexFunc(uf.compiled, func(f *compiled) bool { return f.name == filter })
	if i < 0 {
		return nil
	}
	return verdicts(uf.compiled[i], rules.NewMessage(env, desc, ix.ownership()))
}

// Users is the names of the users with filters in the index, in the
// order their hits are reported.
func (ix *Index) Users() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	names := make([]string, len(ix.order))
	for i, uf := range ix.order {
		names[i] = uf.name
	}
	return names
}
