package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/template/parse"
)

// Templates use Go's text/template syntax, parsed by text/template/parse,
// but are compiled here into closures over the JSON values of an
// envelope: text/template evaluates through reflection, which cost ~50 µs
// per message over the samples; these closures cost a small fraction of
// that. Semantics follow text/template, with one deliberate difference:
// a template that would print an absent or null value fails as a whole
// (see tmpl.execute).

// A node writes its output for dot.
type node func(s *state, dot any) error

// An expr evaluates to a value.
type expr func(s *state, dot any) (any, error)

// A function is a template function: its arity is checked when the
// template compiles (-1: variadic), its arguments are JSON values.
type function struct {
	arity int
	call  func(args []any) (any, error)
	// call1 and call2, when set, take one or two arguments directly: most
	// calls are written with all their arguments, and skipping the
	// argument stack makes them markedly cheaper.
	call1 func(a any) (any, error)
	call2 func(a, b any) (any, error)
}

// state is one execution: the root data, variables in scope and the set
// of named templates. Variables live in slots fixed at compile time
// (text/template's scoping is lexical), relative to the running
// template's frame.
type state struct {
	root  map[string]any
	vars  []any
	frame int // vars[frame] is the running template's "$"
	args  []any
	out   []byte // output; include and nested runs append and cut back
	set   *templateSet
	depth int
}

// A templateSet is a file's named templates, compiled once and shared by
// every template of the file.
type templateSet struct {
	named map[string]node
	funcs map[string]function
}

var (
	errNoValue  = errors.New("absent or null value printed")
	errBreak    = errors.New("break outside range")
	errContinue = errors.New("continue outside range")
	errDepth    = errors.New("templates nested too deeply")
)

// maxDepth bounds {{template}} and include recursion.
const maxDepth = 64

// parseTemplate parses src with the function names the set knows.
func (ts *templateSet) parse(name, src string) (map[string]*parse.Tree, error) {
	names := make(map[string]any, len(ts.funcs))
	for n := range ts.funcs {
		names[n] = true
	}
	return parse.Parse(name, src, "", "", names)
}

// compileTree compiles a parsed template body.
func (ts *templateSet) compileTree(t *parse.Tree) (node, error) {
	c := compiler{set: ts, tree: t, scope: []string{"$"}}
	return c.list(t.Root)
}

type compiler struct {
	set   *templateSet
	tree  *parse.Tree
	scope []string // the variables in scope, by slot
}

// declare gives a new variable the next slot.
func (c *compiler) declare(name string) int {
	c.scope = append(c.scope, name)
	return len(c.scope) - 1
}

// slot finds the innermost variable of that name.
func (c *compiler) slot(n parse.Node, name string) (int, error) {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i] == name {
			return i, nil
		}
	}
	return 0, c.errorf(n, "undefined variable %s", name)
}

func (c *compiler) errorf(n parse.Node, format string, args ...any) error {
	loc, _ := c.tree.ErrorContext(n)
	return fmt.Errorf("%s: %s", loc, fmt.Sprintf(format, args...))
}

func (c *compiler) list(l *parse.ListNode) (node, error) {
	if l == nil {
		return func(*state, any) error { return nil }, nil
	}
	nodes := make([]node, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		cn, err := c.node(n)
		if err != nil {
			return nil, err
		}
		if cn != nil {
			nodes = append(nodes, cn)
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return func(s *state, dot any) error {
		for _, n := range nodes {
			if err := n(s, dot); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (c *compiler) node(n parse.Node) (node, error) {
	switch n := n.(type) {
	case *parse.TextNode:
		text := string(n.Text)
		return func(s *state, _ any) error {
			s.out = append(s.out, text...)
			return nil
		}, nil
	case *parse.CommentNode:
		return nil, nil
	case *parse.ActionNode:
		pipe, err := c.pipe(n.Pipe)
		if err != nil {
			return nil, err
		}
		if len(n.Pipe.Decl) > 0 {
			return func(s *state, dot any) error {
				_, err := pipe(s, dot)
				return err
			}, nil
		}
		return func(s *state, dot any) error {
			v, err := pipe(s, dot)
			if err != nil {
				return err
			}
			return s.print(v)
		}, nil
	case *parse.IfNode:
		return c.branch(&n.BranchNode, false)
	case *parse.WithNode:
		return c.branch(&n.BranchNode, true)
	case *parse.RangeNode:
		return c.rangeNode(n)
	case *parse.TemplateNode:
		return c.templateNode(n)
	case *parse.BreakNode:
		return func(*state, any) error { return errBreak }, nil
	case *parse.ContinueNode:
		return func(*state, any) error { return errContinue }, nil
	}
	return nil, c.errorf(n, "unsupported template construct %s", n)
}

// branch compiles if and with: the pipeline's variables live until the
// end of the block, as in text/template.
func (c *compiler) branch(b *parse.BranchNode, with bool) (node, error) {
	pipe, body, elseBody, err := c.block(b.Pipe, nil, b.List, b.ElseList)
	if err != nil {
		return nil, err
	}
	return func(s *state, dot any) error {
		mark := len(s.vars)
		v, err := pipe(s, dot)
		if err == nil {
			if truth(v) {
				if with {
					dot = v
				}
				err = body(s, dot)
			} else {
				err = elseBody(s, dot)
			}
		}
		s.vars = s.vars[:mark]
		return err
	}, nil
}

// block compiles the parts of if, with and range, keeping the compile-time
// scope in step with what runs: the pipeline's (or range's) variables are
// visible in the body; else runs instead of the body, not after it.
func (c *compiler) block(p *parse.PipeNode, rangeVars []string, list, elseList *parse.ListNode) (expr, node, node, error) {
	mark := len(c.scope)
	defer func() { c.scope = c.scope[:mark] }()
	pipe, err := c.pipe(p)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, v := range rangeVars {
		c.declare(v)
	}
	afterPipe := len(c.scope)
	body, err := c.list(list)
	if err != nil {
		return nil, nil, nil, err
	}
	c.scope = c.scope[:afterPipe]
	elseBody, err := c.list(elseList)
	return pipe, body, elseBody, err
}

func (c *compiler) rangeNode(r *parse.RangeNode) (node, error) {
	// The pipeline is evaluated without its declarations: range assigns
	// them per element.
	var names []string
	for _, v := range r.Pipe.Decl {
		names = append(names, v.Ident[0])
	}
	bare := &parse.PipeNode{NodeType: parse.NodePipe, Pos: r.Pipe.Pos, Cmds: r.Pipe.Cmds}
	pipe, body, elseBody, err := c.block(bare, names, r.List, r.ElseList)
	if err != nil {
		return nil, err
	}
	return func(s *state, dot any) error {
		mark := len(s.vars)
		defer func() { s.vars = s.vars[:mark] }() // range is rare; clarity wins
		v, err := pipe(s, dot)
		if err != nil {
			return err
		}
		one := func(key, elem any) error {
			s.vars = s.vars[:mark]
			switch len(names) {
			case 1:
				s.vars = append(s.vars, elem)
			case 2:
				s.vars = append(s.vars, key, elem)
			}
			return body(s, elem)
		}
		n := 0
		var loopErr error
		switch x := v.(type) {
		case []any:
			for i, e := range x {
				n++
				if loopErr = one(i, e); loopErr != nil && loopErr != errContinue {
					break
				}
			}
		case []string:
			for i, e := range x {
				n++
				if loopErr = one(i, e); loopErr != nil && loopErr != errContinue {
					break
				}
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				n++
				if loopErr = one(k, x[k]); loopErr != nil && loopErr != errContinue {
					break
				}
			}
		case nil:
		default:
			return fmt.Errorf("range over %T", v)
		}
		switch loopErr {
		case nil, errBreak, errContinue:
		default:
			return loopErr
		}
		if n == 0 {
			return elseBody(s, dot)
		}
		return nil
	}, nil
}

func (c *compiler) templateNode(t *parse.TemplateNode) (node, error) {
	var pipe expr
	if t.Pipe != nil {
		var err error
		if pipe, err = c.pipe(t.Pipe); err != nil {
			return nil, err
		}
	}
	name := t.Name
	set := c.set
	if _, ok := set.named[name]; !ok {
		return nil, c.errorf(t, "no template %q", name)
	}
	return func(s *state, dot any) error {
		var data any
		if pipe != nil {
			var err error
			if data, err = pipe(s, dot); err != nil {
				return err
			}
		}
		return set.run(s, name, data)
	}, nil
}

// run executes a named template with data as dot and "$", appending to
// the output. It runs on the caller's state in a new variable frame, so a
// call costs no allocation.
func (ts *templateSet) run(s *state, name string, data any) error {
	body, ok := ts.named[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if s.depth >= maxDepth {
		return errDepth
	}
	frame, mark := s.frame, len(s.vars)
	s.frame = mark
	s.vars = append(s.vars, data)
	s.depth++
	err := body(s, data)
	s.depth--
	s.frame, s.vars = frame, s.vars[:mark]
	return err
}

// pipe compiles a pipeline: commands chained with "|", each getting the
// previous result as its last argument, then declared or assigned.
func (c *compiler) pipe(p *parse.PipeNode) (expr, error) {
	if p == nil {
		return func(*state, any) (any, error) { return nil, nil }, nil
	}
	var eval expr
	if len(p.Cmds) == 1 && len(p.Decl) == 0 {
		// The common case, {{ .msg.x }} or {{ f a b }}: no chaining layer.
		if op, ok := c.singleOperand(p.Cmds[0]); ok {
			return op()
		}
	}
	cmds := make([]command, 0, len(p.Cmds))
	for i, cmd := range p.Cmds {
		cc, err := c.command(cmd, i > 0)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cc)
	}
	if len(cmds) == 1 {
		cmd := cmds[0]
		eval = func(s *state, dot any) (any, error) { return cmd(s, dot, nil, false) }
	} else {
		eval = func(s *state, dot any) (any, error) {
			var v any
			for i, cmd := range cmds {
				var err error
				if v, err = cmd(s, dot, v, i > 0); err != nil {
					return nil, err
				}
			}
			return v, nil
		}
	}
	if len(p.Decl) == 0 {
		return eval, nil
	}
	name := p.Decl[0].Ident[0]
	if p.IsAssign {
		slot, err := c.slot(p, name)
		if err != nil {
			return nil, err
		}
		return func(s *state, dot any) (any, error) {
			v, err := eval(s, dot)
			if err != nil {
				return nil, err
			}
			if i := s.frame + slot; i < len(s.vars) {
				s.vars[i] = v
			}
			return v, nil
		}, nil
	}
	c.declare(name)
	return func(s *state, dot any) (any, error) {
		v, err := eval(s, dot)
		if err != nil {
			return nil, err
		}
		s.vars = append(s.vars, v)
		return v, nil
	}, nil
}

// singleOperand reports whether cmd is a lone operand (not a call), and
// if so how to compile it.
func (c *compiler) singleOperand(cmd *parse.CommandNode) (func() (expr, error), bool) {
	if len(cmd.Args) != 1 {
		return nil, false
	}
	if _, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		return nil, false
	}
	return func() (expr, error) { return c.operand(cmd.Args[0]) }, true
}

// A command is one stage of a pipeline; final is the previous stage's
// result when hasFinal.
type command func(s *state, dot any, final any, hasFinal bool) (any, error)

// command compiles one command: a function call, or a single operand.
func (c *compiler) command(cmd *parse.CommandNode, piped bool) (command, error) {
	first := cmd.Args[0]
	if id, ok := first.(*parse.IdentifierNode); ok {
		return c.call(cmd, id, piped)
	}
	if len(cmd.Args) > 1 {
		return nil, c.errorf(cmd, "can't give arguments to non-function %s", first)
	}
	operand, err := c.operand(first)
	if err != nil {
		return nil, err
	}
	return func(s *state, dot any, _ any, hasFinal bool) (any, error) {
		if hasFinal {
			return nil, fmt.Errorf("can't pipe into non-function %s", first)
		}
		return operand(s, dot)
	}, nil
}

// call compiles a function call; piped says a previous pipeline stage
// supplies the last argument.
func (c *compiler) call(cmd *parse.CommandNode, id *parse.IdentifierNode, piped bool) (command, error) {
	args := make([]expr, 0, len(cmd.Args)-1)
	for _, a := range cmd.Args[1:] {
		e, err := c.operand(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	name := id.Ident
	switch name {
	case "and", "or":
		// Short-circuit, returning the deciding argument, as text/template.
		wantTruth := name == "or"
		return func(s *state, dot any, final any, hasFinal bool) (any, error) {
			var v any
			for _, a := range args {
				var err error
				if v, err = a(s, dot); err != nil {
					return nil, err
				}
				if truth(v) == wantTruth {
					return v, nil
				}
			}
			if hasFinal {
				v = final
			}
			return v, nil
		}, nil
	case "include":
		set := c.set
		if len(args) != 2 {
			return nil, c.errorf(cmd, "include takes a template name and data")
		}
		if lit, ok := cmd.Args[1].(*parse.StringNode); ok {
			if _, ok := set.named[lit.Text]; !ok {
				return nil, c.errorf(cmd, "no template %q", lit.Text)
			}
		}
		return func(s *state, dot any, _ any, _ bool) (any, error) {
			n, err := args[0](s, dot)
			if err != nil {
				return nil, err
			}
			data, err := args[1](s, dot)
			if err != nil {
				return nil, err
			}
			// The output goes to the end of the shared buffer and is cut
			// back off: one allocation, for the resulting string.
			start := len(s.out)
			err = set.run(s, fmt.Sprint(n), data)
			out := string(s.out[start:])
			s.out = s.out[:start]
			if err != nil {
				return nil, err
			}
			return out, nil
		}, nil
	}
	f, ok := c.set.funcs[name]
	if !ok {
		return nil, c.errorf(id, "function %q not defined", name)
	}
	// A piped value arrives as the last argument.
	if n := len(args) + btoi(piped); f.arity >= 0 && n != f.arity {
		return nil, c.errorf(id, "wrong number of arguments for %s: want %d, got %d", name, f.arity, n)
	}
	switch {
	case f.call1 != nil && len(args) == 1 && !piped:
		a0, call1 := args[0], f.call1
		return func(s *state, dot any, _ any, _ bool) (any, error) {
			x, err := a0(s, dot)
			if err != nil {
				return nil, err
			}
			return call1(x)
		}, nil
	case f.call2 != nil && len(args) == 2 && !piped:
		a0, a1, call2 := args[0], args[1], f.call2
		return func(s *state, dot any, _ any, _ bool) (any, error) {
			x, err := a0(s, dot)
			if err != nil {
				return nil, err
			}
			y, err := a1(s, dot)
			if err != nil {
				return nil, err
			}
			return call2(x, y)
		}, nil
	}
	// Arguments go on the state's argument stack: nested calls push above
	// and pop back to where they started, so no call allocates a slice.
	return func(s *state, dot any, final any, hasFinal bool) (any, error) {
		base := len(s.args)
		for _, a := range args {
			v, err := a(s, dot)
			if err != nil {
				s.args = s.args[:base]
				return nil, err
			}
			s.args = append(s.args, v)
		}
		if hasFinal {
			s.args = append(s.args, final)
		}
		v, err := f.call(s.args[base:])
		s.args = s.args[:base]
		return v, err
	}, nil
}

// operand compiles an argument: a field chain, variable, constant,
// parenthesized pipeline or a function called without arguments.
func (c *compiler) operand(n parse.Node) (expr, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return func(_ *state, dot any) (any, error) { return dot, nil }, nil
	case *parse.FieldNode:
		keys := n.Ident
		return func(_ *state, dot any) (any, error) { return fields(dot, keys), nil }, nil
	case *parse.VariableNode:
		slot, err := c.slot(n, n.Ident[0])
		if err != nil {
			return nil, err
		}
		keys := n.Ident[1:]
		return func(s *state, _ any) (any, error) {
			// The bound check only matters for a range's variables named
			// in its else, which runs with none of them set.
			if i := s.frame + slot; i < len(s.vars) {
				return fields(s.vars[i], keys), nil
			}
			return nil, nil
		}, nil
	case *parse.ChainNode:
		inner, err := c.operand(n.Node)
		if err != nil {
			return nil, err
		}
		keys := n.Field
		return func(s *state, dot any) (any, error) {
			v, err := inner(s, dot)
			return fields(v, keys), err
		}, nil
	case *parse.PipeNode:
		return c.pipe(n)
	case *parse.IdentifierNode:
		call, err := c.call(&parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{n}}, n, false)
		if err != nil {
			return nil, err
		}
		return func(s *state, dot any) (any, error) { return call(s, dot, nil, false) }, nil
	case *parse.StringNode:
		var v any = n.Text // boxed once, not per evaluation
		return func(*state, any) (any, error) { return v, nil }, nil
	case *parse.BoolNode:
		v := n.True
		return func(*state, any) (any, error) { return v, nil }, nil
	case *parse.NilNode:
		return func(*state, any) (any, error) { return nil, nil }, nil
	case *parse.NumberNode:
		var v any
		switch {
		case n.IsInt:
			v = int(n.Int64)
		case n.IsFloat:
			v = n.Float64
		default:
			return nil, c.errorf(n, "unsupported number %s", n.Text)
		}
		return func(*state, any) (any, error) { return v, nil }, nil
	}
	return nil, c.errorf(n, "unsupported operand %s", n)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fields follows map keys; anything but a map along the way is absent.
func fields(v any, keys []string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// truth is text/template's notion of true: not the zero value, not empty.
func truth(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// print writes v as text/template prints it; an absent or null
// value fails the template.
func (s *state) print(v any) error {
	if v == nil {
		return errNoValue
	}
	if str, ok := scalar(v); ok {
		s.out = append(s.out, str...)
		return nil
	}
	s.out = fmt.Append(s.out, v)
	return nil
}

// builtins are text/template's predefined functions that processors use;
// and and or are compiled specially (they short-circuit).
var builtins = map[string]function{
	"and": {arity: -1},
	"or":  {arity: -1},
	"not": {arity: 1, call: func(a []any) (any, error) { return !truth(a[0]), nil },
		call1: func(a any) (any, error) { return !truth(a), nil }},
	"len": {arity: 1, call: func(a []any) (any, error) {
		switch x := a[0].(type) {
		case string:
			return len(x), nil
		case []any:
			return len(x), nil
		case []string:
			return len(x), nil
		case map[string]any:
			return len(x), nil
		}
		return nil, fmt.Errorf("len of %T", a[0])
	}},
	"index": {arity: 2, call: func(a []any) (any, error) {
		switch x := a[0].(type) {
		case []any:
			i, err := toInt(a[1])
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("index %v out of range", a[1])
			}
			return x[i], nil
		case []string:
			i, err := toInt(a[1])
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("index %v out of range", a[1])
			}
			return x[i], nil
		case map[string]any:
			k, err := toString(a[1])
			return x[k], err
		}
		return nil, nil
	}},
	// eq a b c is a==b || a==c, as in text/template.
	"eq": {arity: -1, call2: func(a, b any) (any, error) { return equal(a, b), nil }, call: func(a []any) (any, error) {
		if len(a) < 2 {
			return nil, errors.New("eq needs two arguments")
		}
		for _, b := range a[1:] {
			if equal(a[0], b) {
				return true, nil
			}
		}
		return false, nil
	}},
	"ne": {arity: 2, call: func(a []any) (any, error) { return !equal(a[0], a[1]), nil },
		call2: func(a, b any) (any, error) { return !equal(a, b), nil }},
	"lt": {arity: 2, call: func(a []any) (any, error) { return compare(a[0], a[1], func(c int) bool { return c < 0 }) }},
	"le": {arity: 2, call: func(a []any) (any, error) { return compare(a[0], a[1], func(c int) bool { return c <= 0 }) }},
	"gt": {arity: 2, call: func(a []any) (any, error) { return compare(a[0], a[1], func(c int) bool { return c > 0 }) }},
	"ge": {arity: 2, call: func(a []any) (any, error) { return compare(a[0], a[1], func(c int) bool { return c >= 0 }) }},
	"printf": {arity: -1, call: func(a []any) (any, error) {
		if len(a) == 0 {
			return nil, errors.New("printf needs a format")
		}
		f, err := toString(a[0])
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf(f, a[1:]...), nil
	}},
	"slice": {arity: -1, call: func(a []any) (any, error) {
		if len(a) < 1 || len(a) > 3 {
			return nil, errors.New("slice takes 1 to 3 arguments")
		}
		idx := make([]int, 0, 2)
		for _, v := range a[1:] {
			i, err := toInt(v)
			if err != nil {
				return nil, err
			}
			idx = append(idx, i)
		}
		bounds := func(n int) (int, int, error) {
			lo, hi := 0, n
			if len(idx) > 0 {
				lo = idx[0]
			}
			if len(idx) > 1 {
				hi = idx[1]
			}
			if lo < 0 || hi > n || lo > hi {
				return 0, 0, fmt.Errorf("slice bounds [%d:%d] out of range %d", lo, hi, n)
			}
			return lo, hi, nil
		}
		switch x := a[0].(type) {
		case string:
			lo, hi, err := bounds(len(x))
			if err != nil {
				return nil, err
			}
			return x[lo:hi], nil
		case []any:
			lo, hi, err := bounds(len(x))
			if err != nil {
				return nil, err
			}
			return x[lo:hi], nil
		}
		return nil, fmt.Errorf("slice of %T", a[0])
	}},
	"println": {arity: -1, call: func(a []any) (any, error) { return fmt.Sprintln(a...), nil }},
	"print":   {arity: -1, call: func(a []any) (any, error) { return fmt.Sprint(a...), nil }},
	"urlquery": {arity: -1, call: func(a []any) (any, error) {
		var sb strings.Builder
		for _, v := range a {
			if s, ok := scalar(v); ok {
				sb.WriteString(s)
			} else {
				fmt.Fprint(&sb, v)
			}
		}
		return url.QueryEscape(sb.String()), nil
	}},
}

// equal compares JSON scalars by their text, so json.Number 1 equals the
// literal 1 and "1".
func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	as, aok := scalar(a)
	bs, bok := scalar(b)
	if aok && bok {
		return as == bs
	}
	return false
}

// compare orders numbers numerically and anything else as text.
func compare(a, b any, ok func(int) bool) (any, error) {
	as, aok := scalar(a)
	bs, bok := scalar(b)
	if !aok || !bok {
		return nil, fmt.Errorf("cannot compare %T and %T", a, b)
	}
	af, aerr := strconv.ParseFloat(as, 64)
	bf, berr := strconv.ParseFloat(bs, 64)
	if aerr == nil && berr == nil {
		switch {
		case af < bf:
			return ok(-1), nil
		case af > bf:
			return ok(1), nil
		}
		return ok(0), nil
	}
	return ok(strings.Compare(as, bs)), nil
}

// toString reads a template argument as a string: strings, numbers and
// bools by their JSON text; null and containers are errors.
func toString(v any) (string, error) {
	if s, ok := scalar(v); ok {
		return s, nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

// toInt reads a template argument as an int.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		return int(x), nil
	case json.Number:
		i, err := strconv.Atoi(string(x))
		return i, err
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}
