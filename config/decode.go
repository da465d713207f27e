package config

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a configuration, with where it is. Line and
// Column are 0 when the problem is with a default or a missing key.
type Error struct {
	File   string
	Line   int
	Column int
	Key    string // dotted path, e.g. "email.smtp_port"
	Msg    string
}

func (e Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Key == "" {
		return where + ": " + e.Msg
	}
	return where + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found in one pass, in file order; problems
// without a position come last.
type Errors []Error

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // the one with a line first
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

var durationType = reflect.TypeFor[time.Duration]()

// decoder walks a yaml.Node tree into a struct by its yaml tags. It is
// hand-rolled over the node tree, not yaml's own Decode, because that stops
// at the first unknown key and reports lines without columns; this one
// collects every error with its line and column and remembers where each
// key was written, so validation can point at it too.
type decoder struct {
	file string
	errs Errors
	// at is the value node of every key path present in the file.
	at map[string]*yaml.Node
	// bad holds the keys that failed to decode, so validation does not
	// report them a second time.
	bad map[string]bool
}

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) {
	e := Error{File: d.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[key] = true
	d.errs = append(d.errs, e)
}

// set reports whether key was written in the file.
func (d *decoder) set(key string) bool {
	_, ok := d.at[key]
	return ok
}

// errorAt records an error at key's position in the file, or without a
// position when the value came from a default.
func (d *decoder) errorAt(key, format string, args ...any) {
	if d.bad[key] {
		return
	}
	d.errorf(d.at[key], key, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// value decodes n into v, which must be settable.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.at[path] = n
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	switch {
	case v.Type() == durationType:
		if !d.scalar(n, path, "a duration like 90s or 1h30m") {
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil || dur < 0 {
			d.errorf(n, path, "%q is not a duration like 90s or 1h30m", n.Value)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		if d.scalar(n, path, "a string") {
			v.SetString(n.Value)
		}
	case v.Kind() == reflect.Int:
		if !d.scalar(n, path, "an integer") {
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || n.ShortTag() != "!!int" {
			d.errorf(n, path, "%q is not an integer", n.Value)
			return
		}
		v.SetInt(i)
	case v.Kind() == reflect.Float64:
		if !d.scalar(n, path, "a number") {
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || f != f {
			d.errorf(n, path, "%q is not a number like 2 or 0.5", n.Value)
			return
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		if !d.scalar(n, path, "true or false") {
			return
		}
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.ShortTag() != "!!bool" {
			d.errorf(n, path, "%q is not true or false", n.Value)
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		d.pairs(n, path, func(k, val *yaml.Node, key string) {
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(val, elem, key)
			m.SetMapIndex(reflect.ValueOf(k.Value), elem)
		})
		v.Set(m)
	case v.Kind() == reflect.Struct:
		if v.Type() == reflect.TypeFor[Endpoint]() && n.Kind == yaml.ScalarNode {
			// The short form of an endpoint is its URL alone.
			d.value(n, v.FieldByName("URL"), join(path, "url"))
			return
		}
		d.fields(n, v, path)
	default:
		panic(fmt.Sprintf("config: no decoder for %s at %s", v.Type(), path))
	}
}

// scalar reports whether n is a scalar, recording an error if not.
func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return false
	}
	return true
}

// pairs calls f for each key of mapping n, refusing non-string and
// duplicate keys.
func (d *decoder) pairs(n *yaml.Node, path string, f func(k, v *yaml.Node, key string)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, key, "key given twice")
			continue
		}
		seen[k.Value] = true
		f(k, val, key)
	}
}

// fields decodes mapping n into struct v; a key with no field is an error.
func (d *decoder) fields(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return
	}
	byKey := map[string]int{}
	var known []string
	for i := range v.NumField() {
		tag := v.Type().Field(i).Tag.Get("yaml")
		byKey[tag] = i
		known = append(known, tag)
	}
	slices.Sort(known)
	d.pairs(n, path, func(k, val *yaml.Node, key string) {
		i, ok := byKey[k.Value]
		if !ok {
			where := "at the top level"
			if path != "" {
				where = "in " + path
			}
			d.errorf(k, key, "unknown key (known %s: %s)", where, strings.Join(known, ", "))
			return
		}
		d.value(val, v.Field(i), key)
	})
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
