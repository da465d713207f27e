package filters

import (
	"cmp"
	"slices"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Candidates returns how many filters the index evaluates for a message,
// so tests can check that it evaluates far fewer than all.
func (ix *Index) Candidates(env *bus.Envelope, desc *meta.Description) int {
	m := rules.NewMessage(env, desc, ix.ownership())
	s := getScratch(int(ix.nextID.Load()))
	defer s.release()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.collect(m, s)
	slices.SortFunc(s.cands, func(a, b *compiled) int { return cmp.Compare(a.ord, b.ord) })
	return len(slices.Compact(s.cands))
}
