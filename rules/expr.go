package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// The expr sandbox. expr has no evaluation timeout, so what bounds a
// user's expression is its size (exprMaxNodes), the VM's memory budget
// (exprMemoryBudget, in expr's allocation units) and a whitelist of
// builtins that cannot allocate beyond their inputs: repeat allocates
// before the budget is checked, replace multiplies its input, and the
// time builtins would make a preview disagree with live matching.
const (
	exprMaxNodes     = 500
	exprMemoryBudget = 100_000
)

var exprBuiltins = []string{
	"all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex", "count", "sum",
	"len", "type", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "join", "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix",
	"max", "min", "first", "last", "get", "keys", "values", "uniq", "sort",
}

// exprEnvTypes declares the expression environment's names and types.
var exprEnvTypes = map[string]any{
	"topic":     "",
	"app":       "",
	"msg":       map[string]any{},
	"usernames": []string{},
	"packages":  []string{},
	"agent":     "",
	"msg_id":    "",
	"timestamp": 0.0,
	"owner":     "",
	"severity":  "",
	"headers":   map[string]any{},
	exprRunKey:  (*exprRun)(nil),
}

// checkOptions compile an expression as its author wrote it, for the
// errors they understand (a wrong type, an invalid regex literal);
// exprOptions compile it with the sandbox, whose rewriting would turn
// some of those into errors at run time.
var checkOptions, exprOptions = func() ([]expr.Option, []expr.Option) {
	opts := []expr.Option{expr.Env(exprEnvTypes), expr.AsBool(), expr.MaxNodes(exprMaxNodes), expr.DisableAllBuiltins()}
	for _, b := range exprBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts, append(slices.Clip(opts), sandboxOptions()...)
}()

// vms reuses expr VMs (a VM is not safe for concurrent use, and a fresh
// one per run allocates its stack again).
var vms = sync.Pool{New: func() any { return &vm.VM{MemoryBudget: exprMemoryBudget} }}

func compileExpr(raw json.RawMessage, owner string) (*Rule, error) {
	var args struct {
		Expression *string `json:"expression"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	if args.Expression == nil || *args.Expression == "" {
		return nil, fmt.Errorf("args.expression: missing or empty")
	}
	_, err := expr.Compile(*args.Expression, checkOptions...)
	if err != nil {
		return nil, exprError(err)
	}
	program, err := expr.Compile(*args.Expression, exprOptions...)
	if err != nil {
		return nil, exprError(err)
	}
	// An expression that reads owner differs per owner; any other is
	// shared by everyone who wrote it. One that does not read msg, msg_id
	// or headers spares the message making them. $env reads everything.
	usesOwner := false
	var needs envNeeds
	root := program.Node()
	ast.Walk(&root, visitor(func(n *ast.Node) {
		if id, ok := (*n).(*ast.IdentifierNode); ok {
			switch id.Value {
			case "owner":
				usesOwner = true
			case "msg":
				needs |= needMsg
			case "msg_id":
				needs |= needKey
			case "headers":
				needs |= needHeaders
			case "$env":
				usesOwner, needs = true, needMsg|needKey|needHeaders
			}
		}
	}))
	k := *args.Expression
	if !usesOwner {
		owner = ""
	} else {
		k = owner + "\x00" + k
	}
	return &Rule{
		Key:  key(k),
		Cost: costExpr,
		eval: func(m *Message) (bool, error) {
			env := m.exprEnvironment(needs)
			env["owner"] = owner
			m.run = exprRun{m: m}
			env[exprRunKey] = &m.run
			v := vms.Get().(*vm.VM)
			out, err := v.Run(program, env)
			vms.Put(v)
			if err != nil {
				return false, fmt.Errorf("run expression: %w", err)
			}
			b, ok := out.(bool)
			if !ok {
				return false, fmt.Errorf("run expression: result is %T, not bool", out)
			}
			return b, nil
		},
	}, nil
}

// exprError is a compilation error as the rule's author reads it.
func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("args.expression: line %d, column %d: %s", fe.Line, fe.Column+1, fe.Message)
	}
	return fmt.Errorf("args.expression: %w", err)
}

type visitor func(*ast.Node)

func (f visitor) Visit(n *ast.Node) { f(n) }

// envNeeds says which costly values of the environment an expression
// reads.
type envNeeds uint8

const (
	needMsg     envNeeds = 1 << iota // the payload with plain numbers: a deep copy
	needKey                          // msg_id, a hash of the envelope when it has none
	needHeaders                      // the headers with plain numbers: a copy
)

// noHeaders is the headers of a message that has none (most ZeroMQ
// messages), so that headers["x"] is nil rather than an error. expr
// cannot write to it, so one map serves every message.
var noHeaders = map[string]any{}

// exprEnvironment builds the expression environment once per message,
// and its costly values on first need: until then msg is the payload as
// decoded, msg_id empty and headers empty, which expressions not reading
// them cannot tell.
func (m *Message) exprEnvironment(needs envNeeds) map[string]any {
	if m.exprEnv == nil {
		d := m.Desc
		m.exprEnv = map[string]any{
			"topic":     m.Env.Topic,
			"app":       d.App,
			"msg":       m.Env.Msg,
			"usernames": nonNil(d.Usernames),
			"packages":  nonNil(d.Packages),
			"agent":     d.Agent,
			"msg_id":    "",
			"timestamp": m.Env.Timestamp,
			"severity":  m.Severity(),
			"headers":   noHeaders,
		}
	}
	if missing := needs &^ m.envHas; missing != 0 {
		if missing&needMsg != 0 {
			m.exprEnv["msg"] = plainNumbers(m.Env.Msg)
		}
		if missing&needKey != 0 {
			m.exprEnv["msg_id"] = m.Env.Key()
		}
		if missing&needHeaders != 0 && m.Env.Headers != nil {
			m.exprEnv["headers"] = plainNumbers(m.Env.Headers)
		}
		m.envHas |= missing
	}
	return m.exprEnv
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// plainNumbers returns v with json.Number replaced by int or float64, so
// that expressions compare payload numbers with number literals.
func plainNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(string(v)); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plainNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plainNumbers(e)
		}
		return out
	}
	return v
}
