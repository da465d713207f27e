package meta

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"

	"github.com/dustin/go-humanize"
)

// A tmpl is a compiled template field: a constant, or a compiled
// template (see eval.go).
type tmpl struct {
	constant string
	body     node
	set      *templateSet
}

// newTemplateSet returns the set a file's templates share: its named
// templates, and the functions, with alias bound to the username aliases
// (for texts and objects that name users: meetbot's "threebean's
// meeting").
func newTemplateSet(aliases map[string]string) *templateSet {
	funcs := make(map[string]function, len(builtins)+len(templateFuncs)+1)
	for n, f := range builtins {
		funcs[n] = f
	}
	for n, f := range templateFuncs {
		funcs[n] = f
	}
	// Every one-value transform is a function too: {{ nvr .msg.build }}.
	for n, f := range oneValue {
		funcs[n] = fn1(f)
	}
	funcs["alias"] = fn1(func(name string) string { return aliasOf(aliases, name) })
	// include is compiled specially (it runs named templates); listing it
	// here lets the parser accept it.
	funcs["include"] = function{arity: 2}
	return &templateSet{named: map[string]node{}, funcs: funcs}
}

// addNamed parses and compiles named templates; the names are known
// before any body compiles, so they may call each other in any order.
func (ts *templateSet) addNamed(named []namedTemplate) error {
	trees := map[string]*parse.Tree{}
	for _, n := range named {
		parsed, err := ts.parse(n.name, n.src)
		if err != nil {
			return fmt.Errorf("parse template %q: %w", n.name, err)
		}
		for name, t := range parsed {
			trees[name] = t
			ts.named[name] = nil
		}
	}
	for name, t := range trees {
		body, err := ts.compileTree(t)
		if err != nil {
			return fmt.Errorf("compile template %q: %w", name, err)
		}
		ts.named[name] = body
	}
	return nil
}

// compileTemplate compiles one template field of a file.
func compileTemplate(name, src string, set *templateSet) (*tmpl, error) {
	if !strings.Contains(src, "{{") {
		return &tmpl{constant: src}, nil
	}
	// The field's own template is named so no named template can clash
	// with it ("link" is both a field and a fine name for a template).
	root := "field " + name
	trees, err := set.parse(root, src)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(trees) > 1 {
		return nil, errors.New("parse template: define named templates under the top-level templates key")
	}
	body, err := set.compileTree(trees[root])
	if err != nil {
		return nil, fmt.Errorf("compile template: %w", err)
	}
	return &tmpl{body: body, set: set}, nil
}

// execute renders the template over the envelope's fields. A template that
// would print an absent or null field, or that fails, renders as "": half a
// sentence is worse than none, and the failure is the message's, not ours.
// s is scratch state, reused across the templates of one message.
func (t *tmpl) execute(s *state, data map[string]any) string {
	if t == nil {
		return ""
	}
	if t.body == nil {
		return t.constant
	}
	s.root, s.set, s.frame, s.depth = data, t.set, 0, 0
	s.vars = append(s.vars[:0], any(data))
	s.args, s.out = s.args[:0], s.out[:0]
	if err := t.body(s, any(data)); err != nil {
		return ""
	}
	return string(s.out)
}

// statePool recycles execution states with their variable and argument
// stacks, so executing a template allocates only its output.
var statePool = sync.Pool{New: func() any {
	return &state{vars: make([]any, 0, 16), args: make([]any, 0, 16), out: make([]byte, 0, 256)}
}}

func getState() *state { return statePool.Get().(*state) }

func putState(s *state) {
	clear(s.vars[:cap(s.vars)])
	clear(s.args[:cap(s.args)])
	*s = state{vars: s.vars[:0], args: s.args[:0], out: s.out[:0]}
	statePool.Put(s)
}

// fn1, fn2 and fn3 adapt typed Go functions to template functions: each
// argument is converted once per call (string and int from JSON scalars,
// any as is), without reflection.
func fn1[A, R any](f func(A) R) function {
	return fn1e(func(x A) (R, error) { return f(x), nil })
}

func fn1e[A, R any](f func(A) (R, error)) function {
	call1 := func(a any) (any, error) {
		var err error
		x := conv[A](a, &err)
		if err != nil {
			return nil, err
		}
		return f(x)
	}
	return function{arity: 1, call1: call1, call: func(a []any) (any, error) { return call1(a[0]) }}
}

func fn2[A, B, R any](f func(A, B) R) function {
	return fn2e(func(x A, y B) (R, error) { return f(x, y), nil })
}

func fn2e[A, B, R any](f func(A, B) (R, error)) function {
	call2 := func(a, b any) (any, error) {
		var err error
		x, y := conv[A](a, &err), conv[B](b, &err)
		if err != nil {
			return nil, err
		}
		return f(x, y)
	}
	return function{arity: 2, call2: call2, call: func(a []any) (any, error) { return call2(a[0], a[1]) }}
}

func fn3[A, B, C, R any](f func(A, B, C) R) function {
	return function{arity: 3, call: func(a []any) (any, error) {
		var err error
		x, y, z := conv[A](a[0], &err), conv[B](a[1], &err), conv[C](a[2], &err)
		if err != nil {
			return nil, err
		}
		return f(x, y, z), nil
	}}
}

// conv is arg that records the first error in *err, so adapters convert
// all their arguments and check once.
func conv[T any](v any, err *error) T {
	t, e := arg[T](v)
	if e != nil && *err == nil {
		*err = e
	}
	return t
}

// arg converts a template argument to a Go parameter type.
func arg[T any](v any) (T, error) {
	var zero T
	var r any
	var err error
	switch any(zero).(type) {
	case string:
		r, err = toString(v)
	case int:
		r, err = toInt(v)
	default:
		t, _ := v.(T)
		return t, nil
	}
	if err != nil {
		return zero, err
	}
	return r.(T), nil
}

// templateFuncs are the functions (besides include and alias, bound per
// template) processor templates may call; FORMAT.md
// lists them. Subjects come last so they work in pipelines.
var templateFuncs = map[string]function{
	"trunc": fn2(func(n int, s string) string {
		if r := []rune(s); len(r) >= n {
			return string(r[:n]) + "..."
		}
		return s
	}),
	"cut": fn2(func(n int, s string) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n])
		}
		return s
	}),
	"tokens": fn3(func(start, end int, s string) string {
		// Python's ".".join(s.split(".")[start:end]).
		toks := strings.Split(s, ".")
		clamp := func(i int) int {
			if i < 0 {
				i += len(toks)
			}
			return min(max(i, 0), len(toks))
		}
		start, end = clamp(start), clamp(end)
		if start >= end {
			return ""
		}
		return strings.Join(toks[start:end], ".")
	}),
	"token": fn2(func(i int, s string) string {
		toks := strings.Split(s, ".")
		if i < 0 {
			i += len(toks)
		}
		if i < 0 || i >= len(toks) {
			return ""
		}
		return toks[i]
	}),
	"default": fn2(func(d, v any) any {
		if v == nil || v == "" {
			return d
		}
		return v
	}),
	"join": fn2(func(sep string, list any) string {
		l := toList(list)
		parts := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := scalar(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, sep)
	}),
	"pluck": fn2(func(key string, list any) []any {
		l := toList(list)
		out := make([]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				if v, ok := m[key]; ok {
					out = append(out, v)
				}
			}
		}
		return out
	}),
	"where": fn3(func(key, value string, list any) []any {
		return filterMaps(list, key, func(v string) bool { return v == value })
	}),
	"wherefold": fn3(func(key, value string, list any) []any {
		return filterMaps(list, key, func(v string) bool { return strings.EqualFold(v, value) })
	}),
	"nosuffix": fn2(func(suffix string, list any) []any {
		var out []any
		for _, e := range toList(list) {
			if s, ok := e.(string); ok && !strings.HasSuffix(s, suffix) {
				out = append(out, s)
			}
		}
		return out
	}),
	"keys": fn1(func(m any) []string {
		mm, _ := m.(map[string]any)
		return sortedKeys(mm)
	}),
	"hasKey": fn2(func(key string, m any) bool {
		mm, _ := m.(map[string]any)
		_, ok := mm[key]
		return ok
	}),
	"first": fn1(func(list any) any {
		if l := toList(list); len(l) > 0 {
			return l[0]
		}
		return ""
	}),
	"last": fn1(func(list any) any {
		if l := toList(list); len(l) > 0 {
			return l[len(l)-1]
		}
		return ""
	}),
	"series": fn1(series),
	"kindIs": fn2(func(kind string, v any) bool {
		switch v.(type) {
		case map[string]any:
			return kind == "map"
		case []any:
			return kind == "slice"
		case string:
			return kind == "string"
		case bool:
			return kind == "bool"
		case nil:
			return kind == "null"
		}
		_, ok := scalar(v)
		return ok && kind == "number"
	}),
	"py": fn1(func(v any) string {
		// Python's str() of a JSON value, for texts the reference formats.
		switch x := v.(type) {
		case nil:
			return "None"
		case bool:
			if x {
				return "True"
			}
			return "False"
		}
		if s, ok := scalar(v); ok {
			return s
		}
		return fmt.Sprint(v)
	}),
	"unwrap": fn2(func(key string, v any) any {
		// Services moved from "user": "ralph" to "user": {"name": "ralph"};
		// unwrap reads both, like the reference's isinstance(x, dict) checks.
		if m, ok := v.(map[string]any); ok {
			return m[key]
		}
		return v
	}),
	"capitalize": fn1(func(s string) string {
		// Python's str.capitalize: first character upper, the rest lower.
		for i, r := range s {
			return strings.ToUpper(string(r)) + strings.ToLower(s[i+len(string(r)):])
		}
		return s
	}),
	"isdigit": fn1(func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	}),
	"lastpart": fn2(func(sep, s string) string {
		if i := strings.LastIndex(s, sep); i >= 0 {
			return s[i+len(sep):]
		}
		return s
	}),
	"humanbytes": fn1e(func(n any) (string, error) {
		b, err := toUint(n)
		return humanize.Bytes(b), err
	}),
	"ibytes": fn1e(func(n any) (string, error) {
		b, err := toUint(n)
		return humanize.IBytes(b), err
	}),
	"mentions":   fn1(func(s string) []string { return appendMentions(nil, s) }),
	"split":      fn1(func(s string) []string { return appendFields(nil, s) }),
	"trimchars":  fn2(func(cutset, s string) string { return strings.Trim(s, cutset) }),
	"trimprefix": fn2(func(p, s string) string { return strings.TrimPrefix(s, p) }),
	"trimsuffix": fn2(func(x, s string) string { return strings.TrimSuffix(s, x) }),
	"replace":    fn3(func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) }),
	"contains":   fn2(func(sub, s string) bool { return strings.Contains(s, sub) }),
	"hasprefix":  fn2(func(p, s string) bool { return strings.HasPrefix(s, p) }),
	"hassuffix":  fn2(func(x, s string) bool { return strings.HasSuffix(s, x) }),
}

// toUint reads a byte count from a JSON number or its text.
func toUint(n any) (uint64, error) {
	s, ok := scalar(n)
	if !ok {
		return 0, fmt.Errorf("not a number: %v", n)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a byte count: %q", s)
	}
	return uint64(f), nil
}

// series writes a list as English the way fedmsg's list_to_series does:
// de-duplicated and sorted, "a", "a and b", "a, b, and c", "a, b, and 2
// others", "(nothing)".
func series(list any) string {
	const n = 3
	var items []string
	for _, e := range toList(list) {
		if s, ok := scalar(e); ok {
			items = append(items, s)
		}
	}
	if len(items) == 0 {
		return "(nothing)"
	}
	slices.Sort(items)
	items = slices.Compact(items)
	if len(items) == 1 {
		return items[0]
	}
	if len(items) > n {
		items = append(items[:n-1], fmt.Sprintf("%d others", len(items)-n+1))
	}
	conj := " and "
	if len(items) > 2 {
		conj = "," + conj
	}
	return strings.Join(items[:len(items)-1], ", ") + conj + items[len(items)-1]
}

// filterMaps keeps the maps of list whose key holds a scalar that keep
// accepts.
func filterMaps(list any, key string, keep func(string) bool) []any {
	l := toList(list)
	var out []any
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if v, ok := scalar(m[key]); ok && keep(v) {
			out = append(out, e)
		}
	}
	return out
}

// toList reads a JSON list, or the []string that split and mentions
// return, as []any; anything else is an empty list.
func toList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return nil
}
