package filters

import "time"

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

// RuleError is the last error of one of a filter's rules, kept for the
// filter's owner: a rule that errors never matches, whether it read a
// missing key or ran out of its budget.
type RuleError struct {
	Filter string    `json:"filter"`
	Rule   int       `json:"rule"` // position in the filter's rules, from 0
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// RuleErrors returns the last rule error of each of a user's active
// filters that had one since its rules last changed, in the user's
// order.
func (ix *Index) RuleErrors(user string) []RuleError {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	uf := ix.users[user]
	if uf == nil {
		return nil
	}
	var out []RuleError
	for _, f := range uf.compiled {
		if e := f.lastErr.Load(); e != nil {
			out = append(out, *e)
		}
	}
	return out
}
