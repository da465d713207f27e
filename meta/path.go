package meta

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A fieldPath names values inside an envelope: dot-separated keys with list
// steps, compiled once so that walking it per message costs map lookups
// only.
type fieldPath struct {
	src   string
	steps []step
}

type stepKind uint8

const (
	stepKey   stepKind = iota // a map key
	stepIndex                 // one list element; negative counts from the end
	stepEach                  // every list element or map value
	stepKeys                  // every map key, sorted
)

type step struct {
	kind  stepKind
	key   string
	index int
}

// compilePath parses "msg.builds[*].nvr" into steps.
func compilePath(src string) (fieldPath, error) {
	if src == "" {
		return fieldPath{}, fmt.Errorf("empty path")
	}
	p := fieldPath{src: src}
	for _, part := range strings.Split(src, ".") {
		key, brackets, _ := strings.Cut(part, "[")
		switch {
		case key == "*":
			p.steps = append(p.steps, step{kind: stepEach})
		case key == "keys()":
			p.steps = append(p.steps, step{kind: stepKeys})
		case key != "":
			if strings.ContainsAny(key, "]()") {
				return fieldPath{}, fmt.Errorf("path %q: bad key %q", src, key)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: key})
		case !strings.Contains(part, "["):
			return fieldPath{}, fmt.Errorf("path %q: empty key", src)
		}
		if brackets == "" && !strings.Contains(part, "[") {
			continue
		}
		// brackets holds "N]" or "*]", possibly followed by more "[...]".
		for _, b := range strings.Split("["+brackets, "[")[1:] {
			idx, ok := strings.CutSuffix(b, "]")
			if !ok {
				return fieldPath{}, fmt.Errorf("path %q: unclosed [ in %q", src, part)
			}
			if idx == "*" {
				p.steps = append(p.steps, step{kind: stepEach})
				continue
			}
			n, err := strconv.Atoi(idx)
			if err != nil {
				return fieldPath{}, fmt.Errorf("path %q: index %q is neither a number nor *", src, idx)
			}
			p.steps = append(p.steps, step{kind: stepIndex, index: n})
		}
	}
	return p, nil
}

// appendValues appends the scalar values the path names in root to dst.
func (p fieldPath) appendValues(dst []string, root any) []string {
	return walk(dst, root, p.steps)
}

func walk(dst []string, v any, steps []step) []string {
	for i, s := range steps {
		switch s.kind {
		case stepKey:
			m, ok := v.(map[string]any)
			if !ok {
				return dst
			}
			if v, ok = m[s.key]; !ok {
				return dst
			}
		case stepIndex:
			l, ok := v.([]any)
			if !ok {
				return dst
			}
			n := s.index
			if n < 0 {
				n += len(l)
			}
			if n < 0 || n >= len(l) {
				return dst
			}
			v = l[n]
		case stepEach:
			switch c := v.(type) {
			case []any:
				for _, e := range c {
					dst = walk(dst, e, steps[i+1:])
				}
			case map[string]any:
				for _, k := range sortedKeys(c) {
					dst = walk(dst, c[k], steps[i+1:])
				}
			}
			return dst
		case stepKeys:
			m, ok := v.(map[string]any)
			if !ok {
				return dst
			}
			keys := sortedKeys(m)
			if i == len(steps)-1 {
				return append(dst, keys...)
			}
			return dst // keys are strings: nothing below them
		}
	}
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := scalar(e); ok {
				dst = append(dst, s)
			}
		}
		return dst
	}
	if s, ok := scalar(v); ok {
		dst = append(dst, s)
	}
	return dst
}

// scalar renders a JSON scalar as text; maps, lists and null are not scalars.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
