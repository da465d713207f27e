package rules

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// What expr bounds by itself is the size of ranges, arrays and maps an
// expression builds; not string +, join or upper, which a few nodes turn
// into gigabytes ("let s = s + s" thirty times), nor the time nested
// loops take (three nested all() over 1..1000: a billion steps). So the
// sandbox rewrites every compiled expression: string + and the builtins
// that allocate in proportion to their output become twins that charge
// what they are about to allocate to the run before allocating it, and
// every closure body (all, any, map, filter...) first counts a step,
// which also watches the message's limit. A run over a budget fails with
// ErrBudget: the rule is not matched.
const (
	exprMaxSteps = 1_000_000 // closure iterations per run
	exprMaxBytes = 4 << 20   // bytes of text (and 16 per array slot) built per run
	// exprCheckEvery is how many steps go between two checks of the
	// message's limit: a step is a few hundred nanoseconds at least.
	exprCheckEvery = 16
)

// exprRunKey is the environment entry holding the run's state. It is not
// an identifier, so only the sandbox's rewriting can name it.
const exprRunKey = "hark run"

// exprRun is the budget of one expression run.
type exprRun struct {
	m     *Message
	steps int
	bytes int
}

func (r *exprRun) tick() error {
	r.steps++
	if r.steps > exprMaxSteps {
		return fmt.Errorf("%w: more than %d loop steps", ErrBudget, exprMaxSteps)
	}
	if r.steps%exprCheckEvery == 0 {
		return r.m.Spent()
	}
	return nil
}

// charge accounts for n bytes about to be allocated.
func (r *exprRun) charge(n int) error {
	if n < 0 || n > exprMaxBytes-r.bytes {
		return fmt.Errorf("%w: builds more than %d bytes", ErrBudget, exprMaxBytes)
	}
	r.bytes += n
	return nil
}

// remaining is how many bytes the run may still build.
func (r *exprRun) remaining() int { return exprMaxBytes - r.bytes }

// Names of the sandbox's functions; like exprRunKey, not identifiers.
const (
	fnTick    = "hark tick"
	fnAdd     = "hark add"
	fnMatches = "hark matches"
	boundedFn = "hark " // + the name of the builtin it bounds
)

// slotBytes is what an array slot is charged: an interface value.
const slotBytes = 16

// boundedBuiltins are the whitelisted builtins whose output can outgrow
// their input, and what each charges before running: its output's size.
var boundedBuiltins = map[string]func(r *exprRun, args []any) (int, error){
	"string": func(r *exprRun, args []any) (int, error) { return formattedSize(args[0], r.remaining()), nil },
	"upper":  stringArgSize,
	"lower":  stringArgSize,
	"join": func(r *exprRun, args []any) (int, error) {
		sep := ""
		if len(args) > 1 {
			sep, _ = args[1].(string)
		}
		return joinedSize(args[0], sep, r.remaining()), nil
	},
	"split": func(_ *exprRun, args []any) (int, error) {
		s, _ := args[0].(string)
		sep, _ := args[1].(string)
		n := utf8.RuneCountInString(s)
		if sep != "" {
			n = strings.Count(s, sep) + 1
		}
		if len(args) > 2 {
			if k, ok := args[2].(int); ok && k >= 0 {
				n = min(n, k)
			}
		}
		return n * slotBytes, nil
	},
	"uniq":   lenSize,
	"keys":   lenSize,
	"values": lenSize,
}

func stringArgSize(_ *exprRun, args []any) (int, error) {
	s, _ := args[0].(string)
	// A case change grows text by half at most, but strings.Map turns
	// each byte of invalid UTF-8 (a slice through a rune) into a
	// three-byte U+FFFD.
	return len(s) * 3, nil
}

func lenSize(_ *exprRun, args []any) (int, error) {
	v := reflect.ValueOf(args[0])
	switch v.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return v.Len() * slotBytes, nil
	}
	return 0, nil
}

// formattedSize is about how long string() makes v, counted only until
// it passes limit, so that measuring costs no more than the budget.
func formattedSize(v any, limit int) int {
	n := 0
	var walk func(any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch v := v.(type) {
		case string:
			n += len(v) + 1
		case []any:
			n += 2
			for _, e := range v {
				walk(e)
			}
		case []string:
			n += 2
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			n += 5
			for k, e := range v {
				n += len(k) + 2
				walk(e)
			}
		default:
			n += 24
		}
	}
	walk(v)
	return n
}

// joinedSize is the length join gives, counted until it passes limit.
func joinedSize(v any, sep string, limit int) int {
	n := 0
	add := func(s string, i int) bool {
		n += len(s)
		if i > 0 {
			n += len(sep)
		}
		return n <= limit
	}
	switch v := v.(type) {
	case []string:
		for i, s := range v {
			if !add(s, i) {
				break
			}
		}
	case []any:
		for i, e := range v {
			s, _ := e.(string)
			if !add(s, i) {
				break
			}
		}
	}
	return n
}

// sandboxOptions are the expr options that install the sandbox: its
// functions and the rewriting.
func sandboxOptions() []expr.Option {
	opts := []expr.Option{
		expr.Function(fnTick, func(args ...any) (any, error) {
			r, err := runOf(args)
			if err != nil {
				return nil, err
			}
			return true, r.tick()
		}, new(func(*exprRun) bool)),
		expr.Function(fnAdd, boundedAdd,
			new(func(*exprRun, string, string) string),
			new(func(*exprRun, any, any) any)),
		expr.Function(fnMatches, boundedMatches, new(func(*exprRun, string, string) bool)),
		expr.Patch(sandbox{}),
	}
	for name, size := range boundedBuiltins {
		fn := builtin.Builtins[builtin.Index[name]]
		var types []any
		for _, t := range fn.Types { // the builtin's signatures, with the run first
			in := []reflect.Type{reflect.TypeFor[*exprRun]()}
			for i := range t.NumIn() {
				in = append(in, t.In(i))
			}
			out := []reflect.Type{}
			for i := range t.NumOut() {
				out = append(out, t.Out(i))
			}
			types = append(types, reflect.Zero(reflect.FuncOf(in, out, t.IsVariadic())).Interface())
		}
		opts = append(opts, expr.Function(boundedFn+name, func(args ...any) (any, error) {
			r, err := runOf(args)
			if err != nil {
				return nil, err
			}
			args = args[1:]
			if len(args) == 0 {
				return nil, fmt.Errorf("%s: missing argument", name)
			}
			n, err := size(r, args)
			if err != nil {
				return nil, err
			}
			if err := r.charge(n); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return callBuiltin(fn, args)
		}, types...))
	}
	return opts
}

func runOf(args []any) (*exprRun, error) {
	if len(args) > 0 {
		if r, ok := args[0].(*exprRun); ok && r != nil && r.m != nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("expression run without its budget")
}

func callBuiltin(fn *builtin.Function, args []any) (any, error) {
	switch {
	case fn.Func != nil:
		return fn.Func(args...)
	case fn.Fast != nil && len(args) == 1:
		return fn.Fast(args[0]), nil
	case fn.Safe != nil:
		v, _, err := fn.Safe(args...)
		return v, err
	}
	return nil, fmt.Errorf("%s: unexpected arguments", fn.Name)
}

// boundedAdd is +, charging the string it makes.
func boundedAdd(args ...any) (any, error) {
	r, err := runOf(args)
	if err != nil {
		return nil, err
	}
	a, aok := args[1].(string)
	b, bok := args[2].(string)
	if aok && bok {
		if err := r.charge(len(a) + len(b)); err != nil {
			return nil, fmt.Errorf("+: %w", err)
		}
		return a + b, nil
	}
	return runtime.Add(args[1], args[2]), nil
}

// boundedMatches is the matches operator, within the message's limit.
func boundedMatches(args ...any) (any, error) {
	r, err := runOf(args)
	if err != nil {
		return nil, err
	}
	s, sok := args[1].(string)
	pattern, pok := args[2].(string)
	if !sok || !pok {
		return nil, fmt.Errorf("matches: want two strings, got %T and %T", args[1], args[2])
	}
	re, err := exprRegexps.get(pattern)
	if err != nil {
		return nil, fmt.Errorf("matches: %w", err)
	}
	return re.matchString(r.m, s)
}

// exprRegexps keeps the patterns of matches compiled. Most are literals
// in the expression; the bound keeps patterns built from messages from
// growing it without end.
var exprRegexps = regexpCache{m: map[string]*boundedRegexp{}}

const regexpCacheSize = 1024

type regexpCache struct {
	mu sync.Mutex
	m  map[string]*boundedRegexp
}

func (c *regexpCache) get(pattern string) (*boundedRegexp, error) {
	c.mu.Lock()
	re, ok := c.m[pattern]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := compileBounded(pattern)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= regexpCacheSize {
		clear(c.m)
	}
	c.m[pattern] = re
	c.mu.Unlock()
	return re, nil
}

// sandbox is the rewriting: it runs once, after expr has typed the tree.
type sandbox struct{}

func (sandbox) Visit(node *ast.Node) {
	run := func() ast.Node { return &ast.IdentifierNode{Value: exprRunKey} }
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{
			&ast.CallNode{Callee: &ast.IdentifierNode{Value: fnTick}, Arguments: []ast.Node{run()}},
			n.Node,
		}}
	case *ast.BinaryNode:
		switch n.Operator {
		case "+":
			if isNumber(n.Left) && isNumber(n.Right) {
				return
			}
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnAdd}, Arguments: []ast.Node{run(), n.Left, n.Right}})
		case "matches":
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnMatches}, Arguments: []ast.Node{run(), n.Left, n.Right}})
		}
	case *ast.BuiltinNode:
		if _, ok := boundedBuiltins[n.Name]; ok {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: boundedFn + n.Name}, Arguments: append([]ast.Node{run()}, n.Arguments...)})
		}
	}
}

// isNumber says whether expr typed n as a number, whose + allocates
// nothing and is left as it is.
func isNumber(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}
