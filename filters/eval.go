package filters

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"hark/rules"
)

// compiled is an active filter ready to evaluate. Everything but fired
// is immutable once the filter is in an index.
type compiled struct {
	user  *userFilters
	name  string
	pos   int    // position in the user's order
	ord   uint64 // user's seq and pos in one number: the reporting order
	dests []string
	rules []ruleRef
	// verify is what Match evaluates of a candidate: rules without the
	// anchor when reaching the filter through the anchor's postings
	// proves the anchor true.
	verify []ruleRef
	spec   *Filter
	// why is the spec's MatchedVerdicts as JSON, made once for a filter
	// with a Ref: every hit of it carries it.
	why    json.RawMessage
	once   bool
	fired  atomic.Bool
	anchor *slot // the rule the index files the filter under; nil: always evaluated
	// lastErr is the last error of one of the filter's rules, for its
	// owner to see: a rule that errors never matches.
	lastErr atomic.Pointer[RuleError]
}

type ruleRef struct {
	slot *slot
	id   int32 // slot.id, at hand: most results are already cached
	at   int32 // position in the filter's spec; rules are evaluated cheapest first
	// exact rules are decided by the index's postings, in Match, which
	// marks those a message makes true (see posting); Naive and
	// Explain evaluate them.
	exact  bool
	negate bool
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
	matched []*compiled
	// The budget of this match: each user's costly rules (regexes,
	// expressions) may take budget in all (0: no bound), and all stop
	// when done is closed. spent is what each user's took so far.
	budget time.Duration
	done   <-chan struct{}
	spent  map[*userFilters]time.Duration
	// running is the owner of the costly rule evaluated last, since
	// started; its time is charged when the next one starts.
	running *userFilters
	started time.Duration
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
	clear(s.matched)
	s.matched = s.matched[:0]
	s.budget, s.done, s.running = 0, nil, nil
	clear(s.spent)
	scratches.Put(s)
}

// take adds what a posting holds for a message: its filters as
// candidates, its exact rules as true. p may be nil.
func (s *scratch) take(p *posting) {
	if p == nil {
		return
	}
	s.cands = append(s.cands, p.filters...)
	for _, id := range p.exact {
		if id >= len(s.results) { // a rule added after this match began
			s.results = append(s.results, make([]uint8, id-len(s.results)+1)...)
		}
		if s.results[id] == unknown {
			s.results[id] = resTrue
			s.touched = append(s.touched, id)
		}
	}
}

// takeAll takes the postings of values.
func (s *scratch) takeAll(post map[string]*posting, values []string) {
	for _, v := range values {
		s.take(post[v])
	}
}

// result evaluates a rule once per message, for filter f.
func (s *scratch) result(f *compiled, r ruleRef, m *rules.Message, errs *errorCounter) uint8 {
	if int(r.id) < len(s.results) {
		if res := s.results[r.id]; res != unknown {
			return res
		}
	} else { // a rule added after this match began
		s.results = append(s.results, make([]uint8, int(r.id)-len(s.results)+1)...)
	}
	ok, err := s.eval(f, r.slot.rule, m)
	res := resFalse
	switch {
	case errors.Is(err, rules.ErrBudget):
		// Not cached: it says how much f's owner spent before, not what
		// the rule gives on this message, and another user sharing
		// the rule has a budget of their own.
		errs.addBudget()
		f.noteError(r, err)
		return resError
	case err != nil:
		res = resError
		errs.add(r.slot.rule.Kind)
		f.noteError(r, err)
	case ok:
		res = resTrue
	}
	s.results[r.id] = res
	s.touched = append(s.touched, int(r.id))
	return res
}

// eval evaluates a rule for filter f: a costly one within what is left
// of the budget of f's owner, charging them the time it took.
func (s *scratch) eval(f *compiled, r *rules.Rule, m *rules.Message) (bool, error) {
	if !r.Costly() || (s.budget <= 0 && s.done == nil) {
		return r.Eval(m)
	}
	if cancelled(s.done) {
		return false, errCancelled
	}
	var deadline time.Time
	if s.budget > 0 {
		// One clock reading per costly rule: it ends the previous one's
		// time, charged to its owner with the little cheap work done
		// since, and starts this one's.
		now := time.Since(epoch)
		if s.spent == nil {
			s.spent = map[*userFilters]time.Duration{}
		}
		if s.running != nil {
			s.spent[s.running] += now - s.started
			s.running = nil
		}
		left := s.budget - s.spent[f.user]
		if left <= 0 {
			return false, errOverBudget
		}
		s.running, s.started = f.user, now
		deadline = epoch.Add(now + left)
	}
	m.Limit(deadline, s.done)
	ok, err := r.Eval(m)
	m.Limit(time.Time{}, nil)
	return ok, err
}

// epoch is what the budget's clock readings are relative to: time.Since
// reads only the monotonic clock, at half the cost of time.Now, and it
// is read for every costly rule evaluated.
var epoch = time.Now()

var errCancelled = fmt.Errorf("%w: matching cancelled", rules.ErrBudget)

var errOverBudget = fmt.Errorf("%w: the owner's rules used up the time allowed per message", rules.ErrBudget)

// noteError keeps err as the last error of f's rule r.
func (f *compiled) noteError(r ruleRef, err error) {
	f.lastErr.Store(&RuleError{Filter: f.name, Rule: int(r.at), Error: err.Error(), At: time.Now()})
}

// holds evaluates rs, a filter's rules or what is left of them to
// verify: every rule must hold (negated rules must not), and a rule that
// errors fails the filter either way. With marked, exact rules are true
// when the postings marked them and false otherwise.
func (s *scratch) holds(f *compiled, rs []ruleRef, m *rules.Message, errs *errorCounter, marked bool) bool {
	for _, r := range rs {
		var res uint8
		if marked && r.exact {
			res = resFalse
			if int(r.id) < len(s.results) && s.results[r.id] == resTrue {
				res = resTrue
			}
		} else {
			res = s.result(f, r, m, errs)
		}
		if res == resError || (res == resTrue) == r.negate {
			return false
		}
	}
	return true
}

// matches evaluates all of a filter's rules; a filter without rules
// never matches.
func (s *scratch) matches(f *compiled, m *rules.Message, errs *errorCounter) bool {
	return len(f.rules) > 0 && s.holds(f, f.rules, m, errs, false)
}

// matchUser turns one user's filters, in the user's order, into hits:
// per destination, the first filter that matches. match says whether a
// filter does; it is only asked about filters that could add a hit. With
// consume, a one-shot filter that would produce a hit is claimed first,
// so exactly one message ever gets it; fired collects what was claimed.
func matchUser(fs []*compiled, match func(*compiled) bool, consume bool, hits []Hit, fired *[]*compiled) []Hit {
	start := len(hits)
	for _, f := range fs {
		if f.once && f.fired.Load() {
			continue
		}
		if !hasFresh(f.dests, hits[start:]) || !match(f) {
			continue
		}
		if f.once && consume {
			if !f.fired.CompareAndSwap(false, true) {
				continue // another message used it up first
			}
			*fired = append(*fired, f)
		}
		done := len(hits)
		for i, d := range f.dests {
			if !reported(d, hits[start:done]) {
				hits = append(hits, f.hit(i))
			}
		}
	}
	return hits
}

// hit is f's hit for its i-th destination.
func (f *compiled) hit(i int) Hit {
	h := Hit{User: f.user.name, Filter: f.name, Destination: f.dests[i]}
	if ref := &f.spec.Ref; ref.FilterID != 0 {
		h.UserID, h.FilterID, h.DestinationID, h.OneShot, h.why = ref.UserID, ref.FilterID, ref.DestinationIDs[i], f.once, &f.why
	}
	return h
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
