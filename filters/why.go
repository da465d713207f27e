package filters

// MatchedVerdicts is the rule verdicts of f on a message f matched: the
// reason a notification was sent, kept with it. A filter matches only
// when each of its rules passed without error, so each verdict follows
// from the rule alone: its value is the opposite of its negation. The
// router encodes them once per filter when it loads the filters, rather
// than evaluating the rules again for every match (some 20 µs a message
// with the benchmark's population).
func MatchedVerdicts(f Filter) []Verdict {
	out := make([]Verdict, len(f.Rules))
	for i, r := range f.Rules {
		out[i] = Verdict{Kind: r.Kind, Args: r.Args, Negate: r.Negate, Value: !r.Negate, Pass: true}
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
