package filters

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

// Options configure an Index.
type Options struct {
	// Owners returns the ownership data to match with now; it is called
	// once per message. nil means no ownership data: owned-by and
	// group-owned rules never match.
	Owners func() rules.Ownership
	// OnFire is called when Match uses up a one-shot filter, after the
	// filter has left the index, so the store can deactivate it too.
	OnFire func(user, filter string)
	// Budget is how long one user's regex and expression rules may run
	// on one message in all (0: no bound); past it the rest of their
	// rules fail as not matched, so that no one's rules delay everyone
	// else's notifications by more than this.
	Budget time.Duration
}

// Index matches a message against every user's active filters. Each
// filter is filed under one of its positive indexable rules (the most
// selective: a package, a user, an owner rather than an app), since a
// message lacking what that rule needs cannot match the filter; filters
// without such a rule are evaluated for every message. Candidates are
// then verified in full. Changes are incremental: replacing one user's
// filters touches only that user's entries, under a write lock held for
// the few map edits, never for compiling.
//
// An Index is safe for concurrent use.
type Index struct {
	opts Options

	// wmu serializes writers and guards the rule table.
	wmu    sync.Mutex
	slots  map[string]*slot
	free   []int
	nextID atomic.Int64
	seq    uint64

	// mu guards what Match reads: users, order and the postings.
	mu         sync.RWMutex
	users      map[string]*userFilters
	order      []*userFilters // by seq: the order hits are reported in
	post       [rules.NumFields]map[string]*posting
	prefixLens []int       // distinct topic-prefix lengths, ascending
	prefixN    map[int]int // how many prefixes have each length
	always     []*compiled

	errs errorCounter
}

// userFilters is one user's filters: specs as given (for export), and the
// active ones compiled, in order.
type userFilters struct {
	name     string
	seq      uint64
	specs    []Filter
	compiled []*compiled
}

// New returns an empty index.
func New(opts Options) *Index {
	ix := &Index{opts: opts, slots: map[string]*slot{}, users: map[string]*userFilters{}, prefixN: map[int]int{}}
	for i := range ix.post {
		ix.post[i] = map[string]*posting{}
	}
	return ix
}

// SetUser replaces a user's filters with fs, in order. Either all of them
// compile and the user's entries are swapped, or nothing changes.
func (ix *Index) SetUser(user string, fs []Filter) error {
	if len(fs) >= 1<<24 {
		return fmt.Errorf("set filters of %s: %d filters is more than anyone needs", user, len(fs))
	}
	if err := Validate(fs); err != nil {
		return fmt.Errorf("set filters of %s: %w", user, err)
	}
	compiledRules := make([][]*rules.Rule, len(fs))
	whys := make([]json.RawMessage, len(fs))
	nrules := 0
	for i, f := range fs {
		if f.Ref.FilterID != 0 && len(f.Ref.DestinationIDs) != len(f.Destinations) {
			return fmt.Errorf("set filters of %s: filter %q: %d destination ids for %d destinations", user, f.Name, len(f.Ref.DestinationIDs), len(f.Destinations))
		}
		if !f.Active {
			continue
		}
		if f.Ref.FilterID != 0 {
			whys[i], _ = json.Marshal(MatchedVerdicts(f)) // plain verdicts: cannot fail
		}
		for j, spec := range f.Rules {
			r, err := rules.Compile(spec.Kind, spec.Args, user)
			if err != nil {
				return fmt.Errorf("set filters of %s: filter %q: rule %d: %w", user, f.Name, j+1, err)
			}
			compiledRules[i] = append(compiledRules[i], r)
		}
		nrules += len(f.Rules)
	}

	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	uf := &userFilters{name: user, specs: slices.Clone(fs)}
	if old := ix.users[user]; old != nil {
		uf.seq = old.seq // a user keeps their place in the reporting order
	} else {
		ix.seq++
		uf.seq = ix.seq
	}
	// One allocation for the user's filters and one for their rules keep
	// what a message reaches of one user together in memory.
	slab := make([]compiled, len(fs))
	refs := make([]ruleRef, 0, 2*nrules)
	var created []*slot
	for i, f := range uf.specs {
		if !f.Active {
			continue
		}
		c := &slab[i]
		*c = compiled{user: uf, name: f.Name, pos: i, ord: uf.seq<<24 | uint64(i), dests: f.Destinations, once: f.OneShot, spec: &uf.specs[i], why: whys[i]}
		start := len(refs)
		for j, r := range compiledRules[i] {
			sl, isNew := ix.intern(r)
			if isNew {
				created = append(created, sl)
			}
			refs = append(refs, ruleRef{slot: sl, id: int32(sl.id), at: int32(j), exact: r.Exact, negate: f.Rules[j].Negate})
		}
		c.rules = refs[start:len(refs):len(refs)]
		// AND does not care about order, and a false cheap rule spares
		// the regexes and expressions.
		slices.SortStableFunc(c.rules, func(a, b ruleRef) int { return cmp.Compare(a.slot.rule.Cost, b.slot.rule.Cost) })
		c.anchor = anchorOf(c)
		c.verify = c.rules
		if c.anchor != nil && c.anchor.rule.Exact {
			i := slices.IndexFunc(c.rules, func(r ruleRef) bool { return r.slot == c.anchor && !r.negate })
			start := len(refs)
			refs = append(refs, c.rules[:i]...)
			refs = append(refs, c.rules[i+1:]...)
			c.verify = refs[start:len(refs):len(refs)]
		}
		uf.compiled = append(uf.compiled, c)
	}

	ix.mu.Lock()
	old := ix.users[user]
	if old != nil {
		keepRuleErrors(old.compiled, uf.compiled)
		ix.unfile(old.compiled...)
		i := slices.Index(ix.order, old)
		ix.order[i] = uf
	} else {
		ix.order = append(ix.order, uf)
	}
	ix.users[user] = uf
	ix.fileExact(created)
	ix.file(uf.compiled...)
	ix.mu.Unlock()

	if old != nil {
		ix.release(old.compiled...)
	}
	return nil
}

// keepRuleErrors carries the last rule error of each filter whose rules
// did not change over to its new compilation, so editing one filter
// does not hide what went wrong with the others.
func keepRuleErrors(old, fs []*compiled) {
	for _, f := range fs {
		for _, o := range old {
			if o.name == f.name && sameRules(o.spec.Rules, f.spec.Rules) {
				f.lastErr.Store(o.lastErr.Load())
				break
			}
		}
	}
}

func sameRules(a, b []rules.Spec) bool {
	return slices.EqualFunc(a, b, func(x, y rules.Spec) bool {
		return x.Kind == y.Kind && x.Negate == y.Negate && string(x.Args) == string(y.Args)
	})
}

// RemoveUser drops a user and their filters.
func (ix *Index) RemoveUser(user string) {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	old := ix.users[user]
	if old == nil {
		ix.mu.Unlock()
		return
	}
	ix.unfile(old.compiled...)
	delete(ix.users, user)
	ix.order = slices.DeleteFunc(ix.order, func(u *userFilters) bool { return u == old })
	ix.mu.Unlock()
	ix.release(old.compiled...)
}

// Filters returns a user's filters as they stand, one-shots that fired
// now inactive; nil for an unknown user.
func (ix *Index) Filters(user string) []Filter {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if uf := ix.users[user]; uf != nil {
		return slices.Clone(uf.specs)
	}
	return nil
}

// Match is the per-message path: it returns the notifications to make
// for env, described by desc, and uses up the one-shot filters that
// produced one.
func (ix *Index) Match(env *bus.Envelope, desc *meta.Description) []Hit {
	return ix.match(nil, env, desc, true)
}

// MatchContext is Match whose rules stop, failing, once ctx is done: a
// shutdown does not wait for a costly rule. The hits of a match cut
// short are incomplete; callers check ctx.Err() before using them.
func (ix *Index) MatchContext(ctx context.Context, env *bus.Envelope, desc *meta.Description) []Hit {
	return ix.match(ctx.Done(), env, desc, true)
}

// DryRun is Match without side effects: one-shot filters stay armed.
// Previews and `hark match` use it.
func (ix *Index) DryRun(env *bus.Envelope, desc *meta.Description) []Hit {
	return ix.match(nil, env, desc, false)
}

func (ix *Index) match(done <-chan struct{}, env *bus.Envelope, desc *meta.Description, consume bool) []Hit {
	m := rules.NewMessage(env, desc, ix.ownership())
	defer m.Release()
	s := getScratch(int(ix.nextID.Load()))
	defer s.release()
	s.budget, s.done = ix.opts.Budget, done

	ix.mu.RLock()
	ix.collect(m, s)
	ix.mu.RUnlock()
	// Few candidates match, so each is verified on its own, in any
	// order, and only the matches are put in the users' order. A filter
	// reached through several names (a rule on two packages the message
	// both has) is verified again from the rule cache, and kept once.
	for _, f := range s.cands {
		if f.once && f.fired.Load() {
			continue
		}
		if len(f.rules) > 0 && s.holds(f, f.verify, m, &ix.errs, true) {
			s.matched = append(s.matched, f)
		}
	}
	if len(s.matched) == 0 || cancelled(done) {
		return nil // cut short: no one-shot filter is used up for it
	}
	slices.SortFunc(s.matched, func(a, b *compiled) int { return cmp.Compare(a.ord, b.ord) })
	matched := slices.Compact(s.matched)
	verified := func(*compiled) bool { return true }
	var hits []Hit
	var fired []*compiled
	for i := 0; i < len(matched); {
		j := i + 1
		for j < len(matched) && matched[j].user == matched[i].user {
			j++
		}
		hits = matchUser(matched[i:j], verified, consume, hits, &fired)
		i = j
	}
	for _, f := range fired {
		ix.retire(f)
	}
	return hits
}

func cancelled(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Naive evaluates every active filter of every user, without the index
// but with the same compiled rules and per-message rule cache: the
// baseline the index is measured and property-tested against. It has no
// side effects.
func (ix *Index) Naive(env *bus.Envelope, desc *meta.Description) []Hit {
	m := rules.NewMessage(env, desc, ix.ownership())
	defer m.Release()
	s := getScratch(int(ix.nextID.Load()))
	defer s.release()
	match := func(f *compiled) bool { return s.matches(f, m, &ix.errs) }
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var hits []Hit
	for _, uf := range ix.order {
		hits = matchUser(uf.compiled, match, false, hits, nil)
	}
	return hits
}

func (ix *Index) ownership() rules.Ownership {
	if ix.opts.Owners == nil {
		return nil
	}
	return ix.opts.Owners()
}

// posting is what the index keeps under one value of one field.
type posting struct {
	// filters are the filters filed under the value: their anchor has it.
	filters []*compiled
	// exact are the ids of the exact rules having the value among their
	// hints: a message having the value makes them true, and one having
	// none of their values false, so they are never evaluated.
	exact []int
}

// collect puts in s the filters a message could match, and marks the
// exact rules it makes true. Called with mu held.
func (ix *Index) collect(m *rules.Message, s *scratch) {
	topic := m.Env.Topic
	s.cands = append(s.cands, ix.always...)
	s.take(ix.post[rules.FieldTopic][topic])
	for _, n := range ix.prefixLens {
		if n > len(topic) {
			break
		}
		s.take(ix.post[rules.FieldTopicPrefix][topic[:n]])
	}
	d := m.Desc
	if d.App != "" {
		s.take(ix.post[rules.FieldApp][d.App])
	}
	if d.Agent != "" {
		s.take(ix.post[rules.FieldAgent][d.Agent])
	}
	if len(ix.post[rules.FieldSeverity]) > 0 {
		s.take(ix.post[rules.FieldSeverity][m.Severity()])
	}
	s.takeAll(ix.post[rules.FieldPackage], d.Packages)
	s.takeAll(ix.post[rules.FieldUser], d.Usernames)
	if len(d.Packages) > 0 {
		if len(ix.post[rules.FieldOwner]) > 0 {
			s.takeAll(ix.post[rules.FieldOwner], m.OwnerUsers())
		}
		if len(ix.post[rules.FieldGroup]) > 0 {
			s.takeAll(ix.post[rules.FieldGroup], m.OwnerGroups())
		}
	}
}

// anchorOf picks the rule a filter is filed under: the most selective
// positive rule that has hints. nil means the filter is evaluated for
// every message (only negations, regex, expr, leading-wildcard globs).
func anchorOf(c *compiled) *slot {
	var best *slot
	for _, r := range c.rules {
		if r.negate || r.slot.rule.Hints == nil {
			continue
		}
		if best == nil || r.slot.rule.Selectivity < best.rule.Selectivity {
			best = r.slot
		}
	}
	return best
}

// file adds filters to the postings. Called with mu held for writing.
func (ix *Index) file(fs ...*compiled) {
	for _, f := range fs {
		if f.anchor == nil {
			ix.always = append(ix.always, f)
			continue
		}
		for _, h := range f.anchor.rule.Hints {
			p := ix.posting(h)
			p.filters = append(p.filters, f)
			if h.Field == rules.FieldTopicPrefix {
				ix.countPrefix(len(h.Value), +1)
			}
		}
	}
}

// unfile removes filters from the postings. Called with mu held for
// writing.
func (ix *Index) unfile(fs ...*compiled) {
	for _, f := range fs {
		if f.anchor == nil {
			ix.always = remove(ix.always, f)
			continue
		}
		for _, h := range f.anchor.rule.Hints {
			p := ix.post[h.Field][h.Value]
			p.filters = remove(p.filters, f)
			ix.dropIfEmpty(h, p)
			if h.Field == rules.FieldTopicPrefix {
				ix.countPrefix(len(h.Value), -1)
			}
		}
	}
}

// fileExact adds new exact rules to the postings of their hints. Called
// with mu held for writing.
func (ix *Index) fileExact(slots []*slot) {
	for _, sl := range slots {
		if !sl.rule.Exact {
			continue
		}
		for _, h := range sl.rule.Hints {
			p := ix.posting(h)
			p.exact = append(p.exact, sl.id)
		}
	}
}

// unfileExact removes freed exact rules from the postings of their
// hints. Called with mu held for writing.
func (ix *Index) unfileExact(slots []*slot) {
	for _, sl := range slots {
		if !sl.rule.Exact {
			continue
		}
		for _, h := range sl.rule.Hints {
			p := ix.post[h.Field][h.Value]
			if i := slices.Index(p.exact, sl.id); i >= 0 {
				last := len(p.exact) - 1
				p.exact[i] = p.exact[last]
				p.exact = p.exact[:last]
			}
			ix.dropIfEmpty(h, p)
		}
	}
}

// posting returns the posting of a hint, creating it. Called with mu
// held for writing.
func (ix *Index) posting(h rules.Hint) *posting {
	p := ix.post[h.Field][h.Value]
	if p == nil {
		p = &posting{}
		ix.post[h.Field][h.Value] = p
	}
	return p
}

func (ix *Index) dropIfEmpty(h rules.Hint, p *posting) {
	if len(p.filters) == 0 && len(p.exact) == 0 {
		delete(ix.post[h.Field], h.Value)
	}
}

// remove deletes f from list in place, without keeping order (candidates
// are sorted anyway). Called with mu held for writing, so no Match is
// reading the list.
func remove(list []*compiled, f *compiled) []*compiled {
	i := slices.Index(list, f)
	if i < 0 {
		return list
	}
	last := len(list) - 1
	list[i] = list[last]
	list[last] = nil
	return list[:last]
}

func (ix *Index) countPrefix(n, delta int) {
	ix.prefixN[n] += delta
	if ix.prefixN[n] > 0 && delta > 0 && ix.prefixN[n] == delta {
		ix.prefixLens = append(ix.prefixLens, n)
		slices.Sort(ix.prefixLens)
	}
	if ix.prefixN[n] == 0 {
		delete(ix.prefixN, n)
		ix.prefixLens = slices.DeleteFunc(ix.prefixLens, func(l int) bool { return l == n })
	}
}

// intern returns the shared slot of a rule, creating it on first use;
// isNew says it did. Called with wmu held.
func (ix *Index) intern(r *rules.Rule) (s *slot, isNew bool) {
	if s := ix.slots[r.Key]; s != nil {
		s.refs++
		return s, false
	}
	s = &slot{rule: r, refs: 1}
	if n := len(ix.free); n > 0 {
		s.id, ix.free = ix.free[n-1], ix.free[:n-1]
	} else {
		s.id = int(ix.nextID.Add(1) - 1)
	}
	ix.slots[r.Key] = s
	return s, true
}

// release drops filters' references to their rules, freeing rules no
// filter uses any more. Called with wmu held, not mu. A freed id may be
// reused while a Match that began earlier is still running; that is safe
// because one Match's candidates all come from one consistent view, in
// which an id belongs to one rule.
func (ix *Index) release(fs ...*compiled) {
	var freed []*slot
	for _, f := range fs {
		for _, r := range f.rules {
			if r.slot.refs--; r.slot.refs == 0 {
				delete(ix.slots, r.slot.rule.Key)
				freed = append(freed, r.slot)
			}
		}
	}
	if len(freed) == 0 {
		return
	}
	ix.mu.Lock()
	ix.unfileExact(freed)
	ix.mu.Unlock()
	for _, sl := range freed {
		ix.free = append(ix.free, sl.id)
	}
}

// retire takes a one-shot filter that fired out of the index and marks
// it inactive in its user's filters, unless those were replaced
// meanwhile.
func (ix *Index) retire(f *compiled) {
	ix.wmu.Lock()
	uf := f.user
	current := ix.users[uf.name] == uf
	if current {
		ix.mu.Lock()
		ix.unfile(f)
		uf.compiled = slices.DeleteFunc(slices.Clone(uf.compiled), func(c *compiled) bool { return c == f })
		ix.mu.Unlock()
		f.spec.Active = false
		ix.release(f)
	}
	ix.wmu.Unlock()
	if current && ix.opts.OnFire != nil {
		ix.opts.OnFire(uf.name, f.name)
	}
}

// Stats describes an index, for the service's metrics.
type Stats struct {
	Users   int // users with filters
	Filters int // active filters
	Rules   int // distinct compiled rules
	Always  int // filters evaluated for every message
	// RuleErrors counts rule evaluations that failed, by kind.
	RuleErrors map[string]uint64
	// OverBudget counts rule evaluations stopped or not started because
	// their owner's budget for the message was spent or the match was
	// cancelled.
	OverBudget uint64
}

// Stats returns the index's current figures.
func (ix *Index) Stats() Stats {
	ix.wmu.Lock()
	rulesN := len(ix.slots)
	ix.wmu.Unlock()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := Stats{Users: len(ix.users), Rules: rulesN, Always: len(ix.always), RuleErrors: ix.errs.snapshot(), OverBudget: ix.errs.overBudget.Load()}
	for _, uf := range ix.order {
		st.Filters += len(uf.compiled)
	}
	return st
}

// errorCounter counts rule evaluation errors by kind. Errors are rare, so
// a mutex is cheap enough and keeps the snapshot consistent.
type errorCounter struct {
	mu         sync.Mutex
	byKind     map[string]uint64
	overBudget atomic.Uint64
}

func (c *errorCounter) addBudget() { c.overBudget.Add(1) }

func (c *errorCounter) add(kind string) {
	c.mu.Lock()
	if c.byKind == nil {
		c.byKind = map[string]uint64{}
	}
	c.byKind[kind]++
	c.mu.Unlock()
}

func (c *errorCounter) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.byKind))
	for k, v := range c.byKind {
		out[k] = v
	}
	return out
}
