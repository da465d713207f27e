package filters

import (
	"encoding/json"
	"slices"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Verdict is one rule's outcome on one message: what users ask for when
// they cannot tell why a message arrived, or did not.
type Verdict struct {
	Kind   string          `json:"kind"`
	Args   json.RawMessage `json:"args"`
	Negate bool            `json:"negate"`
	// Value is the rule's own result, before negation.
	Value bool `json:"value"`
	// Pass says whether the rule let the filter through.
	Pass  bool   `json:"pass"`
	Error string `json:"error,omitempty"`
}

// Explanation is one active filter's outcome on one message.
type Explanation struct {
	User    string `json:"user"`
	Filter  string `json:"filter"`
	Matched bool   `json:"matched"`
	// Candidate says whether the index evaluates the filter for this
	// message at all; a filter that is not a candidate cannot match.
	Candidate bool      `json:"candidate"`
	Rules     []Verdict `json:"rules"`
}

// Explain evaluates every rule of every active filter on a message, in
// the users' order, without side effects. It is slow by design (no
// index, no short cut) and meant for previews and `hark match --explain`.
func (ix *Index) Explain(env *bus.Envelope, desc *meta.Description) []Explanation {
	m := rules.NewMessage(env, desc, ix.ownership())
	s := getScratch(int(ix.nextID.Load()))
	defer s.release()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.collect(m, s)
	cands := s.cands
	var out []Explanation
	for _, uf := range ix.order {
		for _, f := range uf.compiled {
			e := Explanation{User: uf.name, Filter: f.name, Candidate: slices.Contains(cands, f), Rules: verdicts(f, m)}
			e.Matched = len(e.Rules) > 0
			for _, v := range e.Rules {
				e.Matched = e.Matched && v.Pass
			}
			out = append(out, e)
		}
	}
	return out
}

// verdicts evaluates every rule of f on m, in the filter's order.
func verdicts(f *compiled, m *rules.Message) []Verdict {
	out := make([]Verdict, len(f.rules))
	for _, r := range f.rules {
		spec := f.spec.Rules[r.at]
		v := Verdict{Kind: spec.Kind, Args: spec.Args, Negate: spec.Negate}
		val, err := r.slot.rule.Eval(m)
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Value, v.Pass = val, val != r.negate
		}
		out[r.at] = v
	}
	return out
}
