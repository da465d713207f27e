package filters

import (
	"slices"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Why is, for each hit, the rule verdicts of the filter that made it on
// env: the reason the notification was sent, kept with it. Unlike
// Explain it evaluates only those filters, on one shared view of the
// message, so the service can afford it for every match. A one-shot
// filter that fired on this very message has left the index; its rules
// are compiled afresh from its spec.
func (ix *Index) Why(env *bus.Envelope, desc *meta.Description, hits []Hit) [][]Verdict {
	m := rules.NewMessage(env, desc, ix.ownership())
	out := make([][]Verdict, len(hits))
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for i, h := range hits {
		uf := ix.users[h.User]
		if uf == nil {
			continue
		}
		if j := slices.IndexFunc(uf.compiled, func(f *compiled) bool { return f.name == h.Filter }); j >= 0 {
			out[i] = verdicts(uf.compiled[j], m)
			continue
		}
		if j := slices.IndexFunc(uf.specs, func(f Filter) bool { return f.Name == h.Filter }); j >= 0 {
			out[i] = specVerdicts(uf.specs[j], h.User, m)
		}
	}
	return out
}

// specVerdicts evaluates a filter's rules compiled for owner; a rule that
// no longer compiles gets its error as verdict.
func specVerdicts(f Filter, owner string, m *rules.Message) []Verdict {
	out := make([]Verdict, len(f.Rules))
	for i, spec := range f.Rules {
		v := Verdict{Kind: spec.Kind, Args: spec.Args, Negate: spec.Negate}
		r, err := rules.Compile(spec.Kind, spec.Args, owner)
		var val bool
		if err == nil {
			val, err = r.Eval(m)
		}
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Value, v.Pass = val, val != spec.Negate
		}
		out[i] = v
	}
	return out
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
