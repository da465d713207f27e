// Package preview answers "what would this filter have sent me?" over
// the stored recent history: newest first, a page at a time, each match
// with the verdict of every rule as the reason. It reads the history only
// where a match can be: the messages filed under one of the filter's
// positive indexable rules (a topic, app, package, user, agent or owner),
// or, for a filter with none, the messages whose stored text a regex rule
// can match; only those are decoded and evaluated. A preview runs the
// filter as its owner would, with "@me" resolved and the current
// ownership data, and has no side effects: a one-shot filter stays armed.
package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/rules"
	"hark/store"
)

// Store is what a preview reads: the history, whole or narrowed by the
// terms every message is filed under and by a test of its stored text.
type Store interface {
	ScanHistory(ctx context.Context, q store.Scan) (store.Scanned, error)
	TermValues(ctx context.Context, field string) ([]string, error)
}

// DefaultBudget is the time per message of a preview's costly rules
// when the engine sets none: matching's default.
const DefaultBudget = 50 * time.Millisecond

// DefaultLimit is how many matches a page holds when the request does
// not say.
const DefaultLimit = 50

// MaxLimit bounds a page, whatever the request says.
const MaxLimit = 500

// Engine runs previews. It is safe for concurrent use.
type Engine struct {
	store  Store
	owners func() rules.Ownership
	// Budget is how long the filter's regex and expression rules may
	// run on one message, as in matching (0: DefaultBudget). Set it
	// before the engine is used.
	Budget time.Duration
	// naive evaluates every message, newest first: the baseline the
	// benchmark measures the search against.
	naive bool
}

// New returns an engine over st; owners returns the ownership data to
// evaluate with (nil, or a nil result, means none: owned-by rules match
// nothing, as in matching).
func New(st Store, owners func() rules.Ownership) *Engine {
	if owners == nil {
		owners = func() rules.Ownership { return nil }
	}
	return &Engine{store: st, owners: owners}
}

// Request is one page of a preview.
type Request struct {
	// Owner is the filter's owner: "@me" in its rules is this user.
	Owner string
	Rules []rules.Spec
	// Before continues a preview after the previous page's Next; zero
	// starts at the newest message.
	Before store.Cursor
	// Limit is how many matches the page holds at most (DefaultLimit when
	// 0, at most MaxLimit).
	Limit int
}

// Match is one message the filter would have sent.
type Match struct {
	Key         string           `json:"msg_id"`
	Topic       string           `json:"topic"`
	Timestamp   time.Time        `json:"timestamp"`
	Description meta.Description `json:"description"`
	// Rules is every rule's verdict, in the filter's order: the reason.
	Rules []filters.Verdict `json:"rules"`
}

// Page is one page of a preview's matches, newest first.
type Page struct {
	Matches []Match `json:"matches"`
	// Next continues the preview after this page; it is nil when the
	// history holds no older message the filter could match.
	Next *store.Cursor `json:"next,omitempty"`
	// Plan says how the history was searched, for people wondering why
	// a preview is slow and for tests.
	Plan string `json:"plan"`
	// Examined counts the messages decoded and evaluated; Unreadable the
	// stored messages that could not be (they are skipped).
	Examined   int `json:"examined"`
	Unreadable int `json:"unreadable"`
	// RuleErrors counts the messages on which a rule failed (a missing
	// key, or its time per message ran out), which are not matches;
	// RuleError is the last such error, naming the rule.
	RuleErrors int    `json:"rule_errors,omitempty"`
	RuleError  string `json:"rule_error,omitempty"`
}

// Errors callers tell apart with errors.Is: both are the filter owner's
// to fix, not the service's.
var (
	// ErrNoRules is the preview of a filter without rules, which never
	// matches.
	ErrNoRules = errors.New("the filter has no rules, so it matches nothing")
	// ErrInvalid is a filter with a rule that does not compile; the
	// error names the rule.
	ErrInvalid = errors.New("invalid filter")
)

// Preview returns one page of what the filter would have sent. When ctx
// ends or the history cannot be read, it returns the matches found so far
// and a Next to go on from, with the error; a page is nil only for a
// filter that cannot be previewed.
func (e *Engine) Preview(ctx context.Context, req Request) (*Page, error) {
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	if len(req.Rules) == 0 {
		return nil, fmt.Errorf("preview: %w", ErrNoRules)
	}
	f, err := compile(req.Owner, req.Rules)
	if err != nil {
		return nil, fmt.Errorf("preview: %w: %w", ErrInvalid, err)
	}
	own := e.owners()
	budget := e.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	src, err := e.plan(ctx, f, own, budget)
	if err != nil {
		return &Page{Next: &req.Before}, fmt.Errorf("preview: %w", err)
	}
	page := &Page{Plan: src.describe}
	if src.none {
		return page, nil
	}
	q := store.Scan{Terms: src.terms, Before: req.Before, Keep: src.text}
	for q.Limit = 64; ; q.Limit = min(2*q.Limit, 4096) {
		read, err := e.store.ScanHistory(ctx, q)
		if err != nil {
			return page.stop(q.Before), fmt.Errorf("preview: %w", err)
		}
		last := q.Before // the newest message not yet examined comes after it
		for _, m := range read.Kept {
			if err := ctx.Err(); err != nil {
				return page.stop(last), fmt.Errorf("preview: %w", err)
			}
			match, ok, err := f.eval(ctx, m, own, budget)
			if ctx.Err() != nil {
				// Its rules were cut short: the next page examines it.
				return page.stop(last), fmt.Errorf("preview: %w", ctx.Err())
			}
			last = m.Cursor()
			var ruleErr *ruleError
			switch {
			case errors.As(err, &ruleErr):
				page.Examined++
				page.RuleErrors++
				page.RuleError = ruleErr.Error()
				continue
			case err != nil:
				page.Unreadable++
				continue
			}
			page.Examined++
			if !ok {
				continue
			}
			page.Matches = append(page.Matches, match)
			if len(page.Matches) == limit {
				return page.stop(m.Cursor()), nil
			}
		}
		if read.Read < q.Limit {
			return page, nil // the history has no more
		}
		q.Before = read.Last
		if err := ctx.Err(); err != nil {
			return page.stop(q.Before), fmt.Errorf("preview: %w", err)
		}
	}
}

// stop ends the page at cursor, which the next page continues after.
func (p *Page) stop(cursor store.Cursor) *Page {
	p.Next = &cursor
	return p
}

// filter is a compiled filter under preview.
type filter struct {
	specs []rules.Spec
	rules []*rules.Rule // in the specs' order
	order []int         // indices into rules, cheapest first
}

func compile(owner string, specs []rules.Spec) (*filter, error) {
	f := &filter{specs: specs, rules: make([]*rules.Rule, len(specs))}
	for i, s := range specs {
		r, err := rules.Compile(s.Kind, s.Args, owner)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		f.rules[i] = r
		f.order = append(f.order, i)
	}
	// AND does not care about order, and a false cheap rule spares the
	// regexes and expressions.
	slices.SortStableFunc(f.order, func(a, b int) int { return f.rules[a].Cost - f.rules[b].Cost })
	return f, nil
}

// ruleError is a rule that failed on a message: not a match.
type ruleError struct {
	rule int
	err  error
}

func (e *ruleError) Error() string { return fmt.Sprintf("rules[%d]: %v", e.rule, e.err) }

// eval decodes a stored message and evaluates the filter on it, as
// matching does, its costly rules within budget: every rule must pass,
// and a rule that errors (a *ruleError) fails the filter, negated or
// not. Any other error means the stored message is unreadable.
func (f *filter) eval(ctx context.Context, m store.Message, own rules.Ownership, budget time.Duration) (Match, bool, error) {
	env, err := bus.Decode(m.Envelope)
	if err != nil {
		return Match{}, false, fmt.Errorf("decode message %s: %w", m.Key, err)
	}
	var desc meta.Description
	if err := json.Unmarshal(m.Description, &desc); err != nil {
		return Match{}, false, fmt.Errorf("decode description of %s: %w", m.Key, err)
	}
	msg := rules.NewMessage(env, &desc, own)
	msg.Limit(deadline(ctx, budget), ctx.Done())
	verdicts := make([]filters.Verdict, len(f.rules))
	for _, i := range f.order {
		s := f.specs[i]
		v := filters.Verdict{Kind: s.Kind, Args: s.Args, Negate: s.Negate}
		val, err := f.rules[i].Eval(msg)
		if err != nil {
			return Match{}, false, &ruleError{rule: i, err: err}
		}
		v.Value, v.Pass = val, val != s.Negate
		if !v.Pass {
			return Match{}, false, nil
		}
		verdicts[i] = v
	}
	return Match{Key: m.Key, Topic: m.Topic, Timestamp: m.Timestamp, Description: desc, Rules: verdicts}, true, nil
}

// source is where a preview reads candidates from, and what it checks on
// their stored text before decoding them.
type source struct {
	terms    []store.Term      // nil: every message
	text     func([]byte) bool // nil: every message read is a candidate
	none     bool              // nothing in the history can match
	describe string
}

// plan chooses how to search the history for f: through the terms of its
// most selective positive indexable rule when it has one (a negated rule
// says nothing about what a match has), else through the stored text
// of its positive regex rules, else everything.
func (e *Engine) plan(ctx context.Context, f *filter, own rules.Ownership, budget time.Duration) (source, error) {
	if e.naive {
		return source{describe: "every message, naively"}, nil
	}
	best := -1
	for i, r := range f.rules {
		if f.specs[i].Negate || len(r.Hints) == 0 {
			continue
		}
		if best < 0 || r.Selectivity < f.rules[best].Selectivity {
			best = i
		}
	}
	if best >= 0 {
		terms, err := e.terms(ctx, f.rules[best].Hints, own)
		if err != nil {
			return source{}, err
		}
		src := source{terms: terms, describe: fmt.Sprintf("rules[%d] %s: %d terms", best, f.specs[best].Kind, len(terms)), none: len(terms) == 0}
		return src, src.checkText(ctx, f, budget)
	}
	src := source{describe: "every message"}
	return src, src.checkText(ctx, f, budget)
}

// deadline is when a message's costly rules must stop: budget from
// now, or the end of ctx if sooner.
func deadline(ctx context.Context, budget time.Duration) time.Time {
	d := time.Now().Add(budget)
	if end, ok := ctx.Deadline(); ok && end.Before(d) {
		return end
	}
	return d
}

// checkText makes the source check the stored text of each message
// against the filter's positive regex rules before decoding it: the
// history stores envelopes as the regex rule sees them, so a message
// whose text a regex rule cannot match is skipped undecoded.
func (src *source) checkText(ctx context.Context, f *filter, budget time.Duration) error {
	var texts []func([]byte) bool
	var which []string
	for i, s := range f.specs {
		if s.Kind != "regex" || s.Negate {
			continue
		}
		p, err := rules.TextPredicate(s.Args, func() (time.Time, <-chan struct{}) { return deadline(ctx, budget), ctx.Done() })
		if err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
		texts = append(texts, p)
		which = append(which, fmt.Sprintf("rules[%d]", i))
	}
	if len(texts) == 0 {
		return nil
	}
	src.describe += ", text checked against " + strings.Join(which, ", ")
	src.text = func(b []byte) bool {
		for _, p := range texts {
			if !p(b) {
				return false
			}
		}
		return true
	}
	return nil
}

// terms turns a rule's hints (alternatives) into the terms the history is
// filed under. Owners are not filed: they become the packages in the
// history that they own.
func (e *Engine) terms(ctx context.Context, hints []rules.Hint, own rules.Ownership) ([]store.Term, error) {
	var terms []store.Term
	var owners, groups []string
	for _, h := range hints {
		switch h.Field {
		case rules.FieldTopic:
			terms = append(terms, store.Term{Field: store.TermTopic, Value: h.Value})
		case rules.FieldTopicPrefix:
			terms = append(terms, store.Term{Field: store.TermTopic, Value: h.Value, Prefix: true})
		case rules.FieldApp:
			terms = append(terms, store.Term{Field: store.TermApp, Value: h.Value})
		case rules.FieldPackage:
			terms = append(terms, store.Term{Field: store.TermPackage, Value: h.Value})
		case rules.FieldUser:
			terms = append(terms, store.Term{Field: store.TermUser, Value: h.Value})
		case rules.FieldAgent:
			terms = append(terms, store.Term{Field: store.TermAgent, Value: h.Value})
		case rules.FieldOwner:
			owners = append(owners, h.Value)
		case rules.FieldGroup:
			groups = append(groups, h.Value)
		default:
			return nil, fmt.Errorf("plan preview: rule hint on unknown field %d", h.Field)
		}
	}
	if (len(owners) == 0 && len(groups) == 0) || own == nil {
		return terms, nil
	}
	pkgs, err := e.store.TermValues(ctx, store.TermPackage)
	if err != nil {
		return nil, fmt.Errorf("plan preview: %w", err)
	}
	for _, p := range pkgs {
		if intersects(own.Users(p), owners) || intersects(own.Groups(p), groups) {
			terms = append(terms, store.Term{Field: store.TermPackage, Value: p})
		}
	}
	return terms, nil
}

func intersects(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}
