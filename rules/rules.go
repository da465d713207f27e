// Package rules is the catalogue of rule kinds a filter is built from:
// each kind's name, title, help text and argument schema, the validation
// of its arguments, and Compile, which turns a rule into a predicate over
// one described message. Rules know nothing about users or storage; the
// filter owner's name is only used to resolve the "@me" placeholder.
package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"hark/bus"
	"hark/meta"
)

// Me is the placeholder that stands for the filter's owner in names.
const Me = "@me"

// Spec is a rule as stored, exported and edited: its kind, its JSON
// arguments and whether it is negated. Negation lives here rather than in
// the compiled Rule so that "x" and "not x" share one evaluation.
type Spec struct {
	Kind   string          `json:"kind"`
	Args   json.RawMessage `json:"args"`
	Negate bool            `json:"negate"`
}

// Field names a property of a message that an index can look up.
type Field uint8

// The fields a rule can be indexed on.
const (
	FieldTopic       Field = iota // the exact topic
	FieldTopicPrefix              // a literal prefix of the topic
	FieldApp
	FieldPackage
	FieldUser
	FieldAgent
	FieldOwner    // a user owning one of the message's packages
	FieldGroup    // a group owning one of the message's packages
	FieldSeverity // the name of the message's level: exactly one per message
	NumFields
)

// Hint says that a rule can only be true for messages having Value in
// Field. A rule's hints are alternatives: it is true only if the message
// has at least one of them.
type Hint struct {
	Field Field
	Value string
}

// Rule is a compiled rule: a predicate over one message. It is immutable
// and safe for concurrent use.
type Rule struct {
	// Kind is the rule kind's name.
	Kind string
	// Key identifies the predicate: two rules with the same key give the
	// same result on every message, so their result is computed once.
	Key string
	// Hints lists what a message must have for the rule to be true; nil
	// when the rule cannot be indexed (regex, expr, a leading-wildcard
	// glob).
	Hints []Hint
	// Exact says the hints are also sufficient: a message having one of
	// them makes the rule true (a list of names, an exact topic), so an
	// index that found a message under a hint need not evaluate it.
	Exact bool
	// Selectivity estimates how few messages the hints let through,
	// lower being more selective; an index uses it to choose which of a
	// filter's rules to file the filter under.
	Selectivity int
	// Cost ranks how expensive the rule is to evaluate (a set lookup, a
	// glob, a regex over the whole message, an expression), so a filter
	// can try its cheap rules first: a false one spares the others.
	Cost int

	eval func(*Message) (bool, error)
}

// Eval evaluates the rule on m. An error means the rule could not be
// evaluated (an expression reading a missing key); callers treat it as
// "the filter does not match", negated or not.
// A costly rule (see Costly) stops with ErrBudget once m's limit
// (see Limit) is reached.
func (r *Rule) Eval(m *Message) (bool, error) { return r.eval(m) }

// Costly says whether the rule's cost is in its author's hands (a regex,
// an expression) rather than a lookup's: such rules are what a budget
// per message bounds.
func (r *Rule) Costly() bool { return r.Cost >= costPackageRegex }

// Ownership answers who owns a package. It is implemented by
// owners.Snapshot; the index and the owned-by rules read it per message.
type Ownership interface {
	// Users returns the users owning pkg, directly or through a group
	// they belong to.
	Users(pkg string) []string
	// Groups returns the groups owning pkg, without '@'.
	Groups(pkg string) []string
}

// Message is one bus message with its description and the ownership data
// current when matching started, plus values derived from them on first
// use and then shared by every rule. A Message is used by one goroutine.
type Message struct {
	Env    *bus.Envelope
	Desc   *meta.Description
	Owners Ownership // nil when no ownership data is loaded

	text       []byte
	textDone   bool
	lower      []byte
	toks       []byte
	tokensDone bool
	lowerToks  []byte
	grams      *gramSet
	gramsDone  bool
	exprEnv    map[string]any
	envHas     envNeeds // the costly values exprEnv holds
	ownerUsers []string
	ownerGrps  []string
	ownersDone bool

	// The limit of evaluation (see Limit), and the state of the
	// expression running.
	until time.Duration // since epoch; 0: no deadline
	done  <-chan struct{}
	run   exprRun
}

// NewMessage prepares a message for rule evaluation.
func NewMessage(env *bus.Envelope, desc *meta.Description, owners Ownership) *Message {
	return &Message{Env: env, Desc: desc, Owners: owners}
}

// Text returns the envelope as compact JSON with sorted keys and UTF-8
// left unescaped: what the regex rule searches.
func (m *Message) Text() []byte {
	if !m.textDone {
		m.text = bus.CompactUTF8(m.Env.Fields)
		m.textDone = true
	}
	return m.text
}

// OwnerUsers returns the users owning any of the message's packages,
// sorted and without duplicates.
func (m *Message) OwnerUsers() []string {
	m.loadOwners()
	return m.ownerUsers
}

// OwnerGroups returns the groups owning any of the message's packages,
// sorted and without duplicates.
func (m *Message) OwnerGroups() []string {
	m.loadOwners()
	return m.ownerGrps
}

func (m *Message) loadOwners() {
	if m.ownersDone {
		return
	}
	m.ownersDone = true
	if m.Owners == nil {
		return
	}
	for _, p := range m.Desc.Packages {
		m.ownerUsers = append(m.ownerUsers, m.Owners.Users(p)...)
		m.ownerGrps = append(m.ownerGrps, m.Owners.Groups(p)...)
	}
	if len(m.Desc.Packages) > 1 {
		slices.Sort(m.ownerUsers)
		m.ownerUsers = slices.Compact(m.ownerUsers)
		slices.Sort(m.ownerGrps)
		m.ownerGrps = slices.Compact(m.ownerGrps)
	}
}

// Kind describes one rule kind for people and editors.
type Kind struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Help  string `json:"help"`
	// Schema is the JSON Schema of the kind's arguments.
	Schema json.RawMessage `json:"schema"`

	compile func(args json.RawMessage, owner string) (*Rule, error)
}

// Kinds returns the catalogue, in the order an editor should offer it.
func Kinds() []Kind { return slices.Clone(catalogue) }

// Compile validates a rule's arguments, resolves "@me" to owner and
// returns its predicate. Errors name the argument at fault.
func Compile(kind string, args json.RawMessage, owner string) (*Rule, error) {
	i := slices.IndexFunc(catalogue, func(k Kind) bool { return k.Name == kind })
	if i < 0 {
		return nil, fmt.Errorf("compile rule: unknown kind %q", kind)
	}
	r, err := catalogue[i].compile(args, owner)
	if err != nil {
		return nil, fmt.Errorf("compile %s rule: %w", kind, err)
	}
	r.Kind = kind
	r.Key = kind + ":" + r.Key // the same arguments mean different things in different kinds
	return r, nil
}

// decodeArgs decodes a rule's arguments strictly: unknown or missing
// arguments are errors, so a typo does not silently widen a filter.
func decodeArgs(args json.RawMessage, v any) error {
	if len(bytes.TrimSpace(args)) == 0 {
		return fmt.Errorf("args: missing")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("args: %w", err)
	}
	return nil
}

// key builds a rule's identity from its canonical arguments; Compile
// prefixes the kind.
func key(args any) string {
	b, _ := json.Marshal(args) // strings and slices of strings: cannot fail
	return string(b)
}
