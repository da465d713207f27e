package filters

import (
	"slices"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Candidates returns how many filters the index evaluates for a message,
// so tests can check that it evaluates far fewer than all.
func (ix *Index) Candidates(env *bus.Envelope, desc *meta.Description) int {
	m := rules.NewMessage(env, desc, ix.ownership())
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(slices.Compact(ix.collect(m, nil)))
}
