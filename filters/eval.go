package filters

import (
	"sync"
	"sync/atomic"

	"hark/rules"
)

// compiled is an active filter ready to evaluate. Everything but fired
// is immutable once the filter is in an index.
type compiled struct {
	user   *userFilters
	name   string
	pos    int    // position in the user's order
	ord    uint64 // user's seq and pos in one number: the reporting order
	dests  []string
	rules  []ruleRef
	spec   *Filter
	once   bool
	fired  atomic.Bool
	anchor *slot // the rule the index files the filter under; nil: always evaluated
}

type ruleRef struct {
	slot   *slot
	negate bool
	at     int // position in the filter's spec; rules are evaluated cheapest first
}

// slot is one distinct compiled rule, shared by every filter using it.
// id indexes the per-message result cache.
type slot struct {
	id   int
	rule *rules.Rule
	refs int
}

// Per-message results of a slot, cached in a scratch.
const (
	unknown uint8 = iota
	resTrue
	resFalse
	resError
)

// scratch is the per-message state of one match: every distinct rule's
// result, computed at most once and shared by all filters.
type scratch struct {
	results []uint8
	touched []int
	cands   []*compiled
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func getScratch(slots int) *scratch {
	s := scratches.Get().(*scratch)
	if len(s.results) < slots {
		s.results = make([]uint8, slots+slots/4)
	}
	return s
}

func (s *scratch) release() {
	for _, id := range s.touched {
		s.results[id] = unknown
	}
	s.touched = s.touched[:0]
	clear(s.cands)
	s.cands = s.cands[:0]
	scratches.Put(s)
}

// result evaluates a rule once per message.
func (s *scratch) result(sl *slot, m *rules.Message, errs *errorCounter) uint8 {
	if sl.id >= len(s.results) { // a rule added after this match began
		s.results = append(s.results, make([]uint8, sl.id-len(s.results)+1)...)
	}
	if r := s.results[sl.id]; r != unknown {
		return r
	}
	ok, err := sl.rule.Eval(m)
	r := resFalse
	switch {
	case err != nil:
		r = resError
		errs.add(sl.rule.Kind)
	case ok:
		r = resTrue
	}
	s.results[sl.id] = r
	s.touched = append(s.touched, sl.id)
	return r
}

// matches evaluates a filter: every rule must hold (negated rules must
// not), a rule that errors fails the filter either way, and a filter
// without rules never matches.
func (s *scratch) matches(f *compiled, m *rules.Message, errs *errorCounter) bool {
	if len(f.rules) == 0 {
		return false
	}
	for _, r := range f.rules {
		res := s.result(r.slot, m, errs)
		if res == resError || (res == resTrue) == r.negate {
			return false
		}
	}
	return true
}

// matchUser turns one user's candidate filters, in the user's order, into
// hits: per destination, the first matching filter. With consume, a
// one-shot filter that would produce a hit is claimed first, so exactly
// one message ever gets it; fired collects what was claimed.
func (s *scratch) matchUser(fs []*compiled, m *rules.Message, errs *errorCounter, consume bool, hits []Hit, fired *[]*compiled) []Hit {
	start := len(hits)
	for _, f := range fs {
		if f.once && f.fired.Load() {
			continue
		}
		if !hasFresh(f.dests, hits[start:]) || !s.matches(f, m, errs) {
			continue
		}
		if f.once && consume {
			if !f.fired.CompareAndSwap(false, true) {
				continue // another message used it up first
			}
			*fired = append(*fired, f)
		}
		done := len(hits)
		for _, d := range f.dests {
			if !reported(d, hits[start:done]) {
				hits = append(hits, Hit{User: f.user.name, Filter: f.name, Destination: d})
			}
		}
	}
	return hits
}

// hasFresh reports whether a destination of dests has no hit yet; a
// filter whose destinations are all served cannot add a notification.
func hasFresh(dests []string, hits []Hit) bool {
	for _, d := range dests {
		if !reported(d, hits) {
			return true
		}
	}
	return false
}

func reported(dest string, hits []Hit) bool {
	for i := range hits {
		if hits[i].Destination == dest {
			return true
		}
	}
	return false
}
