package rules

import (
	"encoding/json"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
)

// Selectivity of the indexable kinds: lower means fewer messages pass,
// so an index prefers filing a filter under such a rule.
const (
	selectName     = 1  // per name: package, user, agent, owner, group
	selectTopic    = 2  // an exact topic
	selectApp      = 10 // per name: apps are few and busy
	selectMaxTopic = 50 // a topic prefix: 50 minus its length, at least selectApp
)

// Costs of evaluation, cheapest first.
const (
	costLookup = iota // names in a sorted set
	costGlob
	costPackageRegex
	costTextRegex
	costExpr
)

var catalogue = []Kind{
	{
		Name:    "topic",
		Title:   "Topic",
		Help:    "The message's whole topic matches a glob: '*' is any run of characters including dots, '?' one character, [set] and [!set] one character in or out of the set. Example: org.fedoraproject.prod.bodhi.update.*",
		Schema:  patternSchema("An fnmatch glob over the whole topic"),
		compile: compileTopic,
	},
	{
		Name:    "app",
		Title:   "Application",
		Help:    "The message comes from one of these applications (bodhi, buildsys, pagure, ...).",
		Schema:  namesSchema("names", "Application names"),
		compile: namesRule("names", FieldApp, selectApp, nil, func(m *Message) []string { return one(m.Desc.App) }),
	},
	{
		Name:    "severity",
		Title:   "Severity",
		Help:    "The publisher's severity is one of these levels: debug, info, warning, error. Messages from the ZeroMQ bus have none and count as info.",
		Schema:  severitySchema,
		compile: compileSeverity,
	},
	{
		Name:    "package",
		Title:   "Package",
		Help:    "The message is about one of these packages.",
		Schema:  namesSchema("names", "Package names"),
		compile: namesRule("names", FieldPackage, selectName, nil, func(m *Message) []string { return m.Desc.Packages }),
	},
	{
		Name:    "package-regex",
		Title:   "Package pattern",
		Help:    "Any of the message's packages matches a regular expression (RE2 syntax, unanchored: use ^ and $ to anchor).",
		Schema:  patternSchema("An RE2 regular expression"),
		compile: regexRule(costPackageRegex, matchPackages),
	},
	{
		Name:    "user",
		Title:   "User",
		Help:    "The message refers to one of these users. @me is the filter's owner.",
		Schema:  namesSchema("names", "FAS user names, or @me"),
		compile: namesRule("names", FieldUser, selectName, nil, func(m *Message) []string { return m.Desc.Usernames }),
	},
	{
		Name:    "agent",
		Title:   "Acting user",
		Help:    "The user who acted (commented, built, pushed) is one of these. @me is the filter's owner; negate it to leave out your own actions.",
		Schema:  namesSchema("names", "FAS user names, or @me"),
		compile: namesRule("names", FieldAgent, selectName, nil, func(m *Message) []string { return one(m.Desc.Agent) }),
	},
	{
		Name:    "owned-by",
		Title:   "Packages owned by",
		Help:    "One of the message's packages is owned by one of these users, directly or through one of their groups. @me is the filter's owner.",
		Schema:  namesSchema("users", "FAS user names, or @me"),
		compile: namesRule("users", FieldOwner, selectName, nil, (*Message).OwnerUsers),
	},
	{
		Name:    "group-owned",
		Title:   "Packages owned by group",
		Help:    "One of the message's packages is owned by one of these groups (names without @).",
		Schema:  namesSchema("groups", "FAS group names, without @"),
		compile: namesRule("groups", FieldGroup, selectName, nil, (*Message).OwnerGroups),
	},
	{
		Name:    "regex",
		Title:   "Message text",
		Help:    "The JSON of the whole message (keys sorted, compact, accents as typed) matches a regular expression (RE2 syntax, unanchored).",
		Schema:  patternSchema("An RE2 regular expression"),
		compile: compileTextRegex,
	},
	{
		Name:  "expr",
		Title: "Expression",
		Help: "A boolean expr-lang expression over topic, app, msg (the payload), usernames, packages, agent, msg_id, timestamp, owner, " +
			"severity (\"debug\", \"info\", \"warning\" or \"error\") and headers (the AMQP headers; empty for ZeroMQ messages). " +
			"Example: app == \"bodhi\" && msg?.update?.status == \"stable\". Reading a missing key is an error and the filter does not match: use ?. and ??.",
		Schema:  json.RawMessage(`{"type":"object","required":["expression"],"additionalProperties":false,"properties":{"expression":{"type":"string","minLength":1,"description":"A boolean expr-lang expression"}}}`),
		compile: compileExpr,
	},
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func namesSchema(arg, desc string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"object","required":[%q],"additionalProperties":false,"properties":{%q:{"type":"array","minItems":1,"items":{"type":"string","minLength":1},"description":%q}}}`, arg, arg, desc))
}

func patternSchema(desc string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"object","required":["pattern"],"additionalProperties":false,"properties":{"pattern":{"type":"string","minLength":1,"description":%q}}}`, desc))
}

// namesRule builds the compiler of a kind whose argument is a list of
// names and which is true when the message's values (from values, sorted
// as meta.Description promises) include one of them. allowed, when not
// nil, is the closed set the names must be taken from.
func namesRule(arg string, field Field, selectivity int, allowed []string, values func(*Message) []string) func(json.RawMessage, string) (*Rule, error) {
	return func(raw json.RawMessage, owner string) (*Rule, error) {
		var args map[string][]string
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
		names, ok := args[arg]
		for k := range args {
			if k != arg {
				return nil, fmt.Errorf("args: unknown argument %q (want %q)", k, arg)
			}
		}
		if !ok || len(names) == 0 {
			return nil, fmt.Errorf("args.%s: at least one name is needed", arg)
		}
		resolved := make([]string, 0, len(names))
		for i, n := range names {
			switch {
			case allowed != nil && !slices.Contains(allowed, n):
				return nil, fmt.Errorf("args.%s[%d]: %q is not one of %s", arg, i, n, strings.Join(allowed, ", "))
			case n == Me && field != FieldGroup:
				if owner == "" {
					return nil, fmt.Errorf("args.%s[%d]: @me needs a filter owner", arg, i)
				}
				n = owner
			case strings.TrimSpace(n) == "":
				return nil, fmt.Errorf("args.%s[%d]: empty name", arg, i)
			case strings.HasPrefix(n, "@"):
				return nil, fmt.Errorf("args.%s[%d]: %q: names are written without '@' (only @me is a placeholder)", arg, i, n)
			}
			resolved = append(resolved, n)
		}
		slices.Sort(resolved)
		resolved = slices.Compact(resolved)
		r := &Rule{
			Key:         key(resolved),
			Selectivity: selectivity * len(resolved),
			Exact:       true,
			eval:        func(m *Message) (bool, error) { return intersects(resolved, values(m)), nil },
		}
		for _, n := range resolved {
			r.Hints = append(r.Hints, Hint{Field: field, Value: n})
		}
		return r, nil
	}
}

// intersects reports whether two sorted sets share an element, searching
// the larger with the elements of the smaller: a package has few owners
// but a rule may list many, and the reverse.
func intersects(a, b []string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); found {
			return true
		}
	}
	return false
}

func decodePattern(raw json.RawMessage) (string, error) {
	var args struct {
		Pattern *string `json:"pattern"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return "", err
	}
	if args.Pattern == nil || *args.Pattern == "" {
		return "", fmt.Errorf("args.pattern: missing or empty")
	}
	return *args.Pattern, nil
}

func compileTopic(raw json.RawMessage, _ string) (*Rule, error) {
	pattern, err := decodePattern(raw)
	if err != nil {
		return nil, err
	}
	g, err := CompileGlob(pattern)
	if err != nil {
		return nil, fmt.Errorf("args.pattern: %w", err)
	}
	r := &Rule{
		Key:  key(pattern),
		Cost: costGlob,
		eval: func(m *Message) (bool, error) { return g.Match(m.Env.Topic), nil },
	}
	switch prefix, exact := g.Prefix(); {
	case exact:
		r.Hints, r.Selectivity, r.Exact = []Hint{{FieldTopic, prefix}}, selectTopic, true
	case prefix != "":
		r.Hints, r.Selectivity = []Hint{{FieldTopicPrefix, prefix}}, max(selectMaxTopic-len(prefix), selectApp)
	}
	return r, nil
}

// regexRule builds the compiler of a kind whose argument is an RE2
// pattern applied to something of the message by match, within the
// message's limit.
func regexRule(cost int, match func(*Message, *boundedRegexp) (bool, error)) func(json.RawMessage, string) (*Rule, error) {
	return func(raw json.RawMessage, _ string) (*Rule, error) {
		pattern, err := decodePattern(raw)
		if err != nil {
			return nil, err
		}
		re, err := compileBounded(pattern)
		if err != nil {
			return nil, fmt.Errorf("args.pattern: %w", err)
		}
		return &Rule{
			Key:  key(pattern),
			Cost: cost,
			eval: func(m *Message) (bool, error) { return match(m, re) },
		}, nil
	}
}

// matchPackages is the package-regex rule: any of the message's
// packages matches.
func matchPackages(m *Message, re *boundedRegexp) (bool, error) {
	for _, p := range m.Desc.Packages {
		if ok, err := re.matchString(m, p); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// compileTextRegex compiles the regex rule, which runs over the whole
// message: the costliest rule per message after expr, so it first looks
// for a literal the pattern requires, and it searches the message's
// tokens rather than its text when that gives the same answer.
func compileTextRegex(raw json.RawMessage, owner string) (*Rule, error) {
	pattern, err := decodePattern(raw)
	if err != nil {
		return nil, err
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl) // as regexp.Compile parses
	if err != nil {
		return nil, fmt.Errorf("args.pattern: %w", err)
	}
	lf, hasLiteral := requiredLiteral(parsed)
	// A pattern without a literal may match the empty string, which the
	// tokens of an empty envelope would not show.
	text := (*Message).Text
	if hasLiteral && tokenLocal(parsed) {
		text = (*Message).tokens
	}
	r, err := regexRule(costTextRegex, func(m *Message, re *boundedRegexp) (bool, error) { return re.match(m, text(m)) })(raw, owner)
	if err != nil {
		return nil, err
	}
	if hasLiteral {
		full := r.eval
		r.eval = func(m *Message) (bool, error) {
			if !lf.mayMatch(m) {
				return false, nil
			}
			return full(m)
		}
	}
	return r, nil
}
