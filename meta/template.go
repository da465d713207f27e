package meta

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/dustin/go-humanize"
)

// A tmpl is a compiled template field. Constants and templates made only
// of text and plain field references ({{ .msg.update.title }}) are
// evaluated without text/template's reflection, since they are most of
// them and Describe runs for every message.
type tmpl struct {
	constant string
	segments []segment          // the fast form, when the template allows it
	full     *template.Template // everything else
}

// A segment is literal text or a field reference.
type segment struct {
	text string
	keys []string // nil for text
}

// noValue is what text/template prints for an absent or null field.
const noValue = "<no value>"

// compileTemplate compiles src with the file's named templates available.
func compileTemplate(name, src string, named []namedTemplate, aliases map[string]string) (*tmpl, error) {
	if !strings.Contains(src, "{{") {
		return &tmpl{constant: src}, nil
	}
	// The field's own template is named so no named template can clash
	// with it ("link" is both a field and a fine name for a template).
	t := template.New("field " + name).Funcs(templateFuncs)
	// include renders a named template into a string, so its result can
	// be kept in a variable or passed to a function ({{template}} cannot).
	// alias maps a name through the username aliases, for texts and
	// objects that name users (meetbot's "threebean's meeting").
	t.Funcs(template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var sb strings.Builder
			err := t.ExecuteTemplate(&sb, name, data)
			return sb.String(), err
		},
		"alias": func(name string) string { return aliasOf(aliases, name) },
	})
	for _, n := range named {
		if _, err := t.New(n.name).Parse(n.src); err != nil {
			return nil, fmt.Errorf("parse template %q: %w", n.name, err)
		}
	}
	if _, err := t.Parse(src); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if segs, ok := fastSegments(t.Tree.Root); ok {
		return &tmpl{segments: segs}, nil
	}
	return &tmpl{full: t}, nil
}

// fastSegments returns the template as segments when it is only text and
// plain field references.
func fastSegments(root *parse.ListNode) ([]segment, bool) {
	var segs []segment
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			segs = append(segs, segment{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil, false
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok {
				return nil, false
			}
			segs = append(segs, segment{keys: f.Ident})
		default:
			return nil, false
		}
	}
	return segs, true
}

// execute renders the template over the envelope's fields. A template that
// would print an absent or null field, or that fails, renders as "": half a
// sentence is worse than none, and the failure is the message's, not ours.
func (t *tmpl) execute(data map[string]any, sb *strings.Builder) string {
	if t == nil {
		return ""
	}
	if t.full == nil && t.segments == nil {
		return t.constant
	}
	sb.Reset()
	if t.full != nil {
		if err := t.full.Execute(sb, data); err != nil {
			return ""
		}
		out := sb.String()
		if strings.Contains(out, noValue) {
			return ""
		}
		return out
	}
	for _, s := range t.segments {
		if s.keys == nil {
			sb.WriteString(s.text)
			continue
		}
		v, ok := lookup(data, s.keys)
		if !ok || v == nil {
			return ""
		}
		if str, ok := scalar(v); ok {
			sb.WriteString(str)
		} else {
			fmt.Fprint(sb, v) // as text/template prints maps and lists
		}
	}
	return sb.String()
}

// templateFuncs are the functions (besides include and alias, bound per
// template) processor templates may call; FORMAT.md
// lists them. Subjects come last so they work in pipelines.
var templateFuncs = template.FuncMap{
	"trunc": func(n int, s string) string {
		if r := []rune(s); len(r) >= n {
			return string(r[:n]) + "..."
		}
		return s
	},
	"cut": func(n int, s string) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n])
		}
		return s
	},
	"tokens": func(start, end int, s string) string {
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
	},
	"token": func(i int, s string) string {
		toks := strings.Split(s, ".")
		if i < 0 {
			i += len(toks)
		}
		if i < 0 || i >= len(toks) {
			return ""
		}
		return toks[i]
	},
	"default": func(d, v any) any {
		if v == nil || v == "" {
			return d
		}
		return v
	},
	"join": func(sep string, list any) string {
		l := toList(list)
		parts := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := scalar(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, sep)
	},
	"pluck": func(key string, list any) []any {
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
	},
	"where": func(key, value string, list any) []any {
		return filterMaps(list, key, func(v string) bool { return v == value })
	},
	"wherefold": func(key, value string, list any) []any {
		return filterMaps(list, key, func(v string) bool { return strings.EqualFold(v, value) })
	},
	"nosuffix": func(suffix string, list any) []any {
		l := toList(list)
		var out []any
		for _, e := range l {
			if s, ok := e.(string); ok && !strings.HasSuffix(s, suffix) {
				out = append(out, s)
			}
		}
		return out
	},
	"keys": func(m any) []string {
		mm, _ := m.(map[string]any)
		return sortedKeys(mm)
	},
	"hasKey": func(key string, m any) bool {
		mm, _ := m.(map[string]any)
		_, ok := mm[key]
		return ok
	},
	"first": func(list any) any {
		if l := toList(list); len(l) > 0 {
			return l[0]
		}
		return ""
	},
	"last": func(list any) any {
		if l := toList(list); len(l) > 0 {
			return l[len(l)-1]
		}
		return ""
	},
	"series": series,
	"kindIs": func(kind string, v any) bool {
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
	},
	"py": func(v any) string {
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
	},
	"unwrap": func(key string, v any) any {
		// Services moved from "user": "ralph" to "user": {"name": "ralph"};
		// unwrap reads both, like the reference's isinstance(x, dict) checks.
		if m, ok := v.(map[string]any); ok {
			return m[key]
		}
		return v
	},
	"capitalize": func(s string) string {
		// Python's str.capitalize: first character upper, the rest lower.
		for i, r := range s {
			return strings.ToUpper(string(r)) + strings.ToLower(s[i+len(string(r)):])
		}
		return s
	},
	"isdigit": func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	},
	"lastpart": func(sep, s string) string {
		if i := strings.LastIndex(s, sep); i >= 0 {
			return s[i+len(sep):]
		}
		return s
	},
	"humanbytes": func(n any) (string, error) {
		b, err := toUint(n)
		return humanize.Bytes(b), err
	},
	"ibytes": func(n any) (string, error) {
		b, err := toUint(n)
		return humanize.IBytes(b), err
	},
	"nvr":      nvrName,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"trim":     strings.TrimSpace,
	"email":    emailUser,
	"fasemail": fasEmailUser,
	"openid":   openidUser,
	"fas":      fasUser,
	"basename": func(s string) string { return s[strings.LastIndexByte(s, '/')+1:] },
	"dirname":  dirName,
	"mentions": func(s string) []string { return appendMentions(nil, s) },
	"split":    func(s string) []string { return appendFields(nil, s) },
	"trimchars": func(cutset, s string) string {
		return strings.Trim(s, cutset)
	},
	"trimprefix": func(p, s string) string {
		return strings.TrimPrefix(s, p)
	},
	"trimsuffix": func(x, s string) string {
		return strings.TrimSuffix(s, x)
	},
	"replace": func(old, repl, s string) string {
		return strings.ReplaceAll(s, old, repl)
	},
	"contains":  func(sub, s string) bool { return strings.Contains(s, sub) },
	"hasprefix": func(p, s string) bool { return strings.HasPrefix(s, p) },
	"hassuffix": func(x, s string) bool { return strings.HasSuffix(s, x) },
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
